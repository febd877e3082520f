from __future__ import annotations

import subprocess
import sys
import time

import pytest

from meshtune_runner.cli import build_parser, collect_overrides


def test_help_is_instant_and_imports_no_ml_library() -> None:
    code = (
        "import sys\nfrom meshtune_runner.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "meshtune_runner", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert time.monotonic() - started < 5
    assert "--gpus" in result.stdout and "MESHTUNE_API_KEY" in result.stdout


def test_flags_override_environment_override_study(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHTUNE_TRAINING_OVERRIDES", '{"evalData": "/env/eval.json"}')
    monkeypatch.setenv("MESHTUNE_TRAIN_DATA", "/env/train.json")
    monkeypatch.setenv("MESHTUNE_PER_DEVICE_TRAIN_BATCH_SIZE", "2")
    args = build_parser().parse_args(
        [
            "--url",
            "http://x",
            "--per-device-train-batch-size",
            "1",
            "--model",
            "/models/llama",
            "--set",
            "gradientCheckpointing=true",
            "--set",
            "adapterDir=/shared/adapters",
        ]
    )
    assert collect_overrides(args) == {
        "evalData": "/env/eval.json",
        "trainData": "/env/train.json",
        "perDeviceTrainBatchSize": 1,
        "model": "/models/llama",
        "gradientCheckpointing": True,
        "adapterDir": "/shared/adapters",
    }


@pytest.mark.parametrize(
    "setting",
    [
        ["--set", "epochs=1"],
        ["--set", "lrSchedulerType=linear"],
        ["--set", "precision=fp32"],
        ["--set", "gradientAccumulationSteps=2"],
    ],
)
def test_overrides_that_change_the_training_regime_are_refused(
    setting: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MESHTUNE_TRAINING_OVERRIDES", raising=False)
    args = build_parser().parse_args(["--url", "http://x", *setting])
    with pytest.raises(ValueError, match="cannot be overridden by a runner"):
        collect_overrides(args)


def test_regime_flags_are_gone() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--url", "http://x", "--epochs", "1"])


def test_missing_url_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "meshtune_runner"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert result.returncode == 2
    assert "--url (or MESHTUNE_URL) is required" in result.stderr
