"""Attacks an outside review ran on the running stack, each kept as a regression test:
one customer spending the utility's budget, hostile dates and bodies, a route Opower
refuses to the utility's client. Real handlers, the sandbox, moto server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway import wiring
from gateway.settings import RuntimeSettings
from local.sandbox import OpowerSandbox
from tests.integration.proxy.conftest import Call, forwarded

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


def error_of(response: dict[str, Any]) -> dict[str, str]:
    return dict(json.loads(response["body"])["error"])


# -- one customer cannot spend the utility's budget -----------------------------------------
def test_one_customer_is_limited_and_told_it_is_their_own_limit(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch, mid_minute: object
) -> None:
    monkeypatch.setenv("BUDGET_PER_CUSTOMER_PER_MINUTE", "10")
    wiring.reset()

    answers = [call("GET", "/v1/me/bill-forecast") for _ in range(15)]
    other = call("GET", "/v1/me/bill-forecast", customer="UC-0002")

    statuses = [a["statusCode"] for a in answers]
    assert statuses.count(200) <= 10  # the binding's lookups count too
    limited = [a for a in answers if a["statusCode"] == 429]
    assert limited
    assert error_of(limited[0])["code"] == "customer_rate_limited"
    assert "this customer" in error_of(limited[0])["message"].lower()
    assert 1 <= int(limited[0]["headers"]["Retry-After"]) <= 60
    assert other["statusCode"] == 200
    forecasts = [r for r in forwarded(sandbox) if "bill_forecast" in r.path]
    assert len(forecasts) == statuses.count(200) + 1  # nothing sent for a refused one


def test_per_customer_limits_are_on_by_default(gateway_settings: RuntimeSettings) -> None:
    defaults = RuntimeSettings()

    assert defaults.budget_per_customer_per_minute > 0
    assert defaults.budget_per_customer_per_day > 0
    # sized from the fleet's budget: a minute's share is a few percent of its per-second
    # budget, a day's a small fraction of its day
    assert defaults.budget_per_customer_per_minute <= 60 * defaults.budget_per_second / 10
    assert defaults.budget_per_customer_per_day <= defaults.budget_per_day / 100


# -- hostile dates --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("resolution", "start", "end"),
    [
        ("billing", "2025-01-01T00:00:00-00:00", "9999-12-31T00:00:00-00:00"),
        ("billing", "2025-01-01T00:00:00-00:00", "9999-11-01T00:00:00-00:00"),
        ("day", "9999-12-01T00:00:00-00:00", "9999-12-31T23:59:00-00:00"),
        ("raw", "0001-01-01T00:00:00-00:00", "0001-01-01T01:00:00-00:00"),
        ("day", "0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00+14:00"),
    ],
)
def test_dates_outside_what_opower_serves_are_a_400_naming_the_range(
    call: Call, sandbox: OpowerSandbox, resolution: str, start: str, end: str
) -> None:
    response = call(
        "GET", f"/v1/me/usage/{resolution}/ELECTRICITY", query={"start": [start], "end": [end]}
    )

    assert response["statusCode"] == 400, response["body"]
    assert "served from" in error_of(response)["message"]
    assert forwarded(sandbox) == []


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "1900-02-28"])
def test_an_as_of_date_outside_the_served_range_is_a_400(
    call: Call, sandbox: OpowerSandbox, as_of: str
) -> None:
    for path in ("/v1/me/bill-forecast", "/v1/me/neighbor-comparison"):
        response = call("GET", path, query={"asOf": [as_of]})

        assert response["statusCode"] == 400
        assert "must be between" in error_of(response)["message"]
    assert forwarded(sandbox) == []


# -- hostile bodies -------------------------------------------------------------------------
def test_a_body_nested_thousands_deep_is_a_400(call: Call, sandbox: OpowerSandbox) -> None:
    body = '{"threshold": ' + "[" * 2000 + "]" * 2000 + ', "percentage": 5}'
    assert len(body) < 4096

    response = call("PUT", "/v1/me/threshold", body=body, headers=JSON)

    assert response["statusCode"] == 400
    assert forwarded(sandbox) == []


@pytest.mark.parametrize("text", ["flat\u0000", "a\nb", "x\u202ey", "\u0007"])
def test_free_text_body_fields_take_printable_text_only(
    call: Call, sandbox: OpowerSandbox, text: str
) -> None:
    body = json.dumps({"dwellingType": text, "numberOfAdults": 2})

    response = call("PUT", "/v1/me/home-profile", body=body, headers=JSON)

    assert response["statusCode"] == 400
    assert "printable" in error_of(response)["message"]
    assert forwarded(sandbox) == []


# -- a route Opower refuses to the utility's client -----------------------------------------
def test_a_route_refusing_a_fresh_token_fails_alone_and_takes_nothing_down(
    call: Call, sandbox: OpowerSandbox
) -> None:
    assert call("GET", "/v1/me/accounts")["statusCode"] == 200
    tokens_before = int(str(sandbox.stats()["token_requests"]))
    sandbox.set_faults(unlicensed_routes=["bill_forecast"])

    refused = [call("GET", "/v1/me/bill-forecast") for _ in range(5)]
    fine = call("GET", "/v1/me/neighbor-comparison")

    assert [r["statusCode"] for r in refused] == [502] * 5
    assert error_of(refused[0])["code"] == "upstream_unauthorized"
    assert fine["statusCode"] == 200  # no fleet back-off: other routes are unaffected
    # One fresh token to tell "the route" from "the token"; the next 401s of that route
    # invalidate nothing.
    assert int(str(sandbox.stats()["token_requests"])) - tokens_before == 1
