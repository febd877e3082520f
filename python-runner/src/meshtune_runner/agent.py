"""The runner's loop: register -> lease -> train in a child -> heartbeat -> report.

Signals: the first SIGTERM/SIGINT drains (finish the current trial, report it, exit; after
`drain_timeout` the trial is released instead); the second stops at once (the child is
killed, nothing is reported, and the API hands the trial out again when its lease expires).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from .adapter_store import ObjectStoreError, is_store_url, join_store_url, upload_adapter
from .api_models import Lease, MetricPoint
from .client import ApiClient, LeaseLimit, LeaseWait, RetryPolicy
from .errors import (
    ApiError,
    FailureKind,
    FatalApiError,
    LeaseLostError,
    MissingInputError,
    RunnerError,
    RunnerFaultError,
    RunnerMismatchError,
    TrainingConfigError,
    TransientApiError,
    TrialAlreadyFinishedError,
    TrialSetupError,
)
from .failure_text import secret_environment_values
from .hub_cache import hub_offline, hub_snapshot_cached
from .hyperparameters import map_parameters
from .launcher import Launcher, LauncherName, crash_reason, stop_process_group
from .outbox import Outbox, PendingReport
from .outputs import check_outputs_producible, collect_outputs
from .policy import RunnerPolicy, confine_study
from .pruning import DiskRetention, PruneSettings
from .regime import batch_layout
from .reporter import Reporter
from .retention import MANIFEST_NAME, keep_adapter
from .training_config import TrainingConfig, overrides_field, parse_training_config
from .trial_files import EventReader, TrialResult, TrialSpec, write_json_atomic
from .trial_log import TrialLog
from .worker import is_peer_lost

__all__ = ["Agent", "AgentConfig"]

log = logging.getLogger("meshtune_runner")

MAX_METRICS_PER_HEARTBEAT = 200

#: How long to wait before registering again when the project has all the runners it may.
REGISTER_QUOTA_WAIT_SECONDS = 60.0

#: After a decline the API did not take, no lease for this long, doubled after each such decline
#: in a row up to the maximum (`Agent._decline`): the same study would be leased again at once.
DECLINE_HOLD_SECONDS = 10.0
DECLINE_HOLD_MAX_SECONDS = 600.0

#: The heartbeat reply's reason when the API's stopping policy ended the trial (issue 17): the
#: trial is already `stopped` on the server, so the runner stops training, keeps the adapter
#: and reports nothing (complete/fail would be refused).
EARLY_STOPPED = "early_stopped"


class TrialStartError(RunnerFaultError):
    """The trial's folder, log or child could not be made (an OSError of this machine)."""


class TrialDiskError(RunnerFaultError):
    """The child ran, and this machine's disk then lost its answer (an OSError reading it):
    a runner failure, with the GPU-seconds the child used."""

    def __init__(self, message: str, gpu_seconds: float | None = None) -> None:
        super().__init__(message)
        self.gpu_seconds = gpu_seconds


def _close_log(trial_log: TrialLog, label: str) -> None:
    """The log is closed after the child: a disk that refuses its last writes costs the log's
    tail, never the trial's result (finding 41)."""
    try:
        trial_log.handed_over()
        trial_log.close()
    except OSError as exc:
        log.warning("%s: could not finish the training log: %s", label, exc)


class _ChildClock:
    """GPU-seconds of the training child, measured: the GPUs it was given x the wall-clock
    seconds since it was started (to its exit, once seen). A CPU runner counts as one device,
    so that CPU studies (the tiny demo, bench:fidelity's curves) account for their cost too."""

    def __init__(self, devices: int) -> None:
        self.devices = max(1, devices)
        self.started = time.monotonic()
        self.ended: float | None = None

    def stop(self) -> None:
        if self.ended is None:
            self.ended = time.monotonic()

    def gpu_seconds(self) -> float:
        end = self.ended if self.ended is not None else time.monotonic()
        return self.devices * (end - self.started)


def _metric_point(event: dict[str, Any]) -> MetricPoint:
    return MetricPoint(
        name=str(event["name"]), step=int(event["step"]), value=float(event["value"])
    )


@dataclass
class AgentConfig:
    base_url: str
    api_key: str | None
    name: str
    state_dir: Path
    gpus: list[str] = field(default_factory=list)
    gpu_memory_mb: int | None = None
    labels: list[str] = field(default_factory=list)
    study_id: str | None = None
    data_root: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    launcher: LauncherName = "torchrun"
    max_trials: int | None = None
    exit_when_idle: float | None = None
    idle_heartbeat_seconds: float = 30.0
    max_heartbeat_seconds: float = 30.0
    drain_timeout: float | None = None
    stop_grace_seconds: float = 20.0
    keep_trial_dirs: bool = False
    retry_initial_seconds: float = 1.0
    #: where completed trials' adapters are kept (None: <state_dir>/adapters; a study's
    #: trainingConfig.adapterDir, e.g. a shared file system, wins): a path, or an object store
    #: URL (`s3://bucket/prefix`, adapter_store.py) to which each adapter is uploaded
    adapter_dir: Path | str | None = None
    #: how many adapters to keep per study, newest first (None: all)
    keep_adapters: int | None = None
    #: free space (MiB) an adapter, a checkpoint or the child's log may not bring its file
    #: system under: past it the result is still reported, without its adapter (retention.py,
    #: training/finetune.py, trial_log.py)
    min_free_disk_mb: int = 1024
    #: the training child's log is cut beyond this size, keeping its head and tail (trial_log.py)
    max_log_mb: int = 64
    #: what a study's trainingConfig may name on this runner (policy.py; cli.py's --allow-*):
    #: remote code, folders to read besides `data_root`, destinations besides the runner's own
    #: adapter and checkpoint folders (folders or URL prefixes), TrainingArguments keys besides
    #: policy.ALLOWED_TRAINING_ARGUMENTS
    allow_remote_code: bool = False
    allow_read: list[Path] = field(default_factory=list)
    allow_write: list[Path | str] = field(default_factory=list)
    allow_training_arguments: list[str] = field(default_factory=list)
    #: after an early stop, how long the child may take to end its current step and save
    #: its adapter before it is killed (the adapter is then lost)
    early_stop_wait_seconds: float = 600.0
    #: old trial folders, checkpoints and adapters pruned under pressure (pruning.py; cli.py's
    #: --prune, --prune-below-free-mb, --max-disk-mb, --prune-keep-adapters,
    #: --prune-study-idle-days); False: nothing is ever pruned
    prune: bool = True
    #: prune while a root's file system has less free than this (None: twice
    #: min_free_disk_mb, so that pruning comes before saves are refused; 0: never)
    prune_below_free_mb: int | None = None
    #: prune while the runner's folders hold more than this (None: no cap)
    max_disk_mb: int | None = None
    #: per study, the newest N completed adapters (and the best one) are never pruned
    prune_keep_adapters: int = 3
    #: a study silent this long is taken as ended for its checkpoints (None: never)
    prune_study_idle_days: float | None = 14.0
    #: how often the pressure is looked at, while training and while idle (and after each trial)
    prune_every_seconds: float = 60.0


