"""A local API Gateway (REST API) in front of the real Lambda handlers, run in-process.

It does what the deployed API does, in the same order:

1. strip the custom domain's base path, if one is configured, and match the request to a
   resource of the stack (the route table's paths, plus the OpenAPI document); anything
   else is answered as API Gateway does, before any Lambda runs;
2. the OpenAPI document is a MOCK integration: its mapping template (the stack's own,
   ``infra.vtl``) is rendered, no Lambda runs;
3. for customer routes, read the identity source (``Authorization``); when absent,
   answer 401 without calling the authorizer; otherwise run the real authorizer handler
   with a REQUEST-authorizer event, cache its policy per token for the configured TTL,
   and evaluate the policy against the request's method ARN (Deny → 403; "Unauthorized"
   → 401; any other raise, a timeout or an answer that is not a policy →
   AUTHORIZER_CONFIGURATION_ERROR);
   For service routes (``/v1/service/...``, AWS_IAM): verify the SigV4 signature with
   botocore's signer and the embedded AWS's credentials (``local.sigv4``: one
   Authorization header, the security token issued with the access key, the query
   canonicalized as AWS does), then the
   resource policy's Deny (listed ARN or the gateway's tag, else ACCESS_DENIED; any other
   method under ``/v1/service/`` has an anonymous caller and is denied too); the caller
   goes into ``requestContext.identity`` as API Gateway puts it;
4. run the real proxy handler with a REST proxy event (payload v1: ``resource`` the
   template, ``pathParameters`` raw, ``path`` with the base path) and a Lambda context
   whose remaining time counts down; a crash is 502, running out of time 504;
5. turn the handler's result into the HTTP response.

Gateway responses come from the table the stack configures (``gateway.api_responses``):
status, envelope and static headers. What AWS does that this must match, with sources:
``infra/README.md``.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gateway.api_responses import (
    BY_TYPE,
    GREEDY_PATH,
    MOCK_MEDIA_TYPES,
    PREFLIGHT_ALLOW_HEADERS,
    PREFLIGHT_MAX_AGE_S,
    CatchAll,
    catch_alls,
    gateway_response_headers,
    static_headers,
)
from gateway.proxy import openapi
from gateway.proxy.openapi import OPENAPI_PATH
from gateway.routes import ROUTES, SERVICE_PREFIX, service_path
from infra.vtl import error_envelope, literal_template
from local import docs
from local.docs import DOCS_PATH
from local.service import HttpService
from local.sigv4 import LocalPrincipal, Refusal, refused, verify
from local.vtl import render

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

ACCOUNT = "000000000000"
API_ID = "local"
STAGE = "v1"
REGION = "us-east-1"
_MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
# A gateway response type the stack does not customize falls back to its family
# (DEFAULT_4XX / DEFAULT_5XX) with the type's own status and message ("Gateway response
# types for API Gateway": each type's default status). The stack customizes the others.
_FAMILIES = {
    "INTEGRATION_FAILURE": ("DEFAULT_5_XX", 502, "Internal server error"),
    "REQUEST_TOO_LARGE": ("DEFAULT_4_XX", 413, "Request Too Long"),
    # Not a documented type: an Authorization header that is not SigV4 on an IAM method.
    "INCOMPLETE_SIGNATURE": ("DEFAULT_4_XX", 403, "The Authorization header is not SigV4"),
}


@dataclass
class LambdaContext:
    """The Lambda context of one invocation: its remaining time really counts down."""

    function_name: str = "opower-gateway-local"
    timeout_s: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


# The methods a REST API method can have (ANY stands for all of them); API Gateway's
# answer to any other (TRACE, CONNECT, FOO) is not documented: the emulator gives the
# one its "Gateway response types" page gives "an unsupported API method", that is
# MISSING_AUTHENTICATION_TOKEN.
SUPPORTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Resource:
    template: str
    methods: tuple[str, ...]  # its explicit methods
    authorized: bool = True  # the session authorizer (CUSTOM), unless iam
    iam: bool = False  # AWS_IAM: SigV4 and the resource policy (the service API)
    mock: bool = False  # its explicit methods are a MOCK integration, else the proxy
    catch_all: CatchAll | None = None  # its ANY method, a MOCK (the stack's catch-alls)
    preflight: bool = False  # an OPTIONS mock when the stack has CORS origins


def resources() -> list[Resource]:
    """The stack's API resources: the route table's paths, the OpenAPI document, and the
    catch-alls (an ANY method on every resource, path prefixes and ``/{proxy+}``)."""
    explicit = {route.path: route.methods for route in ROUTES}
    service = {service_path(route): route.methods for route in ROUTES}
    explicit.update(service)
    explicit[OPENAPI_PATH] = ("GET",)
    found = []
    for catch_all in catch_alls(explicit):
        methods = explicit.get(catch_all.path, ())
        found.append(
            Resource(
                catch_all.path,
                methods,
                authorized=catch_all.path != OPENAPI_PATH,
                iam=catch_all.path in service,
                preflight=bool(methods) and catch_all.path not in service,
                mock=catch_all.path == OPENAPI_PATH,
                catch_all=catch_all,
            )
        )
    return found


_RESOURCES = resources()


def resolve(path: str) -> tuple[Resource, dict[str, str]]:
    """The resource a path selects, and its path parameters, as API Gateway matches them:
    literal segments exactly, a ``{name}`` segment any non-empty segment, its value raw
    (not URL-decoded: "Set up Lambda proxy integrations" shows values as sent); a path
    no resource matches falls to the greedy ``/{proxy+}`` ("Set up a proxy integration
    with a proxy resource": it matches any path under its parent)."""
    segments = path.split("/")
    greedy = None
    for resource in _RESOURCES:
        if resource.template == GREEDY_PATH:
            greedy = resource
            continue
        parts = resource.template.split("/")
        if len(parts) != len(segments):
            continue
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}") and segment:
                params[part[1:-1]] = segment
            elif part != segment:
                break
        else:
            return resource, params
    assert greedy is not None
    return greedy, {"proxy": path.lstrip("/")}


