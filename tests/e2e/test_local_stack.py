"""`make dev`'s stack over HTTP: what the README's tour shows, asserted."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway import opower_answers
from tests.e2e.conftest import ROOT, RunningStack

pytestmark = pytest.mark.e2e

# (company, utilityCustomerId): account ids. `make dev` runs a group of two companies, and
# UC-0001 is a customer of each (the same CIS id and account number, two people).
EXPECTED_ACCOUNTS = {
    ("UTX", "UC-0001"): [2000001, 2000002],
    ("UTX", "UC-0002"): [2000003, 2000004],
    ("UTX", "UC-0003"): [2000005],
    ("UTX", "UC-0004"): [],
    ("UTX", "UC-0005"): [2000006],
    ("UTY", "UC-0001"): [4000001],
    ("UTY", "UC-2002"): [4000002, 4000003],
}


def test_every_printed_curl_succeeds(e2e: RunningStack) -> None:
    for customer in e2e.summary["customers"]:
        response = e2e.call("GET", "/v1/me/accounts", token=customer["token"])

        assert response.status == 200
        ids = [a["id"] for a in opower_answers.items(response.json())]
        assert ids == EXPECTED_ACCOUNTS[customer["utilityCode"], customer["utilityCustomerId"]]
        assert response.headers["Cache-Control"] == "private, no-store"


def test_every_sample_customer_of_both_companies_is_printed(e2e: RunningStack) -> None:
    printed = {(c["utilityCode"], c["utilityCustomerId"]) for c in e2e.summary["customers"]}

    assert printed == set(EXPECTED_ACCOUNTS)


def test_a_cross_company_request_is_refused_and_never_reaches_opower(e2e: RunningStack) -> None:
    second = next(
        c["token"]
        for c in e2e.summary["customers"]
        if (c["utilityCode"], c["utilityCustomerId"]) == ("UTY", "UC-0001")
    )

    response = e2e.call("GET", "/v1/me/accounts/2000001/bill-comparison", token=second)

    assert response.status == 404
    assert "bill_comparison" not in e2e.sandbox_control("GET", "stats")["requests"]


def test_a_cross_customer_request_is_refused_and_never_reaches_opower(e2e: RunningStack) -> None:
    response = e2e.call("GET", "/v1/me/accounts/2000003/bill-comparison", customer="UC-0001")

    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"
    stats = e2e.sandbox_control("GET", "stats")
    assert "bill_comparison" not in stats["requests"]


def test_the_customers_own_account_is_served(e2e: RunningStack) -> None:
    response = e2e.call("GET", "/v1/me/accounts/2000003/bill-comparison", customer="UC-0002")

    assert response.status == 200


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer not-a-jwt"}, 401, "unauthorized"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "unauthorized"),
    ],
)
def test_without_a_valid_session_the_gateway_answers_in_its_envelope(
    e2e: RunningStack, headers: dict[str, str], status: int, code: str
) -> None:
    response = e2e.call("GET", "/v1/me/accounts", headers=headers)

    assert response.status == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["requestId"]


def test_unknown_routes_are_404_and_unknown_methods_405(e2e: RunningStack) -> None:
    assert e2e.call("GET", "/v1/me/secrets", customer="UC-0001").status == 404
    assert e2e.call("GET", "/apis/customer-data-v2/UTX/customers").status == 404
    wrong_method = e2e.call("POST", "/v1/me/accounts", customer="UC-0001")
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "GET"
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_the_openapi_document_and_the_interactive_docs_page_are_served(
    e2e: RunningStack,
) -> None:
    document = e2e.call("GET", "/v1/openapi.json").json()
    page = e2e.call("GET", "/_local/docs")
    init = e2e.call("GET", "/_local/docs/init.js")

    assert document["openapi"] == "3.1.0"
    assert page.status == 200
    # Swagger UI from the installed package, on this origin: no CDN
    assert "http" not in page.data.decode()
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js"):
        assert f"/_local/docs/{asset}" in page.data.decode()
        served = e2e.call("GET", f"/_local/docs/{asset}")
        assert served.status == 200, asset
        assert len(served.data) > 10_000, asset
    assert '"url": "/v1/openapi.json"' in init.data.decode()
    assert e2e.call("GET", "/_local/docs/../../etc/passwd").status == 404
    assert e2e.call("GET", "/_local/docs/index.html").status == 404  # only the page's files


def test_the_authorizer_decision_is_cached_per_token(e2e: RunningStack) -> None:
    token = e2e.token("UC-0003")
    e2e.call("GET", "/v1/me/accounts", token=token)
    before = e2e.local_stats()["invocations"]["authorizer"]

    for _ in range(5):
        assert e2e.call("GET", "/v1/me/bill-forecast", token=token).status == 200

    assert e2e.local_stats()["invocations"]["authorizer"] == before


def test_concurrent_requests_are_served_and_opower_is_never_overrun(e2e: RunningStack) -> None:
    customers = [customer for company, customer in EXPECTED_ACCOUNTS if company == "UTX"]

    def one(n: int) -> tuple[int, str | None]:
        response = e2e.call("GET", "/v1/me/accounts", customer=customers[n % 5])
        return response.status, response.headers.get("Retry-After")

    for customer in customers:  # sessions bound first: the burst is about the data calls
        assert e2e.call("GET", "/v1/me/accounts", customer=customer).status == 200
    time.sleep(1.1)  # a fresh second of budget
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(60)))

    # Opower allows 20 requests per second; the fleet budget (19) sheds the rest with a
    # Retry-After before they reach Opower. Calls let through at the very end of one of
    # the gateway's seconds can land in Opower's next one, so Opower may refuse a few at a
    # second boundary: those reach the customer as 429 with Retry-After too, never a storm.
    assert {status for status, _ in answers} <= {200, 429}
    assert sum(status == 200 for status, _ in answers) >= 19
    assert all(retry is not None for status, retry in answers if status == 429)
    requests = e2e.sandbox_control("GET", "stats")["requests"]
    refused_by_opower = sum(by_status.get("429", 0) for by_status in requests.values())
    assert refused_by_opower <= 5


def test_make_token_prints_a_token_the_running_gateway_accepts(e2e: RunningStack) -> None:
    env = e2e.token_command_env()

    result = subprocess.run(
        [sys.executable, "-m", "local.token", "UC-0004"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    token = result.stdout.strip().splitlines()[-1]

    response = e2e.call("GET", "/v1/me/accounts", token=token)
    assert response.status == 200
    assert response.json() == {"response": []}  # Get Utility Account List: no account


def test_an_expired_session_is_refused(e2e: RunningStack) -> None:
    env = e2e.token_command_env()
    result = subprocess.run(
        [sys.executable, "-m", "local.token", "UC-0001", "--lifetime", "-120"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    response = e2e.call("GET", "/v1/me/accounts", token=result.stdout.strip())

    assert response.status == 401


def test_what_the_sandbox_saw_never_includes_the_customers_token(e2e: RunningStack) -> None:
    e2e.call("GET", "/v1/me/home-profile", customer="UC-0001")

    stats = json.dumps(e2e.sandbox_control("GET", "stats"))

    assert e2e.token("UC-0001") not in stats


def test_the_tour_of_the_cache_a_hit_then_a_stale_answer_while_opower_is_down(
    e2e: RunningStack,
) -> None:
    """The README's cache tour: a miss stored, a hit, then with Opower's data APIs down
    and the entries past their freshness, the stale answer in place of a 502; an answer
    never cached is the 502."""
    path = "/v1/me/neighbor-comparison"
    customer = "UC-0003"  # asked for by no other test of this stack
    first = e2e.call("GET", path, customer=customer)
    second = e2e.call("GET", path, customer=customer)
    assert first.status == second.status == 200
    assert first.headers["Cache-Status"] == "OpowerGateway; fwd=miss; fwd-status=200; stored"
    assert second.headers["Cache-Status"].startswith("OpowerGateway; hit; ttl=")
    assert second.data == first.data
    # Browsers and shared caches still keep nothing.
    assert second.headers["Cache-Control"] == "private, no-store"
    try:
        e2e.sandbox_control("POST", "faults", {"data_endpoints": "5xx"})
        assert (
            e2e.call("GET", path, customer=customer)
            .headers["Cache-Status"]
            .startswith("OpowerGateway; hit")
        )
        expired = e2e.http.request(
            "POST", f"{e2e.gateway}/_local/faults", json={"cache_expired": True}, timeout=10
        )
        assert expired.json()["cache_expired"] >= 1
        time.sleep(1.1)
        stale = e2e.call("GET", path, customer=customer)
        never = e2e.call(
            "GET",
            "/v1/me/usage/raw/ELECTRICITY",
            customer=customer,
            fields={"start": "2026-10-01T00:00:00-05:00", "end": "2026-10-01T06:00:00-05:00"},
        )
    finally:
        e2e.sandbox_control("POST", "reset")

    assert stale.status == 200
    assert stale.data == first.data
    status = stale.headers["Cache-Status"].split("; ")
    assert status[:3] == ["OpowerGateway", "fwd=stale", "fwd-status=503"]
    assert status[-1] == 'detail="upstream-error"'
    assert int(status[3].removeprefix("ttl=")) < 0
    assert int(stale.headers["Age"]) >= 1
    assert never.status == 502
    assert never.json()["error"]["code"] == "upstream_error"


def test_make_forget_forgets_a_customer_of_the_running_gateway(e2e: RunningStack) -> None:
    """`make forget` (infra/forget.py) on `make dev`: the customer's cached answers go, the
    next request asks Opower; the record names them by their keyed name only."""
    for _ in range(2):
        e2e.call("GET", "/v1/me/bill-forecast", customer="UC-0003")
    result = subprocess.run(
        [sys.executable, "-m", "infra.forget", "UC-0003", "--company", "UTX", "--json"],
        cwd=ROOT,
        env=e2e.token_command_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    record = json.loads(result.stdout)
    assert record["cached_answers"] >= 1
    assert record["bindings"] >= 1
    assert "UC-0003" not in result.stdout + result.stderr
    after = e2e.call("GET", "/v1/me/bill-forecast", customer="UC-0003")
    assert after.status == 200
    assert "fwd=miss" in after.headers["Cache-Status"]
    again = subprocess.run(
        [sys.executable, "-m", "infra.forget", "UC-0003", "--company", "UTX"],
        cwd=ROOT,
        env=e2e.token_command_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "cached answers" in again.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "infra.forget"],
        cwd=ROOT,
        env=e2e.token_command_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "forget: name the customer: make forget CUSTOMER=<utilityCustomerId>"
    )


def test_a_web_app_on_a_local_dev_server_is_answered_from_the_browser(
    e2e: RunningStack,
) -> None:
    """make dev allows the usual dev servers' origins (local.stack.DEV_SERVER_ORIGINS):
    Vite's preflight and request work without any setting."""
    origin = "http://localhost:5173"
    preflight = e2e.call(
        "OPTIONS",
        "/v1/me/accounts",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    answer = e2e.call("GET", "/v1/me/accounts", customer="UC-0001", headers={"Origin": origin})
    stranger = e2e.call(
        "GET", "/v1/me/accounts", customer="UC-0001", headers={"Origin": "http://evil.example"}
    )

    assert preflight.status in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert e2e.summary["cors_allow_origins"][0] == origin
