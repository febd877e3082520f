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
    monkeypatch.setenv("MESHTUNE_TRAINING_OVERRIDES", '{"epochs": 5, "seed": 1}')
    monkeypatch.setenv("MESHTUNE_TRAIN_DATA", "/env/train.json")
    monkeypatch.setenv("MESHTUNE_MAX_LENGTH", "256")
    args = build_parser().parse_args(
        [
            "--url",
            "http://x",
            "--max-length",
            "128",
            "--epochs",
            "1",
            "--set",
            'loraTargetModules=["q_proj","v_proj"]',
            "--set",
            "lrSchedulerType=linear",
        ]
    )
    assert collect_overrides(args) == {
        "epochs": 1.0,
        "seed": 1,
        "trainData": "/env/train.json",
        "maxLength": 128,
        "loraTargetModules": ["q_proj", "v_proj"],
        "lrSchedulerType": "linear",
    }


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