def _skip_note(event: dict[str, Any]) -> str:
    """What a checkpoint save skipped under the disk floor costs a trial that is interrupted."""
    resume = event.get("resumeStep")
    return (
        f"checkpoint saves skipped up to step {event.get('step')} (the disk is under this "
        "runner's --min-free-disk-mb floor): an interrupted trial resumes from "
        + (
            f"its checkpoint of step {resume}"
            if resume is not None
            else "the start (no checkpoint)"
        )
    )


def _failure_payload(result: TrialResult) -> dict[str, Any]:
    """The fail report: the error says which kind of failure it is; see reporter.py for the
    kind the API is told ("resource": a runner with more GPU memory gets the trial)."""
    error = result.error or "failed"
    if result.kind == "resource":
        error = f"out of GPU memory on rank {result.rank}: {error}"
    elif result.kind == "runner":
        error = f"runner failure (retryable on another runner): {error}"
    payload: dict[str, Any] = {"error": error, "kind": result.kind}
    if result.retryable:
        payload["retryable"] = True
    return payload


def _merge_rank_failures(spec: TrialSpec, result: TrialResult | None) -> TrialResult | None:
    """The failure to report when several ranks failed: out of memory on any rank first, then
    the first rank whose error is its own rather than a lost peer."""
    if result is not None and result.status == "completed":
        return result
    failures: list[TrialResult] = []
    if spec.failures_dir.is_dir():
        for path in sorted(spec.failures_dir.glob("rank-*.json")):
            try:
                failures.append(TrialResult.load(path))
            except (OSError, ValueError, KeyError):
                continue
    if result is not None:
        failures.append(result)
    if not failures:
        return None
    for failure in failures:
        if failure.kind == "resource":
            return failure
    own = [f for f in failures if not is_peer_lost(f.error or "")]
    return own[0] if own else failures[0]


def _objective(lease: Lease) -> dict[str, Any]:
    """The study's first objective, in a kept adapter's manifest: the retention keeps the
    study's best adapter by it (pruning.py)."""
    for output in lease.outputs:
        if output.type == "objective":
            return {"objective": {"name": output.name, "goal": output.goal or "minimize"}}
    return {}


def _prune_settings(config: AgentConfig) -> PruneSettings:
    below = config.prune_below_free_mb
    if below is None:
        below = 2 * config.min_free_disk_mb
    idle = config.prune_study_idle_days
    return PruneSettings(
        enabled=config.prune,
        below_free_bytes=max(0, below) * 2**20,
        max_bytes=config.max_disk_mb * 2**20 if config.max_disk_mb is not None else None,
        keep_adapters=max(0, config.prune_keep_adapters),
        study_idle_seconds=idle * 86400.0 if idle is not None and idle > 0 else None,
    )


#: Precisions the training child trains only on CUDA (training/finetune.py `_resolve_precision`:
#: without CUDA every precision is fp32, another regime than the study's).
GPU_PRECISIONS = ("bf16", "bf16-mixed", "fp16")


