"""What a study may ask of a runner (policy.py): a study's trainingConfig, written by any user key
holder of the project, must not run code, read or write files, or reach URLs on a runner beyond
what the runner's operator allowed. Each refusal depends on this runner's settings, so the trial
is declined (given back for a runner that may run it, budget untouched, never blamed on the
machine: docs/reliability.md, finding 49) before any child is started."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from meshtune_runner.cli import _list_option, build_parser
from meshtune_runner.demo_assets import DemoAssets
from meshtune_runner.errors import TrialSetupError
from meshtune_runner.policy import (
    ALLOWED_TRAINING_ARGUMENTS,
    RunnerPolicy,
    StudyPolicyError,
    confine_study,
)
from meshtune_runner.training.data import load_records
from meshtune_runner.training.mmlu import load_mmlu
from meshtune_runner.training_config import parse_training_config

from .fake_api import FakeApi, trial_json
from .test_agent import BBO3_PARAMS, FakeLauncher, make_agent

SECRET = "s3cr3t-token-42"
DATA = '[{"instruction": "say hi", "response": "hi"}]\n'


def _run_one(api: FakeApi, state_dir: Path, **extra: Any) -> tuple[str, dict[str, Any], int]:
    """Runs one trial; returns the report's kind, its body and how many children started."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.reports.clear()  # a second run in the same test reports the same trial again
    launcher = FakeLauncher()
    assert make_agent(api, state_dir, launcher, **extra).run() == 0
    kind, body = api.reports["t1"]
    return kind, body, len(launcher.processes)


def _refused(api: FakeApi, state_dir: Path, **extra: Any) -> str:
    kind, body, started = _run_one(api, state_dir, **extra)
    # Declined: neither a failed evaluation (the point is not at fault, the runner's settings
    # are) nor a runner failure (a study must not be able to quarantine the project's runners),
    # and no child was started.
    assert kind == "decline", body
    assert set(body) == {"reason"}, body
    assert started == 0
    return str(body["reason"])


# -- remote code ----------------------------------------------------------------------------


def test_remote_code_is_refused_unless_the_operator_allows_it(
    api: FakeApi, state_dir: Path, tmp_path: Path
) -> None:
    api.training_config = {**api.training_config, "trustRemoteCode": True}
    error = _refused(api, state_dir)
    assert error.startswith("trustRemoteCode: ") and "--allow-remote-code" in error

    other_state = tmp_path / "allowed-state"
    other_state.mkdir()
    kind, _, started = _run_one(api, other_state, allow_remote_code=True)
    assert (kind, started) == ("complete", 1)


# -- what a study may read ------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """(data root, a folder outside it with a valid data file and a "model" folder)."""
    data, outside = tmp_path / "data", tmp_path / "outside"
    for folder in (data, outside, outside / "model"):
        folder.mkdir()
    (data / "train.json").write_text(DATA)
    (outside / "secret.json").write_text(DATA)
    (data / "link.json").symlink_to(outside / "secret.json")
    (data / "model-link").symlink_to(outside / "model")
    return data, outside


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("trainData", "{outside}/secret.json"),  # an absolute path elsewhere
        ("trainData", "../outside/secret.json"),  # `..` out of the data root
        ("evalData", "{data}/../outside/secret.json"),
        ("trainData", "link.json"),  # a symlink in the data root that leads out of it
        ("mmluData", "/etc/passwd"),
        ("model", "{outside}/model"),
        ("model", "model-link"),
        ("tokenizer", "../outside/model"),  # not a hub id: a `..` segment
    ],
)
def test_a_study_path_outside_the_runners_roots_is_refused(
    api: FakeApi,
    state_dir: Path,
    roots: tuple[Path, Path],
    demo_assets: DemoAssets,
    key: str,
    value: str,
) -> None:
    data, outside = roots
    train = str(data / "train.json")
    api.training_config = {"model": "", "trainData": train, "evalData": train}
    api.training_config[key] = value.format(data=data, outside=outside)
    if key == "mmluData":
        api.training_config["metric"] = "mmlu"
    # The demo model lies outside this data root: the operator names it (an override is the
    # operator's own, not checked), except when the study's model is what is tried.
    overrides = {} if key == "model" else {"model": str(demo_assets.model_dir)}
    error = _refused(api, state_dir, data_root=data, overrides=overrides)
    assert error.startswith(f"{key}: a local path this runner does not allow"), error
    # Neither the resolved target nor the file's existence shows in the reason.
    assert str(outside) not in error and "not found" not in error


