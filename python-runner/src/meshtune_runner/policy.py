"""What a study may ask of a runner: its `trainingConfig` is written by whoever holds a *user*
key of the project, the runner is run by the fleet's operator, often someone else. Every field
of a study that names code, files, folders, URLs or `transformers.TrainingArguments` is checked
here against the operator's settings (cli.py: `--allow-remote-code`, `--data-root`,
`--allow-read`, `--allow-write`, `--allow-training-argument`) before anything is loaded or
written; everything is refused unless the operator allowed it (docs/runner.md, "What a study
may ask of a runner").

- `trustRemoteCode: true` runs the model folder's or hub repository's own Python: refused
  unless the operator passed `--allow-remote-code`.
- `model`, `tokenizer`, `trainData`, `evalData`, `mmluData`: a local path must lie, once `..`
  and symlinks are resolved, under the runner's `--data-root` or an `--allow-read` folder, and
  never inside the runner's state folder (its token, its unsent results); for a folder, every
  symlink in it too (the child opens its files by name; finding 15); a hub id
  (`org/name`) stays a hub id. The resolved path is what the child then opens, so a symlink
  changed after the check cannot lead it elsewhere.
- `adapterDir`, `checkpointDir`: a folder under the runner's own adapter and checkpoint
  folders or an `--allow-write` folder; a URL under the runner's `--adapter-dir` URL or an
  `--allow-write` URL prefix.
- `trainingArguments`: only keys on ALLOWED_TRAINING_ARGUMENTS (numeric and training
  semantics), plus those the operator adds; output folders, hub uploads, loggers, DeepSpeed or
  FSDP configuration files, checkpoints to resume from, compilation, precision and the batch
  layout are the runner's.

Fields the operator set (runner-side overrides, `--model`, `--set adapterDir=…`) are the
operator's own and are not checked. A refusal is a StudyPolicyError: the study's fault (a failed
evaluation, never retried, no blame on the machine: a study must not be able to quarantine
runners), with a message that names the field and the rule, and neither echoes a resolved
path nor depends on whether the named file exists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adapter_store import is_store_url
from .errors import RunnerMismatchError, TrainingConfigError
from .training_config import TrainingConfig, _camel

__all__ = [
    "ALLOWED_TRAINING_ARGUMENTS",
    "RunnerPolicy",
    "StudyPolicyError",
    "confine_study",
]

#: `transformers.TrainingArguments` keys a study may pass in `trainingArguments`: optimizer and
#: schedule numbers, regularisation, logging and evaluation cadence, determinism. Nothing that
#: names a file, a folder, a URL, a logger or hub account, a launcher or compiler, the precision
#: or the batch layout (the runner sets those: training/arguments.py). An allow-list, so that a
#: key added by a future transformers is refused until someone has read what it does
#: (tests/test_policy.py checks each is a field of the installed TrainingArguments).
ALLOWED_TRAINING_ARGUMENTS = frozenset(
    {
        "adam_beta1",
        "adam_beta2",
        "adam_epsilon",
        "average_tokens_across_devices",
        "data_seed",
        "dataloader_drop_last",
        "eval_accumulation_steps",
        "eval_delay",
        "eval_do_concat_batches",
        "full_determinism",
        "gradient_checkpointing_kwargs",
        "ignore_data_skip",
        "include_num_input_tokens_seen",
        "label_smoothing_factor",
        "logging_first_step",
        "logging_nan_inf_filter",
        "lr_scheduler_kwargs",
        "max_grad_norm",
        "neftune_noise_alpha",
        "prediction_loss_only",
        "skip_memory_metrics",
        "torch_empty_cache_steps",
        "warmup_steps",
    }
)

#: What a Hugging Face hub id looks like: `name` or `org/name` (letters, digits, `._-`).
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")

_INPUTS = ("model", "tokenizer", "train_data", "eval_data", "mmlu_data")
_OUTPUTS = ("adapter_dir", "checkpoint_dir")


class StudyPolicyError(RunnerMismatchError, TrainingConfigError):
    """The study asks for something this runner's operator did not allow: declined (another
    runner's operator may allow it), never the point's nor this runner's fault."""


