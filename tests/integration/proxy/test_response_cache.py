"""The per-customer response cache against the real handlers, the sandbox and moto server:
hits in both tiers, one key per customer and request, invalidation by writes across
containers, stale-if-error for every kind of failure, single flight, and the binding's
accounts answer seeding the cache."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from gateway import opower_answers, wiring
from gateway.auth_context import binding_from_context
from gateway.cache.keys import cache_key, customer_scope, generation
from gateway.settings import RuntimeSettings
from handlers.observability import metrics
from local.aws import EmbeddedAws
from local.sandbox import OpowerSandbox
from tests.conftest import AwsResources
from tests.events import proxy_event
from tests.integration.proxy.conftest import CUSTOMERS, Call, forwarded
from tests.integration.sandbox.sandbox_client import SandboxClient

pytestmark = pytest.mark.integration

WINDOW = {"start": ["2026-10-01T00:00:00-05:00"], "end": ["2026-10-08T00:00:00-05:00"]}
# Every cached GET of the route table, as a customer would ask for it.
GETS: list[tuple[str, dict[str, list[str]] | None]] = [
    ("/v1/me/accounts", None),
    ("/v1/me/home-profile", None),
    ("/v1/me/usage/day/ELECTRICITY", WINDOW),
    ("/v1/me/bill-forecast", None),
    ("/v1/me/neighbor-comparison", None),
    ("/v1/me/threshold", None),
]


@pytest.fixture
def gateway_settings(gateway_settings: RuntimeSettings) -> RuntimeSettings:
    """The suite's settings with the cache on, as deployed."""
    return dataclasses.replace(gateway_settings, cache_enabled=True)


def calls_to(sandbox: OpowerSandbox, fragment: str) -> int:
    return len([r for r in forwarded(sandbox) if fragment in r.path])


def status_of(response: dict[str, Any]) -> dict[str, str]:
    """Cache-Status as its parameters (RFC 9211: a list member with parameters)."""
    value = response["headers"]["Cache-Status"]
    name, *params = value.split("; ")
    assert name == "OpowerGateway"
    return dict(([*p.split("=", 1), ""])[:2] for p in params)  # type: ignore[misc]


def test_a_second_get_is_a_hit_with_age_and_cache_status(
    call: Call, sandbox: OpowerSandbox
) -> None:
    first = call("GET", "/v1/me/bill-forecast")
    second = call("GET", "/v1/me/bill-forecast")

    assert first["statusCode"] == second["statusCode"] == 200
    assert second["body"] == first["body"]
    assert calls_to(sandbox, "bill_forecast") == 1
    assert status_of(first) == {"fwd": "miss", "fwd-status": "200", "stored": ""}
    assert first["headers"]["Age"] == "0"
    hit = status_of(second)
    assert "hit" in hit
    assert 0 < int(hit["ttl"]) <= 6 * 3600
    assert int(second["headers"]["Age"]) >= 0
    # The customer-facing answer is still never stored by a browser or a shared cache.
    assert second["headers"]["Cache-Control"] == "private, no-store"


def test_a_new_container_hits_the_shared_tier(call: Call, sandbox: OpowerSandbox) -> None:
    call("GET", "/v1/me/neighbor-comparison")
    wiring.reset()  # a cold container: nothing in memory

    again = call("GET", "/v1/me/neighbor-comparison")

    assert "hit" in status_of(again)
    assert calls_to(sandbox, "neighbor_comparison") == 1


def test_the_same_query_in_another_order_is_the_same_entry(
    call: Call, sandbox: OpowerSandbox
) -> None:
    path = "/v1/me/usage/day/ELECTRICITY"
    call("GET", path, query=WINDOW)
    reordered = call("GET", path, query={"end": WINDOW["end"], "start": WINDOW["start"]})
    other = call("GET", path, query={**WINDOW, "end": ["2026-10-09T00:00:00-05:00"]})

    assert "hit" in status_of(reordered)
    # Another window is another entry: asked of Opower (for the days not held, when the
    # first answer's settled days cover its start: gateway.proxy.assembly).
    assert status_of(other)["fwd"] in {"miss", "partial"}
    assert calls_to(sandbox, "/usage/") == 2


