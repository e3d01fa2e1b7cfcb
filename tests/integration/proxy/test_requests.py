"""Deny by default, request and response hygiene, over real events and HTTP."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from local.idp import DevIdentityProvider
from local.sandbox import OpowerSandbox, fingerprint
from tests.integration.proxy.conftest import Call, forwarded

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    document = json.loads(response["body"])
    assert set(document) == {"error"}
    assert set(document["error"]) == {"code", "message", "requestId"}
    assert document["error"]["requestId"] == response["headers"]["X-Request-Id"]
    return dict(document["error"])


@pytest.mark.parametrize(
    "path",
    [
        "/v1/me",
        "/v1/me/",
        "/v1/me/accounts/",
        "/v1/me/customers",
        "/v1/customers/1000002/accounts",
        "/v1/me/usage/raw",
        "/apis/customer-data-v2/UTX/customers",
        "/v1/me/accounts/2000001/bill-comparison/extra",
    ],
)
def test_paths_outside_the_route_table_are_404(
    call: Call, sandbox: OpowerSandbox, path: str
) -> None:
    response = call("GET", path)

    assert response["statusCode"] == 404
    assert error_of(response)["code"] == "not_found"
    assert forwarded(sandbox) == []


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/v1/me/usage/hourly/ELECTRICITY", "'resolution' must be one of raw, day, billing"),
        ("/v1/me/usage/raw/WATER", "'fuel' must be one of ELECTRICITY, GAS"),
        ("/v1/me/usage/day/electricity", "'fuel' must be one of ELECTRICITY, GAS"),
    ],
)
def test_a_path_value_outside_its_enumeration_is_a_400_naming_it(
    call: Call, sandbox: OpowerSandbox, path: str, named: str
) -> None:
    response = call("GET", path)

    assert response["statusCode"] == 400
    assert error_of(response)["message"] == named
    assert forwarded(sandbox) == []


@pytest.mark.parametrize(
    "path",
    [
        "/v1/me/accounts/..%2F..%2F2000003/bill-comparison",
        "/v1/me/accounts/2000001%2F..%2F2000003/bill-comparison",
        "/v1/me/../me/accounts",
        "/v1/me/./accounts",
        "/v1/me//accounts",
        "/v1/me/accounts\x00",
        "/v1/me/accounts\r\nX-Injected: 1",
        "/v1/me/accounts/2000001\\..\\2000003/bill-comparison",
        "/v1/me/" + "a" * 300,
        "v1/me/accounts",
        "",
    ],
    ids=lambda p: repr(p)[:30],
)
def test_path_tricks_are_refused_before_anything_reaches_opower(
    call: Call, sandbox: OpowerSandbox, path: str
) -> None:
    response = call("GET", path)

    assert response["statusCode"] in {400, 404}
    assert error_of(response)["code"] in {"bad_request", "not_found"}
    assert forwarded(sandbox) == []


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v1/me/accounts", "GET"),
        ("DELETE", "/v1/me/home-profile", "GET, PUT"),
        ("PATCH", "/v1/me/threshold", "GET, PUT, DELETE"),
    ],
)
def test_other_methods_are_405_with_allow(call: Call, method: str, path: str, allow: str) -> None:
    response = call(method, path)

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == allow


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": ["2026-10-01T00:00:00-05:00"]}, "end"),
        ({"start": ["2026-10-01T00:00:00-05:00"], "end": ["2026-10-02T00:00"]}, "end"),
        ({"start": ["2026-10-01"], "end": ["2026-13-02"]}, "end"),
        (
            {
                "start": ["2026-10-01T00:00:00-05:00"],
                "end": ["2026-10-02T00:00:00-05:00"],
                "customerId": ["1000002"],
            },
            "customerId",
        ),
        (
            {
                "start": ["2026-10-01T00:00:00-05:00", "2026-10-02T00:00:00-05:00"],
                "end": ["2026-10-03T00:00:00-05:00"],
            },
            "once",
        ),
        ({"start": ["2026-10-05T00:00:00-05:00"], "end": ["2026-10-01T00:00:00-05:00"]}, "before"),
        ({"start": ["2026-10-01T00:00:00-05:00"], "end": ["2026-11-16T00:00:00-05:00"]}, "45"),
        ({"start": ["2026-10-01T00:00:00-05:07"], "end": ["2026-10-02T00:00:00-05:07"]}, "quarter"),
    ],
)
def test_query_parameters_are_validated_before_calling_opower(
    call: Call, sandbox: OpowerSandbox, query: dict[str, list[str]], message: str
) -> None:
    response = call("GET", "/v1/me/usage/day/ELECTRICITY", query=query)

    assert response["statusCode"] == 400
    assert message in error_of(response)["message"]
    assert not [r for r in sandbox.received() if "/usage/" in r.path]


def test_raw_usage_over_100_intervals_is_refused_and_100_accepted(call: Call) -> None:
    start = "2026-11-01T00:00:00-00:00"
    ok = call("GET", "/v1/me/usage/raw/ELECTRICITY",
              query={"start": [start], "end": ["2026-11-02T01:00:00-00:00"]})  # fmt: skip
    too_many = call("GET", "/v1/me/usage/raw/ELECTRICITY",
                    query={"start": [start], "end": ["2026-11-02T01:15:00-00:00"]})  # fmt: skip

    assert ok["statusCode"] == 200
    assert too_many["statusCode"] == 400


def test_the_customers_own_headers_never_reach_opower(
    call: Call, sandbox: OpowerSandbox, idp: DevIdentityProvider
) -> None:
    session_token = idp.mint("UC-0001", ["4100000001"])

    call(
        "GET",
        "/v1/me/accounts",
        headers={
            "Authorization": f"Bearer {session_token}",
            "Cookie": "session=abc",
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Host": "evil.example",
            "Host": "evil.example",
            "Connection": "keep-alive, X-Secret",
            "X-Secret": "1",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
            "X-Amz-Security-Token": "abc",
        },
    )

    (received,) = [r for r in sandbox.received() if r.path.endswith("/utility_accounts")][-1:]
    assert set(received.header_names) <= {
        "host", "accept", "accept-encoding", "authorization", "user-agent", "x-request-id",
        "content-length", "content-type",
    }  # fmt: skip
    assert received.headers["host"].startswith("127.0.0.1:")
    assert fingerprint(session_token) not in received.headers["authorization"]
    assert received.headers["authorization"].startswith("Bearer sha256:")


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (
            '{"threshold": 10, "percentage": 5}',
            {"Content-Type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
        ('{"threshold": 10}', {}, 415, "unsupported_media_type"),
        (
            "threshold=10",
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ("{not json", JSON, 400, "bad_request"),
        ("[1, 2]", JSON, 400, "bad_request"),
        ("", JSON, 400, "bad_request"),
        ('{"threshold": "ten"}', JSON, 400, "bad_request"),
        ('{"threshold": -1}', JSON, 400, "bad_request"),
        ('{"threshold": 10, "percentage": 1001}', JSON, 400, "bad_request"),
        ('{"threshold": 10, "percentage": "1.5"}', JSON, 400, "bad_request"),
        ('{"threshold": true}', JSON, 400, "bad_request"),
        # (either field alone is a threshold: Set or Update a Customer's Threshold requires
        # neither; an empty one sets nothing)
        ("{}", JSON, 400, "bad_request"),
        ('{"threshold": 10, "utilityCustomerId": "UC-0002"}', JSON, 400, "bad_request"),
        ('{"threshold": 10, "pad": "' + "x" * 5000 + '"}', JSON, 413, "payload_too_large"),
    ],
    ids=lambda v: str(v)[:25],
)
def test_bad_bodies_are_refused_and_nothing_is_sent(
    call: Call,
    sandbox: OpowerSandbox,
    body: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = call("PUT", "/v1/me/threshold", body=body, headers=headers)

    assert response["statusCode"] == status
    assert error_of(response)["code"] == code
    assert not [r for r in sandbox.received() if r.method == "PUT"]


def test_a_base64_body_is_decoded(call: Call) -> None:
    encoded = base64.b64encode(json.dumps({"threshold": 42, "percentage": 80}).encode()).decode()

    response = call("PUT", "/v1/me/threshold", body=encoded, headers=JSON, is_base64=True)

    assert response["statusCode"] == 204


def test_a_body_on_get_is_refused(call: Call) -> None:
    response = call("GET", "/v1/me/accounts", body='{"x": 1}', headers=JSON)

    assert response["statusCode"] == 400


def test_without_an_authorizer_context_nothing_is_served(call: Call) -> None:
    response = call("GET", "/v1/me/accounts", customer=None)

    assert response["statusCode"] == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_a_cached_allow_past_the_sessions_expiry_is_refused(
    call: Call, session: Any, sandbox: OpowerSandbox
) -> None:
    from handlers.proxy import handler
    from tests.events import LambdaContext, proxy_event

    context = session("UC-0001")
    context["sessionExpiresAt"] = str(int(time.time()) - 1)

    response = handler(proxy_event("GET", "/v1/me/accounts", authorizer=context), LambdaContext())  # type: ignore[arg-type]

    assert response["statusCode"] == 401
    assert error_of(response)["code"] == "session_expired"
    assert "invalid_token" in response["headers"]["WWW-Authenticate"]


def test_the_proxy_serves_nothing_outside_the_route_table_not_even_the_openapi_document(
    call: Call,
) -> None:
    # API Gateway serves the document from a MOCK integration; the proxy never does.
    response = call("GET", "/v1/openapi.json", customer=None)

    assert response["statusCode"] == 404


def test_behind_a_custom_domain_routes_are_found_by_resource_not_path(
    call: Call, sandbox: OpowerSandbox
) -> None:
    # A base path mapping puts the base path in event["path"] only.
    response = call("GET", "/v1/me/accounts/2000001/bill-comparison", base_path="/energy")

    assert response["statusCode"] == 200
    assert [r.path for r in forwarded(sandbox)][-1].endswith("/accounts/2000001")


def test_cors_headers_only_for_configured_origins(
    call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway import wiring

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://my.utility.example")
    wiring.reset()

    allowed = call("GET", "/v1/me/accounts", headers={"Origin": "https://my.utility.example"})
    other = call("GET", "/v1/me/accounts", headers={"Origin": "https://evil.example"})

    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://my.utility.example"
    assert "Access-Control-Allow-Origin" not in other["headers"]


def test_responses_carry_no_upstream_internals(call: Call) -> None:
    response = call("GET", "/v1/me/accounts")

    names = {n.lower() for n in response["headers"]}
    assert not names & {"set-cookie", "server", "x-powered-by", "www-authenticate"}
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