@dataclass(frozen=True)
class RunnerPolicy:
    """The operator's limits on what a study's trainingConfig may name (cli.py builds it)."""

    #: `--allow-remote-code`: a study may set `trustRemoteCode: true`
    allow_remote_code: bool = False
    #: folders a study's data, model and tokenizer paths may lie under (`--data-root` and
    #: `--allow-read`); empty: a study may name hub ids only
    read_roots: tuple[Path, ...] = ()
    #: folders a study's `adapterDir`/`checkpointDir` may lie under (the runner's own adapter
    #: and checkpoint folders and `--allow-write` folders)
    write_roots: tuple[Path, ...] = ()
    #: URL prefixes a study's `adapterDir` may start with (the runner's `--adapter-dir` URL
    #: and `--allow-write` URLs)
    write_urls: tuple[str, ...] = ()
    #: `--allow-training-argument`: TrainingArguments keys allowed on top of the built-in list
    extra_training_arguments: frozenset[str] = frozenset()
    #: the runner's state folder (identity and token, outbox, results): never a study's input
    state_dir: Path | None = None

    @classmethod
    def build(
        cls,
        *,
        state_dir: Path,
        data_root: Path | None = None,
        allow_read: Iterable[Path | str] = (),
        allow_write: Iterable[Path | str] = (),
        adapter_dir: Path | str | None = None,
        allow_remote_code: bool = False,
        allow_training_arguments: Iterable[str] = (),
    ) -> RunnerPolicy:
        """The runner's policy: its own folders are always writable destinations, the data
        root is always readable; the operator's `--allow-*` settings widen both."""
        reads = [Path(data_root)] if data_root else []
        reads += [Path(p) for p in allow_read if str(p)]
        writes: list[Path] = [state_dir / "adapters", state_dir / "checkpoints"]
        urls: list[str] = []
        for destination in [*([adapter_dir] if adapter_dir else []), *allow_write]:
            if is_store_url(destination):
                urls.append(str(destination))
            elif str(destination):
                writes.append(Path(destination))
        return cls(
            allow_remote_code=allow_remote_code,
            read_roots=tuple(_real(p) for p in reads),
            write_roots=tuple(_real(p) for p in writes),
            write_urls=tuple(urls),
            extra_training_arguments=frozenset(allow_training_arguments),
            state_dir=_real(state_dir),
        )

    def settings(self) -> dict[str, Any]:
        """What decides this policy's refusals, in a stable JSON form (sorted): the agent
        saves a hash of it with its identity, so that a restart with other folders or
        allowances registers again and the API offers it the studies it declined."""
        return {
            "allowRemoteCode": self.allow_remote_code,
            "readRoots": sorted(str(p) for p in self.read_roots),
            "writeRoots": sorted(str(p) for p in self.write_roots),
            "writeUrls": sorted(self.write_urls),
            "trainingArguments": sorted(self.extra_training_arguments),
        }


