"""API Gateway's own answers (gateway responses), in the envelope the proxy uses.

One table for the stack (``infra/api.py`` configures each on the REST API) and for the
local emulator (``local/emulator.py`` answers with them), so both say the same thing.
``type`` names an ``aws_apigateway.ResponseType``; a ``status`` of 0 keeps API Gateway's
own status for that family; an empty ``message`` takes API Gateway's own message.

Which type API Gateway picks for which event is AWS's behavior, not ours: see
"Gateway response types for API Gateway" (supported-gateway-response-types.html). A
REQUEST authorizer that raises anything but ``Unauthorized``, times out or answers
something that is not a policy gets ``AUTHORIZER_CONFIGURATION_ERROR``
(``x-amzn-ErrorType: AuthorizerConfigurationException``, 500 by default), not
``AUTHORIZER_FAILURE``: both are customized alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Headers every answer carries, the proxy's and API Gateway's own: never cached by a
# browser or a shared cache, never sniffed, HTTPS only.
COMMON_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }
)
# The response headers a browser script may read (CORS hides the others).
EXPOSED_HEADERS = "X-Request-Id, Retry-After, WWW-Authenticate"
# The CORS preflight (an OPTIONS mock on each resource, only with cors_allow_origins).
PREFLIGHT_ALLOW_HEADERS = ("Authorization", "Content-Type")
PREFLIGHT_MAX_AGE_S = 3600
# Seconds a client should wait before retrying a 503 of the authorizer (the identity
# provider or Opower was unreachable) or a stage throttle (429).
AUTHORIZER_RETRY_AFTER_S = 5
THROTTLE_RETRY_AFTER_S = 1


@dataclass(frozen=True)
class GatewayResponse:
    type: str
    status: int
    code: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


def _authorizer_unavailable(response_type: str) -> GatewayResponse:
    return GatewayResponse(
        response_type,
        503,
        "authorization_unavailable",
        "Your session could not be checked right now; retry later",
        headers={"Retry-After": str(AUTHORIZER_RETRY_AFTER_S)},
    )


GATEWAY_RESPONSES: tuple[GatewayResponse, ...] = (
    GatewayResponse(
        "UNAUTHORIZED",
        401,
        "unauthorized",
        "Missing or invalid session token",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    ),
    GatewayResponse("ACCESS_DENIED", 403, "forbidden", "Not allowed for this session"),
    GatewayResponse("MISSING_AUTHENTICATION_TOKEN", 404, "not_found", "No such resource"),
    GatewayResponse(
        "THROTTLED",
        429,
        "throttled",
        "Too many requests; retry later",
        headers={"Retry-After": str(THROTTLE_RETRY_AFTER_S)},
    ),
    # The authorizer raising (not denying) means the identity provider or Opower could not
    # be reached to bind the session: a 503 the client may retry, not a 500. API Gateway
    # files a raise or a timeout under AUTHORIZER_CONFIGURATION_ERROR; AUTHORIZER_FAILURE
    # is customized alike so that no authorizer outcome escapes as a bare 500.
    _authorizer_unavailable("AUTHORIZER_CONFIGURATION_ERROR"),
    _authorizer_unavailable("AUTHORIZER_FAILURE"),
    GatewayResponse("REQUEST_TOO_LARGE", 413, "payload_too_large", "The request is too large"),
    GatewayResponse("INTEGRATION_TIMEOUT", 504, "gateway_timeout", "Upstream timed out"),
    GatewayResponse("DEFAULT_4_XX", 0, "bad_request", ""),
    GatewayResponse("DEFAULT_5_XX", 0, "internal_error", "The gateway failed"),
)

BY_TYPE = {r.type: r for r in GATEWAY_RESPONSES}


def cors_origin_for_gateway_responses(allowed: tuple[str, ...]) -> str | None:
    """The ``Access-Control-Allow-Origin`` of API Gateway's own answers.

    A gateway response holds static header values (or a request header copied as is): it
    cannot pick the caller's origin out of a list. With one allowed origin, that origin;
    with several, ``*``, so that every allowed page can read why it was refused. The
    envelope holds no customer data (a code, a fixed message and the request id) and the
    API takes no cookies, so ``*`` exposes nothing; the proxy's own answers, which carry
    customer data, name the caller's origin only when it is allowed.
    """
    if not allowed:
        return None
    return allowed[0] if len(allowed) == 1 else "*"


def static_headers(cors_allow_origins: tuple[str, ...]) -> dict[str, str]:
    """The headers of every answer API Gateway makes itself (gateway responses and the
    OpenAPI document's MOCK integration): the common ones, and CORS with a static origin."""
    headers = dict(COMMON_HEADERS)
    origin = cors_origin_for_gateway_responses(cors_allow_origins)
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if origin != "*":
            headers["Vary"] = "Origin"
    return headers


def gateway_response_headers(
    response: GatewayResponse, cors_allow_origins: tuple[str, ...]
) -> dict[str, str]:
    """Every static header of ``response``, as the stack configures and the emulator sends."""
    return {**static_headers(cors_allow_origins), **response.headers}
