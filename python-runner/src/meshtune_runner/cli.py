"""`meshtune-runner`: command line and environment -> AgentConfig -> Agent.run().

Only the standard library, httpx and pydantic are imported here, so `--help` is instant;
torch and transformers are imported by the training child.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .adapter_store import is_store_url
from .training_config import check_runner_overrides

__all__ = ["build_parser", "main"]

# trainingConfig fields a runner may override (paths and resources only; what defines the
# objective is the study's, see regime.py): flag/env name -> (key, type).
# Each is also read from MESHTUNE_<NAME> (e.g. MESHTUNE_TRAIN_DATA, MESHTUNE_MODEL).
OVERRIDES: dict[str, tuple[str, type]] = {
    "model": ("model", str),
    "tokenizer": ("tokenizer", str),
    "train_data": ("trainData", str),
    "eval_data": ("evalData", str),
    "mmlu_data": ("mmluData", str),
    "per_device_train_batch_size": ("perDeviceTrainBatchSize", int),
    "per_device_eval_batch_size": ("perDeviceEvalBatchSize", int),
}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _adapter_root(value: str | None) -> Path | str | None:
    """A folder, or an object store URL kept as written (Path would fold `s3://b` to `s3:/b`)."""
    if not value:
        return None
    return value if is_store_url(value) else Path(value)


#: Options whose value `--help` never prints, whatever the environment holds.
SECRET_OPTIONS = frozenset({"api_key"})

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`(default: …)` only where it tells something: not for a secret (its default is read from
    the environment, so `--help` would print MESHTUNE_API_KEY), not for an unset option
    (`None`, `[]`, `False`), and not where the help text already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            action.dest in SECRET_OPTIONS
            or action.default in (None, [], "", False)
            or "default" in text
        ):
            return text
        return super()._get_help_string(action)


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a log level: use one of {', '.join(LOG_LEVELS)} "
            "(--log-level or MESHTUNE_LOG_LEVEL)"
        )
    return level


def check_url(url: str) -> str | None:
    """Why `url` cannot be the API's base URL, or None when it can: an address with its scheme,
    without the `/v1` that the runner adds to every route itself."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return (
            f"--url (or MESHTUNE_URL) must be the API's address with http:// or https://, "
            f"e.g. http://127.0.0.1:3000, not {url!r}"
        )
    if parts.path.rstrip("/").endswith("/v1"):
        return (
            f"--url (or MESHTUNE_URL) is the API's base URL without /v1 (the runner adds it): "
            f"{url.rstrip('/')[: -len('/v1')]!r}, not {url!r}"
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshtune-runner",
        description="Turns this machine into a worker of meshtune studies: leases trials, "
        "fine-tunes with LoRA, reports the results. Flags override environment variables, "
        "which override the study's trainingConfig.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    api = parser.add_argument_group("API")
    api.add_argument(
        "--url",
        default=_env("MESHTUNE_URL"),
        help="API base URL, e.g. http://meshtune:3000 [MESHTUNE_URL]",
    )
    api.add_argument(
        "--api-key",
        default=_env("MESHTUNE_API_KEY"),
        help="runner-scope API key, used to register [MESHTUNE_API_KEY]",
    )
    api.add_argument(
        "--study",
        default=_env("MESHTUNE_STUDY_ID"),
        help="only lease trials of this study [MESHTUNE_STUDY_ID]",
    )
    runner = parser.add_argument_group("runner")
    runner.add_argument(
        "--name",
        default=_env("MESHTUNE_RUNNER_NAME"),
        help="runner name (default: host name, plus the GPU list when given) "
        "[MESHTUNE_RUNNER_NAME]",
    )
    runner.add_argument(
        "--gpus",
        default=_env("MESHTUNE_GPUS", "auto"),
        help="auto (all visible), none/cpu, or indices like 0,1,2,3 (several: "
        "one trial across them with torchrun) [MESHTUNE_GPUS]",
    )
    runner.add_argument(
        "--launcher",
        choices=("torchrun", "accelerate"),
        default=_env("MESHTUNE_LAUNCHER", "torchrun"),
        help="multi-GPU launcher [MESHTUNE_LAUNCHER]",
    )
    runner.add_argument(
        "--labels",
        default=_env("MESHTUNE_LABELS", ""),
        help="comma-separated labels [MESHTUNE_LABELS]",
    )
    runner.add_argument(
        "--state-dir",
        default=_env("MESHTUNE_STATE_DIR"),
        help="runner identity, unsent results, trial work folders "
        "(default: ~/.local/state/meshtune-runner/NAME) [MESHTUNE_STATE_DIR]",
    )
    runner.add_argument(
        "--data-root",
        default=_env("MESHTUNE_DATA_ROOT"),
        help="base folder for relative paths in trainingConfig [MESHTUNE_DATA_ROOT]",
    )
    runner.add_argument("--max-trials", type=int, default=None, help="exit after this many trials")
    runner.add_argument(
        "--exit-when-idle",
        type=float,
        default=_number_env("MESHTUNE_EXIT_WHEN_IDLE", float),
        help="exit after this many seconds without work (e.g. the study "
        "is done) [MESHTUNE_EXIT_WHEN_IDLE]",
    )
    runner.add_argument(
        "--drain-timeout",
        type=float,
        default=_number_env("MESHTUNE_DRAIN_TIMEOUT", float),
        help="after the first SIGTERM, release the current trial if it is not "
        "done within this many seconds (default: wait) [MESHTUNE_DRAIN_TIMEOUT]",
    )
    runner.add_argument(
        "--keep-trial-dirs",
        action="store_true",
        help="keep each trial's output folder (the LoRA run's files)",
    )
    runner.add_argument(
        "--adapter-dir",
        default=_env("MESHTUNE_ADAPTER_DIR"),
        help="where completed trials' LoRA adapters are kept, one folder per study and trial: "
        "a folder, or an object store URL (s3://bucket/prefix, needs the objectstore extra) "
        "to upload them to (default: STATE_DIR/adapters; a study's trainingConfig.adapterDir "
        "wins) "
        "[MESHTUNE_ADAPTER_DIR]",
    )
    runner.add_argument(
        "--keep-adapters",
        type=int,
        default=_number_env("MESHTUNE_KEEP_ADAPTERS", int),
        help="keep only the newest N adapters per study (default: all; 0: none) "
        "[MESHTUNE_KEEP_ADAPTERS]",
    )
    runner.add_argument(
        "--min-free-disk-mb",
        type=int,
        default=_number_env("MESHTUNE_MIN_FREE_DISK_MB", int, 1024),
        help="do not keep an adapter, save a checkpoint or the trial's adapter, nor write the "
        "training log, where that would leave less free space than this on its file system "
        "(the result is still reported, without the adapter; default 1024, 0: no floor) "
        "[MESHTUNE_MIN_FREE_DISK_MB]",
    )
    runner.add_argument(
        "--max-log-mb",
        type=int,
        default=_number_env("MESHTUNE_MAX_LOG_MB", int, 64),
        help="cut each trial's training log beyond this size, keeping its first half and its "
        "end (default 64) [MESHTUNE_MAX_LOG_MB]",
    )
    runner.add_argument(
        "--log-level",
        type=_log_level,
        default=_env("MESHTUNE_LOG_LEVEL", "INFO"),
        help=f"{', '.join(LOG_LEVELS)} (case-insensitive) [MESHTUNE_LOG_LEVEL]",
    )
    retention = parser.add_argument_group(
        "retention",
        "old trial folders, checkpoints and adapters are pruned, oldest first, when a folder's "
        "file system is short of space or the runner's folders exceed a size; never the running "
        "trial's, never checkpoints a study may resume, never the newest and best adapters of a "
        "study (docs/runner.md, 'Retention: pruning old folders')",
    )
    retention.add_argument(
        "--prune",
        action=argparse.BooleanOptionalAction,
        default=_bool_env("MESHTUNE_PRUNE", True),
        help="prune old folders under pressure (--no-prune: never) [MESHTUNE_PRUNE=0/1]",
    )
    retention.add_argument(
        "--prune-below-free-mb",
        type=int,
        default=_number_env("MESHTUNE_PRUNE_BELOW_FREE_MB", int),
        help="prune while a folder's file system has less free space than this (default: twice "
        "--min-free-disk-mb, so that pruning comes before adapters and checkpoints are refused; "
        "0: not for free space) [MESHTUNE_PRUNE_BELOW_FREE_MB]",
    )
    retention.add_argument(
        "--max-disk-mb",
        type=int,
        default=_number_env("MESHTUNE_MAX_DISK_MB", int),
        help="prune while the runner's folders (trial folders, checkpoints, kept adapters) hold "
        "more than this (default: no cap) [MESHTUNE_MAX_DISK_MB]",
    )
    retention.add_argument(
        "--prune-keep-adapters",
        type=int,
        default=_number_env("MESHTUNE_PRUNE_KEEP_ADAPTERS", int, 3),
        help="per study, never prune the newest N completed trials' adapters (nor the best one) "
        "[MESHTUNE_PRUNE_KEEP_ADAPTERS]",
    )
    retention.add_argument(
        "--prune-study-idle-days",
        type=float,
        default=_number_env("MESHTUNE_PRUNE_STUDY_IDLE_DAYS", float, 14.0),
        help="checkpoints of a study that gave this runner no trial for this many days may be "
        "pruned, as those of an ended study are (0: only when the API said it ended) "
        "[MESHTUNE_PRUNE_STUDY_IDLE_DAYS]",
    )
    allow = parser.add_argument_group(
        "what a study may ask of this runner",
        "a study's trainingConfig is written by any user key holder of the project; by default "
        "it may read only under --data-root, write adapters and checkpoints only to this "
        "runner's own folders (and --adapter-dir), run no model code and pass only numeric "
        "trainingArguments (docs/runner.md, 'What a study may ask of a runner'). Repeat a flag "
        "for several values; its variable takes a comma-separated list",
    )
    allow.add_argument(
        "--allow-remote-code",
        action="store_true",
        default=_bool_env("MESHTUNE_ALLOW_REMOTE_CODE"),
        help="let studies set trustRemoteCode: true, i.e. run the Python code of the model "
        "folder or hub repository they name [MESHTUNE_ALLOW_REMOTE_CODE=1]",
    )
    allow.add_argument(
        "--allow-read",
        action="append",
        default=None,
        metavar="FOLDER",
        help="a folder studies may read data, models and tokenizers from, besides --data-root "
        "[MESHTUNE_ALLOW_READ]",
    )
    allow.add_argument(
        "--allow-write",
        action="append",
        default=None,
        metavar="FOLDER_OR_URL",
        help="a folder, or an object store URL prefix, that a study's adapterDir or "
        "checkpointDir may name, besides this runner's own [MESHTUNE_ALLOW_WRITE]",
    )
    allow.add_argument(
        "--allow-training-argument",
        action="append",
        default=None,
        metavar="KEY",
        help="a transformers.TrainingArguments key studies may set in trainingArguments, "
        "besides the built-in numeric ones [MESHTUNE_ALLOW_TRAINING_ARGUMENTS]",
    )
    training = parser.add_argument_group(
        "training overrides",
        "paths and resources only (the study fixes its training regime); each also read from "
        "MESHTUNE_<NAME>, e.g. MESHTUNE_TRAIN_DATA",
    )
    for name, (key, kind) in OVERRIDES.items():
        training.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"override_{name}",
            type=kind,
            default=None,
            help=f"trainingConfig.{key}",
        )
    training.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="override another runner-side trainingConfig key (paths and resources: "
        "adapterDir, gradientCheckpointing, memoryProbe), e.g. --set gradientCheckpointing=true",
    )
    return parser