@dataclass
class _CachedPolicy:
    answer: dict[str, Any]
    until: float


class ApiGatewayEmulator(HttpService):
    def __init__(
        self,
        *,
        proxy: Handler,
        authorizer: Handler,
        host: str = "127.0.0.1",
        port: int = 3000,
        authorizer_cache_ttl_s: float = 300,
        proxy_timeout_s: float = 15,
        authorizer_timeout_s: float = 10,
        cors_allow_origins: tuple[str, ...] = (),
        base_path: str = "",
        workers: int = 16,
        control: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        explain_unauthorized: bool = False,
        iam_principals: Mapping[str, LocalPrincipal] | None = None,
        service_principals: tuple[str, ...] = (),
        service_tag: tuple[str, str] = ("", ""),
    ) -> None:
        super().__init__((host, port), name="emulator")
        # A custom domain's base path mapping ("/base" → the stage): requests carry it,
        # and so does the proxy event's `path`; routing ignores it.
        self._base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self._proxy = proxy
        self._authorizer = authorizer
        self._ttl = authorizer_cache_ttl_s
        self._proxy_timeout_s = proxy_timeout_s
        self._authorizer_timeout_s = authorizer_timeout_s
        self._cors = cors_allow_origins
        self._control = control
        # `make dev` says why a token was refused in the 401 itself (API Gateway cannot).
        self._explain_unauthorized = explain_unauthorized
        # The service API: the access keys the embedded AWS knows, and the resource
        # policy's admitted principals (listed ARNs, or the gateway's tag).
        self._iam_principals = dict(iam_principals or {})
        self._service_principals = service_principals
        self._service_tag = service_tag
        self._openapi_template = literal_template(openapi.compact())
        self._cache: dict[str, _CachedPolicy] = {}
        self._cache_lock = threading.Lock()
        # Invocations run on a pool, as concurrent Lambda invocations would, so that a
        # hanging handler costs a worker, not the HTTP server.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lambda")
        self.invocations = {"authorizer": 0, "proxy": 0}  # counted under the GIL: good enough

    # -- lifecycle ---------------------------------------------------------------------
    def _make_server(self) -> ThreadingHTTPServer:
        return _Server(self._address, self)

    def stop(self) -> None:
        super().stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- one request ---------------------------------------------------------------------
    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        multi: Mapping[str, list[str]] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        request_id = str(uuid.uuid4())
        split = urlsplit(target)
        path = split.path
        if method == "GET" and path == DOCS_PATH:
            return docs.page(self._base_path, OPENAPI_PATH)
        if method == "GET" and path.startswith(DOCS_PATH + "/"):
            return docs.asset(path[len(DOCS_PATH) + 1 :], self._base_path, OPENAPI_PATH)
        if method == "GET" and path == STATS_PATH:
            stats = {"invocations": dict(self.invocations), "cached_policies": len(self._cache)}
            return 200, {"Content-Type": "application/json"}, json.dumps(stats).encode()
        if path == FAULTS_PATH and self._control is not None and method in {"GET", "POST"}:
            try:
                switches = json.loads(body or b"{}") if method == "POST" else {}
                answer = self._control(switches if isinstance(switches, dict) else {})
            except ValueError as exc:
                return (
                    400,
                    {"Content-Type": "application/json"},
                    json.dumps({"error": str(exc)}).encode(),
                )
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        if self._base_path and not (
            path == self._base_path or path.startswith(self._base_path + "/")
        ):
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id, headers)
        api_path = path[len(self._base_path) :] or "/"
        if method not in SUPPORTED_METHODS:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id, headers)
        resource, path_params = resolve(api_path)
        if api_path.startswith(SERVICE_PREFIX + "/") and not (
            resource.iam and method in resource.methods
        ):
            # The resource policy denies /v1/service/* to every principal it does not
            # admit, and a method without IAM auth (a catch-all) has an anonymous caller:
            # API Gateway answers 403 before the MOCK runs (infra/service.py).
            return self._gateway_response(
                "ACCESS_DENIED", request_id, headers, reason="anonymous caller on /v1/service"
            )
        if method == "OPTIONS" and self._cors and resource.preflight:
            return self._preflight(resource, headers)
        if method not in resource.methods:
            if resource.catch_all is None:
                return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id, headers)
            return self._mock(
                request_id,
                headers,
                error_envelope(resource.catch_all.code, resource.catch_all.message),
                status=resource.catch_all.status,
                extra_headers=resource.catch_all.headers,
            )
        if resource.mock:
            return self._mock(request_id, headers, self._openapi_template)
        context = self._request_context(method, path, resource, request_id)
        if resource.iam:
            signer = self._authenticate(method, target, headers, body, multi)
            if isinstance(signer, Refusal):
                return self._gateway_response(
                    signer.type, request_id, headers, reason=signer.reason
                )
            context["identity"].update(_identity(signer))
        elif resource.authorized:
            outcome = self._authorize(method, api_path, resource, headers, multi, context)
            if isinstance(outcome, tuple):
                kind, reason = outcome
                return self._gateway_response(kind, request_id, headers, reason=reason)
            context["authorizer"] = outcome
        event = self._proxy_event(
            method, path, split.query, headers, multi, body, resource, path_params, context
        )
        return self._invoke_proxy(event, request_id, headers)

    def _mock(
        self,
        request_id: str,
        request_headers: Mapping[str, str],
        template: str,
        *,
        status: int = 200,
        extra_headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """A MOCK integration of the stack (infra.api._add_mock): the mapping template of
        the request's media type (none: application/json), else 415; then the template
        of its one integration response, rendered."""
        content_type = _header(request_headers, "content-type") or ""
        media_type = content_type.split(";")[0].strip().lower() or "application/json"
        if media_type not in MOCK_MEDIA_TYPES:
            return self._gateway_response("UNSUPPORTED_MEDIA_TYPE", request_id, request_headers)
        headers = {**static_headers(self._cors), **(extra_headers or {})}
        headers["Content-Type"] = "application/json"
        headers["x-amzn-RequestId"] = request_id
        return status, headers, render(template, {"requestId": request_id}).encode()

    def _authorize(
        self,
        method: str,
        path: str,
        resource: Resource,
        headers: Mapping[str, str],
        multi: Mapping[str, list[str]] | None,
        context: dict[str, Any],
    ) -> dict[str, Any] | tuple[str, str]:
        """The authorizer context of an allowed request, else the gateway response type
        API Gateway answers with and, for a 401, the authorizer's reason (local only)."""
        token = _header(headers, "authorization")
        if not token:
            # identity source missing: the authorizer is not called
            return "UNAUTHORIZED", "no Authorization header"
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{method}{path}"
        with self._cache_lock:
            cached = self._cache.get(token)
        if cached is None or cached.until <= time.monotonic():
            event = {
                "type": "REQUEST",
                "methodArn": method_arn,
                "resource": resource.template,
                "path": path,
                "httpMethod": method,
                "headers": dict(headers),
                "multiValueHeaders": multi_of(headers, multi),
                "queryStringParameters": {},
                "multiValueQueryStringParameters": {},
                "pathParameters": {},
                "stageVariables": {},
                "requestContext": context,
            }
            self.invocations["authorizer"] += 1
            lambda_context = LambdaContext("authorizer", self._authorizer_timeout_s)
            future = self._pool.submit(self._authorizer, event, lambda_context)
            # "Gateway response types": a raise other than "Unauthorized", a timeout or an
            # answer that is not a policy are all AUTHORIZER_CONFIGURATION_ERROR
            # (x-amzn-ErrorType: AuthorizerConfigurationException), not AUTHORIZER_FAILURE.
            try:
                answer = future.result(timeout=self._authorizer_timeout_s)
            except FutureTimeout:
                return "AUTHORIZER_CONFIGURATION_ERROR", ""
            except Exception as exc:  # noqa: BLE001 - every failure is an API Gateway outcome
                if str(exc) == "Unauthorized":
                    # not cached: a new token may arrive any moment
                    return "UNAUTHORIZED", str(getattr(exc, "reason", ""))
                logger.warning("authorizer failed", extra={"error": type(exc).__name__})
                return "AUTHORIZER_CONFIGURATION_ERROR", ""
            if not _is_policy_answer(answer):
                logger.warning("authorizer answered something that is not a policy")
                return "AUTHORIZER_CONFIGURATION_ERROR", ""
            cached = _CachedPolicy(answer, time.monotonic() + self._ttl)
            if self._ttl > 0:
                with self._cache_lock:
                    self._cache[token] = cached
        if not _allows(cached.answer.get("policyDocument", {}), method_arn):
            return "ACCESS_DENIED", ""
        flat = {
            k: (str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in (cached.answer.get("context") or {}).items()
        }
        return {**flat, "principalId": str(cached.answer.get("principalId", "")),
                "integrationLatency": 0}  # fmt: skip

    def _authenticate(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        multi: Mapping[str, list[str]] | None,
    ) -> LocalPrincipal | Refusal:
        """An AWS_IAM method: the SigV4 signature (local.sigv4: one Authorization header,
        the security token issued with the key, the request canonicalized as AWS does),
        then the resource policy with the principal's identity policy
        (local.sigv4.refused)."""
        signer = verify(
            method,
            target,
            headers,
            body,
            principals=self._iam_principals,
            region=REGION,
            multi=multi_of(headers, multi),
        )
        if isinstance(signer, Refusal):
            return signer
        path = urlsplit(target).path[len(self._base_path) :]
        reason = refused(
            signer,
            method,
            path,
            arns=self._service_principals,
            tag=self._service_tag,
            account=ACCOUNT,
        )
        if reason:
            return Refusal("ACCESS_DENIED", reason)
        return signer

    def _invoke_proxy(
        self, event: dict[str, Any], request_id: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        self.invocations["proxy"] += 1
        lambda_context = LambdaContext("proxy", self._proxy_timeout_s)
        future = self._pool.submit(self._proxy, event, lambda_context)
        try:
            result = future.result(timeout=self._proxy_timeout_s)
        except FutureTimeout:
            return self._gateway_response("INTEGRATION_TIMEOUT", request_id, headers)
        except Exception:
            logger.exception("proxy handler crashed")
            return self._gateway_response("INTEGRATION_FAILURE", request_id, headers)
        try:
            status = int(result["statusCode"])
            out_headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
            raw = result.get("body") or ""
            payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        except (KeyError, TypeError, ValueError):
            return self._gateway_response("INTEGRATION_FAILURE", request_id, headers)
        out_headers = remap_integration_headers(out_headers)
        out_headers.setdefault("x-amzn-RequestId", request_id)
        return status, out_headers, payload

    def _gateway_response(
        self, kind: str, request_id: str, headers: Mapping[str, str], *, reason: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        if kind in BY_TYPE:
            family, own_status, own_message = kind, 0, ""
        else:
            family, own_status, own_message = _FAMILIES[kind]
        response = BY_TYPE[family]
        status = response.status or own_status
        message = response.message or own_message
        if reason and self._explain_unauthorized and kind in _EXPLAINED:
            # Local runs only: API Gateway's 401 is static (the reason is in the log).
            message = f"{message} (local run: {reason})"
        body = json.dumps(
            {"error": {"code": response.code, "message": message, "requestId": request_id}}
        )
        out = {
            **gateway_response_headers(response, self._cors),
            "Content-Type": "application/json",
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": _ERROR_TYPES.get(kind, kind),
        }
        return status, out, body.encode()

    def _preflight(
        self, resource: Resource, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """CDK's ``add_cors_preflight`` mock: 204; the first allowed origin, or the
        caller's when it is one of the allowed (its response-override template)."""
        origin = _header(headers, "origin")
        allowed = origin if origin in self._cors else self._cors[0]
        return (
            204,
            {
                "Access-Control-Allow-Origin": str(allowed),
                "Vary": "Origin",
                "Access-Control-Allow-Methods": ",".join((*resource.methods, "OPTIONS")),
                "Access-Control-Allow-Headers": ",".join(PREFLIGHT_ALLOW_HEADERS),
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            },
            b"",
        )

    @staticmethod
    def _request_context(
        method: str, path: str, resource: Resource, request_id: str
    ) -> dict[str, Any]:
        return {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "httpMethod": method,
            "identity": {"sourceIp": "127.0.0.1"},
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "resourceId": "local",
            "resourcePath": resource.template,
            "stage": STAGE,
        }

    @staticmethod
    def _proxy_event(
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        multi: Mapping[str, list[str]] | None,
        body: bytes,
        resource: Resource,
        path_params: dict[str, str],
        context: dict[str, Any],
    ) -> dict[str, Any]:
        multi_query = parse_qs(query, keep_blank_values=True) if query else {}
        text: str | None = None
        encoded = False
        if body:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text, encoded = base64.b64encode(body).decode(), True
        return {
            "resource": resource.template,
            "path": path,
            "httpMethod": method,
            "headers": dict(headers),
            "multiValueHeaders": multi_of(headers, multi),
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": context,
            "body": text,
            "isBase64Encoded": encoded,
        }


STATS_PATH = "/_local/stats"  # local runs only: how often each handler ran
FAULTS_PATH = "/_local/faults"  # local runs only: AWS services made unavailable


def group_headers(
    lines: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Header lines as API Gateway hands them to a function: names compared without case,
    ``headers`` the last value of each, ``multiValueHeaders`` all of them ("Set up Lambda
    proxy integrations": headers holds single values, multiValueHeaders every value).
    The identity source (the cache key) is the same last value; the authorizer refuses a
    request carrying more than one Authorization value anyway."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in lines:
        shown = names.setdefault(name.lower(), name)
        single[shown] = value
        multi.setdefault(shown, []).append(value)
    return single, multi


# What a REST API does to the headers of a Lambda proxy integration's response ("Amazon
# API Gateway important notes", REST APIs: "Headers that are dropped, remapped or
# otherwise modified"; https://docs.aws.amazon.com/apigateway/latest/developerguide/
# api-gateway-known-issues.html): these are renamed x-amzn-Remapped-<name>; Date and
# Server are renamed and API Gateway writes its own; these are dropped. Everything else,
# Age and Cache-Status among them, passes through.
REMAPPED_RESPONSE_HEADERS = frozenset(
    {"authorization", "connection", "content-md5", "max-forwards", "user-agent",
     "www-authenticate", "date", "server"}
)  # fmt: skip
DROPPED_RESPONSE_HEADERS = frozenset(
    {"expect", "host", "proxy-authenticate", "te", "transfer-encoding", "trailer", "upgrade",
     "via"}
)  # fmt: skip


def remap_integration_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in DROPPED_RESPONSE_HEADERS:
            continue
        if lowered in REMAPPED_RESPONSE_HEADERS:
            out[f"x-amzn-Remapped-{name}"] = value
        else:
            out[name] = value
    return out


def multi_of(
    headers: Mapping[str, str], multi: Mapping[str, list[str]] | None
) -> dict[str, list[str]]:
    if multi is not None:
        return {k: list(v) for k, v in multi.items()}
    return {k: [v] for k, v in headers.items()}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


# The x-amzn-ErrorType API Gateway sends with each response type it was seen to send.
# Refusals whose reason a local run adds to the message (API Gateway's are static).
_EXPLAINED = frozenset(
    {"UNAUTHORIZED", "ACCESS_DENIED", "INVALID_SIGNATURE", "INCOMPLETE_SIGNATURE"}
)


def _identity(principal: LocalPrincipal) -> dict[str, Any]:
    """requestContext.identity of a SigV4 caller: the effective user's ARN (an assumed
    role's session ARN), its account, the access key, and caller as role-id:session."""
    session = principal.user_arn.rsplit("/", 1)[-1]
    return {
        "accessKey": principal.access_key,
        "accountId": principal.account,
        "caller": f"AROALOCAL:{session}",
        "user": f"AROALOCAL:{session}",
        "userArn": principal.user_arn,
    }


_ERROR_TYPES = {
    "INVALID_SIGNATURE": "InvalidSignatureException",
    "INCOMPLETE_SIGNATURE": "IncompleteSignatureException",
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
    "UNAUTHORIZED": "UnauthorizedException",
    "ACCESS_DENIED": "AccessDeniedException",
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
}


def _is_policy_answer(answer: Any) -> bool:
    return (
        isinstance(answer, Mapping)
        and isinstance(answer.get("principalId"), str)
        and isinstance(answer.get("policyDocument"), Mapping)
        and isinstance(answer["policyDocument"].get("Statement"), list)
    )


def _allows(policy: Mapping[str, Any], method_arn: str) -> bool:
    """IAM evaluation, as far as authorizer policies go: an explicit Deny wins."""
    allowed = False
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: ApiGatewayEmulator) -> None:
        super().__init__(address, _RequestHandler)
        self.emulator = emulator


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalApiGateway/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve()

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the emulator (http.server answers an unknown one with its
        # own HTML 501): the emulator answers it as API Gateway would.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        return None  # the handlers log each request themselves

    def _serve(self) -> None:
        assert isinstance(self.server, _Server)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            status, headers, payload = self.server.emulator._gateway_response(
                "REQUEST_TOO_LARGE", str(uuid.uuid4()), {}
            )
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            headers_in, multi = group_headers(self.headers.items())
            status, headers, payload = self.server.emulator.handle(
                self.command, self.path, headers_in, body, multi
            )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
