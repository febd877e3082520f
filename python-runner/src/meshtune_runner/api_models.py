"""The API's JSON shapes the runner reads (unknown fields are ignored: the API may grow)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "HeartbeatReply",
    "Lease",
    "MetricPoint",
    "OutputSpec",
    "RegisteredRunner",
    "RunnerView",
    "Trial",
    "is_plain_name",
]

ParameterValue = float | int | str | bool

#: What an id from the API may be (the API's are UUIDs): each becomes a folder or file name
#: (trials/<trial>-a<n>, checkpoints/<study>/<trial>, adapters/<study>/…) and a segment of
#: the URLs the runner calls with its token (/v1/trials/<trial>/complete), so anything else
#: (a separator, `..`, NUL, a newline, 5,000 characters) makes the whole reply unusable
#: rather than a path outside the runner's folders or a call to another route.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

#: A token goes into a header: printable ASCII without spaces, bounded.
_TOKEN = re.compile(r"[!-~]{1,4096}")


def is_plain_name(value: str) -> bool:
    return _PLAIN_NAME.fullmatch(value) is not None


def _plain_name(value: str) -> str:
    if not is_plain_name(value):
        raise ValueError(f"not a plain name (letters, digits, '_', '.', '-'): {value[:80]!r}")
    return value


def _token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError("not a token (1-4,096 printable ASCII characters, no spaces)")
    return value


ApiId = Annotated[str, AfterValidator(_plain_name)]
Token = Annotated[str, AfterValidator(_token)]


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class RunnerView(_ApiModel):
    """A runner as the API shows it: the answer to a registration made with the runner's own
    token (an update of that runner, which keeps its token and so does not send it back)."""

    id: ApiId
    name: str
    gpus: int = 0
    gpu_memory_mb: int | None = Field(default=None, alias="gpuMemoryMb")
    labels: list[str] = Field(default_factory=list)


class RegisteredRunner(RunnerView):
    """A new runner: its view and the token it acts with from then on."""

    token: Token


class Trial(_ApiModel):
    id: ApiId
    study_id: ApiId = Field(alias="studyId")
    number: int
    status: str = "running"
    parameters: dict[str, ParameterValue | None] = Field(default_factory=dict)
    attempt: int = 1
    origin: str | None = None


class OutputSpec(_ApiModel):
    name: str
    type: Literal["objective", "constraint_pb", "constraint_eb", "extra"]
    goal: Literal["minimize", "maximize"] | None = None

    @property
    def required(self) -> bool:
        """Objectives and constraints must be reported; extras are optional."""
        return self.type != "extra"


class Lease(_ApiModel):
    trial: Trial
    training_config: dict[str, Any] = Field(default_factory=dict, alias="trainingConfig")
    outputs: list[OutputSpec] = Field(default_factory=list)
    lease_expires_at: str | None = Field(default=None, alias="leaseExpiresAt")
    lease_seconds: int = Field(default=300, alias="leaseSeconds")


class HeartbeatReply(_ApiModel):
    should_stop: bool = Field(default=False, alias="shouldStop")
    reason: str | None = None
    lease_expires_at: str | None = Field(default=None, alias="leaseExpiresAt")


class MetricPoint(_ApiModel):
    name: str
    step: int
    value: float