def _bool_env(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"meshtune-runner: {name} must be 1/true or 0/false, got {value!r}")


def _list_option(flags: list[str] | None, env_name: str) -> list[str]:
    """Flags win over the variable (comma-separated), as for every other option."""
    if flags:
        return [item for item in flags if item]
    return [item.strip() for item in (_env(env_name) or "").split(",") if item.strip()]


def _number_env(name: str, kind: type[float] | type[int], default: float | None = None) -> Any:
    """A numeric variable, or exit naming it when it is not a number of that kind."""
    value = _env(name)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise SystemExit(
            f"meshtune-runner: {name} must be {'an integer' if kind is int else 'a number'}, "
            f"got {value!r}"
        ) from None


def collect_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    raw_env = _env("MESHTUNE_TRAINING_OVERRIDES")
    if raw_env:
        loaded = json.loads(raw_env)
        if not isinstance(loaded, dict):
            raise ValueError("MESHTUNE_TRAINING_OVERRIDES must be a JSON object")
        overrides.update(loaded)
    for name, (key, kind) in OVERRIDES.items():
        env_value = _env(f"MESHTUNE_{name.upper()}")
        if env_value is not None:
            overrides[key] = kind(env_value)
        flag_value = getattr(args, f"override_{name}")
        if flag_value is not None:
            overrides[key] = flag_value
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=JSON, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value  # a bare string
    check_runner_overrides(overrides)
    return overrides