def _real(path: Path) -> Path:
    """Absolute, `~` expanded, `..` and symlinks resolved (the path need not exist)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def _under(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _is_hub_id(value: str) -> bool:
    """`org/name` that is not also a folder: from_pretrained looks for a local folder of that
    name (relative to the working directory) before it asks the hub, so one that exists is a
    local path and confined like any other."""
    return (
        _HUB_ID.match(value) is not None
        and ".." not in value.split("/")
        and not os.path.lexists(value)
    )


def _confine_input(name: str, value: str, policy: RunnerPolicy) -> str:
    if name in ("model", "tokenizer") and _is_hub_id(value):
        return value
    real = _real(Path(value))
    if policy.state_dir is not None and _under(real, [policy.state_dir]):
        raise StudyPolicyError(
            f"{_camel(name)}: the runner's state folder is not readable by a study"
        )
    if not _under(real, policy.read_roots):
        where = (
            "this runner has no --data-root or --allow-read folder, so a study may name "
            "hub ids only"
            if not policy.read_roots
            else "it must lie under the runner's --data-root or an --allow-read folder "
            "(after `..` and symlinks are resolved; relative paths are taken from --data-root)"
        )
        raise StudyPolicyError(f"{_camel(name)}: a local path this runner does not allow: {where}")
    if os.path.isdir(real):
        _confine_folder_entries(name, real, policy)
    return str(real)


#: Most entries of a folder a study names that are looked at (a model, tokenizer or MMLU folder
#: holds tens); beyond, the folder is refused rather than walked (a study naming the data root
#: itself must not keep the agent walking it).
MAX_FOLDER_ENTRIES = 50_000


def _confine_folder_entries(name: str, folder: Path, policy: RunnerPolicy) -> None:
    """A folder's own path is resolved and checked, but the child opens the files in it by
    name (a model's `config.json`, each `*.csv` of an MMLU folder) and follows any symlink among
    them: each symlink in the folder, at any depth, must resolve under the read roots and outside
    the state folder, as a file path would (docs/reliability.md, finding 15). A folder that holds
    the state folder is refused too. Symlinked subfolders are checked, not walked into."""
    seen = 0
    for top, dirs, files in os.walk(folder, followlinks=False):
        here = Path(top)
        if policy.state_dir is not None and here == policy.state_dir:
            raise StudyPolicyError(
                f"{_camel(name)}: the runner's state folder is not readable by a study"
            )
        for entry in (*dirs, *files):
            seen += 1
            if seen > MAX_FOLDER_ENTRIES:
                raise StudyPolicyError(
                    f"{_camel(name)}: a folder of more than {MAX_FOLDER_ENTRIES} entries is not "
                    "read by this runner"
                )
            path = here / entry
            if not path.is_symlink():
                continue
            target = _real(path)
            in_state = policy.state_dir is not None and _under(target, [policy.state_dir])
            if in_state or not _under(target, policy.read_roots):
                raise StudyPolicyError(
                    f"{_camel(name)}: a local path this runner does not allow: an entry of the "
                    "folder links outside the runner's --data-root and --allow-read folders (or "
                    "into its state folder)"
                )


def _confine_output(name: str, value: str, policy: RunnerPolicy) -> str:
    if is_store_url(value):
        if name == "adapter_dir" and _url_allowed(value, policy.write_urls):
            return value
        raise StudyPolicyError(
            f"{_camel(name)}: a URL this runner does not allow: it must start with the "
            "runner's --adapter-dir URL or an --allow-write URL"
        )
    real = _real(Path(value))
    if not _under(real, policy.write_roots):
        raise StudyPolicyError(
            f"{_camel(name)}: a folder this runner does not allow: it must lie under the "
            "runner's own adapter or checkpoint folder or an --allow-write folder (after `..` "
            "and symlinks are resolved)"
        )
    return str(real)


def _url_allowed(url: str, prefixes: Iterable[str]) -> bool:
    """Prefix match on whole path segments (`s3://b/team` allows `s3://b/team/x`, not
    `s3://b/team-b`); `.`/`..` segments are refused, as fsspec's local and some remote file
    systems would fold them."""
    scheme, _, rest = url.partition("://")
    if any(segment in (".", "..") for segment in rest.split("/")):
        return False
    rest = rest.rstrip("/") + "/"
    for prefix in prefixes:
        allowed_scheme, _, allowed_rest = prefix.partition("://")
        if scheme.lower() == allowed_scheme.lower() and rest.startswith(
            allowed_rest.rstrip("/") + "/"
        ):
            return True
    return False


def confine_study(
    config: TrainingConfig, policy: RunnerPolicy, operator_fields: Iterable[str] = ()
) -> TrainingConfig:
    """The study's config with its local paths resolved, or StudyPolicyError naming the first
    field this runner does not allow. `operator_fields` (camelCase or snake_case): the fields
    this runner's operator overrode, which are not checked."""
    trusted = {_camel(name) for name in operator_fields}
    if config.trust_remote_code and not policy.allow_remote_code:
        raise StudyPolicyError(
            "trustRemoteCode: this runner does not run a model's own Python code (its operator "
            "has not passed --allow-remote-code / MESHTUNE_ALLOW_REMOTE_CODE=1)"
        )
    allowed_arguments = ALLOWED_TRAINING_ARGUMENTS | policy.extra_training_arguments
    refused = sorted(key for key in config.training_arguments if key not in allowed_arguments)
    if refused:
        raise StudyPolicyError(
            f"trainingArguments: {', '.join(refused)} not allowed on this runner (a study may "
            "pass only " + ", ".join(sorted(allowed_arguments)) + "; the operator may allow "
            "more with --allow-training-argument)"
        )
    updates: dict[str, str] = {}
    for name in (*_INPUTS, *_OUTPUTS):
        value = getattr(config, name)
        if not value or _camel(name) in trusted:
            continue
        confine = _confine_input if name in _INPUTS else _confine_output
        resolved = confine(name, value, policy)
        if resolved != value:
            updates[name] = resolved
    return config.model_copy(update=updates) if updates else config