def test_the_binding_seeds_the_accounts_answer(call: Call, sandbox: OpowerSandbox) -> None:
    """The authorizer's utility_accounts lookup is the accounts route's answer: a new
    customer's first GET /v1/me/accounts costs Opower nothing more."""
    response = call("GET", "/v1/me/accounts", customer="UC-0003")

    assert response["statusCode"] == 200
    assert "hit" in status_of(response)
    assert opower_answers.items(json.loads(response["body"])) == [
        {"id": 2000005, "utilityAccountId": "4100000004", "utilityAccountId2": "SP-7005",
         "meterType": "ELEC", "resolution": "QUARTER_HOUR", "moveInDate": "2021-06-01"}
    ]  # fmt: skip
    assert calls_to(sandbox, "utility_accounts") == 0


def test_no_customer_is_ever_served_anothers_answer_from_a_warm_cache(
    call: Call, sandbox: OpowerSandbox
) -> None:
    """Warm every cached route for UC-0001, then ask the same paths as each other
    customer: each gets their own answer (as Opower gives it uncached), and the probes
    at UC-0001's ids are refused as before."""
    for path, query in GETS:
        call("GET", path, customer="UC-0001", query=query)
    for account in CUSTOMERS["UC-0001"][2]:
        call("GET", f"/v1/me/accounts/{account}/bill-comparison", customer="UC-0001")
    warm = {path: call("GET", path, customer="UC-0001", query=query) for path, query in GETS}
    assert all("hit" in status_of(r) for r in warm.values() if r["statusCode"] == 200)

    for customer in ("UC-0002", "UC-0003", "UC-0005"):
        for path, query in GETS:
            mine = call("GET", path, customer=customer, query=query)
            if mine["statusCode"] != 200:
                continue
            assert "hit" not in status_of(mine) or path == "/v1/me/accounts"
            if warm[path]["statusCode"] == 200:
                assert mine["body"] != warm[path]["body"], (customer, path)
        # UC-0001's accounts, cached: as unknown to another customer as ever.
        for account in CUSTOMERS["UC-0001"][2]:
            probe = call("GET", f"/v1/me/accounts/{account}/bill-comparison", customer=customer)
            assert probe["statusCode"] == 404
            assert "Cache-Status" not in probe["headers"]


def test_a_customers_answer_is_what_opower_gives_that_customer(
    call: Call, sandbox: OpowerSandbox, gateway_settings: RuntimeSettings, monkeypatch: Any
) -> None:
    """The cached answer equals the uncached one, customer by customer."""

    def answers() -> dict[str, tuple[int, str]]:
        got = {c: call("GET", "/v1/me/bill-forecast", customer=c) for c in CUSTOMERS}
        return {
            c: (r["statusCode"], r["body"] if r["statusCode"] == 200 else "")
            for c, r in got.items()
        }

    answers()
    cached = answers()
    monkeypatch.setenv("CACHE_ENABLED", "false")
    wiring.reset()
    assert answers() == cached
    assert sum(status == 200 for status, _ in cached.values()) >= 3


