"""The runner's view of the HTTP contract, checked against the API's OpenAPI document
(api/openapi.json, generated from the server's DTOs and drift-checked by `npm run check`).

Two directions:
- what the runner reads: every field of the pydantic models in api_models.py exists in the
  response schema it parses, with a compatible JSON type, and every field the model cannot do
  without is one the API always sends;
- what the runner sends: every request body ApiClient builds, captured at the HTTP layer, uses only
  properties of the route's request schema, with the required ones present and compatible types.
A renamed or removed field on either side fails here instead of at a user's first trial.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from meshtune_runner.api_models import (
    HeartbeatReply,
    Lease,
    MetricPoint,
    OutputSpec,
    RegisteredRunner,
    RunnerView,
    Trial,
)
from meshtune_runner.client import ApiClient, RetryPolicy

from .fake_api import trial_json

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "api" / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]

# Which response (or request) schema each model reads.
MODEL_SCHEMAS: list[tuple[type[BaseModel], str]] = [
    (RegisteredRunner, "RegisteredRunnerResponseDto"),
    (RunnerView, "RunnerResponseDto"),  # a registration with the runner's token answers it
    (Trial, "TrialResponseDto"),
    (OutputSpec, "OutputDefinitionDto"),
    (Lease, "LeaseResponseDto"),
    (HeartbeatReply, "TrialHeartbeatResponseDto"),
    (MetricPoint, "MetricPointDto"),
]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(schema["allOf"][0])
    return schema


_VALUE_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def _json_types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema admits; "any" when it does not say."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return set().union(*(_json_types(option) for option in schema[key]))
    kind = schema.get("type")
    if kind is None:
        if "enum" in schema:
            return {_VALUE_TYPES[type(value)] for value in schema["enum"]}
        return {"any"}
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if schema.get("nullable"):
        kinds.add("null")
    return kinds


def _admits(receiver: set[str], sent: str) -> bool:
    """Whether a JSON value of type `sent` fits a schema admitting `receiver` (ints are numbers)."""
    return "any" in receiver or sent in receiver or (sent == "integer" and "number" in receiver)


def _compatible(model_schema: dict[str, Any], api_schema: dict[str, Any]) -> bool:
    """True when every value the API may send under `api_schema` fits the model's field.

    The document types every TypeScript `number` as "number", integers included (the swagger plugin
    cannot tell), so an API "number" may feed a model `int`: pydantic refuses a non-integral value
    loudly, it never truncates it."""
    model_types = _json_types(model_schema)
    if "integer" in model_types:
        model_types.add("number")
    return all(_admits(model_types, sent) for sent in _json_types(api_schema) - {"any"})


def _enum(schema: dict[str, Any]) -> set[Any] | None:
    schema = _resolve(schema)
    if "enum" in schema:
        return set(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            values: set[Any] = set()
            for option in schema[key]:
                inner = _enum(option)
                if inner is None:
                    continue
                values |= inner
            return values or None
    return None


@pytest.mark.parametrize(
    ("model", "schema_name"), MODEL_SCHEMAS, ids=lambda v: getattr(v, "__name__", v)
)
def test_every_model_field_is_in_the_api_schema_with_a_compatible_type(
    model: type[BaseModel], schema_name: str
) -> None:
    api = SCHEMAS[schema_name]
    model_schema = model.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    definitions = model_schema.get("$defs", {})
    properties: dict[str, Any] = api.get("properties", {})
    api_required = set(api.get("required", []))
    for name, field_schema in model_schema["properties"].items():
        assert name in properties, f"{model.__name__}.{name} is not a property of {schema_name}"
        if "$ref" in field_schema or (
            field_schema.get("type") == "array" and "$ref" in field_schema.get("items", {})
        ):
            continue  # nested models are checked against their own schemas above
        local = field_schema
        if "$ref" in local:
            local = definitions[local["$ref"].rsplit("/", 1)[-1]]
        assert _compatible(local, properties[name]), (
            f"{model.__name__}.{name}: the model admits {_json_types(local)}, "
            f"{schema_name} sends {_json_types(properties[name])}"
        )
        allowed = _enum(local)
        sent = _enum(properties[name])
        if allowed is not None and sent is not None:
            assert sent - {None} <= allowed, (
                f"{model.__name__}.{name} does not accept {sorted(map(str, sent - allowed))} "
                f"that {schema_name} may send"
            )
    for name in model_schema.get("required", []):
        assert name in api_required, (
            f"{model.__name__}.{name} is required by the model but optional in {schema_name}"
        )


# -- what the runner sends -------------------------------------------------------------------------


def _operation(method: str, path: str) -> dict[str, Any]:
    for template, operations in DOCUMENT["paths"].items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not a route of the OpenAPI document")


def _check_body(method: str, path: str, body: Any) -> None:
    operation = _operation(method, path)
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        assert body in (None, {}), f"{method} {path} takes no body, the runner sent {body}"
        return
    _check_object(f"{method} {path}", _resolve(content["schema"]), body)


def _check_object(where: str, schema: dict[str, Any], body: dict[str, Any]) -> None:
    """The body's properties against an object schema; nested objects with their own
    properties (e.g. complete's `adapter`) are checked the same way."""
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        assert name in body, f"{where}: required property {name} missing from {body}"
    for name, value in body.items():
        assert name in properties, f"{where}: {name} is not a property of the request schema"
        kinds = _json_types(properties[name])
        sent = {**_VALUE_TYPES, list: "array", dict: "object"}[type(value)]
        assert _admits(kinds, sent), f"{where}: {name} sent as {sent}, the schema admits {kinds}"

        allowed = _enum(properties[name])
        if allowed is not None:
            assert value in allowed, f"{where}: {name}={value!r} is not one of {allowed}"
        nested = _resolve(properties[name])
        if isinstance(value, dict) and "properties" in nested:
            _check_object(f"{where} {name}", nested, value)


def test_every_request_the_client_builds_matches_the_route_schema() -> None:
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        path = request.url.path
        if path == "/v1/runners":
            return httpx.Response(201, json={"id": "r1", "name": "n", "token": "t", "gpus": 1})
        if path.endswith("/lease"):
            lease = {
                "trial": trial_json("t1", 1, {"x": 1.0}),
                "trainingConfig": {},
                "outputs": [],
                "leaseSeconds": 60,
            }
            return httpx.Response(200, json=lease)
        if path.endswith("/heartbeat") and path.startswith("/v1/trials/"):
            return httpx.Response(
                200, json={"shouldStop": False, "reason": None, "metricsDropped": 0}
            )
        return httpx.Response(200, json=trial_json("t1", 1, {"x": 1.0}))

    client = ApiClient(
        "http://api.test/",
        "tok",
        retry=RetryPolicy(initial=0.001, maximum=0.002, give_up_after=1.0, sleep=lambda _s: None),
        transport=httpx.MockTransport(handler),
    )
    client.register("runner", 2, 81920, ["a100"])
    client.register("cpu", 0, None, [])
    client.runner_heartbeat("r1")
    client.lease("r1")
    client.lease("r1", "study-1")
    client.trial_heartbeat("t1")
    client.trial_heartbeat("t1", 0.5, [MetricPoint(name="val_loss", step=3, value=1.25)])
    client.complete("t1", {"val_loss": 1.0})
    client.fail("t1", "CUDA out of memory")
    client.fail("t1", "node lost", retryable=True)
    client.fail("t1", "data path missing", kind="runner")
    client.fail("t1", "CUDA out of memory on rank 1", kind="resource")
    client.trial_heartbeat("t1", 0.75, gpu_seconds=12.5)
    client.complete("t1", {"val_loss": 1.0}, gpu_seconds=30.0)
    client.fail("t1", "CUDA out of memory", gpu_seconds=3.0)
    client.complete(
        "t1",
        {"val_loss": 1.0},
        gpu_seconds=30.0,
        effective_config={"regimeHash": "sha256:abc", "gpuCount": 2, "precision": "bf16"},
        adapter="/data/adapters/study-1/trial-00001-t1-a1",
        adapter_size_bytes=4096,
    )
    client.complete("t1", {"val_loss": 1.0}, adapter="s3://bucket/adapters/t1")
    client.release("t1")
    client.release("t1", gpu_seconds=12.5)
    client.decline("t1", "no such model here", gpu_seconds=4.0)
    assert len(seen) == 20
    assert seen[15][2]["adapter"] == {
        "location": "/data/adapters/study-1/trial-00001-t1-a1",
        "sizeBytes": 4096,
    }
    for method, path, body in seen:
        _check_body(method, path, body)
