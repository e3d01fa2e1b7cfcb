"""The control plane: `/_sandbox/*`, for tests and demos to steer the sandbox.

| route                      | effect                                                    |
|----------------------------|-----------------------------------------------------------|
| GET  /_sandbox/stats       | counters by route name and status, token and data totals  |
| GET  /_sandbox/faults      | the current fault switches                                |
| POST /_sandbox/faults      | merge a JSON object of switches; answers the current set  |
| POST /_sandbox/reset       | back to the state at start (204)                          |
| GET  /_sandbox/limits      | the rate limits in force                                  |
| POST /_sandbox/limits      | `{"per_second": n, "per_day": n}`, either may be omitted  |
| GET  /_sandbox/customers   | the synthetic customers and their ids                     |
| POST /_sandbox/answers     | `{route: {"status", "body"}}`: serve recorded answers     |

It is only served when enabled (by default on loopback hosts only; otherwise 404), because
anyone reaching it could turn off authentication faults or read the request log counters.
Invalid input answers 400 ErrorResponse and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Protocol

from local.sandbox.errors import ApiError, bad_request, not_found
from local.sandbox.messages import Request, Response, json_response, no_content

PREFIX = "/_sandbox"


class ControlOperations(Protocol):
    """What the control plane can do to a sandbox."""

    def reset(self) -> None: ...

    def set_faults(self, switches: Mapping[str, object]) -> dict[str, object]: ...

    def faults_json(self) -> dict[str, object]: ...

    def set_limits(self, per_second: int | None, per_day: int | None) -> dict[str, int]: ...

    def stats_json(self) -> dict[str, object]: ...

    def customers_json(self) -> list[dict[str, object]]: ...

    def set_answers(self, answers: Mapping[str, object]) -> list[str]: ...


def is_control_path(path: str) -> bool:
    """Whether the path belongs to the control plane."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def handle(request: Request, ops: ControlOperations) -> Response:
    """Answer one control-plane request."""
    routes: dict[str, dict[str, Callable[[], Response]]] = {
        "/stats": {"GET": lambda: json_response(200, ops.stats_json())},
        "/faults": {
            "GET": lambda: json_response(200, ops.faults_json()),
            "POST": lambda: json_response(200, _set_faults(ops, _object(request))),
        },
        "/reset": {"POST": lambda: _reset(ops)},
        "/limits": {
            "GET": lambda: json_response(200, ops.set_limits(None, None)),
            "POST": lambda: json_response(200, _set_limits(ops, _object(request))),
        },
        "/customers": {"GET": lambda: json_response(200, ops.customers_json())},
        "/answers": {"POST": lambda: json_response(200, _set_answers(ops, _object(request)))},
    }
    try:
        methods = routes.get(request.path.removeprefix(PREFIX))
        if methods is None:
            raise not_found(f"No control route {request.path}")
        action = methods.get(request.method)
        if action is None:
            raise ApiError(405, f"{request.method} is not supported", ("Allow", ", ".join(methods)))
        return action()
    except ApiError as error:
        return error.to_response(nested=False)


def _reset(ops: ControlOperations) -> Response:
    ops.reset()
    return no_content()


def _set_faults(ops: ControlOperations, body: dict[str, object]) -> dict[str, object]:
    try:
        return ops.set_faults(body)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


def _set_answers(ops: ControlOperations, body: dict[str, object]) -> dict[str, object]:
    try:
        return {"recorded": ops.set_answers(body)}
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


def _set_limits(ops: ControlOperations, body: dict[str, object]) -> dict[str, int]:
    unknown = set(body) - {"per_second", "per_day"}
    if unknown:
        raise bad_request(f"Unknown limits: {', '.join(sorted(unknown))}")
    try:
        return ops.set_limits(_optional_int(body, "per_second"), _optional_int(body, "per_day"))
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


def _optional_int(body: dict[str, object], name: str) -> int | None:
    value = body.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise bad_request(f"{name} must be an integer >= 1")


def _object(request: Request) -> dict[str, object]:
    try:
        body = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad_request("Body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise bad_request("Body must be a JSON object")
    return body