def test_a_runner_without_read_roots_takes_hub_ids_only(api: FakeApi, state_dir: Path) -> None:
    error = _refused(api, state_dir, data_root=None)
    assert error.startswith("model: a local path this runner does not allow")
    assert "hub ids only" in error


def test_the_runners_state_folder_is_never_readable(api: FakeApi, tmp_path: Path) -> None:
    """Even under a data root that covers it: the runner's token lies there."""
    state = tmp_path / "state-under-data"
    state.mkdir()
    (state / "results.jsonl").write_text(DATA)  # its own record of results, say
    api.training_config = {**api.training_config, "trainData": str(state / "results.jsonl")}
    # make_agent's data root, pytest's base temp folder, covers both the demo assets and it.
    error = _refused(api, state)
    assert error == "trainData: the runner's state folder is not readable by a study"


def test_paths_under_the_roots_are_resolved_and_hub_ids_kept(
    tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    data, outside = roots
    (data / "inner-link.json").symlink_to(data / "train.json")
    policy = RunnerPolicy.build(
        state_dir=tmp_path / "state", data_root=data, allow_read=[outside / "model"]
    )
    study = parse_training_config(
        {
            "model": str(outside / "model"),  # an --allow-read folder
            "tokenizer": "meta-llama/Llama-2-7b-hf",  # a hub id stays one
            "trainData": "inner-link.json",
            "evalData": "sub/../train.json",
        }
    ).resolve_paths(data)
    confined = confine_study(study, policy)
    assert confined.model == str(outside / "model")
    assert confined.tokenizer == "meta-llama/Llama-2-7b-hf"
    # The child opens the resolved path, what was checked (not the symlink).
    assert confined.train_data == str(data / "train.json")
    assert confined.eval_data == str(data / "train.json")


def test_the_operators_own_overrides_are_not_checked(tmp_path: Path) -> None:
    policy = RunnerPolicy.build(state_dir=tmp_path / "state")
    overrides = {"model": "/models/llama", "trainData": "/srv/train.json"}
    config = parse_training_config({"trainData": "x", "evalData": "/srv/eval.json"}, overrides)
    with pytest.raises(StudyPolicyError, match=r"^evalData: "):
        confine_study(config, policy, overrides)
    ok = parse_training_config({"trainData": "x"}, {**overrides, "evalData": "/srv/e.json"})
    assert confine_study(ok, policy, [*overrides, "evalData"]).train_data == "/srv/train.json"


# -- where a study may write ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("adapterDir", "{tmp}/elsewhere"),
        ("adapterDir", "{state}/adapters/../../elsewhere"),
        ("adapterDir", "s3://somebody-elses-bucket/loot"),
        ("adapterDir", "file://{tmp}/elsewhere"),
        ("checkpointDir", "{tmp}/elsewhere"),
        ("checkpointDir", "{state}"),  # the runner's identity and token lie there
    ],
)
def test_an_adapter_or_checkpoint_destination_the_operator_did_not_allow_is_refused(
    api: FakeApi, state_dir: Path, tmp_path: Path, key: str, value: str
) -> None:
    named = value.format(tmp=tmp_path, state=state_dir)
    api.training_config = {**api.training_config, key: named, "checkpointSteps": 1}
    error = _refused(api, state_dir)
    assert error.startswith(f"{key}: a "), error
    assert "this runner does not allow" in error
    assert not (tmp_path / "elsewhere").exists()


def test_an_allowed_destination_receives_the_adapter(
    api: FakeApi, state_dir: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    api.training_config = {**api.training_config, "adapterDir": str(shared / "team-a")}
    kind, body, _ = _run_one(api, state_dir, allow_write=[shared])
    assert kind == "complete"
    assert body["adapter"]["location"] == str(shared / "team-a/study-1/trial-00001-t1-a1")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("s3://bucket/team", True),
        ("s3://bucket/team/", True),
        ("S3://bucket/team/x/y", True),
        ("s3://bucket/team-b", False),  # a prefix of the name, not a folder
        ("s3://bucket/team/../other", False),
        ("s3://bucket/team/./x", False),
        ("gs://bucket/team", False),
        ("s3://bucket", False),
    ],
)
def test_a_study_url_must_lie_under_an_allowed_prefix(
    tmp_path: Path, url: str, allowed: bool
) -> None:
    policy = RunnerPolicy.build(state_dir=tmp_path, allow_write=["s3://bucket/team/"])
    config = parse_training_config({"model": "m", "trainData": "t", "evalData": "e"})
    config = config.model_copy(update={"adapter_dir": url, "train_data": "", "eval_data": ""})
    if allowed:
        assert confine_study(config, policy).adapter_dir == url
    else:
        with pytest.raises(StudyPolicyError, match=r"^adapterDir: a URL this runner does not"):
            confine_study(config, policy)


