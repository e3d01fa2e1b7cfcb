"""The day's budget as a customer meets it (gateway.budgets.day), through the real
authorizer and proxy handlers, the sandbox as Opower and the day's count in moto server's
DynamoDB: optional screens shed first (from cache, marked, within cache_max_stale_s), the
bill screen and logins served from their reserves, and every refusal's Retry-After the
next allowance, never a fixed invitation.

The quota day is placed so that the test runs at its noon (``budget_day_start_s``: a
setting, since Oracle's Limitations page gives no boundary), and its count is set in
DynamoDB, as the rest of the fleet would have spent it. A day of 20,000 calls at noon,
the default reserves and pacing: optional screens may reach 11,166, standard calls 12,666,
the bill screen 19,500, logins the whole day.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from gateway import wiring
from gateway.auth_context import LOGIN_WAIT_MESSAGE
from gateway.budgets.day import DayPlan
from gateway.clock import SYSTEM_CLOCK
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from local.idp import DevIdentityProvider
from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event
from tests.fakes import FakeClock
from tests.integration.proxy.conftest import CUSTOMERS

pytestmark = pytest.mark.integration

PER_DAY = 20_000


class Day:
    def __init__(self, settings: RuntimeSettings, clock: FakeClock, plan: DayPlan) -> None:
        self.settings, self.clock, self.plan = settings, clock, plan

    def spent(self, used: int) -> None:
        """The fleet's count of the day, as every container would next read it."""
        day, _ = self.plan.day_of(self.clock.now())
        boto3.client("dynamodb").put_item(
            TableName=self.settings.table_name,
            Item={"pk": {"S": f"budget#day#{day}"}, "used": {"N": str(used)}},
        )
        wiring.use_clock(self.clock)  # new containers: nothing held from before

    def cap(self, priority: str) -> int:
        return self.plan.cap(priority, self.clock.now())


@pytest.fixture
def noon(gateway_env: RuntimeSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Day]:
    now = math.floor(time.time())
    start = (now - 12 * 3600) % 86_400
    monkeypatch.setenv("BUDGET_PER_DAY", str(PER_DAY))
    monkeypatch.setenv("BUDGET_DAY_START_S", str(start))
    # bill_forecast fresh for a minute, so that the test sees it stale
    monkeypatch.setenv("CACHE_ENABLED", "true")
    monkeypatch.setenv("CACHE_FRESH_S", json.dumps({"bill_forecast": 60}))
    clock = FakeClock(start=float(now))
    wiring.use_clock(clock)
    try:
        yield Day(gateway_env, clock, DayPlan(per_day=PER_DAY, day_start_s=start))
    finally:
        wiring.use_clock(SYSTEM_CLOCK)


@pytest.fixture
def sign_in(idp: DevIdentityProvider) -> Callable[[str], dict[str, Any]]:
    def decide(customer: str) -> dict[str, Any]:
        token = idp.mint(customer, CUSTOMERS[customer][0], lifetime_s=3600)
        return authorizer_handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]

    return decide


def get(decision: dict[str, Any], path: str) -> dict[str, Any]:
    event = proxy_event("GET", path, authorizer=api_gateway_context(decision))
    return proxy_handler(event, LambdaContext())  # type: ignore[arg-type]


def test_optional_screens_are_shed_first_and_told_the_next_allowance(
    noon: Day, sign_in: Callable[[str], dict[str, Any]]
) -> None:
    noon.spent(0)
    customer = sign_in("UC-0001")
    kept = get(customer, "/v1/me/bill-forecast")
    account = json.loads(get(customer, "/v1/me/accounts")["body"])
    account_id = (account["response"] if isinstance(account["response"], dict)
                  else account["response"][0])["id"]  # fmt: skip
    noon.clock.advance(120)  # the forecast is stale now
    noon.spent(noon.cap("optional") + 200)  # past what optional screens may reach

    forecast = get(customer, "/v1/me/bill-forecast")
    usage = get(customer, "/v1/me/home-profile")
    bill = get(customer, f"/v1/me/accounts/{account_id}/bill-comparison")
    neighbors = get(customer, "/v1/me/neighbor-comparison")

    # The forecast held is served, marked, instead of nothing (cache_max_stale_s bounds it)
    assert forecast["statusCode"] == 200
    assert forecast["body"] == kept["body"]
    assert 'detail="budget-spent"' in forecast["headers"]["Cache-Status"]
    # Nothing held: 429, told when the day's plan lets optional screens through again
    # (it releases about 14 calls a minute here): minutes, not the hours to its end.
    assert neighbors["statusCode"] == 429
    wait = int(neighbors["headers"]["Retry-After"])
    assert 60 <= wait <= 3600
    # Standard calls and the bill screen still have their reserves.
    assert usage["statusCode"] == 200
    assert bill["statusCode"] == 200
    # And at the instant told (nothing else spent meanwhile), it is served again.
    noon.clock.advance(wait)
    assert get(customer, "/v1/me/neighbor-comparison")["statusCode"] == 200


def test_the_bill_screen_and_logins_keep_their_reserves_past_the_standard_calls(
    noon: Day, sign_in: Callable[[str], dict[str, Any]]
) -> None:
    noon.spent(noon.cap("bill") - 30)  # past standard calls, within the bill screen's

    customer = sign_in("UC-0002")  # a login: two lookups from the login reserve

    assert customer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert get(customer, "/v1/me/accounts")["statusCode"] == 200  # the bill screen
    refused = get(customer, "/v1/me/home-profile")  # standard: refused, told when
    assert refused["statusCode"] == 429
    assert int(refused["headers"]["Retry-After"]) <= 12 * 3600


def test_a_login_the_day_cannot_bind_is_told_when_not_invited_to_retry_in_5_s(
    noon: Day, sign_in: Callable[[str], dict[str, Any]]
) -> None:
    noon.spent(PER_DAY)  # the whole day: nothing left until the next one, 12 hours away

    decision = sign_in("UC-0003")
    answer = get(decision, "/v1/me/accounts")

    # An Allow that opens nothing (no customer in its context) ...
    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert "customerId" not in decision["context"]
    assert "accountIds" not in decision["context"]
    # ... so that the proxy can say when: the next quota day, 12 hours away, told as an
    # hour (an app asked back in hours gives up; asking again costs nothing).
    assert answer["statusCode"] == 503
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "budget_spent"
    assert body["error"]["message"] == LOGIN_WAIT_MESSAGE
    assert int(answer["headers"]["Retry-After"]) == 3600
