"""Red-team probes of policy.py (docs/reliability.md, findings 12 and 15, and the "Probed … and
found fine" table): a *user* key holder writes the study's trainingConfig and tries to read or
write outside what the runner's operator allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshtune_runner.policy import RunnerPolicy, StudyPolicyError, confine_study
from meshtune_runner.training_config import TrainingConfig, parse_training_config

CSV = "What is 1+1?,1,2,3,4,B\n"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, RunnerPolicy]:
    """(data root, a folder outside it holding a secret, the runner's policy)."""
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (data / "train.json").write_text('[{"instruction": "a", "response": "b"}]\n')
    (outside / "secret.csv").write_text("s3cr3t,a,b,c,d,A\n")
    (outside / "config.json").write_text('{"secret": "s3cr3t"}')
    policy = RunnerPolicy.build(state_dir=tmp_path / "state", data_root=data)
    return data, outside, policy


def _config(data: Path, **fields: str) -> TrainingConfig:
    base = {"model": "org/name", "trainData": "train.json", "evalData": "train.json"}
    return parse_training_config({**base, **fields}).resolve_paths(data)


# -- finding 15: the entries of a folder a study names ----------------------------------------


@pytest.mark.parametrize("key", ["mmluData", "model", "tokenizer"])
def test_a_folder_whose_entries_link_outside_the_roots_is_refused(
    layout: tuple[Path, Path, RunnerPolicy], key: str
) -> None:
    """The folder itself lies under the data root, but the files the child opens in it (each
    `*.csv` of an MMLU folder, a model's or tokenizer's `config.json`, …) are symlinks out of it:
    the child would follow them, so the policy checks them as it checks a file path."""
    data, outside, policy = layout
    folder = data / "innocent"
    folder.mkdir()
    (folder / "a.csv").write_text(CSV)
    name = "b.csv" if key == "mmluData" else "config.json"
    (folder / name).symlink_to(outside / ("secret.csv" if key == "mmluData" else "config.json"))
    extra = {"metric": "mmlu"} if key == "mmluData" else {}
    with pytest.raises(StudyPolicyError, match=rf"^{key}: a local path this runner does not") as e:
        confine_study(_config(data, **{key: "innocent"}, **extra), policy)
    assert str(outside) not in str(e.value)


def test_a_folder_whose_entries_link_inside_the_roots_is_kept(
    layout: tuple[Path, Path, RunnerPolicy],
) -> None:
    """A Hugging Face cache snapshot (every file a symlink to `../../blobs/…`) under the data root
    stays readable."""
    data, _, policy = layout
    blobs, snapshot = data / "hub" / "blobs", data / "hub" / "snapshots" / "abc"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (blobs / "1").write_text("{}")
    (snapshot / "config.json").symlink_to(Path("../../blobs/1"))
    (snapshot / "nested").mkdir()
    (snapshot / "nested" / "x.json").symlink_to(Path("../../../blobs/1"))
    confined = confine_study(_config(data, model="hub/snapshots/abc"), policy)
    assert confined.model == str(snapshot)


def test_a_folder_linking_into_the_state_folder_is_refused(tmp_path: Path) -> None:
    """Even when the data root covers the state folder (its token lies there)."""
    data = tmp_path
    state = tmp_path / "state"
    state.mkdir()
    (state / "identity.json").write_text('{"token": "mt_secret"}')
    (data / "train.json").write_text('[{"instruction": "a", "response": "b"}]\n')
    (data / "m").mkdir()
    (data / "m" / "config.json").symlink_to(state / "identity.json")
    policy = RunnerPolicy.build(state_dir=state, data_root=data)
    with pytest.raises(StudyPolicyError, match=r"^model: "):
        confine_study(_config(data, model="m"), policy)


# -- probes that hold (recorded in docs/reliability.md) ----------------------------------------


def test_a_hub_id_shaped_name_that_is_a_folder_of_the_working_directory_is_a_local_path(
    layout: tuple[Path, Path, RunnerPolicy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training child inherits the agent's working directory (launcher.py sets no cwd), and
    from_pretrained looks for a local folder of that name there before it asks the hub."""
    data, _, policy = layout
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org" / "name").mkdir(parents=True)
    with pytest.raises(StudyPolicyError, match=r"^model: a local path"):
        confine_study(_config(data), policy)
    # A dangling symlink in the data root is not rebased and not a folder here either: a hub id.
    (tmp_path / "org" / "name").rmdir()
    (data / "org").mkdir()
    (data / "org" / "name").symlink_to(tmp_path / "nowhere")
    assert confine_study(_config(data), policy).model == "org/name"


@pytest.mark.parametrize(
    "value",
    [
        "org/name\n",  # `$` matches before a final newline: still checked as the same name
        "../outside",
        "org/../../outside",
        "~/outside",
    ],
)
def test_hub_id_lookalikes(
    layout: tuple[Path, Path, RunnerPolicy],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    data, _, policy = layout
    monkeypatch.chdir(data)
    monkeypatch.setenv("HOME", str(tmp_path))
    (data / "org").mkdir()
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "name\n").mkdir()
    if value == "org/name\n":
        # Not a folder of the data root nor of the working directory: a hub id, and the child
        # looks up exactly this string (the hub refuses it as a repository id).
        assert confine_study(_config(data, model=value), policy).model == value
        monkeypatch.chdir(tmp_path)  # where a folder of that very name exists: local, refused
    with pytest.raises(StudyPolicyError, match=r"^model: a local path"):
        confine_study(_config(data, model=value), policy)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("s3://bucket/team", True),
        ("s3://bucket/team/", True),
        ("S3://bucket/team/x", True),  # the scheme's case only; fsspec then refuses `S3`
        ("s3://bucket/team2/x", False),
        ("s3://bucket/tea", False),
        ("s3://bucket//team/x", False),
        ("s3://bucket/Team/x", False),
        ("s3://BUCKET/team/x", False),
        ("s3://bucket/team/./x", False),
        ("s3://bucket/team/x/..", False),
        ("s3a://bucket/team/x", False),
        ("simplecache::s3://bucket/team/x", False),  # not a URL: a local folder, refused
        ("s3://bucket/team::s3://other/loot", False),
        ("s3://other@bucket/team/x", False),
        ("s3://bucket/team%2f..%2f..%2fother", False),
        ("s3://bucket/team/%2e%2e/other", True),  # a literal key segment: botocore quotes it
    ],
)
def test_url_lookalikes(tmp_path: Path, url: str, allowed: bool) -> None:
    policy = RunnerPolicy.build(state_dir=tmp_path, allow_write=["s3://bucket/team"])
    config = parse_training_config({"model": "m", "trainData": "t", "evalData": "e"})
    config = config.model_copy(update={"adapter_dir": url, "train_data": "", "eval_data": ""})
    if allowed:
        assert confine_study(config, policy).adapter_dir == url
    else:
        with pytest.raises(StudyPolicyError, match=r"^adapterDir: a (URL|folder) this runner"):
            confine_study(config, policy)


def test_a_chained_url_writes_where_its_first_link_points() -> None:
    """`a::b`: fsspec opens the path of `a` (b is only a wrapped target protocol), so a URL that
    starts under the allowed prefix writes there, whatever follows `::`."""
    fsspec = pytest.importorskip("fsspec")
    fs, root = fsspec.core.url_to_fs("memory://bucket/team/x::file:///tmp/loot")
    assert type(fs).__name__ == "MemoryFileSystem"
    assert root == "/bucket/team/x"