def _check_runner_fits(config: TrainingConfig, gpus: int) -> None:
    """What this machine lacks for the study, found before a child loads torch: declined
    (MissingInputError, RunnerMismatchError), since another runner may have it."""
    for label, value in (
        ("trainData", config.train_data),
        ("evalData", config.eval_data),
        ("mmluData", config.mmlu_data),
    ):
        if value and not Path(value).exists():
            raise MissingInputError(f"{label} not found on this runner: {value}")
    for label, value in (("model", config.model), ("tokenizer", config.tokenizer)):
        # "org/name" may be a hub id; anything that looks like a path must exist.
        if not value:
            continue
        looks_like_path = value.startswith(("/", ".", "~")) or value.count("/") > 1
        if looks_like_path and not Path(value).expanduser().exists():
            raise MissingInputError(f"{label} not found on this runner: {value}")
        if not looks_like_path and hub_offline() and not hub_snapshot_cached(value):
            # An offline runner without the hub model in its cache: a runner online, or with the
            # model cached, trains the point (docs/runner.md, "Whose fault a refusal is").
            raise MissingInputError(
                f"{label} {value!r} is a hub id not in this runner's hub cache, and the runner is "
                "offline (HF_HUB_OFFLINE)"
            )
    if config.quantization != "none" and importlib.util.find_spec("bitsandbytes") is None:
        # The machine lacks a package, the point is fine: another runner can train it.
        raise MissingInputError(
            f"quantization {config.quantization!r} needs bitsandbytes, which this runner's "
            "environment lacks (python-runner/requirements-qlora.lock)"
        )
    if gpus == 0 and config.precision in GPU_PRECISIONS:
        # On CPU the child trains fp32: results of another regime than the study's
        # (docs/runner.md, "One training regime per study"); a GPU runner trains it.
        raise RunnerMismatchError(
            f"precision {config.precision!r} needs a GPU and this runner has none (--gpus none); "
            "on CPU it would train in fp32, another regime"
        )


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        client_factory: Callable[[str, str, RetryPolicy], ApiClient] | None = None,
        launcher: Launcher | None = None,
    ) -> None:
        self.config = config
        self.stopping = False  # first signal: drain
        self.hard_stop = False  # second signal: stop now
        self._wake = threading.Event()
        self._hard_stop_event = threading.Event()  # cuts retry back-offs short
        self._retry = RetryPolicy(
            initial=config.retry_initial_seconds,
            give_up_after=60.0,
            should_abort=lambda: self.hard_stop,
            sleep=self._hard_stop_event.wait,
        )
        self._client_factory = client_factory or (
            lambda url, token, retry: ApiClient(url, token, retry=retry)
        )
        self._launcher = launcher or Launcher(config.gpus, config.launcher)
        self.outbox = Outbox(config.state_dir / "outbox")
        self.reporter = Reporter(lambda: self.client, self.outbox, self._known_secrets)
        self.policy = RunnerPolicy.build(
            state_dir=config.state_dir,
            data_root=config.data_root,
            allow_read=config.allow_read,
            allow_write=config.allow_write,
            adapter_dir=config.adapter_dir,
            allow_remote_code=config.allow_remote_code,
            allow_training_arguments=config.allow_training_arguments,
        )
        self.trials_run = 0
        self.runner_id = ""
        self._client: ApiClient | None = None
        self.retention = DiskRetention(
            _prune_settings(config),
            config.state_dir,
            config.name,
            [Path(config.adapter_dir)]
            if config.adapter_dir and not is_store_url(config.adapter_dir)
            else [],
        )
        #: the running trial's work and checkpoint folders: never pruned
        self._in_use: list[Path] = []
        self._last_prune = 0.0
        #: no lease before this time (monotonic) after a decline the API did not take
        self._decline_hold_until = 0.0
        self._decline_backoff = 0.0

    # -- signals --------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            self.stopping = True
            log.warning(
                "%s: finishing the current trial, then exiting (send again to stop now)",
                signal.Signals(signum).name,
            )
        else:
            self.hard_stop = True
            self._hard_stop_event.set()
            log.warning("%s again: stopping now", signal.Signals(signum).name)
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    # -- identity -------------------------------------------------------------------------

    def _known_secrets(self) -> list[str]:
        """What a failure report must never carry: this runner's key and token, and the values
        of environment variables named as secrets (HF_TOKEN, AWS_SECRET_ACCESS_KEY, …), which
        the training child inherits and a library may print."""
        secrets = secret_environment_values()
        if self.config.api_key:
            secrets.append(self.config.api_key)
        if self._client is not None:
            secrets.append(self._client.token)
        return secrets

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            raise RunnerError("not registered")
        return self._client

    def _identity_path(self) -> Path:
        return self.config.state_dir / "runner.json"

    def _settings_fingerprint(self) -> str:
        """A hash of the settings the API keeps for this runner or that decide what it declines:
        GPU count and memory and labels (lease matching, `requiredRunnerLabels`, the GPU-seconds
        bound), its folders and allowances (policy.py) and the overrides applied to a study's
        trainingConfig before they are checked. Saved with the identity (runner.json)."""
        data_root = self.config.data_root
        settings = {
            "gpus": len(self.config.gpus),
            "gpuMemoryMb": self.config.gpu_memory_mb,
            "labels": sorted(set(self.config.labels)),
            # Relative study paths are resolved against it (TrainingConfig.resolve_paths).
            "dataRoot": os.path.realpath(Path(data_root).expanduser()) if data_root else None,
            "policy": self.policy.settings(),
            "overrides": self.config.overrides,
        }
        text = json.dumps(settings, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _save_identity(self, runner_id: str, token: str, fingerprint: str) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            self._identity_path(),
            {
                "baseUrl": self.config.base_url,
                "name": self.config.name,
                "id": runner_id,
                "token": token,
                "settings": fingerprint,
            },
            mode=0o600,  # the token acts for this runner
        )

    def _set_client(self, token: str) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._client_factory(self.config.base_url, token, self._retry)

    def _register(self, reuse: bool = True) -> None:
        path = self._identity_path()
        fingerprint = self._settings_fingerprint()
        if reuse and path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if (
                saved.get("baseUrl") == self.config.base_url
                and saved.get("name") == self.config.name
            ):
                self.runner_id = saved["id"]
                self._set_client(saved["token"])
                if saved.get("settings") == fingerprint:
                    # Not registered again on every restart: that would clear the health of a
                    # crash-looping runner each time its supervisor restarts it
                    # (docs/reliability.md, findings 13 and 14).
                    log.info("re-using runner %s (%s)", self.config.name, self.runner_id)
                    return
                # Other GPUs, labels or folders (or an identity saved by an older runner, which
                # kept no fingerprint): the API updates the runner and offers it again the
                # studies it declined (docs/runner.md, "Studies a runner cannot run").
                log.info(
                    "runner %s (%s): settings %s since last run: registering again",
                    self.config.name,
                    self.runner_id,
                    "changed" if "settings" in saved else "unknown",
                )
                try:
                    self.client.register_again(
                        self.config.name,
                        len(self.config.gpus),
                        self.config.gpu_memory_mb,
                        self.config.labels,
                    )
                except FatalApiError as exc:
                    if exc.status_code != 401 or not self.config.api_key:
                        raise
                    # The token no longer acts for a runner (deleted, or reclaimed while
                    # unseen): a new registration below, as _loop does on a refused lease.
                    log.warning("saved runner token rejected (%s); registering anew", exc)
                else:
                    self._save_identity(self.runner_id, saved["token"], fingerprint)
                    return
        if not self.config.api_key:
            raise FatalApiError(
                401,
                "NO_API_KEY",
                "MESHTUNE_API_KEY (a runner-scope key) is needed to register this runner",
            )
        with self._client_factory(
            self.config.base_url, self.config.api_key, self._retry
        ) as bootstrap:
            registered = bootstrap.register(
                self.config.name,
                len(self.config.gpus),
                self.config.gpu_memory_mb,
                self.config.labels,
            )
        self.runner_id = registered.id
        self._set_client(registered.token)
        self._save_identity(registered.id, registered.token, fingerprint)
        log.info(
            "registered runner %s as %s (%d GPU(s))",
            self.config.name,
            registered.id,
            len(self.config.gpus),
        )

    def _register_when_possible(self, reuse: bool = True) -> bool:
        """`_register`, tried again while the API is unreachable or the project has all the
        runners it may (409 PROJECT_QUOTA_EXCEEDED, quota `maxRunners`: the API reclaims runners
        unseen for a while, or an admin raises it). False when stopped meanwhile."""
        while True:
            try:
                self._register(reuse)
                return True
            except TransientApiError as exc:
                if self.stopping:
                    return False
                log.warning("cannot reach the API to register (%s); trying again", exc)
                self._sleep(10.0)
            except ApiError as exc:
                if exc.code != "PROJECT_QUOTA_EXCEEDED" or isinstance(exc, FatalApiError):
                    raise
                if self.stopping:
                    return False
                log.warning(
                    "the API registers no more runners in this project now (%s); "
                    "trying again in %.0f s",
                    exc.message,
                    REGISTER_QUOTA_WAIT_SECONDS,
                )
                self._sleep(REGISTER_QUOTA_WAIT_SECONDS)

    # -- main loop ------------------------------------------------------------------------

    def run(self) -> int:
        """0 when done or drained, 1 on a hard stop, 2 on a fatal API or configuration error."""
        try:
            try:
                if not self._register_when_possible():
                    return 1
            except ApiError as exc:
                if isinstance(exc, FatalApiError):
                    raise
                # 404 NOT_FOUND here is a URL that is not the API's base (a path after it, another
                # service on that port); any other refusal is the API's word, shown as it is.
                log.error(
                    "the API refused to register this runner: %s%s",
                    exc,
                    " (is --url / MESHTUNE_URL the meshtune API's base URL, e.g. "
                    "http://meshtune:3000?)"
                    if exc.code == "NOT_FOUND"
                    else "",
                )
                return 2
            self.reporter.flush()
            self._prune(force=True)
            return self._loop()
        except FatalApiError as exc:
            log.error("fatal: %s (check MESHTUNE_API_KEY / the runner token)", exc)
            return 2
        finally:
            if self._client is not None:
                self._client.close()

    def _loop(self) -> int:
        idle_since = time.monotonic()
        last_runner_heartbeat = 0.0
        reregistered = False
        #: the API has answered a lease of --study once: a 404 after that means it was deleted
        study_seen = False
        while not self.stopping:
            hold = self._decline_hold_until - time.monotonic()
            try:
                # After a decline the API did not take: waiting, as idle (runner heartbeats).
                leased = (
                    LeaseWait(hold)
                    if hold > 0
                    else self.client.lease(self.runner_id, self.config.study_id)
                )
            except FatalApiError as exc:
                if reregistered or not self.config.api_key:
                    raise
                log.warning("saved runner token rejected (%s); registering again", exc)
                if not self._register_when_possible(reuse=False):
                    return 1
                reregistered = True
                continue
            except TransientApiError as exc:
                log.warning("lease failed (%s); trying again", exc)
                self._sleep(10.0)
                continue
            except ApiError as exc:  # e.g. 404: --study names no study
                if study_seen and exc.code == "STUDY_NOT_FOUND" and self.config.study_id:
                    # Deleted (after a stop) while this runner served it: it has ended for
                    # good, as a finished study does, and its checkpoints may go.
                    log.info("study %s was deleted; exiting", self.config.study_id)
                    self.retention.note_study_status(self.config.study_id, "stopped")
                    self._prune(force=True)
                    return 0
                log.error("the API refuses to lease to this runner: %s", exc)
                return 2
            study_seen = True
            if isinstance(leased, LeaseLimit) and self._release_orphans(leased.trial_ids):
                continue
            if isinstance(leased, LeaseWait):
                ended = bool(
                    self.config.study_id
                    and leased.study_status
                    and self.retention.note_study_status(self.config.study_id, leased.study_status)
                )
                self._prune(force=ended)  # an ended study's checkpoints may go now
                now = time.monotonic()
                if (
                    self.config.exit_when_idle is not None
                    and now - idle_since >= self.config.exit_when_idle
                ):
                    log.info("nothing to do for %.0fs; exiting", now - idle_since)
                    return 0
                if now - last_runner_heartbeat >= self.config.idle_heartbeat_seconds:
                    try:
                        self.client.runner_heartbeat(self.runner_id)
                    except (TransientApiError, ApiError) as exc:
                        if isinstance(exc, FatalApiError):
                            raise
                        log.warning("runner heartbeat failed: %s", exc)
                    last_runner_heartbeat = now
                self._sleep(min(leased.retry_after, self.config.idle_heartbeat_seconds))
                continue
            self.retention.note_study_active(leased.trial.study_id)
            self.run_trial(leased)
            self.trials_run += 1
            self._prune(force=True)
            idle_since = time.monotonic()
            if self.hard_stop:
                return 1
            if self.config.max_trials is not None and self.trials_run >= self.config.max_trials:
                log.info("ran %d trial(s) (--max-trials); exiting", self.trials_run)
                break
        return 1 if self.hard_stop and self.outbox.pending() else 0

    # -- one trial ------------------------------------------------------------------------

    def run_trial(self, lease: Lease) -> None:
        trial = lease.trial
        label = f"trial #{trial.number} ({trial.id}, attempt {trial.attempt})"
        if not lease.training_config:
            # A study an SDK runWorker evaluates (docs/runner.md, "Studies a runner cannot run"):
            # not this runner's kind, and not the point's fault.
            self._decline(
                trial.id,
                label,
                "the study has no trainingConfig: it is evaluated by an SDK worker "
                "(runWorker), not by a training runner",
                lease.lease_seconds,
            )
            return
        try:
            config = parse_training_config(lease.training_config, self.config.overrides)
            config = config.resolve_paths(self.config.data_root)
            # Before anything is looked up, loaded or written: a study names only what this
            # runner's operator allows (a refusal is the study's fault, never the machine's).
            config = confine_study(config, self.policy, self.config.overrides)
            hyper = map_parameters(dict(trial.parameters))
            check_outputs_producible(lease.outputs, config)
            _check_runner_fits(config, len(self.config.gpus))
            batch_layout(
                config,
                max(1, len(self.config.gpus)),
                hyper.training,
                runner_per_device=overrides_field(self.config.overrides, "perDeviceTrainBatchSize"),
            )
        except RunnerFaultError as exc:
            # This runner's own settings are invalid whatever the study: its health.
            self._report_machine_fault(trial.id, label, str(exc))
            return
        except RunnerMismatchError as exc:
            # This runner's setup, not the point (StudyPolicyError: its --data-root, --allow-*;
            # a file, package, GPU count or GPU it lacks): given back for a runner that may run
            # it, and the study is not leased here again for a while. Never a runner failure,
            # so a study cannot quarantine the runner (docs/runner.md, "Whose fault a refusal
            # is"; docs/reliability.md, findings 12 and 49).
            self._decline(trial.id, label, str(exc), lease.lease_seconds)
            return
        except (TrainingConfigError, TrialSetupError) as exc:
            log.error("%s cannot run: %s", label, exc)
            self.reporter.report(PendingReport(trial.id, "fail", {"error": str(exc)}))
            return
        log.info(
            "%s leased: %s on %s",
            label,
            hyper.describe(),
            f"GPU {','.join(self.config.gpus)}" if self.config.gpus else "CPU",
        )

        # trial.id and study_id are plain names (api_models.ApiId): folder names, no more.
        work_dir = self.config.state_dir / "trials" / f"{trial.id}-a{trial.attempt}"
        checkpoints = self._checkpoint_dir(config, trial.study_id, trial.id)
        spec = TrialSpec(
            trial.id,
            trial.number,
            trial.study_id,
            config.model_dump(by_alias=True),
            asdict(hyper),
            str(work_dir),
            str(checkpoints) if checkpoints else None,
            self.config.min_free_disk_mb,
        )
        spec_path = work_dir / "spec.json"
        self._in_use = [work_dir, *([checkpoints] if checkpoints else [])]
        try:
            try:
                shutil.rmtree(work_dir, ignore_errors=True)
                work_dir.mkdir(parents=True)
                spec.save(spec_path)
            except OSError as exc:
                raise TrialStartError(f"cannot write the trial's folder {work_dir}: {exc}") from exc
            outcome, gpu_seconds = self._supervise(lease, spec, spec_path, label)
        except TrialStartError as exc:
            # Disk full, over quota, read-only, out of file handles, no launcher: the point
            # never ran; this machine's fault (finding 41, docs/reliability.md).
            self._report_machine_fault(trial.id, label, str(exc))
            return
        except TrialDiskError as exc:
            # The child's answer lost on this machine's disk: the point is not to blame.
            self._report_machine_fault(trial.id, label, str(exc), exc.gpu_seconds)
            return
        except OSError as exc:
            # The same disk failing while the child ran, where `_supervise` does not handle it
            # itself (it does for the events, the result, the log and the stop file): the
            # result is not known, and the point is not to blame (finding 41).
            self._report_machine_fault(
                trial.id, label, f"this runner's disk failed during training: {exc}"
            )
            return
        finally:
            self._in_use = []
        if outcome is None:
            return  # stopped or lost: nothing to report
        if outcome.status == "failed" and outcome.refusal == "decline":
            # The child found what this machine lacks (a RunnerMismatchError in worker.py).
            self._decline(
                trial.id, label, outcome.error or "failed", lease.lease_seconds, gpu_seconds
            )
            return
        if outcome.status == "failed" and outcome.refusal == "runnerFault":
            # The child found this machine broken (its GPUs not usable): its health; the
            # checkpoints stay for the runner that takes the trial next.
            self._report_machine_fault(trial.id, label, outcome.error or "failed", gpu_seconds)
            return
        if outcome.status == "stopped":
            # Ended by the API (early stop): nothing to report; the adapter and any checkpoint
            # stay for a later resume of the same point.
            self._keep_stopped(lease, config, spec, outcome, gpu_seconds, label)
            if not self.config.keep_trial_dirs:
                shutil.rmtree(work_dir / "output", ignore_errors=True)
            return
        if outcome.status == "completed":
            try:
                outputs = collect_outputs(lease.outputs, outcome.metrics)
            except TrialSetupError as exc:
                report = PendingReport(
                    trial.id, "fail", {"error": str(exc), "gpuSeconds": gpu_seconds}
                )
            else:
                # First: a reason it was not kept goes into the effective configuration.
                kept = self._keep_adapter(lease, config, outcome, outputs)
                payload: dict[str, Any] = {
                    "outputs": outputs,
                    "gpuSeconds": gpu_seconds,
                    "effectiveConfig": outcome.effective_config,
                }
                adapter = kept[0] if kept else None
                if kept is not None:
                    payload["adapter"], payload["adapterSizeBytes"] = kept
                report = PendingReport(trial.id, "complete", payload)
                log.info(
                    "%s completed: %s (regime %s%s)",
                    label,
                    " ".join(f"{k}={v:.6g}" for k, v in outputs.items()),
                    outcome.effective_config.get("regimeHash", "?"),
                    f", adapter {adapter}" if adapter else "",
                )
        else:
            report = PendingReport(
                trial.id, "fail", {**_failure_payload(outcome), "gpuSeconds": gpu_seconds}
            )
        report = self.reporter.report(report)
        if outcome.status == "failed":
            # The text as sent (redacted, printable): the runner's own log is collected too.
            log.error("%s failed (%s failure): %s", label, outcome.kind, report.payload["error"])
        self._record_result(report)
        if checkpoints is not None and not (outcome.status == "failed" and outcome.retryable):
            # Done with (or a failed evaluation): nothing will resume it.
            shutil.rmtree(checkpoints, ignore_errors=True)
        if not self.config.keep_trial_dirs:
            shutil.rmtree(work_dir / "output", ignore_errors=True)

    def _supervise(
        self, lease: Lease, spec: TrialSpec, spec_path: Path, label: str
    ) -> tuple[TrialResult | None, float]:
        """The child's result (None: stopped or lost, nothing to report; status "stopped":
        ended early by the API) and the GPU-seconds it used."""
        trial_id = lease.trial.id
        heartbeat_every = max(1.0, min(self.config.max_heartbeat_seconds, lease.lease_seconds / 3))
        heartbeat_retry = RetryPolicy(
            initial=0.5,
            maximum=heartbeat_every,
            give_up_after=heartbeat_every,
            should_abort=lambda: self.hard_stop,
            sleep=self._hard_stop_event.wait,
        )
        reader = EventReader(spec.events_path)
        pending: list[MetricPoint] = []
        progress: float | None = None
        latest: dict[str, float] = {}
        step_text = ""
        drain_started: float | None = None
        last_heartbeat = time.monotonic()
        last_print = 0.0
        early_stop_since: float | None = None  # the API stopped the trial early at this time
        #: the latest checkpoint save skipped under the disk floor (the child's event)
        skipped: dict[str, Any] | None = None

        events_failed = False

        def read_events() -> list[dict[str, Any]]:
            """The child's new events; a disk that refuses the read (EIO, EMFILE, …) costs
            the progress and metrics shown meanwhile, never the trial: its result is in
            result.json, and the next read may work again (finding 41)."""
            nonlocal events_failed
            try:
                return reader.read_new()
            except OSError as exc:
                if not events_failed:
                    log.warning("%s: cannot read the child's events (%s); going on", label, exc)
                events_failed = True
                return []

        with ExitStack() as opened:
            try:
                trial_log = TrialLog(
                    spec.log_path,
                    self.config.max_log_mb * 2**20,
                    self.config.min_free_disk_mb * 2**20,
                )
                trial_log.child_output = trial_log.start()
                opened.callback(_close_log, trial_log, label)
                clock = _ChildClock(len(self.config.gpus))
                process = self._launcher.start(spec_path, trial_log.child_output)
            except OSError as exc:
                raise TrialStartError(f"cannot start the training child: {exc}") from exc
            trial_log.handed_over()
            try:
                while True:
                    exited = process.poll() is not None
                    if exited:
                        clock.stop()
                    for event in read_events():
                        if event.get("type") == "progress":
                            progress = float(event["value"])
                            step_text = f"step {event.get('step')}/{event.get('maxSteps')}"
                        elif event.get("type") == "checkpointSkipped":
                            if skipped is None:
                                log.warning("%s: %s", label, _skip_note(event))
                            skipped = event
                        elif event.get("type") == "checkpointSaved":
                            skipped = None  # saved again after skips: the resume point is current
                        elif event.get("type") == "metric":
                            point = _metric_point(event)
                            pending.append(point)
                            latest[point.name] = point.value
                            if point.name == "val_loss":
                                last_print = 0.0  # show each evaluation at once
                    now = time.monotonic()
                    if now - last_print >= 10.0 and progress is not None:
                        shown = " ".join(f"{k} {v:.4g}" for k, v in sorted(latest.items()))
                        log.info("%s %3.0f%% %s %s", label, 100 * progress, step_text, shown)
                        last_print = now
                    if exited:
                        break
                    if early_stop_since is not None:
                        # No heartbeats any more: the trial has ended on the server. Wait for
                        # the child to end its step and save the adapter.
                        if self.hard_stop or now - early_stop_since >= (
                            self.config.early_stop_wait_seconds
                        ):
                            log.warning("%s: the stopped child did not end; killing it", label)
                            stop_process_group(process, self.config.stop_grace_seconds)
                            clock.stop()
                            break
                        self._sleep(0.2)
                        continue
                    if self.hard_stop:
                        log.warning("%s: stopping now and giving it back", label)
                        self._release(trial_id, label, skipped, clock.gpu_seconds())
                        return None, clock.gpu_seconds()
                    if self.stopping and self.config.drain_timeout is not None:
                        drain_started = drain_started or now
                        if now - drain_started >= self.config.drain_timeout:
                            log.warning(
                                "%s: not done within --drain-timeout; giving it back", label
                            )
                            stop_process_group(process, self.config.stop_grace_seconds)
                            self._release(trial_id, label, skipped, clock.gpu_seconds())
                            return None, clock.gpu_seconds()
                    if now - last_heartbeat >= heartbeat_every:
                        batch = pending[:MAX_METRICS_PER_HEARTBEAT]
                        try:
                            reply = self.client.trial_heartbeat(
                                trial_id,
                                progress,
                                batch,
                                retry=heartbeat_retry,
                                gpu_seconds=clock.gpu_seconds(),
                            )
                        except LeaseLostError as exc:
                            log.warning("%s: lease lost (%s); dropping it", label, exc.message)
                            return None, clock.gpu_seconds()
                        except TransientApiError as exc:
                            log.warning("%s: heartbeat failed (%s); training goes on", label, exc)
                        except ApiError as exc:
                            if isinstance(exc, FatalApiError):
                                raise
                            log.warning("%s: heartbeat refused (%s); stopping it", label, exc)
                            return None, clock.gpu_seconds()
                        else:
                            del pending[: len(batch)]
                            if reply.reason and reply.reason.startswith("study_"):
                                # study_paused/_stopped/_completed/_failed: what the
                                # retention needs to know of the study's checkpoints
                                self.retention.note_study_status(
                                    lease.trial.study_id, reply.reason.removeprefix("study_")
                                )
                            if reply.should_stop and reply.reason == EARLY_STOPPED:
                                log.warning(
                                    "%s: stopped early by the API (%s); ending training at "
                                    "the next step, keeping its adapter",
                                    label,
                                    reply.reason,
                                )
                                early_stop_since = time.monotonic()
                                try:
                                    spec.stop_path.write_text(f"{reply.reason}\n", encoding="utf-8")
                                except OSError as exc:
                                    # The child cannot be told to save and end: ended now,
                                    # its adapter lost (nothing goes to the API either way).
                                    log.warning(
                                        "%s: cannot write its stop file (%s); ending it now",
                                        label,
                                        exc,
                                    )
                                    stop_process_group(process, self.config.stop_grace_seconds)
                                    clock.stop()
                                    break
                                continue
                            if reply.should_stop:
                                log.warning(
                                    "%s: the API asks to stop it (%s)",
                                    label,
                                    reply.reason or "no reason given",
                                )
                                stop_process_group(process, self.config.stop_grace_seconds)
                                self._release(trial_id, label, skipped, clock.gpu_seconds())
                                return None, clock.gpu_seconds()
                        last_heartbeat = time.monotonic()
                    self._prune()  # the running trial's folders are in self._in_use
                    self._sleep(0.5)
            finally:
                stop_process_group(process, self.config.stop_grace_seconds)
                clock.stop()

        result: TrialResult | None = None
        unreadable: str | None = None
        try:
            if spec.result_path.is_file():
                result = TrialResult.load(spec.result_path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # The child's answer is lost on this disk (or cut): not the point's fault.
            unreadable = f"cannot read the training child's result {spec.result_path}: {exc}"
            log.error("%s: %s", label, unreadable)
        if early_stop_since is not None:
            # Nothing more goes to the API for this trial (it would refuse it: the trial is
            # stopped there); whatever the child ended with is kept as a stopped trial.
            if result is None or result.status == "failed":
                log.warning(
                    "%s: the stopped child ended without saving its state (%s)",
                    label,
                    result.error if result else f"exit status {process.returncode}",
                )
                return TrialResult("stopped"), clock.gpu_seconds()
            return replace(result, status="stopped"), clock.gpu_seconds()

        # Metrics logged after the last heartbeat (the final evaluation, usually) still go out.
        pending.extend(_metric_point(e) for e in read_events() if e.get("type") == "metric")
        self._flush_metrics(trial_id, progress, pending, label, clock.gpu_seconds())

        merged = _merge_rank_failures(spec, result)
        if merged is None and unreadable is not None:
            raise TrialDiskError(unreadable, clock.gpu_seconds())
        if merged is None:
            reason = crash_reason(process.returncode, spec.log_path)
            # A crash without any rank's answer may be the machine's fault: try elsewhere.
            kind: FailureKind = "resource" if reason.startswith("CUDA out") else "runner"
            merged = TrialResult("failed", error=reason, kind=kind)
        if merged.status == "failed" and skipped is not None:
            # Its last line (kept however long the text): what a retry will start from.
            merged = replace(
                merged, error=f"{merged.error or 'failed'}\nnote: {_skip_note(skipped)}"
            )
        return merged, clock.gpu_seconds()

    def _report_machine_fault(
        self, trial_id: str, label: str, error: str, gpu_seconds: float | None = None
    ) -> None:
        """A trial this machine could not run whatever the study (errors.RunnerFaultError: its
        own settings invalid, its GPUs unusable, its trial folder or child not made, or the
        child's answer lost on its disk; `gpu_seconds`: what the child used): told to the API
        as a runner failure (no attempt, no budget; counts against this runner's health). What
        it lacks for one study is declined instead (`_decline`). A crash during training stays
        a retryable evaluation failure, which uses an attempt, so a point that always crashes
        ends."""
        log.error("%s cannot run on this runner: %s", label, error)
        failure = TrialResult("failed", error=error, kind="runner")
        machine_fault = {**_failure_payload(failure), "runnerFault": True}
        if gpu_seconds is not None:
            machine_fault["gpuSeconds"] = gpu_seconds
        self.reporter.report(PendingReport(trial_id, "fail", machine_fault))

    def _prune(self, force: bool = False) -> None:
        """A retention pass (pruning.py) at most every `prune_every_seconds` (`force`: now, at
        start and after each trial). Never a reason to stop the runner: errors are logged."""
        now = time.monotonic()
        if not force and now - self._last_prune < self.config.prune_every_seconds:
            return
        self._last_prune = now
        try:
            self.retention.prune(self._in_use, force=force)
        except OSError as exc:
            log.warning("retention pass failed: %s", exc)

    def _checkpoint_dir(self, config: TrainingConfig, study_id: str, trial_id: str) -> Path | None:
        """Per trial, not per attempt: a re-leased attempt resumes from what the last one
        saved (on this runner, or on any runner when checkpointDir is a shared path)."""
        if not config.checkpoint_steps:
            return None
        root = Path(config.checkpoint_dir) if config.checkpoint_dir else None
        return (root or self.config.state_dir / "checkpoints") / study_id / trial_id

    def _record_result(self, report: PendingReport) -> None:
        """Appends every result with its effective configuration, the adapter's folder and
        the failure kind to <state>/results.jsonl (a local record, whatever the API keeps)."""
        line = {"trialId": report.trial_id, "report": report.kind, **report.payload}
        try:
            with (self.config.state_dir / "results.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, sort_keys=True) + "\n")
        except OSError as exc:
            log.warning("could not append to results.jsonl: %s", exc)

    def _keep_adapter(
        self,
        lease: Lease,
        config: TrainingConfig,
        outcome: TrialResult,
        outputs: dict[str, float],
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, int | None] | None:
        """Keeps the trained adapter and returns where it lies and its size in bytes (None: no
        adapter). `adapterDir` (the study's, else the runner's) is a folder, or an object store
        URL: the adapter is then kept under <state>/adapters first and uploaded from there; the
        local copy goes once the upload succeeded, and stays (its path reported) when it failed."""
        try:
            return self._keep_adapter_or_raise(lease, config, outcome, outputs, extra)
        except OSError as exc:
            # The result is still worth reporting; the adapter is lost, and the log and the
            # result's effective configuration (which the API shows) say why.
            log.error("could not keep the adapter of trial %s: %s", lease.trial.id, exc)
            outcome.effective_config["adapterNotKept"] = f"not kept: {exc}"[:500]
            return None

    def _keep_adapter_or_raise(
        self,
        lease: Lease,
        config: TrainingConfig,
        outcome: TrialResult,
        outputs: dict[str, float],
        extra: dict[str, Any] | None,
    ) -> tuple[str, int | None] | None:
        if not outcome.adapter_dir or not Path(outcome.adapter_dir).is_dir():
            return None
        where = config.adapter_dir or self.config.adapter_dir
        store_url = str(where) if is_store_url(where) else None
        root = self.config.state_dir / "adapters" if store_url or not where else Path(where)
        study_id, name = (
            lease.trial.study_id,
            (f"trial-{lease.trial.number:05d}-{lease.trial.id}-a{lease.trial.attempt}"),
        )
        manifest = {
            "trialId": lease.trial.id,
            "trialNumber": lease.trial.number,
            "attempt": lease.trial.attempt,
            "studyId": study_id,
            "runner": self.config.name,
            "parameters": dict(lease.trial.parameters),
            "outputs": outputs,
            "baseModel": config.model,
            "effectiveConfig": outcome.effective_config,
            "status": outcome.status,
            **_objective(lease),
            **(extra or {}),
        }
        kept = keep_adapter(
            Path(outcome.adapter_dir),
            root / study_id,
            name,
            manifest,
            self.config.keep_adapters,
            self.config.min_free_disk_mb * 2**20,
        )
        if kept is None:
            return None
        if store_url is None:
            return str(kept.path), kept.size_bytes
        try:
            uploaded = self._upload_adapter(kept.path, store_url, study_id, name, manifest)
            return uploaded, kept.size_bytes
        except (ObjectStoreError, OSError) as exc:  # OSError: its manifest, on this disk
            log.error(
                "could not upload the adapter of trial %s, kept on this runner at %s: %s",
                lease.trial.id,
                kept.path,
                exc,
            )
            return str(kept.path), kept.size_bytes

    def _upload_adapter(
        self, kept: Path, store_url: str, study_id: str, name: str, manifest: dict[str, Any]
    ) -> str:
        remote = join_store_url(store_url, study_id, name)
        write_json_atomic(kept / MANIFEST_NAME, {**manifest, "adapterDir": remote})
        uploaded = upload_adapter(kept, store_url, study_id, name)
        shutil.rmtree(kept, ignore_errors=True)
        return uploaded

    def _keep_stopped(
        self,
        lease: Lease,
        config: TrainingConfig,
        spec: TrialSpec,
        outcome: TrialResult,
        gpu_seconds: float,
        label: str,
    ) -> None:
        """An early-stopped trial: its adapter kept like a completed one's (status "stopped",
        the step and the last validation loss in the manifest), a line in results.jsonl."""
        stopped_at = outcome.effective_config.get("stoppedAtStep")
        extra = {
            "stoppedReason": EARLY_STOPPED,
            "stoppedAtStep": stopped_at,
            "lastValLoss": outcome.metrics.get("last_val_loss"),
            "gpuSeconds": gpu_seconds,
        }
        kept = self._keep_adapter(lease, config, outcome, {}, extra)
        adapter = kept[0] if kept else None
        line = {
            "trialId": lease.trial.id,
            "report": "none (stopped by the API)",
            "gpuSeconds": gpu_seconds,
            "effectiveConfig": outcome.effective_config,
            **({"adapter": adapter} if adapter else {}),
            **extra,
        }
        try:
            with (self.config.state_dir / "results.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, sort_keys=True) + "\n")
        except OSError as exc:
            log.warning("could not append to results.jsonl: %s", exc)
        log.info(
            "%s stopped early at step %s of %s (%.0f GPU-seconds)%s",
            label,
            stopped_at if stopped_at is not None else "?",
            outcome.effective_config.get("plannedSteps", "?"),
            gpu_seconds,
            f", adapter kept at {adapter}" if adapter else ", no adapter kept",
        )

    def _flush_metrics(
        self,
        trial_id: str,
        progress: float | None,
        pending: list[MetricPoint],
        label: str,
        gpu_seconds: float,
    ) -> None:
        """Best effort before the report: metrics are not worth holding a result back."""
        quick = RetryPolicy(
            initial=0.2, maximum=1.0, give_up_after=5.0, sleep=self._hard_stop_event.wait
        )
        while pending:
            batch = pending[:MAX_METRICS_PER_HEARTBEAT]
            try:
                self.client.trial_heartbeat(
                    trial_id, progress, batch, retry=quick, gpu_seconds=gpu_seconds
                )
            except (ApiError, TransientApiError) as exc:
                log.warning("%s: last metrics not sent (%s)", label, exc)
                return
            del pending[: len(batch)]

    def _release_orphans(self, trial_ids: list[str]) -> bool:
        """The API says this runner holds leases (409 RUNNER_LEASE_LIMIT), yet it asks only
        when it runs nothing and after its saved results were sent (`run`): they are an earlier
        run's, killed while training. They are given back at once rather than after their
        leases expire. True when one was given back (ask again now)."""
        released = False
        for trial_id in trial_ids:
            log.warning("trial %s is held by an earlier run of this runner; releasing it", trial_id)
            released = self._release(trial_id, f"trial {trial_id}") or released
        return released

    def _decline(
        self,
        trial_id: str,
        label: str,
        reason: str,
        lease_seconds: float,
        gpu_seconds: float | None = None,
    ) -> None:
        """Gives the trial back as one this runner cannot run by its own setup (the API's
        `decline`: budget, attempts, engine and this runner's health untouched; the study is not
        leased to this runner for a while). An API error or an unreachable API is retried with
        backoff (client.RetryPolicy) for as long as the lease lasts: past it the API requeues
        the trial itself (the safety net), so the trial is never lost. When the API did not
        take the decline, this runner holds off its next lease (`_decline_hold`), doubling each
        time, so that a study it cannot run is not leased and given back in a hot loop.
        `gpu_seconds`: what the training child used, when it was the one to find the lack."""
        log.warning("%s: this runner cannot run its study; giving it back: %s", label, reason)
        retry = RetryPolicy(
            initial=self.config.retry_initial_seconds,
            maximum=max(1.0, lease_seconds / 4),
            give_up_after=max(1.0, float(lease_seconds)),
            should_abort=lambda: self.hard_stop,
            sleep=self._hard_stop_event.wait,
        )
        try:
            self.client.decline(trial_id, reason, retry=retry, gpu_seconds=gpu_seconds)
            self._decline_backoff = 0.0
            return
        except (LeaseLostError, TrialAlreadyFinishedError, FatalApiError) as exc:
            # 409 (its lease expired, the trial finished or was stopped), 403 (not leased to
            # this runner): the trial is the API's again, nothing is held here.
            log.warning("%s: decline refused (%s); the trial is no longer held here", label, exc)
            return
        except TransientApiError as exc:
            # Unreachable (or 5xx) for the lease's whole length: the lease expires and the API
            # hands the trial out again.
            log.error(
                "%s: decline not delivered (%s); the trial returns when its lease expires",
                label,
                exc,
            )
        except ApiError as exc:
            # Refused for good (an API older than `decline`, a reason it will not take): given
            # back at once as a plain release instead, so that it is not held until expiry.
            log.error("%s: decline refused (%s); releasing the trial instead", label, exc)
            self._release(trial_id, label, gpu_seconds=gpu_seconds)
        self._decline_backoff = min(
            DECLINE_HOLD_MAX_SECONDS, max(DECLINE_HOLD_SECONDS, 2 * self._decline_backoff)
        )
        self._decline_hold_until = time.monotonic() + self._decline_backoff
        log.warning("%s: no lease for %.0f s", label, self._decline_backoff)

    def _release(
        self,
        trial_id: str,
        label: str,
        skipped: dict[str, Any] | None = None,
        gpu_seconds: float | None = None,
    ) -> bool:
        """Best effort: if it fails, the API re-queues the trial when the lease expires.
        `skipped`: the child's last checkpoint save skipped under the disk floor (the next
        attempt resumes from an earlier step than this one reached). `gpu_seconds`: what the
        attempt used up to now, so that the time since its last heartbeat is counted too (an API
        older than that field gets the release without it, client.OPTIONAL_FIELDS)."""
        if skipped is not None:
            log.warning("%s: given back; %s", label, _skip_note(skipped))
        quick = RetryPolicy(
            initial=0.2, maximum=1.0, give_up_after=5.0, sleep=self._hard_stop_event.wait
        )
        try:
            self.client.release(trial_id, retry=quick, gpu_seconds=gpu_seconds)
            log.info("%s released", label)
            return True
        except (ApiError, TransientApiError) as exc:
            log.warning("%s: release failed (%s); it returns when its lease expires", label, exc)
            return False
