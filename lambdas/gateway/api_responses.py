"""API Gateway's own answers (gateway responses), in the envelope the proxy uses.

One table for the stack (``infra/api.py`` configures each on the REST API) and for the
local emulator (``local/emulator.py`` answers with them), so both say the same thing.
``type`` names an ``aws_apigateway.ResponseType``; a ``status`` of 0 keeps API Gateway's
own status for that family; an empty ``message`` takes API Gateway's own message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayResponse:
    type: str
    status: int
    code: str
    message: str


GATEWAY_RESPONSES: tuple[GatewayResponse, ...] = (
    GatewayResponse("UNAUTHORIZED", 401, "unauthorized", "Missing or invalid session token"),
    GatewayResponse("ACCESS_DENIED", 403, "forbidden", "Not allowed for this session"),
    GatewayResponse("MISSING_AUTHENTICATION_TOKEN", 404, "not_found", "No such route"),
    GatewayResponse("THROTTLED", 429, "throttled", "Too many requests; retry later"),
    # The authorizer raising (not denying) means the identity provider or Opower could not
    # be reached to bind the session: a 503 the client may retry, not a 500.
    GatewayResponse(
        "AUTHORIZER_FAILURE",
        503,
        "authorization_unavailable",
        "Your session could not be checked right now; retry later",
    ),
    GatewayResponse("INTEGRATION_TIMEOUT", 504, "gateway_timeout", "Upstream timed out"),
    GatewayResponse("DEFAULT_4_XX", 0, "bad_request", ""),
    GatewayResponse("DEFAULT_5_XX", 0, "internal_error", "The gateway failed"),
)

BY_TYPE = {r.type: r for r in GATEWAY_RESPONSES}
