"""Each customer's share of the Opower budget: limits, the bound over many containers,
and what it costs in DynamoDB calls (fakes; `make bench` measures it against moto)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest

from gateway.budgets.customer import CustomerBudget, CustomerLimits
from gateway.errors import BudgetStoreError
from tests.fakes import FakeClock, RecordingMetrics

LIMITS = CustomerLimits(per_minute=60, per_day=500, share_every=6)


class SharedCounts:
    """The DynamoDbCustomerStore's contract: (day, minute) totals after adding."""

    def __init__(self) -> None:
        self.day: Counter[tuple[str, str]] = Counter()
        self.minute: dict[str, tuple[int, int]] = {}
        self.calls = 0
        self.down = False
        self._lock = threading.Lock()

    def add(
        self, customer: str, *, day: str, minute: int, calls: int, expires_at: float
    ) -> tuple[int, int]:
        with self._lock:
            self.calls += 1
            if self.down:
                raise BudgetStoreError("down")
            self.day[customer, day] += calls
            seen_minute, count = self.minute.get(customer, (-1, 0))
            count = count + calls if seen_minute == minute else calls
            self.minute[customer] = (minute, count)
            return self.day[customer, day], count


def inline(share: Callable[[], None]) -> None:
    """Shares at once, in the caller's thread: the counting, without the timing."""
    share()


def containers(n: int, store: SharedCounts, clock: FakeClock) -> list[CustomerBudget]:
    return [CustomerBudget(store, limits=LIMITS, clock=clock, background=inline) for _ in range(n)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_800_000_000.0)  # the start of a minute


def test_a_customer_well_under_the_limits_costs_one_dynamodb_call_per_few_requests(
    clock: FakeClock,
) -> None:
    store = SharedCounts()
    (budget,) = containers(1, store, clock)

    allowed = [budget.acquire("c").allowed for _ in range(12)]  # a busy visit

    assert all(allowed)
    assert store.calls == 2  # one share per share_every calls, none per request


def test_one_customer_is_stopped_at_the_minute_limit_and_others_are_not(
    clock: FakeClock,
) -> None:
    store = SharedCounts()
    (budget,) = containers(1, store, clock)

    results = [budget.acquire("greedy") for _ in range(80)]
    other = budget.acquire("polite")

    assert sum(r.allowed for r in results) == LIMITS.per_minute
    refused = [r for r in results if not r.allowed]
    assert {r.reason for r in refused} == {"customer_minute"}
    assert all(1 <= r.retry_after_s <= 60 for r in refused)
    assert other.allowed
    clock.advance(60)
    assert budget.acquire("greedy").allowed  # a new minute


def test_the_day_limit(clock: FakeClock) -> None:
    store = SharedCounts()
    (budget,) = containers(1, store, clock)
    allowed = 0
    for _ in range(12):  # 12 minutes of 50 calls: 600 asked, 500 a day
        allowed += sum(budget.acquire("c").allowed for _ in range(50))
        clock.advance(60)

    assert allowed == LIMITS.per_day
    refused = budget.acquire("c")
    assert refused.reason == "customer_day"
    assert refused.retry_after_s > 60


@pytest.mark.parametrize("count", [5, 20])
def test_spread_over_many_containers_a_customer_gets_at_most_the_documented_bound(
    clock: FakeClock, count: int
) -> None:
    store = SharedCounts()
    fleet = containers(count, store, clock)

    allowed = sum(fleet[i % count].acquire("c").allowed for i in range(600))

    # per_minute + containers x (share_every - 1): the module's documented bound
    assert LIMITS.per_minute <= allowed <= LIMITS.per_minute + count * (LIMITS.share_every - 1)


def test_concurrent_calls_never_count_twice(clock: FakeClock) -> None:
    store = SharedCounts()
    (budget,) = containers(1, store, clock)
    barrier = threading.Barrier(8)

    def burst() -> None:
        barrier.wait()
        for _ in range(5):
            budget.acquire("c")

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 40 calls made: shared all but the few a container holds back, and never twice
    shared = sum(store.day.values())
    assert 40 - LIMITS.share_every < shared <= 40


def test_dynamodb_failing_does_not_punish_the_customer(clock: FakeClock) -> None:
    store = SharedCounts()
    store.down = True
    metrics = RecordingMetrics()
    budget = CustomerBudget(store, limits=LIMITS, clock=clock, metrics=metrics, background=inline)

    assert all(budget.acquire("c").allowed for _ in range(30))
    assert metrics.counts["CustomerLimited"] == 0


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        CustomerLimits(per_minute=0)


class BlockingCounts(SharedCounts):
    """A DynamoDB that answers only when told to."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()
        self.started = threading.Event()

    def add(
        self, customer: str, *, day: str, minute: int, calls: int, expires_at: float
    ) -> tuple[int, int]:
        self.started.set()
        assert self.answer.wait(10)
        return super().add(customer, day=day, minute=minute, calls=calls, expires_at=expires_at)


def test_a_share_far_from_the_limits_runs_beside_the_request(clock: FakeClock) -> None:
    store = BlockingCounts()
    budget = CustomerBudget(store, limits=LIMITS, clock=clock)  # its own share thread

    verdicts = [budget.acquire("c") for _ in range(LIMITS.share_every)]

    # the sixth call shared its count, and was admitted before DynamoDB answered
    assert all(v.allowed for v in verdicts)
    assert store.started.wait(5)
    assert store.calls == 0
    store.answer.set()
    for _ in range(500):  # the share completes once DynamoDB answers
        if store.calls:
            break
        threading.Event().wait(0.01)
    assert store.calls == 1
    assert store.day[("c", next(iter(store.day))[1])] == LIMITS.share_every


def test_fleet_totals_from_a_share_beside_refuse_the_next_calls(clock: FakeClock) -> None:
    store = SharedCounts()
    store.minute["c"] = (int(clock.now() // 60), LIMITS.per_minute)  # others spent it
    shares: list[Callable[[], None]] = []
    budget = CustomerBudget(store, limits=LIMITS, clock=clock, background=shares.append)

    assert all(budget.acquire("c").allowed for _ in range(LIMITS.share_every))
    (share,) = shares
    share()  # DynamoDB answers: the fleet is past the minute's limit

    refused = budget.acquire("c")
    assert not refused.allowed
    assert refused.reason == "customer_minute"
