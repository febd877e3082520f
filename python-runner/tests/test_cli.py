from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

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


def test_help_prints_no_key_no_none_and_explains_every_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--help` runs in CI logs and shared terminals: the key in MESHTUNE_API_KEY must not
    appear in it; an unset option shows no `(default: None)`; every option says what it does."""
    secret = "mt_runner_" + "s3cr3t" * 6
    monkeypatch.setenv("MESHTUNE_API_KEY", secret)
    parser = build_parser()
    text = parser.format_help()
    assert secret not in text
    assert "(default: None)" not in text and "(default: [])" not in text
    for action in parser._actions:
        assert action.help, f"{action.option_strings} has no help text"
        assert action.help.count("default") <= 1, action.option_strings


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


class _CapturedAgent:
    """Stands in for the Agent in main(): keeps the configuration it was given."""

    seen: ClassVar[list[Any]] = []

    def __init__(self, config: Any) -> None:
        self.seen.append(config)

    def install_signal_handlers(self) -> None:
        pass

    def run(self) -> int:
        return 0


def _main_config(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import meshtune_runner.agent
    from meshtune_runner.cli import main

    _CapturedAgent.seen.clear()
    monkeypatch.setattr(meshtune_runner.agent, "Agent", _CapturedAgent)
    base = ["--url", "http://x", "--gpus", "none", "--state-dir", str(tmp_path / "state")]
    assert main([*base, *argv]) == 0
    return _CapturedAgent.seen[-1]


def test_retention_options_flags_over_environment_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PRUNE", "PRUNE_BELOW_FREE_MB", "MAX_DISK_MB", "PRUNE_KEEP_ADAPTERS"):
        monkeypatch.delenv(f"MESHTUNE_{name}", raising=False)
    monkeypatch.delenv("MESHTUNE_PRUNE_STUDY_IDLE_DAYS", raising=False)
    config = _main_config([], tmp_path, monkeypatch)
    assert config.prune is True and config.max_disk_mb is None
    assert config.prune_below_free_mb is None  # twice --min-free-disk-mb (agent.py)
    assert (config.prune_keep_adapters, config.prune_study_idle_days) == (3, 14.0)

    monkeypatch.setenv("MESHTUNE_PRUNE", "0")
    monkeypatch.setenv("MESHTUNE_MAX_DISK_MB", "5000")
    monkeypatch.setenv("MESHTUNE_PRUNE_BELOW_FREE_MB", "800")
    monkeypatch.setenv("MESHTUNE_PRUNE_STUDY_IDLE_DAYS", "0")
    config = _main_config([], tmp_path, monkeypatch)
    assert config.prune is False and config.max_disk_mb == 5000
    assert config.prune_below_free_mb == 800
    assert config.prune_study_idle_days is None  # 0: only an ended status the API said

    config = _main_config(
        ["--prune", "--max-disk-mb", "100", "--prune-keep-adapters", "1"], tmp_path, monkeypatch
    )
    assert config.prune is True and config.max_disk_mb == 100
    assert config.prune_keep_adapters == 1


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--max-disk-mb", "-1"], {}, "--max-disk-mb"),
        (["--prune-keep-adapters", "-2"], {}, "--prune-keep-adapters"),
        (["--prune-study-idle-days", "nan"], {}, "--prune-study-idle-days"),
        (["--prune-below-free-mb", "-5"], {}, "--prune-below-free-mb"),
        ([], {"MESHTUNE_MAX_DISK_MB": "lots"}, "MESHTUNE_MAX_DISK_MB"),
        ([], {"MESHTUNE_PRUNE": "maybe"}, "MESHTUNE_PRUNE"),
        # every numeric variable, not only retention's: a word where a number goes is a
        # message naming the variable, never a traceback
        ([], {"MESHTUNE_EXIT_WHEN_IDLE": "10m"}, "MESHTUNE_EXIT_WHEN_IDLE"),
        ([], {"MESHTUNE_DRAIN_TIMEOUT": "soon"}, "MESHTUNE_DRAIN_TIMEOUT"),
        ([], {"MESHTUNE_KEEP_ADAPTERS": "all"}, "MESHTUNE_KEEP_ADAPTERS"),
        ([], {"MESHTUNE_MIN_FREE_DISK_MB": "1G"}, "MESHTUNE_MIN_FREE_DISK_MB"),
        ([], {"MESHTUNE_MAX_LOG_MB": "64MB"}, "MESHTUNE_MAX_LOG_MB"),
        (["--log-level", "verbose"], {}, "--log-level"),
        ([], {"MESHTUNE_LOG_LEVEL": "chatty"}, "MESHTUNE_LOG_LEVEL"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(
    argv: list[str],
    env: dict[str, str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from meshtune_runner.cli import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    state = tmp_path / "state"
    with pytest.raises(SystemExit) as exited:
        main(["--url", "http://x", "--gpus", "none", "--state-dir", str(state), *argv])
    said = f"{exited.value.code} {capsys.readouterr().err}"
    assert exited.value.code != 0 and named in said, said
    assert not state.exists()  # refused before anything is written


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("127.0.0.1:3000", "http://"),
        ("localhost", "http://"),
        ("ftp://meshtune:3000", "http://"),
        ("http://127.0.0.1:3000/v1", "without /v1"),
        ("https://meshtune.example/tuning/v1/", "without /v1"),
    ],
)
def test_a_url_that_cannot_be_the_api_base_is_a_usage_error(
    url: str,
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from meshtune_runner.cli import main

    state = tmp_path / "state"
    with pytest.raises(SystemExit) as exited:
        main(["--url", url, "--gpus", "none", "--state-dir", str(state)])
    said = capsys.readouterr().err
    assert exited.value.code == 2 and "--url (or MESHTUNE_URL)" in said and says in said, said
    assert not state.exists()


def test_a_base_url_under_a_path_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An API behind a reverse proxy's path prefix is a valid base URL."""
    config = _main_config(["--url", " https://meshtune.example/tuning/ "], tmp_path, monkeypatch)
    assert config.base_url == "https://meshtune.example/tuning"