def _lock_state_dir(state_dir: Path) -> Any:
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = (state_dir / "lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(
            f"meshtune-runner: another runner uses {state_dir}; give this one "
            "its own --name or --state-dir"
        ) from None
    return handle


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.url:
        parser.error("--url (or MESHTUNE_URL) is required")
    url_problem = check_url(args.url.strip())
    if url_problem is not None:
        parser.error(url_problem)
    if args.max_log_mb < 1:
        parser.error(
            f"--max-log-mb (or MESHTUNE_MAX_LOG_MB) must be at least 1, not {args.max_log_mb}"
        )
    for flag, value in (
        ("--prune-below-free-mb (or MESHTUNE_PRUNE_BELOW_FREE_MB)", args.prune_below_free_mb),
        ("--max-disk-mb (or MESHTUNE_MAX_DISK_MB)", args.max_disk_mb),
        ("--prune-keep-adapters (or MESHTUNE_PRUNE_KEEP_ADAPTERS)", args.prune_keep_adapters),
        ("--prune-study-idle-days (or MESHTUNE_PRUNE_STUDY_IDLE_DAYS)", args.prune_study_idle_days),
    ):
        if value is not None and not value >= 0:  # `not >=`: NaN too
            parser.error(f"{flag} must be 0 or more, not {value}")

    from .agent import Agent, AgentConfig
    from .gpus import select_gpus

    try:
        gpus = select_gpus(args.gpus)
        overrides = collect_overrides(args)
    except ValueError as exc:
        parser.error(str(exc))
    explicit = args.gpus.strip().lower() not in ("auto", "none", "cpu", "")
    name = args.name or socket.gethostname() + (
        "-gpu" + "-".join(g.index for g in gpus) if explicit else ""
    )
    state_dir = (
        Path(args.state_dir)
        if args.state_dir
        else (
            Path(_env("XDG_STATE_HOME", str(Path.home() / ".local" / "state")) or ".")
            / "meshtune-runner"
            / name
        )
    )
    lock = _lock_state_dir(state_dir)
    memories = [g.memory_mb for g in gpus if g.memory_mb is not None]
    config = AgentConfig(
        base_url=args.url.strip().rstrip("/"),
        api_key=args.api_key,
        name=name,
        state_dir=state_dir,
        gpus=[g.index for g in gpus],
        gpu_memory_mb=min(memories) if memories else None,
        labels=[label.strip() for label in args.labels.split(",") if label.strip()],
        study_id=args.study,
        data_root=Path(args.data_root) if args.data_root else None,
        overrides=overrides,
        launcher=args.launcher,
        max_trials=args.max_trials,
        exit_when_idle=args.exit_when_idle,
        drain_timeout=args.drain_timeout,
        keep_trial_dirs=args.keep_trial_dirs,
        adapter_dir=_adapter_root(args.adapter_dir),
        keep_adapters=args.keep_adapters,
        min_free_disk_mb=args.min_free_disk_mb,
        max_log_mb=args.max_log_mb,
        prune=args.prune,
        prune_below_free_mb=args.prune_below_free_mb,
        max_disk_mb=args.max_disk_mb,
        prune_keep_adapters=args.prune_keep_adapters,
        prune_study_idle_days=args.prune_study_idle_days or None,
        allow_remote_code=args.allow_remote_code,
        allow_read=[Path(p) for p in _list_option(args.allow_read, "MESHTUNE_ALLOW_READ")],
        allow_write=[
            destination
            for destination in (
                _adapter_root(item)
                for item in _list_option(args.allow_write, "MESHTUNE_ALLOW_WRITE")
            )
            if destination is not None
        ],
        allow_training_arguments=_list_option(
            args.allow_training_argument, "MESHTUNE_ALLOW_TRAINING_ARGUMENTS"
        ),
    )
    agent = Agent(config)
    agent.install_signal_handlers()
    logging.getLogger("meshtune_runner").info(
        "meshtune-runner %s: %s -> %s, %s",
        __version__,
        name,
        config.base_url,
        f"GPU(s) {','.join(config.gpus)}" if config.gpus else "CPU",
    )
    try:
        return agent.run()
    finally:
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