def test_a_write_removes_the_answers_it_changes_in_every_container(
    call: Call, sandbox: OpowerSandbox, session: Any
) -> None:
    """Container A holds the threshold (memory and shared); container B takes the PUT;
    A's next GET sees the new threshold, not its memory copy."""
    call("PUT", "/v1/me/threshold", body=json.dumps({"threshold": 100, "percentage": 90}),
         headers={"Content-Type": "application/json"})  # fmt: skip
    container_a = wiring.proxy(metrics)
    event = proxy_event("GET", "/v1/me/threshold", authorizer=session("UC-0001"))
    before = container_a.handle(event, remaining_ms=10_000)
    assert json.loads(before["body"])["response"]["threshold"] == 100
    assert "hit" in status_of(container_a.handle(event, remaining_ms=10_000))

    wiring.reset()  # container B
    put = call("PUT", "/v1/me/threshold", body=json.dumps({"threshold": 250, "percentage": 90}),
               headers={"Content-Type": "application/json"})  # fmt: skip
    assert put["statusCode"] == 204

    after = container_a.handle(event, remaining_ms=10_000)
    assert json.loads(after["body"])["response"]["threshold"] == 250
    assert status_of(after)["fwd"] == "miss"

    call("DELETE", "/v1/me/threshold")
    gone = container_a.handle(event, remaining_ms=10_000)
    assert gone["statusCode"] == 404


def test_a_home_profile_write_removes_the_cached_profile(call: Call) -> None:
    call("GET", "/v1/me/home-profile")
    assert call("PUT", "/v1/me/home-profile", body=json.dumps({"numberOfAdults": 3}),
                headers={"Content-Type": "application/json"})["statusCode"] == 204  # fmt: skip
    after = call("GET", "/v1/me/home-profile")
    assert json.loads(after["body"])["response"]["numberOfAdults"] == 3
    assert status_of(after)["fwd"] == "miss"


