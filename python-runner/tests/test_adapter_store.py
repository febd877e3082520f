"""Adapters uploaded to an object store (`adapterDir` = a URL): against a real S3 HTTP endpoint
(moto's server on a local port, through s3fs as a runner would talk to S3, MinIO or Ceph), and
the classes of failure that must leave the adapter on the runner's disk instead of losing it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from meshtune_runner.adapter_store import is_store_url

from .fake_api import FakeApi, trial_json
from .test_agent import BBO3_PARAMS, FakeLauncher, make_agent

BUCKET = "adapters"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An S3 endpoint on 127.0.0.1 with an empty bucket; credentials and endpoint through the
    environment, as a runner's deployment would pass them."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "runner")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "runner-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


def _objects(client: object, prefix: str) -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)  # type: ignore[attr-defined]
    return {
        item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()  # type: ignore[attr-defined]
        for item in listed.get("Contents", [])
    }


def test_adapters_are_uploaded_and_their_url_reported(
    api: FakeApi, state_dir: Path, s3: object
) -> None:
    api.trials = [trial_json(f"t{n}", n, BBO3_PARAMS) for n in (1, 2)]
    make_agent(api, state_dir, FakeLauncher(), adapter_dir=f"s3://{BUCKET}/team-a/").run()
    for number, trial in ((1, "t1"), (2, "t2")):
        folder = f"team-a/study-1/trial-0000{number}-{trial}-a1"
        stored = _objects(s3, folder + "/")
        assert stored[f"{folder}/adapter_model.safetensors"] == b"fake"
        manifest = json.loads(stored[f"{folder}/meshtune-trial.json"])
        assert manifest["trialId"] == trial and manifest["adapterDir"] == f"s3://{BUCKET}/{folder}"
        # The API is told the URL and the size; the runner's disk keeps nothing once uploaded.
        assert api.reports[trial][1]["adapter"] == {
            "location": f"s3://{BUCKET}/{folder}",
            "sizeBytes": len(b"fake"),
        }
    assert list((state_dir / "adapters" / "study-1").iterdir()) == []
    record = json.loads((state_dir / "results.jsonl").read_text().splitlines()[-1])
    assert record["adapter"] == f"s3://{BUCKET}/team-a/study-1/trial-00002-t2-a1"


def test_the_studys_store_url_wins_over_the_runners_folder(
    api: FakeApi, state_dir: Path, tmp_path: Path, s3: object
) -> None:
    api.training_config = {**api.training_config, "adapterDir": f"s3://{BUCKET}/study-wide"}
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(
        api,
        state_dir,
        FakeLauncher(),
        adapter_dir=tmp_path / "runner-adapters",
        # The operator lets studies name this bucket (policy.py: a study's URL must be allowed).
        allow_write=[f"s3://{BUCKET}/study-wide"],
    ).run()
    assert api.reports["t1"][1]["adapter"]["location"] == (
        f"s3://{BUCKET}/study-wide/study-1/trial-00001-t1-a1"
    )
    assert not (tmp_path / "runner-adapters").exists()


@pytest.mark.parametrize(
    "url",
    [
        f"s3://{BUCKET}-missing/prefix",  # the store refuses (no such bucket): not retried
        "nosuchstore://bucket/prefix",  # no fsspec implementation for the scheme
    ],
    ids=["store-refuses", "unknown-scheme"],
)
def test_an_adapter_that_cannot_be_uploaded_stays_on_the_runner(
    api: FakeApi, state_dir: Path, s3: object, url: str
) -> None:
    """The result is reported either way; the adapter's location is then the local copy."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    make_agent(api, state_dir, FakeLauncher(), adapter_dir=url).run()
    local = state_dir / "adapters" / "study-1" / "trial-00001-t1-a1"
    assert api.reports["t1"][0] == "complete"
    assert api.reports["t1"][1]["adapter"] == {"location": str(local), "sizeBytes": len(b"fake")}
    assert (local / "adapter_model.safetensors").read_bytes() == b"fake"
    assert json.loads((local / "meshtune-trial.json").read_text())["trialId"] == "t1"


@pytest.mark.parametrize(
    ("location", "is_url"),
    [
        ("s3://bucket/prefix", True),
        ("gs://bucket", True),
        ("file:///mnt/shared/adapters", True),
        ("/mnt/shared/adapters", False),
        ("relative/adapters", False),
        ("C:\\adapters", False),
        ("C://adapters", False),  # a drive letter, not a scheme
        (Path("/mnt/shared"), False),
        (None, False),
    ],
)
def test_store_urls_and_folders_are_told_apart(location: str | Path | None, is_url: bool) -> None:
    assert is_store_url(location) is is_url
