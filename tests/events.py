"""Real API Gateway REST API (v1 payload) event shapes and a Lambda context."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local.emulator import LambdaContext as EmulatorLambdaContext
from local.emulator import resolve

if TYPE_CHECKING:
    from gateway.routes import Operation, Route

ACCOUNT = "123456789012"
API_ID = "a1b2c3d4e5"
STAGE = "prod"
REGION = "us-east-1"


def method_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{method}{path}"


def _request_context(method: str, path: str, resource: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "domainPrefix": API_ID,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "httpMethod": method,
        "identity": {"sourceIp": "198.51.100.7", "userAgent": "curl/8.5.0"},
        "path": f"/{STAGE}{path}",
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "requestTimeEpoch": int(time.time() * 1000),
        "resourceId": "abc123",
        "resourcePath": resource,
        "stage": STAGE,
    }


def _headers(headers: Mapping[str, str] | None) -> tuple[dict[str, str], dict[str, list[str]]]:
    base = {
        "Host": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "User-Agent": "curl/8.5.0",
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    return base, {k: [v] for k, v in base.items()}


def authorizer_event(
    token: str | None = None,
    *,
    method: str = "GET",
    path: str = "/v1/me/accounts",
    resource: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A REQUEST authorizer event, as API Gateway sends it for a REST API."""
    extra = dict(headers or {})
    if token is not None:
        extra["Authorization"] = f"Bearer {token}"
    single, multi = _headers(extra)
    return {
        "type": "REQUEST",
        "methodArn": method_arn(method, path),
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": _request_context(method, path, resource or path),
    }


# The Lambda context the emulator gives the handlers: its remaining time counts down.
LambdaContext = EmulatorLambdaContext


def api_gateway_context(authorizer_answer: Mapping[str, Any]) -> dict[str, Any]:
    """The `requestContext.authorizer` API Gateway builds from an authorizer's answer:
    the context values as strings, plus principalId and integrationLatency."""
    context = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in
               authorizer_answer.get("context", {}).items()}  # fmt: skip
    return {**context, "principalId": authorizer_answer["principalId"], "integrationLatency": 42}


def proxy_event(
    method: str,
    path: str,
    *,
    authorizer: Mapping[str, Any] | None = None,
    query: Mapping[str, list[str]] | None = None,
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
    resource: str | None = None,
    is_base64: bool = False,
    base_path: str = "",
) -> dict[str, Any]:
    """A REST API proxy-integration event (payload v1), as API Gateway sends it: the
    resource template the path selects and its raw path parameters (as the emulator
    matches them); behind a custom domain, ``path`` carries the ``base_path``."""
    single, multi = _headers(headers)
    selected, params = resolve(path)
    template = resource or selected.template
    context = _request_context(method, path, template)
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": template,
        "path": base_path + path,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": dict(query) if query else None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def signed_identity(
    user_arn: str = f"arn:aws:sts::{ACCOUNT}:assumed-role/high-bill-alerts/execution-1",
) -> dict[str, Any]:
    """``requestContext.identity`` of a SigV4 (AWS_IAM) caller, an assumed role by default:
    ``userArn`` is the session's ARN, ``caller`` and ``user`` the role id and session, as
    events of real APIs show them (AWS documents the fields, not an assumed role's values:
    "$context variables for data models, authorizers, mapping templates and access logging")."""
    session = user_arn.rsplit("/", 1)[-1]
    return {
        "sourceIp": "198.51.100.9",
        "userAgent": "aws-sdk-python/1.35",
        "accessKey": "ASIAEXAMPLEEXAMPLE01",
        "accountId": ACCOUNT,
        "caller": f"AROAEXAMPLEEXAMPLE01:{session}",
        "user": f"AROAEXAMPLEEXAMPLE01:{session}",
        "userArn": user_arn,
    }


def service_event(
    method: str,
    path: str,
    *,
    identity: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A proxy event of the service API (``/v1/service/...``, AWS_IAM): no authorizer
    context, the signed caller in ``requestContext.identity``, and the request's SigV4
    Authorization header (API Gateway passes it on), signing every header given, as
    botocore's signer does, unless ``headers`` has an Authorization of its own."""
    given = dict(headers or {})
    if not any(name.lower() == "authorization" for name in given):
        signed = ";".join(sorted({"host", "x-amz-date", *(name.lower() for name in given)}))
        given["X-Amz-Date"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        given["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE01/{given['X-Amz-Date'][:8]}/"
            f"{REGION}/execute-api/aws4_request, SignedHeaders={signed}, Signature={'0' * 64}"
        )
    event = proxy_event(method, path, headers=given, **options)
    event["requestContext"]["identity"] = dict(signed_identity() if identity is None else identity)
    return event


def match_path(path: str, method: str) -> tuple[Route, Operation, dict[str, str]]:
    """The proxy's route match for a request path: API Gateway's resource selection (as
    the emulator does it), then the proxy's own checks. No resource: a 404."""
    from gateway.api_responses import RequestError
    from gateway.proxy.validation import match

    selected, params = resolve(path)
    if selected.catch_all is not None and method not in selected.methods:
        # API Gateway answers from the resource's ANY mock: the proxy is not called.
        status = selected.catch_all.status
        raise RequestError(status, selected.catch_all.code, selected.catch_all.message)
    return match(selected.template, params, method)
