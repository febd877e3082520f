"""The runner against a broken or hostile API, and against a second runner in its folder
(docs/reliability.md, findings 39-41): one test per class of input."""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from meshtune_runner import agent as agent_module
from meshtune_runner import cli
from meshtune_runner import client as client_module
from meshtune_runner.agent import Agent
from meshtune_runner.outbox import Outbox
from meshtune_runner.trial_files import EventReader, TrialResult, TrialSpec
from meshtune_runner.trial_log import TrialLog

from .fake_api import FakeApi, trial_json
from .test_agent import BBO3_PARAMS, FakeLauncher, make_agent

Reply = Callable[[httpx.Request], httpx.Response]


def _no_waits(agent: Agent) -> Agent:
    """The agent's idle waits (10 s after a failed lease) cut short: these tests count calls."""
    agent._sleep = lambda seconds: None  # type: ignore[method-assign]
    return agent


class Garbling:
    """The fake API, except that the first `times` requests whose path ends with `suffix` get
    `reply` instead (the request still reaches the fake API first when `forward`, so that the
    server's state moves as if the reply had been lost on the way back)."""

    def __init__(
        self, api: FakeApi, suffix: str, reply: Reply, times: int, forward: bool = False
    ) -> None:
        self.api, self.suffix, self.reply, self.left, self.forward = (
            api,
            suffix,
            reply,
            times,
            forward,
        )
        self.other_hosts: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "api.test":
            self.other_hosts.append(str(request.url))
        if self.left > 0 and request.url.path.endswith(self.suffix):
            self.left -= 1
            if self.forward:
                self.api.handle(request)
            return self.reply(request)
        return self.api.handle(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


# -- 39: replies the runner cannot read ---------------------------------------------------------

UNREADABLE: dict[str, Reply] = {
    "html page": lambda _r: httpx.Response(
        200, text="<html><body>proxy login</body></html>", headers={"content-type": "text/html"}
    ),
    "truncated json": lambda _r: httpx.Response(200, text='{"trial": {"id": "t1", "stu'),
    "json array": lambda _r: httpx.Response(200, json=[1, 2, 3]),
    "json null": lambda _r: httpx.Response(200, text="null"),
    "fields missing": lambda _r: httpx.Response(200, json={"trial": {"id": "t1"}}),
    "fields mistyped": lambda _r: httpx.Response(
        200,
        json={
            "trial": {"id": ["t1"], "studyId": {}, "number": "one"},
            "shouldStop": "maybe",
            "leaseSeconds": "soon",
            "outputs": "val_loss",
        },
    ),
    "redirect elsewhere": lambda _r: httpx.Response(
        302, headers={"location": "http://elsewhere.test/v1/steal"}
    ),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_an_unreadable_lease_reply_is_waited_out(api: FakeApi, state_dir: Path, name: str) -> None:
    """A lease reply the runner cannot read (HTML from a proxy, cut JSON, another shape, a
    redirect) is an API not answering: the runner waits and asks again, and trains the next
    good lease. It must not crash, nor follow a redirect with its token."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    garbling = Garbling(api, "/lease", UNREADABLE[name], times=2)
    agent = _no_waits(make_agent(api, state_dir, FakeLauncher(), transport=garbling.transport()))
    assert agent.run() == 0
    assert api.reports["t1"][0] == "complete"
    assert garbling.other_hosts == []


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_an_unreadable_heartbeat_reply_lets_training_go_on(
    api: FakeApi, state_dir: Path, name: str
) -> None:
    """A heartbeat reply the runner cannot read (`shouldStop: "maybe"` among them) is a
    heartbeat that failed: training goes on and the result is reported once."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    garbling = Garbling(api, "t1/heartbeat", UNREADABLE[name], times=3, forward=True)
    agent = make_agent(api, state_dir, FakeLauncher("slow"), transport=garbling.transport())
    assert agent.run() == 0
    assert api.reports["t1"][0] == "complete"
    assert garbling.left == 0  # the garbled replies were all seen
    assert garbling.other_hosts == []


#: Of those, the replies to a report that say nothing of whether it was taken (a report's
#: reply is read as any JSON object: the runner uses nothing in it).
NOT_AN_OBJECT = ["html page", "json array", "json null", "truncated json"]


@pytest.mark.parametrize("name", NOT_AN_OBJECT)
def test_an_unreadable_report_reply_keeps_the_result(
    api: FakeApi, state_dir: Path, name: str
) -> None:
    """A report whose reply cannot be read may or may not have arrived: it stays in the
    outbox, and the next start sends it again (the API keeps the first, never two)."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    garbling = Garbling(api, "/complete", UNREADABLE[name], times=1, forward=True)
    agent = make_agent(api, state_dir, FakeLauncher(), transport=garbling.transport())
    assert agent.run() == 0
    assert [p.name for p in (state_dir / "outbox").iterdir()]  # kept: not known to be sent
    first = api.reports["t1"]
    again = make_agent(api, state_dir, FakeLauncher(), transport=garbling.transport())
    assert again.run() == 0
    assert api.reports["t1"] == first
    assert list((state_dir / "outbox").iterdir()) == []


def test_a_redirected_report_is_sent_again_never_followed(api: FakeApi, state_dir: Path) -> None:
    """A redirect is not an answer: the report is sent again (to the API, with backoff) until
    acknowledged, never to where the redirect points."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    garbling = Garbling(api, "/complete", UNREADABLE["redirect elsewhere"], times=2)
    agent = make_agent(api, state_dir, FakeLauncher(), transport=garbling.transport())
    assert agent.run() == 0
    assert api.reports["t1"][0] == "complete"
    assert [c for c in api.calls if c[1].endswith("/complete")] == [
        c for c in api.calls if c[1] == "/v1/trials/t1/complete"
    ]
    assert list((state_dir / "outbox").iterdir()) == []
    assert garbling.other_hosts == []


def test_an_unreadable_registration_reply_is_waited_out(api: FakeApi, state_dir: Path) -> None:
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    garbling = Garbling(api, "/v1/runners", UNREADABLE["html page"], times=2)
    agent = _no_waits(make_agent(api, state_dir, FakeLauncher(), transport=garbling.transport()))
    assert agent.run() == 0
    assert api.reports["t1"][0] == "complete"


class _Body(httpx.SyncByteStream):
    """A reply body of `total` bytes of JSON whitespace in 64 KiB chunks, `pause` seconds
    apart; `sent` counts what was read of it."""

    def __init__(self, total: int, pause: float = 0.0) -> None:
        self.total, self.pause, self.sent = total, pause, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            if self.pause:
                time.sleep(self.pause)
            chunk = b" " * min(65536, self.total - self.sent)
            self.sent += len(chunk)
            yield chunk


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["endless", "trickling"])
@pytest.mark.parametrize("where", ["/lease", "t1/heartbeat"])
def test_a_reply_that_does_not_end_is_given_up(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch, kind: str, where: str
) -> None:
    """A reply whose body goes on (64 MiB where 1 MiB is the most the runner reads) or
    arrives a chunk at a time, each within the read timeout (here 0.2 s apart for 20 minutes,
    where 2 s is the most the runner waits for a whole reply): read no further than the bound,
    given up as an unreadable reply, and the runner goes on."""
    monkeypatch.setattr(client_module, "MAX_REPLY_BYTES", 2**20, raising=False)
    monkeypatch.setattr(client_module, "MAX_REPLY_SECONDS", 2.0, raising=False)
    bodies: list[_Body] = []

    def endless(_request: httpx.Request) -> httpx.Response:
        body = _Body(64 * 2**20) if kind == "endless" else _Body(6000 * 65536, pause=0.2)
        bodies.append(body)
        return httpx.Response(200, stream=body)

    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    garbling = Garbling(api, where, endless, times=1, forward=where != "/lease")
    launcher = FakeLauncher("slow" if where != "/lease" else "complete")
    agent = _no_waits(make_agent(api, state_dir, launcher, transport=garbling.transport()))
    assert agent.run() == 0
    assert api.reports["t1"][0] == "complete"
    assert len(bodies) == 1
    assert bodies[0].sent <= 2**20 + 65536


# -- 40: names from the API that become paths and URLs ------------------------------------------

HOSTILE_IDS = {
    "parent folders": "../../victim",
    "absolute": "/var/meshtune-hostile-victim",  # in the trial id test: a folder of tmp_path
    "separator": "a/b",
    "nul": "a\x00b",
    "url path": "t1/../../runners/runner-1/lease",
    "empty": "",
    "dot dot": "..",
    "newline": "t1\n",
    "very long": "t" * 5000,
}


@pytest.mark.parametrize("field", ["id", "studyId"])
@pytest.mark.parametrize("name", sorted(HOSTILE_IDS))
def test_ids_that_are_not_names_are_refused(
    api: FakeApi, state_dir: Path, tmp_path: Path, field: str, name: str
) -> None:
    """A trial or study id becomes a folder (trials/<id>-a1, checkpoints/<study>/<id>,
    adapters/<study>/…) and a URL path (/v1/trials/<id>/complete): one that is not a plain
    name is a reply the runner cannot use. Nothing outside its folders is touched or deleted,
    no request goes to another route, and the runner goes on with the next lease."""
    victim = state_dir.parent / "victim-a1"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious", encoding="utf-8")
    bad = trial_json("t-bad", 1, BBO3_PARAMS)
    outside = tmp_path / "outside"  # an absolute id, under this test's own folder
    bad[field] = str(outside) if name == "absolute" else HOSTILE_IDS[name]
    api.trials = [bad, trial_json("t2", 2, BBO3_PARAMS)]
    api.training_config = {**api.training_config, "checkpointSteps": 2}
    agent = _no_waits(make_agent(api, state_dir, FakeLauncher()))
    assert agent.run() == 0
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "precious"
    assert not Path(f"{outside}-a1").exists()
    assert not outside.exists()
    assert api.reports["t2"][0] == "complete"
    assert set(api.reports) == {"t2"}
    paths = [path for _, path, _ in api.calls]
    assert all(p.count("/") <= 4 for p in paths), paths
    assert [p for p in paths if p.endswith("/lease")].count("/v1/runners/runner-1/lease") >= 2


@pytest.mark.parametrize("name", sorted(HOSTILE_IDS))
def test_a_runner_id_that_is_not_a_name_is_refused(
    api: FakeApi, state_dir: Path, name: str
) -> None:
    """The registration's runner id goes into every runner URL: one that is not a plain name
    is a reply the runner cannot use (it waits and registers again), never a path it requests."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    answered = {"n": 0}

    def register(request: httpx.Request) -> httpx.Response:
        reply = api.handle(request)
        body = json.loads(reply.content)
        answered["n"] += 1
        if answered["n"] == 1:
            body["id"] = HOSTILE_IDS[name]
        return httpx.Response(reply.status_code, json=body)

    garbling = Garbling(api, "/v1/runners", register, times=2)
    agent = _no_waits(make_agent(api, state_dir, FakeLauncher(), transport=garbling.transport()))
    assert agent.run() == 0
    assert api.reports["t1"][0] == "complete"
    assert all(
        p == "/v1/runners" or p.startswith(("/v1/runners/runner-1/", "/v1/trials/t1/"))
        for _, p, _ in api.calls
    ), api.calls
    saved = json.loads((state_dir / "runner.json").read_text(encoding="utf-8"))
    assert saved["id"] == "runner-1"


# -- 41: the runner's own disk refusing a write ----------------------------------------------

#: Where the runner writes before and around a trial, and the error its disk gives there.
DISK_ERRORS = {
    "no space": errno.ENOSPC,
    "quota": errno.EDQUOT,
    "read-only": errno.EROFS,
    "i/o": errno.EIO,
    "too many open files": errno.EMFILE,
}


def _refuse_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, code: int) -> None:
    """`owner.name` raises the disk's OSError the first time it is called, then works (the
    operator freed space): the runner must be alive to see it."""
    original = getattr(owner, name)
    calls = {"n": 0}

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(code, os.strerror(code))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, refuse)


WRITE_POINTS: dict[str, Callable[[pytest.MonkeyPatch, int], None]] = {
    "trial spec": lambda mp, code: _refuse_once(mp, TrialSpec, "save", code),
    "training log": lambda mp, code: _refuse_once(mp, TrialLog, "start", code),
    "training child": lambda mp, code: _refuse_once(mp, FakeLauncher, "start", code),
}


@pytest.mark.parametrize("error", sorted(DISK_ERRORS))
@pytest.mark.parametrize("where", sorted(WRITE_POINTS))
def test_a_disk_that_refuses_a_trials_files_is_the_runners_fault(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str, error: str
) -> None:
    """Full, over quota, read-only, failing, out of file handles: the trial could not start
    on this machine. It goes back as a runner failure (kind "runner": no attempt, no budget;
    the API marks the runner unhealthy, docs/runner.md), and the runner lives on to run the
    next trial once the disk works again."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS), trial_json("t2", 2, BBO3_PARAMS)]
    WRITE_POINTS[where](monkeypatch, DISK_ERRORS[error])
    agent = make_agent(api, state_dir, FakeLauncher())
    assert agent.run() == 0
    kind, body = api.reports["t1"]
    assert kind == "fail"
    assert body["kind"] == "runner"
    assert os.strerror(DISK_ERRORS[error]) in body["error"]
    assert api.reports["t2"][0] == "complete"
    assert list((state_dir / "outbox").iterdir()) == []


