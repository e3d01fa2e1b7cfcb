"""The API Gateway emulator's own rules, with scripted handlers in place of the real ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

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
        self.events: list[dict[str, Any]] = []
        self.authorizer_calls = 0

    def authorizer(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.authorizer_calls += 1
        if isinstance(self.authorizer_answer, Exception):
            raise self.authorizer_answer
        return dict(self.authorizer_answer)

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


@pytest.mark.parametrize(
    ("answer", "status"),
    [(Exception("Unauthorized"), 401), (RuntimeError("boom"), 503)],
)
def test_authorizer_outcomes(emulator: str, script: Script, answer: Exception, status: int) -> None:
    script.authorizer_answer = answer

    assert get(emulator, "/v1/me/accounts").status == status
    assert script.events == []


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


def test_unknown_paths_and_methods_are_404_before_any_lambda(emulator: str, script: Script) -> None:
    assert get(emulator, "/v2/anything").status == 404
    assert urllib3.request("DELETE", emulator + "/v1/me/accounts").status == 404
    assert script.authorizer_calls == 0
    assert script.events == []


def test_the_openapi_route_needs_no_authorizer(emulator: str, script: Script) -> None:
    assert get(emulator, "/v1/openapi.json", token=None).status == 200
    assert script.authorizer_calls == 0