@pytest.fixture
def short_lived(gateway_settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """bill_forecast answers fresh for one second only, so a test sees them go stale."""
    monkeypatch.setenv("CACHE_FRESH_S", json.dumps({"bill_forecast": 1}))
    wiring.reset()


def _stale_after(call: Call) -> dict[str, Any]:
    first = call("GET", "/v1/me/bill-forecast")
    assert first["statusCode"] == 200
    time.sleep(1.2)
    return first


@pytest.mark.parametrize(
    ("fault", "detail", "forwarded_status"),
    [
        ({"data_endpoints": "5xx"}, "upstream-error", "503"),
        ({"data_endpoints": "429", "retry_after_s": 1}, "upstream-throttled", "429"),
    ],
)
def test_stale_if_error_when_opower_answers_an_error(
    call: Call,
    sandbox: OpowerSandbox,
    short_lived: None,
    fault: dict[str, Any],
    detail: str,
    forwarded_status: str,
) -> None:
    first = _stale_after(call)
    sandbox.set_faults(**fault)

    stale = call("GET", "/v1/me/bill-forecast")

    assert stale["statusCode"] == 200
    assert stale["body"] == first["body"]
    status = status_of(stale)
    assert status["fwd"] == "stale"
    assert status["fwd-status"] == forwarded_status
    assert status["detail"] == f'"{detail}"'
    assert int(status["ttl"]) <= 0
    assert int(stale["headers"]["Age"]) >= 1


@pytest.mark.parametrize(
    "refusal",
    [
        {"answers": {"bill_forecast": {"status": 403, "body": {
            "httpStatus": 403, "serviceErrorCode": "FORBIDDEN", "details": "Forbidden"}}}},
        {"faults": {"unlicensed_routes": ["bill_forecast"]}},  # 401, and 401 to a new token
    ],
    ids=["403", "persistent-401"],
)  # fmt: skip
def test_no_access_past_a_refusal(
    call: Call, sandbox: OpowerSandbox, short_lived: None, refusal: dict[str, Any]
) -> None:
    """Get Bill Forecast documents 403 Forbidden (schemas.PAGES["bill_forecast"]); a 401
    that a fresh token gets too is Opower refusing the gateway this route. Either way the
    customer's cached answer goes, and no later failure brings it back as stale: access
    that ended ends for the cache too (RFC 9111 4.2.4 lets a cache serve stale only when
    it cannot reach the origin, not when the origin refuses)."""
    _stale_after(call)
    sandbox.set_answers(**refusal.get("answers", {}))
    sandbox.set_faults(**refusal.get("faults", {}))

    refused = call("GET", "/v1/me/bill-forecast")
    sandbox.reset()
    sandbox.set_faults(data_endpoints="5xx")
    later = call("GET", "/v1/me/bill-forecast")

    assert refused["statusCode"] == (403 if "answers" in refusal else 502)
    assert "error" in json.loads(refused["body"])  # the refusal, not the cached answer
    assert later["statusCode"] == 502  # Opower down, and nothing cached to stand in
    assert "stale" not in later["headers"]["Cache-Status"]


def test_a_403_is_the_customers_403(call: Call, sandbox: OpowerSandbox) -> None:
    sandbox.set_answers(neighbor_comparison={"status": 403, "body": {"httpStatus": 403}})

    refused = call("GET", "/v1/me/neighbor-comparison")

    assert refused["statusCode"] == 403
    assert json.loads(refused["body"])["error"]["code"] == "forbidden"


def test_stale_if_error_when_opower_times_out(
    call: Call, sandbox: OpowerSandbox, short_lived: None
) -> None:
    first = _stale_after(call)
    sandbox.set_faults(data_endpoints="hanging")
    try:
        stale = call("GET", "/v1/me/bill-forecast", timeout_s=2.0)
    finally:
        sandbox.set_faults(data_endpoints=None)

    assert stale["statusCode"] == 200
    assert stale["body"] == first["body"]
    assert status_of(stale)["detail"] == '"upstream-timeout"'


def test_stale_if_error_without_a_token(
    call: Call, sandbox: OpowerSandbox, short_lived: None
) -> None:
    first = _stale_after(call)
    sandbox.set_faults(revoke_tokens=True, token_endpoint="5xx")

    stale = call("GET", "/v1/me/bill-forecast")

    assert stale["statusCode"] == 200
    assert stale["body"] == first["body"]
    assert status_of(stale)["detail"] == '"token-unavailable"'


def test_stale_when_the_days_budget_is_spent_sends_nothing(
    call: Call, sandbox: OpowerSandbox, short_lived: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUDGET_PER_DAY", "12")
    # The day unshaped (no reserve, no pacing: gateway.budgets.day), whatever the hour.
    for name in ("BUDGET_RESERVE_LOGIN", "BUDGET_RESERVE_BILL", "BUDGET_RESERVE_STANDARD"):
        monkeypatch.setenv(name, "0")
    monkeypatch.setenv("BUDGET_PACE_AHEAD_S", "86400")
    wiring.reset()
    first = _stale_after(call)
    while call("GET", "/v1/me/usage/day/ELECTRICITY", query={
        **WINDOW, "end": [f"2026-10-{9 + len(forwarded(sandbox)) % 20:02d}T00:00:00-05:00"]
    })["statusCode"] != 429:  # fmt: skip
        pass
    sent = len(forwarded(sandbox))

    stale = call("GET", "/v1/me/bill-forecast")

    assert stale["statusCode"] == 200
    assert stale["body"] == first["body"]
    status = status_of(stale)
    assert "hit" in status
    assert "fwd" not in status
    assert status["detail"] == '"budget-spent"'
    assert len(forwarded(sandbox)) == sent


def test_no_stale_answer_past_the_maximum_stale_age(
    call: Call, sandbox: OpowerSandbox, short_lived: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_MAX_STALE_S", "0")
    wiring.reset()
    _stale_after(call)
    sandbox.set_faults(data_endpoints="5xx")

    response = call("GET", "/v1/me/bill-forecast")

    assert response["statusCode"] == 502
    assert json.loads(response["body"])["error"]["code"] == "upstream_error"


def test_a_failure_with_nothing_cached_is_the_usual_error(
    call: Call, sandbox: OpowerSandbox
) -> None:
    call("GET", "/v1/me/accounts")
    sandbox.set_faults(data_endpoints="5xx")

    response = call("GET", "/v1/me/bill-forecast")

    assert response["statusCode"] == 502
    assert status_of(response)["fwd"] == "miss"


def test_a_fresh_answer_is_served_while_opower_is_down(call: Call, sandbox: OpowerSandbox) -> None:
    call("GET", "/v1/me/bill-forecast")
    sandbox.set_faults(data_endpoints="5xx")
    assert "hit" in status_of(call("GET", "/v1/me/bill-forecast"))


def test_identical_requests_together_make_one_opower_call(
    call: Call, sandbox: OpowerSandbox, session: Any
) -> None:
    context = session("UC-0001")
    call("GET", "/v1/me/accounts")  # token and binding in place
    sandbox.set_faults(data_endpoints="slow", data_delay_s=0.5)
    event = proxy_event("GET", "/v1/me/bill-forecast", authorizer=context)
    proxy = wiring.proxy(metrics)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: proxy.handle(event, remaining_ms=10_000), range(6)))

    assert [a["statusCode"] for a in answers] == [200] * 6
    assert len({a["body"] for a in answers}) == 1
    assert calls_to(sandbox, "bill_forecast") == 1
    assert sum("collapsed" in status_of(a) for a in answers) == 5


def test_a_route_can_be_left_uncached(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_FRESH_S", json.dumps({"bill_forecast": 0}))
    wiring.reset()
    call("GET", "/v1/me/bill-forecast")
    second = call("GET", "/v1/me/bill-forecast")
    assert status_of(second) == {"fwd": "bypass"}
    assert calls_to(sandbox, "bill_forecast") == 2


def test_an_answer_over_the_entry_bound_is_not_cached(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_MAX_ENTRY_BYTES", "64")
    wiring.reset()
    call("GET", "/v1/me/bill-forecast")
    second = call("GET", "/v1/me/bill-forecast")
    assert "stored" not in status_of(second)
    assert calls_to(sandbox, "bill_forecast") == 2


def test_the_shared_tier_failing_turns_no_answer_into_a_failure(
    call: Call, sandbox: OpowerSandbox, embedded_aws: EmbeddedAws
) -> None:
    """With DynamoDB down the customer's markers cannot be read: a write or a refusal
    recorded by another container could be unseen, so the memory tier's answer is not
    served as fresh; Opower is asked, and the customer gets an answer all the same."""
    call("GET", "/v1/me/bill-forecast")
    embedded_aws.set_unavailable(["dynamodb"])
    try:
        again = call("GET", "/v1/me/bill-forecast")
        other = call("GET", "/v1/me/neighbor-comparison")
    finally:
        embedded_aws.set_unavailable([])
    assert again["statusCode"] == other["statusCode"] == 200
    assert status_of(again)["fwd"] == "stale"  # the memory tier's, at hand had Opower failed


def test_the_shared_tier_holds_no_id_in_its_keys(call: Call, aws_resources: AwsResources) -> None:
    for path, query in GETS:
        call("GET", path, query=query)
    call(
        "PUT",
        "/v1/me/threshold",
        body=json.dumps({"threshold": 80}),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip  (a markers item too)
    items = boto3.client("dynamodb").scan(TableName=aws_resources.cache_table_name)["Items"]
    assert items
    ids = {"UC-0001", "1000001", "2000001", "4100000001", "UTX"}
    for item in items:
        key = item["pk"]["S"] + "/" + item["sk"]["S"]
        assert not any(i in key for i in ids)
        if item["sk"]["S"] == "!":
            assert re.fullmatch(r"c#[0-9a-f]{32}/!", key), key
            assert {n for n in item if not n.startswith("m_")} == {"pk", "sk", "ttl"}
            assert all(re.fullmatch(r"m_[0-9a-f]{12}", n) for n in item if n.startswith("m_"))
            continue
        # The route, too, is a keyed tag: no route name, no path, no unkeyed hash.
        assert re.fullmatch(r"c#[0-9a-f]{32}/[0-9a-f]{12}#[0-9a-f]{32}", key), key
        assert set(item) == {"pk", "sk", "body", "at", "fresh", "stale", "ttl"}


def test_an_answer_opower_no_longer_has_cannot_come_back_stale(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The threshold removed by another channel: Opower's 404 removes the cached answer,
    so a later outage cannot bring the old threshold back as a stale answer."""
    monkeypatch.setenv("CACHE_FRESH_S", json.dumps({"threshold": 1}))
    wiring.reset()
    headers = {"Content-Type": "application/json"}
    call("PUT", "/v1/me/threshold", body=json.dumps({"threshold": 80, "percentage": 90}),
         headers=headers)  # fmt: skip
    assert call("GET", "/v1/me/threshold")["statusCode"] == 200
    # Another channel (the utility's own tools) removes it at Opower directly.
    opower = SandboxClient(sandbox.base_url)
    removed = opower.api(
        "DELETE", "threshold-v1/external/UTX/customers/UC-0001/threshold", token=opower.token()
    )
    assert removed.status == 204
    time.sleep(1.2)

    assert call("GET", "/v1/me/threshold")["statusCode"] == 404
    sandbox.set_faults(data_endpoints="5xx")
    assert call("GET", "/v1/me/threshold")["statusCode"] == 502


def test_writes_invalidate_while_caching_is_off(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Turned off and on again, the cache holds no answer older than a write made while
    it was off."""
    headers = {"Content-Type": "application/json"}
    call("PUT", "/v1/me/threshold", body=json.dumps({"threshold": 80, "percentage": 90}),
         headers=headers)  # fmt: skip
    assert json.loads(call("GET", "/v1/me/threshold")["body"])["response"]["threshold"] == 80
    monkeypatch.setenv("CACHE_ENABLED", "false")
    wiring.reset()
    call("PUT", "/v1/me/threshold", body=json.dumps({"threshold": 95, "percentage": 90}),
         headers=headers)  # fmt: skip
    monkeypatch.setenv("CACHE_ENABLED", "true")
    wiring.reset()

    assert json.loads(call("GET", "/v1/me/threshold")["body"])["response"]["threshold"] == 95


def test_an_answer_asked_for_before_a_write_is_not_served_after_it(
    call: Call, session: Callable[[str], dict[str, Any]]
) -> None:
    """A GET already on its way to Opower when the customer's PUT lands (in another
    container) stores the older answer after the PUT's invalidation: the write's marker
    makes it no answer, in every container."""
    headers = {"Content-Type": "application/json"}
    call("PUT", "/v1/me/threshold", body=json.dumps({"threshold": 100, "percentage": 90}),
         headers=headers)  # fmt: skip
    old = call("GET", "/v1/me/threshold")
    asked_at = time.time()  # the slow GET leaves now...
    time.sleep(0.05)
    call("PUT", "/v1/me/threshold", body=json.dumps({"threshold": 250, "percentage": 90}),
         headers=headers)  # fmt: skip
    # ... and its answer (the old threshold) is stored after the write.
    view = binding_from_context(session("UC-0001"), now=time.time())
    key = cache_key(
        customer_scope("UTX", "UC-0001"),
        "threshold",
        "/apis/threshold-v1/external/UTX/customers/UC-0001/threshold",
        generation=generation(view.customer_id, view.account_ids, view.accounts_version),
    )
    cache = wiring.response_cache(metrics)
    cache.store(key, old["body"], fresh_s=600, asked_at=asked_at)
    assert cache.memory.get(key) is not None  # the key is the one the proxy reads
    wiring.reset()  # and read in another container

    after = call("GET", "/v1/me/threshold")
    assert json.loads(after["body"])["response"]["threshold"] == 250
    assert status_of(after)["fwd"] == "miss"
