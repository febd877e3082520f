"""The API's JSON shapes the runner reads (unknown fields are ignored: the API may grow)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "HeartbeatReply",
    "Lease",
    "MetricPoint",
    "OutputSpec",
    "RegisteredRunner",
    "Trial",
]

ParameterValue = float | int | str | bool


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class RegisteredRunner(_ApiModel):
    id: str
    name: str
    token: str
    gpus: int = 0
    gpu_memory_mb: int | None = Field(default=None, alias="gpuMemoryMb")
    labels: list[str] = Field(default_factory=list)


class Trial(_ApiModel):
    id: str
    study_id: str = Field(alias="studyId")
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
