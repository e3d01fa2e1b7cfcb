"""A utility group of two operating companies in one gateway: each session bound in its
own company only (the same account number and utilityCustomerId exist in both), a token
per client never sent on the other company's paths, a budget per company.

Real handlers, the sandbox serving both companies (its second is UTY), moto server."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from gateway import opower_answers, wiring
from gateway.companies import Company, companies_json
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from local.idp import DevIdentityProvider
from local.provision import put_secret
from local.sandbox import OpowerSandbox
from local.sandbox.config import SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, SECOND_UTILITY_CODE
from local.sandbox.consumption import interval_milli
from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event

pytestmark = pytest.mark.integration

FIRST, SECOND = "UTX", SECOND_UTILITY_CODE
Session = Callable[..., dict[str, Any]]


@pytest.fixture
def group(
    gateway_settings: RuntimeSettings,
    sandbox: OpowerSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> RuntimeSettings:
    """Two companies, each with its own client credentials (its own secret)."""
    second_secret = put_secret(
        f"{gateway_settings.opower_secret_id}-uty",
        {"client_id": SECOND_CLIENT_ID, "client_secret": SECOND_CLIENT_SECRET},
    )
    companies = (
        Company(FIRST, gateway_settings.opower_secret_id),
        Company(SECOND, second_secret),
    )
    for name, value in gateway_settings.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UTILITY_CODE", "")
    monkeypatch.setenv("COMPANIES", companies_json(companies))
    wiring.reset()
    yield wiring.settings()  # type: ignore[misc]
    wiring.reset()


@pytest.fixture
def session(group: RuntimeSettings, idp: DevIdentityProvider) -> Session:
    """The authorizer's decision for a session of ``company`` (None: no claim)."""

    def decide(customer: str, accounts: list[str], company: str | None) -> dict[str, Any]:
        overrides = {"utilityCode": company} if company is not None else {}
        token = idp.mint(customer, accounts, overrides=overrides)
        return authorizer_handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]

    return decide


def call(decision: dict[str, Any], path: str, **options: Any) -> dict[str, Any]:
    event = proxy_event("GET", path, authorizer=api_gateway_context(decision), **options)
    return proxy_handler(event, LambdaContext())  # type: ignore[arg-type]


def test_the_same_claims_bind_to_a_different_customer_in_each_company(session: Session) -> None:
    first = session("UC-0001", ["4100000001"], FIRST)
    second = session("UC-0001", ["4100000001"], SECOND)

    assert first["context"]["utilityCode"] == FIRST
    assert (first["context"]["customerId"], first["context"]["accountIds"]) == (
        "1000001",
        "2000001,2000002",
    )
    assert second["context"]["utilityCode"] == SECOND
    assert (second["context"]["customerId"], second["context"]["accountIds"]) == (
        "3000001",
        "4000001",
    )
    assert first["principalId"] != second["principalId"]  # customer keys name the company

    accounts = {
        opower_answers.items(json.loads(call(d, "/v1/me/accounts")["body"]))[0]["id"]
        for d in (first, second)
    }
    assert accounts == {2000001, 4000001}


@pytest.mark.parametrize(("company", "other_account"), [(FIRST, "4000001"), (SECOND, "2000001")])
def test_cross_company_ids_are_refused_like_cross_customer_ones(
    session: Session, sandbox: OpowerSandbox, company: str, other_account: str
) -> None:
    decision = session("UC-0001", ["4100000001"], company)

    probe = call(decision, f"/v1/me/accounts/{other_account}/bill-comparison")
    unknown = call(decision, "/v1/me/accounts/9999999/bill-comparison")

    assert probe["statusCode"] == unknown["statusCode"] == 404
    assert (
        json.loads(probe["body"])["error"]["message"]
        == json.loads(unknown["body"])["error"]["message"]
    )
    assert not [r for r in sandbox.received() if "bill-comparison" in r.path]


@pytest.mark.parametrize("claim", [None, "UTZ", "utx", ["UTX"]])
def test_a_missing_or_unknown_company_is_refused_never_guessed(
    session: Session, sandbox: OpowerSandbox, claim: Any
) -> None:
    decision = session("UC-0001", ["4100000001"], claim)

    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Deny"  # 403
    assert sandbox.stats()["requests"].get("customers") is None  # no company was tried