@pytest.mark.parametrize("error", sorted(DISK_ERRORS))
def test_a_result_the_outbox_cannot_keep_is_still_sent(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    """The outbox is a copy for a runner killed before the API answered; a disk that refuses
    it must not cost the result itself (the report is sent, retried until acknowledged)."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    _refuse_once(monkeypatch, Outbox, "put", DISK_ERRORS[error])
    agent = make_agent(api, state_dir, FakeLauncher())
    assert agent.run() == 0
    assert api.reports["t1"][0] == "complete"


def test_a_second_runner_in_the_same_folder_is_refused(state_dir: Path) -> None:
    """Two runners on one state folder would be one runner to the API (runner.json) with one
    outbox: cli.py locks the folder, and the second stops before it asks the API anything."""
    held = cli._lock_state_dir(state_dir)
    try:
        with pytest.raises(SystemExit, match="another runner uses"):
            cli.main(["--url", "http://api.test", "--state-dir", str(state_dir), "--gpus", "none"])
    finally:
        held.close()


# -- 41, while a trial runs: the disk refusing a read or a write after the child started -------


def _refuse_always(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, code: int) -> None:
    """`owner.name` raises the disk's OSError every time (a file system gone bad for good)."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(owner, name, refuse)


def _refuse_after_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, code: int) -> None:
    """`owner.name` does its work, then raises the disk's OSError, the first time (a close
    whose last flush the disk refuses)."""
    original = getattr(owner, name)
    calls = {"n": 0}

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        done = original(*args, **kwargs)
        if calls["n"] == 1:
            raise OSError(code, os.strerror(code))
        return done

    monkeypatch.setattr(owner, name, refuse)


