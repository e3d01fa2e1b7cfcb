"""The API Gateway emulator's own rules, with scripted handlers in place of the real ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from gateway.proxy import openapi
from local.emulator import ApiGatewayEmulator

pytestmark = pytest.mark.integration

ALLOW = {
    "principalId": "p",
    "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": "arn:aws:execute-api:us-east-1:000000000000:local/v1/*/v1/me/*",
            }
        ],
    },
    "context": {"customerId": "1", "flag": True, "n": 3},
}


class Script:
    def __init__(self) -> None:
        self.authorizer_answer: Any = ALLOW
        self.proxy_answer: Any = {"statusCode": 200, "headers": {"X-A": "1"}, "body": '{"ok": 1}'}
        self.proxy_delay_s = 0.0
        self.authorizer_delay_s = 0.0
        self.authorizer_events: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.authorizer_calls = 0

    def authorizer(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.authorizer_calls += 1
        self.authorizer_events.append(event)
        time.sleep(self.authorizer_delay_s)
        if isinstance(self.authorizer_answer, Exception):
            raise self.authorizer_answer
        return self.authorizer_answer  # type: ignore[no-any-return]

    def proxy(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        time.sleep(self.proxy_delay_s)
        if isinstance(self.proxy_answer, Exception):
            raise self.proxy_answer
        assert context.get_remaining_time_in_millis() > 0
        return dict(self.proxy_answer)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def emulator(script: Script) -> Iterator[str]:
    with ApiGatewayEmulator(
        proxy=script.proxy, authorizer=script.authorizer, port=0, proxy_timeout_s=1.0,
        authorizer_cache_ttl_s=0.5,
    ) as running:  # fmt: skip
        yield running.base_url


def get(base: str, path: str, token: str | None = "t", **kw: Any) -> urllib3.BaseHTTPResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kw.pop("headers", {}))
    return urllib3.request("GET", base + path, headers=headers, retries=False, **kw)


def test_a_request_becomes_a_rest_proxy_event_with_the_authorizer_context(
    emulator: str, script: Script
) -> None:
    response = get(emulator, "/v1/me/usage/day/GAS?start=a&start=b&end=c")

    assert response.status == 200
    assert response.headers["X-A"] == "1"
    event = script.events[-1]
    assert event["resource"] == "/v1/me/usage/{resolution}/{fuel}"
    assert event["path"] == "/v1/me/usage/day/GAS"
    assert event["multiValueQueryStringParameters"] == {"start": ["a", "b"], "end": ["c"]}
    assert event["queryStringParameters"] == {"start": "b", "end": "c"}
    assert event["requestContext"]["authorizer"] == {
        "customerId": "1", "flag": "true", "n": "3", "principalId": "p",
        "integrationLatency": 0,
    }  # fmt: skip


def test_no_authorization_header_is_401_without_calling_the_authorizer(
    emulator: str, script: Script
) -> None:
    response = get(emulator, "/v1/me/accounts", token=None)

    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert script.authorizer_calls == 0


def test_unauthorized_is_401_with_www_authenticate(emulator: str, script: Script) -> None:
    script.authorizer_answer = Exception("Unauthorized")

    response = get(emulator, "/v1/me/accounts")

    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["Cache-Control"] == "private, no-store"
    assert script.events == []


# "Gateway response types for API Gateway": a REQUEST authorizer that raises anything but
# "Unauthorized", times out, or answers something that is not a policy gets
# AUTHORIZER_CONFIGURATION_ERROR (500 and x-amzn-ErrorType: AuthorizerConfigurationException
# by default), not AUTHORIZER_FAILURE. The stack customizes it to a 503.
@pytest.mark.parametrize(
    "answer",
    [RuntimeError("boom"), {"principalId": "p"}, {"policyDocument": "allow"}, "slow"],
    ids=["raises", "no-policy", "policy-not-a-document", "times-out"],
)
def test_an_authorizer_failure_is_the_configuration_error_response_as_503(
    script: Script, answer: Any
) -> None:
    with ApiGatewayEmulator(
        proxy=script.proxy, authorizer=script.authorizer, port=0, authorizer_timeout_s=0.3,
        cors_allow_origins=("https://app.example.org",),
    ) as running:  # fmt: skip
        if answer == "slow":
            script.authorizer_answer = ALLOW
            script.authorizer_delay_s = 0.6
        else:
            script.authorizer_answer = answer
        response = get(running.base_url, "/v1/me/accounts")

    assert response.status == 503
    assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert response.json()["error"]["code"] == "authorization_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
    assert script.events == []


def test_gateway_responses_carry_a_static_origin_whatever_the_number_of_origins(
    script: Script,
) -> None:
    origins = ("https://a.example.org", "https://b.example.org")
    with ApiGatewayEmulator(
        proxy=script.proxy, authorizer=script.authorizer, port=0, cors_allow_origins=origins
    ) as running:
        response = get(running.base_url, "/v1/me/accounts", token=None,
                       headers={"Origin": "https://b.example.org"})  # fmt: skip

    assert response.status == 401
    # A gateway response's header values are static: with several origins, "*".
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_deny_policy_is_403(emulator: str, script: Script) -> None:
    deny = dict(
        ALLOW,
        policyDocument={
            "Statement": [{**ALLOW["policyDocument"]["Statement"][0], "Effect": "Deny"}]
        },
    )
    script.authorizer_answer = deny

    response = get(emulator, "/v1/me/accounts")

    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_the_decision_is_cached_per_token_for_the_ttl(emulator: str, script: Script) -> None:
    for _ in range(3):
        get(emulator, "/v1/me/accounts", token="one")
    get(emulator, "/v1/me/accounts", token="two")
    time.sleep(0.6)
    get(emulator, "/v1/me/accounts", token="one")

    assert script.authorizer_calls == 3


def test_a_crashing_handler_is_502_and_a_slow_one_504(emulator: str, script: Script) -> None:
    script.proxy_answer = RuntimeError("bug")
    crashed = get(emulator, "/v1/me/accounts")
    script.proxy_answer = {"statusCode": 200, "body": ""}
    script.proxy_delay_s = 1.5
    started = time.monotonic()
    slow = get(emulator, "/v1/me/accounts")

    assert crashed.status == 502
    assert crashed.json()["error"]["code"] == "internal_error"
    assert slow.status == 504
    assert time.monotonic() - started < 1.4


def test_a_malformed_handler_result_is_502(emulator: str, script: Script) -> None:
    script.proxy_answer = {"body": "no status"}

    assert get(emulator, "/v1/me/accounts").status == 502


# The stack's catch-alls (gateway.api_responses.catch_alls): without them API Gateway
# answers 403 MissingAuthenticationTokenException, or with a Bearer header 403
# IncompleteSignatureException quoting the header (re:Post "rest api in api gateway
# returns 403 when resource or method is incorrect"; awslabs/time-addressable-media-store#8).
@pytest.mark.parametrize(
    "path", ["/v2/anything", "/", "/v1", "/v1/me", "/v1/me/usage/day", "/v1/me/accounts/1"]
)
@pytest.mark.parametrize("token", [None, "header.payload.signature"], ids=["no-token", "bearer"])
def test_a_path_the_api_lacks_is_404_in_the_envelope_before_any_lambda(
    emulator: str, script: Script, path: str, token: str | None
) -> None:
    response = get(emulator, path, token=token)

    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"] == "No such resource"
    assert response.json()["error"]["requestId"] == response.headers["x-amzn-RequestId"]
    assert token is None or token not in response.data.decode()
    assert script.authorizer_calls == 0
    assert script.events == []


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v1/me/accounts", "GET"),
        ("DELETE", "/v1/me/home-profile", "GET, PUT"),
        ("PATCH", "/v1/me/threshold", "GET, PUT, DELETE"),
        ("HEAD", "/v1/me/accounts", "GET"),  # not routed to GET
        ("OPTIONS", "/v1/me/accounts", "GET"),  # no CORS origins: no preflight
        ("PUT", "/v1/openapi.json", "GET"),
    ],
)
def test_a_method_a_resource_lacks_is_405_with_allow_before_any_lambda(
    emulator: str, script: Script, method: str, path: str, allow: str
) -> None:
    response = urllib3.request(
        method, emulator + path, headers={"Authorization": "Bearer t"}, retries=False
    )

    assert response.status == 405
    assert response.headers["Allow"] == allow
    if method != "HEAD":
        assert response.json()["error"]["code"] == "method_not_allowed"
    assert script.authorizer_calls == 0
    assert script.events == []


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO"])
def test_a_method_api_gateway_does_not_have_is_404_in_the_envelope(
    emulator: str, script: Script, method: str
) -> None:
    response = urllib3.request(method, emulator + "/v1/me/accounts", retries=False)

    assert response.status == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"
    assert script.events == []


def test_a_catch_all_takes_only_the_media_types_of_its_templates(
    emulator: str, script: Script
) -> None:
    form = urllib3.request(
        "POST", emulator + "/nowhere", body=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"}, retries=False,
    )  # fmt: skip
    odd = urllib3.request(
        "POST", emulator + "/nowhere", body=b"%PDF", headers={"Content-Type": "application/pdf"},
        retries=False,
    )  # fmt: skip

    assert form.status == 404
    # PassthroughBehavior NEVER: 415 from the gateway response, never the MOCK's 500
    assert odd.status == 415
    assert odd.json()["error"]["code"] == "unsupported_media_type"


def test_a_body_over_api_gateways_limit_is_413_with_the_proxys_code(emulator: str) -> None:
    # API Gateway's REST payload limit is 10 MB ("Amazon API Gateway quotas"); the stack
    # customizes REQUEST_TOO_LARGE like the proxy's own 413.
    response = urllib3.request(
        "PUT", emulator + "/v1/me/threshold", body=b"x" * (10 * 1024 * 1024 + 1),
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
        retries=False,
    )  # fmt: skip

    assert response.status == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_the_openapi_document_is_a_mock_integration_no_lambda_runs(
    emulator: str, script: Script
) -> None:
    response = get(emulator, "/v1/openapi.json", token=None)

    assert response.status == 200
    assert response.json() == openapi.document()  # the stack's VTL template, rendered
    assert response.headers["Content-Type"] == "application/json"
    assert script.authorizer_calls == 0
    assert script.events == []


def test_path_parameters_are_passed_raw_as_api_gateway_does(emulator: str, script: Script) -> None:
    get(emulator, "/v1/me/accounts/a%2Fb/bill-comparison")

    event = script.events[-1]
    assert event["resource"] == "/v1/me/accounts/{accountId}/bill-comparison"
    assert event["pathParameters"] == {"accountId": "a%2Fb"}


def test_behind_a_custom_domain_the_path_carries_the_base_path(script: Script) -> None:
    # Behind a custom domain's base path mapping, event["path"] includes the base path
    # (aws/serverless-java-container#34); the resource and path parameters do not.
    with ApiGatewayEmulator(
        proxy=script.proxy, authorizer=script.authorizer, port=0, base_path="energy"
    ) as running:
        ok = get(running.base_url, "/energy/v1/me/usage/day/GAS?start=a&end=b")
        outside = get(running.base_url, "/v1/me/usage/day/GAS?start=a&end=b")

    assert ok.status == 200
    assert outside.status == 404
    event = script.events[-1]
    assert event["path"] == "/energy/v1/me/usage/day/GAS"
    assert event["resource"] == "/v1/me/usage/{resolution}/{fuel}"
    assert event["pathParameters"] == {"resolution": "day", "fuel": "GAS"}


def test_two_authorization_headers_reach_the_authorizer_as_api_gateway_sends_them(
    emulator: str, script: Script
) -> None:
    from urllib3._collections import HTTPHeaderDict

    headers = HTTPHeaderDict()
    headers.add("authorization", "Bearer junk")
    headers.add("Authorization", "Bearer valid")
    urllib3.request("GET", emulator + "/v1/me/accounts", headers=headers, retries=False)
    get(emulator, "/v1/me/accounts", token="junk")

    # One header name, every value in multiValueHeaders, the last in headers: the
    # authorizer sees both (and refuses them); the decision is not cached under `junk`.
    first = script.authorizer_events[0]
    (multi,) = [v for k, v in first["multiValueHeaders"].items() if k.lower() == "authorization"]
    assert multi == ["Bearer junk", "Bearer valid"]
    assert [v for k, v in first["headers"].items() if k.lower() == "authorization"] == [
        "Bearer valid"
    ]
    assert script.authorizer_calls == 2


# "Amazon API Gateway important notes", REST APIs, the table of headers that are dropped,
# remapped or otherwise modified (https://docs.aws.amazon.com/apigateway/latest/
# developerguide/api-gateway-known-issues.html): a Lambda proxy's WWW-Authenticate reaches
# the client as x-amzn-Remapped-WWW-Authenticate, Via is dropped, Age passes through; a
# header the table does not list (Cache-Status) passes through too.
def test_lambda_response_headers_are_remapped_as_api_gateway_does(
    emulator: str, script: Script
) -> None:
    script.proxy_answer = {
        "statusCode": 200,
        "headers": {
            "WWW-Authenticate": 'Bearer error="invalid_token"',
            "Via": "1.1 proxy",
            "Age": "12",
            "Cache-Status": "OpowerGateway; hit; ttl=30",
        },
        "body": "{}",
    }

    response = get(emulator, "/v1/me/accounts")

    assert "WWW-Authenticate" not in response.headers
    assert response.headers["x-amzn-Remapped-WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert "Via" not in response.headers
    assert response.headers["Age"] == "12"
    assert response.headers["Cache-Status"] == "OpowerGateway; hit; ttl=30"