def test_each_client_gets_its_own_token_never_sent_on_the_others_paths(
    session: Session, sandbox: OpowerSandbox
) -> None:
    for company in (FIRST, SECOND, FIRST, SECOND):
        decision = session("UC-0001", ["4100000001"], company)
        assert call(decision, "/v1/me/bill-forecast")["statusCode"] == 200

    utilities = sandbox.stats()["utilities"]
    assert utilities[FIRST]["token_requests"] == 1
    assert utilities[SECOND]["token_requests"] == 1
    # The sandbox refuses a token on another utility's paths (401): none was sent.
    assert all("401" not in by_status for by_status in sandbox.stats()["requests"].values())


def test_companies_sharing_a_client_share_its_token(
    group: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = group.opower_secret_id or group.company_list()[0].opower_secret_id
    monkeypatch.setenv(
        "COMPANIES", companies_json((Company(FIRST, shared), Company("UTW", shared)))
    )
    wiring.reset()

    clients = wiring.opower_clients(wiring_metrics())

    assert clients[FIRST]._broker is clients["UTW"]._broker


def wiring_metrics() -> Any:
    from handlers.observability import metrics

    return metrics


def test_each_company_has_its_own_budget_under_mixed_load(
    session: Session, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = session("UC-0001", ["4100000001"], FIRST)
    second = session("UC-0001", ["4100000001"], SECOND)
    companies = wiring.settings().company_list()
    monkeypatch.setenv(
        "COMPANIES",
        companies_json(
            (
                Company(FIRST, companies[0].opower_secret_id, budget_per_second=3),
                Company(SECOND, companies[1].opower_secret_id, budget_per_second=1000),
            )
        ),
    )
    monkeypatch.setenv("BUDGET_PER_CUSTOMER_PER_MINUTE", "100000")
    wiring.reset()

    def burst(decision: dict[str, Any]) -> list[int]:
        with ThreadPoolExecutor(8) as pool:
            answers = pool.map(lambda _: call(decision, "/v1/me/bill-forecast"), range(16))
            return [a["statusCode"] for a in answers]

    with ThreadPoolExecutor(2) as both:
        first_statuses, second_statuses = both.map(burst, (first, second))

    assert 429 in first_statuses  # 3 a second: the first company sheds
    assert set(second_statuses) == {200}  # the second's budget is its own


def test_a_decision_naming_a_company_the_gateway_does_not_serve_is_no_session(
    session: Session, sandbox: OpowerSandbox
) -> None:
    decision = session("UC-0001", ["4100000001"], FIRST)
    decision["context"]["utilityCode"] = "UTZ"

    answer = call(decision, "/v1/me/accounts")

    assert answer["statusCode"] == 401
    assert not [r for r in sandbox.received() if "utility_accounts" in r.path
                and r.headers.get("x-request-id")]  # fmt: skip


def test_a_five_minute_meter_is_counted_in_five_minute_intervals(
    session: Session, sandbox: OpowerSandbox
) -> None:
    """UC-2002 of UTY has a five-minute electric meter (Get Utility Account List's
    FIVE_MINUTE resolution): Get Raw Interval Usage's "up to 100 intervals in a single
    request" are 8 h 20 min of it; a day is refused before it reaches Opower, saying so,
    and 100 intervals are served, three to the sandbox's quarter hour
    (local/sandbox/consumption)."""
    decision = session("UC-2002", ["5200000002"], SECOND)
    assert decision["context"]["rawIntervalMinutes"] == "ELECTRICITY:5,GAS:15"
    start = "2026-11-01T00:00:00-05:00"
    day = call(decision, "/v1/me/usage/raw/ELECTRICITY",
               query={"start": [start], "end": ["2026-11-02T00:00:00-05:00"]})  # fmt: skip
    assert day["statusCode"] == 400
    assert json.loads(day["body"])["error"]["message"] == (
        "raw usage is limited to 100 intervals per request: your ELECTRICITY meter reads "
        "every 5 minutes, so at most 8.33333 hours"
    )
    assert not [r for r in sandbox.received() if "/usage/" in r.path]

    served = call(decision, "/v1/me/usage/raw/ELECTRICITY",
                  query={"start": [start], "end": ["2026-11-01T08:20:00-05:00"]})  # fmt: skip
    assert served["statusCode"] == 200, served["body"]
    (stream,) = [s for s in json.loads(served["body"])["response"]["streams"]
                 if s["utilityServicePointId"] == "NW-SP-3"]  # fmt: skip
    assert len(stream["intervals"]) == 100
    first = int(datetime.fromisoformat(start).timestamp())
    quarter = interval_milli(4000003, "ELECTRICITY", first)
    assert round(sum(i["usage"] for i in stream["intervals"][:3]) * 1000) == quarter