#: Where the runner reads or writes once the child runs, how the disk refuses there, and what
#: becomes of the trial: "complete" when its result is known without that file, "runner" (a
#: runner failure) when the result itself could not be read.
RUNNING_POINTS: dict[str, tuple[Callable[[pytest.MonkeyPatch, int], None], str]] = {
    "events file (every read)": (
        lambda mp, code: _refuse_always(mp, EventReader, "read_new", code),
        "complete",
    ),
    "result file": (lambda mp, code: _refuse_once(mp, TrialResult, "load", code), "runner"),
    "training log's close": (
        lambda mp, code: _refuse_after_once(mp, TrialLog, "close", code),
        "complete",
    ),
    "adapter's folder": (
        lambda mp, code: _refuse_once(mp, agent_module, "keep_adapter", code),
        "complete",
    ),
}


@pytest.mark.parametrize("error", sorted(DISK_ERRORS))
@pytest.mark.parametrize("where", sorted(RUNNING_POINTS))
def test_a_disk_that_fails_while_a_trial_runs_costs_at_most_that_trial(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str, error: str
) -> None:
    """Once the child runs, an OSError of the runner's disk (full, over quota, read-only,
    failing, out of file handles) reading its events or result, closing its log or keeping its
    adapter: the runner lives on and takes the next lease; the trial completes when its
    result was read, else it goes back as a runner failure (kind "runner"). Never a lost
    result, never a report twice."""
    api.trials = [trial_json("t1", 1, BBO3_PARAMS), trial_json("t2", 2, BBO3_PARAMS)]
    refuse, expected = RUNNING_POINTS[where]
    refuse(monkeypatch, DISK_ERRORS[error])
    agent = make_agent(api, state_dir, FakeLauncher())
    assert agent.run() == 0
    kind, body = api.reports["t1"]
    if expected == "complete":
        assert kind == "complete", body
        assert body["outputs"]["val_loss"] == 1.125
    else:
        assert (kind, body["kind"]) == ("fail", "runner"), body
        assert os.strerror(DISK_ERRORS[error]) in body["error"]
        assert body["gpuSeconds"] > 0  # the child ran: its time is accounted for
    assert api.reports["t2"][0] == "complete"
    assert [c[1] for c in api.calls].count("/v1/trials/t1/complete") <= 1
    assert list((state_dir / "outbox").iterdir()) == []


