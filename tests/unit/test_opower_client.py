"""The Opower client's order of work: budget permit, then the token it sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from gateway.errors import BudgetExceededError
from gateway.opower_client import OpowerClient
from gateway.token.values import Token
from tests.fakes import FakeClock


def _token(name: str, expires_at: float) -> Token:
    return Token(name, f"fp-{name}", expires_at, 3600.0, "k")


class ExpiringBroker:
    """Hands out the first token until it expires, then the second."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.first = _token("first", clock.now() + 2)
        self.second = _token("second", clock.now() + 3600)

    def get_token(self, *, deadline: float | None = None) -> Token:
        return self.first if self.clock.now() < self.first.expires_at else self.second

    def invalidate(self, token: Token) -> None:
        return None


@dataclass
class Verdict:
    allowed: bool = True
    retry_after_s: int = 1
    reason: str = ""


class StallingBudget:
    """A permit that took 5 s (DynamoDB slow): the token taken before it has expired."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def acquire(self, priority: str = "standard") -> Verdict:
        self.clock.advance(5)
        return Verdict()

    def refused(self, priority: str = "standard") -> None:
        return None


class RecordingPool:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.sent.append(kwargs["headers"]["Authorization"])

        class Response:
            status = 200
            headers: dict[str, str] = {}  # noqa: RUF012 - a fake's constant

            def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
                return b"[]"

            def release_conn(self) -> None:
                return None

        return Response()


def test_the_token_is_taken_after_the_permit_so_a_stall_never_sends_an_expired_one() -> None:
    clock = FakeClock()
    pool = RecordingPool()
    client = OpowerClient(
        "https://opower.test",
        ExpiringBroker(clock),  # type: ignore[arg-type]
        clock=clock,
        pool=pool,  # type: ignore[arg-type]
        budget=StallingBudget(clock),
    )

    answer = client.request("GET", "/apis/x", deadline=clock.now() + 20)

    assert answer.status == 200
    assert pool.sent == ["Bearer second"]


class ClosedDay:
    """A day whose plan refuses optional screens for the next 600 s."""

    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self, priority: str = "standard") -> Verdict:
        self.acquired += 1
        return Verdict()

    def refused(self, priority: str = "standard") -> Verdict | None:
        return Verdict(False, 600, "per_day") if priority == "optional" else None


class CountingCustomers:
    def __init__(self) -> None:
        self.counted: list[str] = []

    def acquire(self, customer: str) -> Verdict:
        self.counted.append(customer)
        return Verdict()


def test_a_call_the_days_plan_refuses_spends_nothing_not_even_the_customers_share() -> None:
    """The day's plan refuses an optional screen before the customer's own share is counted
    (a DynamoDB write every few calls), the token asked or a permit taken: a refused call
    costs no write (issue #38)."""
    clock = FakeClock()
    pool, budget, customers = RecordingPool(), ClosedDay(), CountingCustomers()
    client = OpowerClient(
        "https://opower.test",
        ExpiringBroker(clock),  # type: ignore[arg-type]
        clock=clock,
        pool=pool,  # type: ignore[arg-type]
        budget=budget,
        customers=customers,
    )

    with pytest.raises(BudgetExceededError) as refused:
        client.request("GET", "/apis/x", deadline=clock.now() + 20, customer_key="c",
                       priority="optional")  # fmt: skip
    answered = client.request("GET", "/apis/x", deadline=clock.now() + 20, customer_key="c")

    assert refused.value.retry_after_s == 600
    assert (customers.counted, budget.acquired, pool.sent) == (["c"], 1, ["Bearer first"])
    assert answered.status == 200
