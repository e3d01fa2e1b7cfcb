"""API Gateway's own answers (gateway responses), in the envelope the proxy uses, and
``RequestError``, the proxy's and the service API's own refusals in that envelope.

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
EXPOSED_HEADERS = "X-Request-Id, Retry-After, WWW-Authenticate, Age, Cache-Status"
# The CORS preflight (an OPTIONS mock on each resource, only with cors_allow_origins).
PREFLIGHT_ALLOW_HEADERS = ("Authorization", "Content-Type")
PREFLIGHT_MAX_AGE_S = 3600
# Seconds a client should wait before retrying a 503 of the authorizer (the identity
# provider or Opower was unreachable) or a stage throttle (429).
AUTHORIZER_RETRY_AFTER_S = 5
THROTTLE_RETRY_AFTER_S = 1
# One message for every 404: no such route, a method the route lacks, an id that is not
# the customer's, Opower's own 404 (indistinguishable by design).
NOT_FOUND_MESSAGE = "No such resource"
METHOD_NOT_ALLOWED_MESSAGE = "This method is not allowed here; Allow lists the ones that are"
UNSUPPORTED_MEDIA_TYPE_MESSAGE = "The body must be application/json"


# The proxy's and the service API's own refusals, in the same envelope: here, below both,
# so that neither imports the other for it.
class RequestError(Exception):
    """The request cannot be served; status, stable code and a message for the customer."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str) -> RequestError:
    return RequestError(400, "bad_request", message)


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
    # A session's Deny (the authorizer), and a SigV4 caller the resource policy refuses
    # or whose access key is unknown (the service API: x-amzn-ErrorType
    # AccessDeniedException, "How do I troubleshoot HTTP 403 errors from API Gateway?").
    GatewayResponse(
        "ACCESS_DENIED", 403, "forbidden", "Not allowed for this session or this caller"
    ),
    # No such path or method (the catch-alls leave few), and a service route called
    # without a SigV4 signature: API Gateway picks this type for both, so one answer.
    GatewayResponse(
        "MISSING_AUTHENTICATION_TOKEN",
        404,
        "not_found",
        f"{NOT_FOUND_MESSAGE} (service routes take SigV4-signed requests only)",
    ),
    # The service API (AWS_IAM): a signature that does not match, or is more than five
    # minutes off the clock ("Signature expired", x-amzn-ErrorType InvalidSignatureException;
    # "AWS Signature Version 4 for API requests": within five minutes of the time stamp).
    GatewayResponse(
        "INVALID_SIGNATURE",
        403,
        "invalid_signature",
        "The request's SigV4 signature does not match or has expired: sign for service "
        "execute-api in the API's region, with the caller's current credentials and a clock "
        "within 5 minutes",
    ),
    GatewayResponse(
        "EXPIRED_TOKEN",
        403,
        "expired_token",
        "The caller's AWS security token has expired: sign with fresh credentials",
    ),
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
    # A Content-Type that no mapping template of a MOCK integration takes (the catch-alls,
    # the OpenAPI document): PassthroughBehavior NEVER answers 415, never a 500.
    GatewayResponse(
        "UNSUPPORTED_MEDIA_TYPE", 415, "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE_MESSAGE
    ),
    GatewayResponse("INTEGRATION_TIMEOUT", 504, "gateway_timeout", "Upstream timed out"),
    # AWS WAF blocked the request (infra/waf.py: a rate limit per IP or per session, or a
    # managed rule). Unset, API Gateway would answer DEFAULT_4XX, "bad_request" with its
    # own message "Forbidden". One answer for every rule: a gateway response cannot tell
    # which one matched.
    GatewayResponse(
        "WAF_FILTERED",
        403,
        "request_blocked",
        "The gateway's web application firewall blocked this request: too many requests "
        "from this address or session (wait a few minutes), or a request it takes for an "
        "attack",
    ),
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


# -- catch-alls -----------------------------------------------------------------------
# Without them API Gateway answers a path or a method the API does not have with 403
# MissingAuthenticationTokenException, and, when the request carries a Bearer token,
# with 403 IncompleteSignatureException whose message quotes the Authorization header
# (its SHA-256 today, the token itself in older answers) and which no gateway response
# is documented to customize (re:Post "rest api in api gateway returns 403 when resource
# or method is incorrect"; awslabs/time-addressable-media-store#8 solved it the same
# way). So every resource gets an ANY method (a MOCK: no authorizer, no Lambda, nothing
# billed but the request) answering 405 with Allow, or 404 where the resource is only a
# path prefix, and a greedy ``/{proxy+}`` answers 404 for every other path. Explicit
# methods take precedence over ANY, and resources over the greedy path.
GREEDY_PATH = "/{proxy+}"
# Media types the catch-alls' and the OpenAPI document's MOCK integrations take (one
# mapping template each; a request without Content-Type counts as application/json).
MOCK_MEDIA_TYPES = (
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "text/xml",
    "application/octet-stream",
)


@dataclass(frozen=True)
class CatchAll:
    path: str
    status: int  # 405 on a resource with methods, else 404
    allow: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return "method_not_allowed" if self.status == 405 else "not_found"

    @property
    def message(self) -> str:
        return METHOD_NOT_ALLOWED_MESSAGE if self.status == 405 else NOT_FOUND_MESSAGE

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)} if self.allow else {}


def catch_alls(resources: Mapping[str, tuple[str, ...]]) -> tuple[CatchAll, ...]:
    """The ANY methods of an API whose resources (path -> methods) are ``resources``:
    405 on each of them, 404 on the root, on every path prefix and on the greedy path."""
    prefixes = {"/"}
    for path in resources:
        parts = path.split("/")
        prefixes.update("/".join(parts[:n]) for n in range(2, len(parts)))
    found = [CatchAll(path, 405, methods) for path, methods in sorted(resources.items())]
    found += [CatchAll(path, 404) for path in sorted(prefixes - set(resources))]
    return (*found, CatchAll(GREEDY_PATH, 404))