# -- a parameter value no LoRA run can take ----------------------------------------------------

#: Values of an integer parameter that pass as numbers but that no training can use: far past
#: any weight's rank, past a float, negative, zero, not whole.
HOSTILE_INTEGERS: dict[str, Any] = {
    "1e308": 1e308,
    "2**62": 2**62,
    "10**400 (past a float)": 10**400,
    "negative": -8,
    "zero": 0,
    "not whole": 8.5,
    "string 1e308": "1e308",
}


@pytest.mark.parametrize("parameter", ["lora_rank", "per_device_train_batch_size"])
@pytest.mark.parametrize("name", sorted(HOSTILE_INTEGERS))
def test_an_integer_parameter_out_of_range_fails_the_trial_before_training(
    api: FakeApi, state_dir: Path, parameter: str, name: str
) -> None:
    """A study's point whose integer parameter no PEFT/transformers run can take fails as that
    trial's own failure, naming the parameter, before a child starts (not an out-of-memory
    crash or a traceback in the child, nor in the runner); the next trial trains."""
    params = {**BBO3_PARAMS, parameter: HOSTILE_INTEGERS[name]}
    api.trials = [trial_json("t1", 1, params), trial_json("t2", 2, BBO3_PARAMS)]
    launcher = FakeLauncher()
    agent = make_agent(api, state_dir, launcher)
    assert agent.run() == 0
    kind, body = api.reports["t1"]
    assert kind == "fail", body
    assert parameter in body["error"]
    assert body.get("kind", "evaluation") == "evaluation"  # the point's fault, not the machine's
    assert "gpuSeconds" not in body  # no child ran for it
    assert len(launcher.processes) == 1  # t2's
    assert api.reports["t2"][0] == "complete"


@pytest.mark.parametrize("error", sorted(DISK_ERRORS))
def test_a_stop_file_the_disk_refuses_ends_the_child(
    api: FakeApi, state_dir: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    """The API stopped the trial early, and the disk refuses the `stop` file that tells the
    child to save and end: the child is ended at once (its adapter lost), nothing is reported
    (the trial is stopped on the server), and the runner goes on."""
    write_text = Path.write_text

    def refuse_stop(self: Path, *args: Any, **kwargs: Any) -> int:
        if self.name == "stop":
            raise OSError(DISK_ERRORS[error], os.strerror(DISK_ERRORS[error]))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", refuse_stop)
    api.trials = [trial_json("t1", 1, BBO3_PARAMS)]
    api.should_stop_after = 1
    api.stop_reason = "early_stopped"
    launcher = FakeLauncher("slow")
    started = time.monotonic()
    assert make_agent(api, state_dir, launcher).run() == 0
    assert time.monotonic() - started < 8  # the slow child would need 10 s
    assert launcher.processes[0].returncode != 0  # ended by the runner
    assert api.reports == {} and api.released == []
