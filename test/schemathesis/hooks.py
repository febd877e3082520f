"""Schemathesis checks of meshtune beyond the built-in ones (loaded through SCHEMATHESIS_HOOKS=hooks)."""

import schemathesis


@schemathesis.check
def error_body(ctx, response, case):
    """Every 4xx carries the error body {statusCode, code, message, details?, requestId?}."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except Exception as error:  # noqa: BLE001 - any parse failure is the finding
        raise AssertionError(f"{response.status_code} without a JSON error body: {response.text[:200]!r}") from error
    if not (
        isinstance(body, dict)
        and body.get("statusCode") == response.status_code
        and isinstance(body.get("code"), str)
        and isinstance(body.get("message"), str)
    ):
        raise AssertionError(f"{response.status_code} without the error body: {response.text[:200]!r}")
    return None