# -- trainingArguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "push_to_hub",
        "hub_model_id",
        "hub_token",
        "output_dir",
        "logging_dir",  # not a field of transformers 5 any more: refused all the same
        "report_to",
        "deepspeed",
        "fsdp_config",
        "resume_from_checkpoint",
        "torch_compile",
        "per_device_train_batch_size",  # the regime's layout is the runner's to derive
        "bf16",
    ],
)
def test_a_training_argument_off_the_allow_list_is_refused(
    api: FakeApi, state_dir: Path, key: str
) -> None:
    api.training_config = {**api.training_config, "trainingArguments": {key: "x"}}
    error = _refused(api, state_dir)
    assert error.startswith(f"trainingArguments: {key} not allowed on this runner"), error


def test_allowed_training_arguments_pass(api: FakeApi, state_dir: Path, tmp_path: Path) -> None:
    api.training_config = {
        **api.training_config,
        "trainingArguments": {"max_grad_norm": 0.3, "torch_compile": True},
    }
    error = _refused(api, state_dir)
    assert error.startswith("trainingArguments: torch_compile not allowed")
    other_state = tmp_path / "allowed-state"
    other_state.mkdir()
    kind, _, _ = _run_one(api, other_state, allow_training_arguments=["torch_compile"])
    assert kind == "complete"


def test_every_allowed_training_argument_is_a_field_of_the_installed_transformers() -> None:
    from transformers import TrainingArguments

    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    assert sorted(ALLOWED_TRAINING_ARGUMENTS - fields) == []


# -- what goes back to the API --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "loader"),
    [
        ("creds.csv", f"alice,hunter2,db.internal,{SECRET}\n", "mmlu"),
        (
            "creds.json",
            f'[{{"question": "q", "choices": ["a", "b"], "answer": "{SECRET}"}}]',
            "mmlu",
        ),
        ("binary.csv", b"\xff\xfe" + SECRET.encode(), "mmlu"),
        ("binary.json", b"\xff\xfe" + SECRET.encode(), "records"),
        ("broken.json", f'[{{"instruction": "{SECRET}", ', "records"),
        ("notes.jsonl", f'{{"instruction": 1, "response": "{SECRET}"}}\n', "records"),
    ],
)
def test_a_failure_reason_never_quotes_the_data_file(
    tmp_path: Path, name: str, content: str | bytes, loader: str
) -> None:
    """A study may name a file of the data root it cannot otherwise read (another project's,
    say): the reason names the file and the rule, never a byte of it."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(TrialSetupError) as caught:
        load_mmlu(path) if loader == "mmlu" else load_records(path)
    reason = str(caught.value)
    assert SECRET not in reason and "hunter2" not in reason and "0xff" not in reason, reason
    assert reason.startswith(str(path))


# -- the operator's settings ----------------------------------------------------------------


def test_the_allow_options_come_from_flags_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ALLOW_REMOTE_CODE", "ALLOW_READ", "ALLOW_WRITE", "ALLOW_TRAINING_ARGUMENTS"):
        monkeypatch.delenv(f"MESHTUNE_{name}", raising=False)
    args = build_parser().parse_args(["--url", "http://x"])
    assert (args.allow_remote_code, args.allow_read, args.allow_write) == (False, None, None)
    monkeypatch.setenv("MESHTUNE_ALLOW_REMOTE_CODE", "1")
    assert build_parser().parse_args([]).allow_remote_code is True
    args = build_parser().parse_args(
        ["--allow-read", "/models", "--allow-read", "/datasets", "--allow-write", "s3://b/p"]
    )
    assert args.allow_read == ["/models", "/datasets"] and args.allow_write == ["s3://b/p"]
    # The variables take comma-separated lists; flags, when given, win over them.
    monkeypatch.setenv("MESHTUNE_ALLOW_READ", "/models, /datasets")
    assert _list_option(None, "MESHTUNE_ALLOW_READ") == ["/models", "/datasets"]
    assert _list_option(["/other"], "MESHTUNE_ALLOW_READ") == ["/other"]
