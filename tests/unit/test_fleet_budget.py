"""The fleet budget's rules, with an in-memory store that keeps DynamoDB's semantics."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gateway.budgets.utility import Budget, BudgetSettings, DayGrant
from gateway.errors import BudgetStoreError
from tests.fakes import FakeClock, RecordingMetrics


@dataclass
class MemoryBudgetStore:
    leases: dict[str, tuple[float, float]] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)
    seconds: dict[int, int] = field(default_factory=dict)
    service: dict[str, int] = field(default_factory=dict)
    kinds: dict[tuple[str, str], int] = field(default_factory=dict)
    calls: int = 0
    writes: int = 0
    down: bool = False

    def _call(self) -> None:
        self.calls += 1
        if self.down:
            raise BudgetStoreError("down")

    def lease_rate(
        self, owner: str, want: float, *, now: float, until: float, limit: float
    ) -> float:
        self._call()
        others = sum(r for o, (r, u) in self.leases.items() if o != owner and u > now)
        granted = max(0.0, min(want, limit - others))
        self.leases[owner] = (granted, until)
        return granted

    def leased_total(self, *, now: float) -> float:
        self._call()
        return sum(r for r, u in self.leases.values() if u > now)

    def count_second(self, second: int, *, cap: int, expires_at: float) -> bool:
        self._call()
        if self.seconds.get(second, 0) >= cap:
            return False
        self.seconds[second] = self.seconds.get(second, 0) + 1
        return True

    def reserve_day(
        self,
        day: str,
        amount: int,
        *,
        limit: int,
        expires_at: float,
        service: bool = False,
        service_limit: int | None = None,
        kind: str = "",
    ) -> DayGrant:
        self._call()
        self.writes += 1
        used, svc = self.days.get(day, 0), self.service.get(day, 0)
        room = limit - used
        if service_limit is not None:
            room = min(room, service_limit - svc)
        granted = max(0, min(amount, room))
        self.days[day] = used + granted
        if service:
            self.service[day] = svc + granted
        if kind:
            self.kinds[day, kind] = self.kinds.get((day, kind), 0) + granted
        return self.read_day(day, counted=False)._replace(granted=granted)

    def read_day(self, day: str, *, counted: bool = True) -> DayGrant:
        if counted:
            self._call()
        spent = {k: n for (d, k), n in self.kinds.items() if d == day}
        return DayGrant(0, self.days.get(day, 0), self.service.get(day, 0), spent)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_800_000_000.0)


def budget(
    store: MemoryBudgetStore, clock: FakeClock, owner: str = "a", **settings: float
) -> Budget:
    return Budget(
        store,
        owner=owner,
        clock=clock,
        settings=BudgetSettings(**settings),  # type: ignore[arg-type]
        metrics=RecordingMetrics(),
    )


def run_second(b: Budget, clock: FakeClock, requests: int) -> int:
    """Spread requests over one wall-clock second; how many were allowed."""
    start = int(clock.now()) + 1
    allowed = 0
    for i in range(requests):
        clock.t = start + i / requests
        allowed += b.acquire().allowed
    return allowed


def test_the_fleet_never_exceeds_the_per_second_limit(clock: FakeClock) -> None:
    store = MemoryBudgetStore()
    fleet = [budget(store, clock, owner=str(n), per_second=19) for n in range(4)]

    for _ in range(30):  # 30 seconds of heavy demand on every container
        second = int(clock.now()) + 1
        allowed = 0
        for i in range(200):
            clock.t = second + i / 200
            allowed += fleet[i % 4].acquire().allowed
        assert allowed <= 19

    assert allowed >= 15  # and the budget is actually used


def test_a_request_of_a_busy_container_does_not_pay_a_round_trip_on_average(
    clock: FakeClock,
) -> None:
    store = MemoryBudgetStore()
    b = budget(store, clock, per_second=19)

    total = sum(run_second(b, clock, 10) for _ in range(60))

    assert total == 600
    # Lease renewals every few seconds, day slices, and the first second's shared counts.
    assert store.calls / total < 0.1


def test_over_budget_is_refused_with_retry_after(clock: FakeClock) -> None:
    store = MemoryBudgetStore()
    b = budget(store, clock, per_second=3)
    clock.t = 1_800_000_100.0

    verdicts = [b.acquire() for _ in range(10)]

    assert sum(v.allowed for v in verdicts) == 3
    refused = [v for v in verdicts if not v.allowed]
    assert all(v.retry_after_s == 1 and v.reason == "per_second" for v in refused)


def test_the_daily_budget_is_shared_and_ends_until_the_next_day(clock: FakeClock) -> None:
    store = MemoryBudgetStore()
    a = budget(store, clock, owner="a", per_second=100, per_day=25)
    b = budget(store, clock, owner="b", per_second=100, per_day=25)

    allowed = 0
    for n in range(60):  # logins: no reserve above them, not paced
        clock.t = 1_800_000_000.0 + n * 0.5  # 08:00 UTC
        allowed += (a if n % 2 else b).acquire("login").allowed
    clock.t += 1
    last = a.acquire("login")

    assert allowed == 25
    assert not last.allowed
    assert last.reason == "per_day"
    # The whole day is spent: the next allowance is the next day, 16 hours away; an app
    # is told an hour at most (asking again costs the quota nothing), a batch job the
    # real wait.
    assert last.retry_after_s == 3600
    service = budget(store, clock, owner="svc", per_second=100, per_day=25, service=True,
                     service_share=5)  # fmt: skip
    assert service.acquire().retry_after_s == pytest.approx(16 * 3600 - 31, abs=2)


NOON = 1_800_014_400.0  # 12:00 UTC: half the quota day has passed


def test_optional_screens_are_shed_first_then_standard_then_the_bill_screen(
    clock: FakeClock,
) -> None:
    """At noon of a day of 1,000: optional calls stop at their reach (700: the reserves
    above them held) paced two hours ahead (700 x 14/24), plus the half of the reserves
    released (150): 558; standard ones at 800 x 16/24 + 100 = 633; the bill screen at the
    day less half the login reserve (975); logins at the day."""
    store = MemoryBudgetStore()
    b = budget(store, clock, per_second=10_000, per_day=1000)
    clock.t = NOON

    served = {}
    for priority in ("optional", "standard", "bill", "login"):
        served[priority] = 0
        while b.acquire(priority).allowed:
            served[priority] += 1
            clock.t += 0.0001

    assert served == {"optional": 558, "standard": 633 - 558, "bill": 975 - 633, "login": 25}
    assert store.days[DAY] == 1000


DAY = "2027-01-15"  # NOON's quota day


def test_pacing_keeps_the_morning_from_spending_the_evening(clock: FakeClock) -> None:
    store = MemoryBudgetStore()
    b = budget(store, clock, per_second=10_000, per_day=24_000)
    clock.t = NOON - 6 * 3600  # 06:00 UTC: a quarter of the day

    morning = 0
    while b.acquire("standard").allowed:
        morning += 1
        clock.t += 0.0001
    refused = b.acquire("standard")

    # 06:00 plus four hours ahead: 10/24 of the 19,200 standard calls may reach, and a
    # quarter of the reserves above them; the rest waits for the evening.
    assert morning == 8000 + 1200
    # Retry-After is the next allowance: the day releases 1,000 calls an hour, and the
    # container asks for its next slice (10 to 24 calls: ten seconds of its demand, a
    # thousandth of the day at most): under two minutes, not the 18 hours to the day's end.
    assert refused.reason == "per_day"
    assert 30 <= refused.retry_after_s <= 120
    clock.t += refused.retry_after_s
    assert b.acquire("standard").allowed


def test_a_refused_call_costs_no_write_and_at_most_a_read(clock: FakeClock) -> None:
    store = MemoryBudgetStore()
    b = budget(store, clock, per_second=10_000, per_day=1000)
    clock.t = NOON
    while b.acquire("optional").allowed:
        clock.t += 0.0001
    calls, writes = store.calls, store.writes

    refusals = 0
    for _ in range(5000):  # five seconds of refused optional calls
        clock.t += 0.001
        refusals += not b.acquire("optional").allowed

    assert refusals == 5000
    assert store.writes == writes  # nothing reserved, nothing written
    assert store.calls - calls <= 5  # a lease renewal or a shared second at most


def test_the_service_apis_unused_share_is_lent_to_customers_and_its_future_kept(
    clock: FakeClock,
) -> None:
    store = MemoryBudgetStore()
    customers = budget(store, clock, per_second=10_000, per_day=1000, service_share=200)
    service = budget(
        store, clock, owner="svc", per_second=10_000, per_day=1000, service_share=200,
        service=True,
    )  # fmt: skip
    clock.t = NOON  # the service has made no call all morning

    logins = 0
    while customers.acquire("login").allowed:
        logins += 1
        clock.t += 0.0001
    # Customers get the morning's unused half of the service's share: 1000 - 200 x 0.5.
    assert logins == 900
    # The service still has the rest of the day's share, and never more.
    jobs = 0
    while service.acquire().allowed:
        jobs += 1
        clock.t += 0.0001
    assert jobs == 100
    assert store.service[DAY] == 100


def test_the_quota_days_boundary_is_a_setting(clock: FakeClock) -> None:
    store = MemoryBudgetStore()
    pacific = budget(store, clock, per_second=10_000, per_day=10, day_start_s=8 * 3600)
    clock.t = NOON - 4 * 3600 - 1  # 07:59:59 UTC: the last second of the Pacific day

    spent = sum(pacific.acquire("login").allowed for _ in range(20))
    clock.t += 2  # 08:00:01 UTC: a new day
    again = pacific.acquire("login")

    assert spent == 10
    assert again.allowed


def test_an_idle_containers_lease_expires_and_frees_the_budget(clock: FakeClock) -> None:
    store = MemoryBudgetStore()
    greedy = budget(store, clock, owner="greedy", per_second=10)
    run_second(greedy, clock, 50)  # it grows its lease to the whole budget
    clock.advance(11)  # and goes idle past its lease

    other = budget(store, clock, owner="other", per_second=10)

    assert run_second(other, clock, 5) == 5


def test_dynamodb_down_limits_locally_to_a_quarter_with_a_metric(clock: FakeClock) -> None:
    store = MemoryBudgetStore(down=True)
    metrics = RecordingMetrics()
    b = Budget(
        store, owner="a", clock=clock, settings=BudgetSettings(per_second=20), metrics=metrics
    )

    allowed = run_second(b, clock, 20)

    assert allowed == 5
    assert metrics.counts["BudgetStoreDegraded"] >= 1


@pytest.mark.parametrize("values", [{"per_second": 0}, {"per_day": 0}, {"lease_s": 1}])
def test_settings_are_validated(values: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="budget"):
        BudgetSettings(**values)  # type: ignore[arg-type]


def test_many_quiet_containers_share_the_budget_without_starving() -> None:
    """30 warm containers, 10 calls a second in all, random arrivals: (almost) nobody is
    refused, and no wall-clock second exceeds the limit. (Random arrivals put more than
    the limit into a second now and then: those few calls wait for the next second.)"""
    import random

    clock = FakeClock(start=1_800_000_000.0)
    store = MemoryBudgetStore()
    fleet = [budget(store, clock, owner=f"c{n}", per_second=19) for n in range(30)]
    rng = random.Random(3)
    refused = 0
    per_second: dict[int, int] = {}
    t = clock.t
    for _ in range(600):  # about a minute at 10 calls a second
        t += rng.expovariate(10)
        clock.t = t
        verdict = rng.choice(fleet).acquire()
        refused += not verdict.allowed
        per_second[int(t)] = per_second.get(int(t), 0) + verdict.allowed

    assert refused <= 6  # at most 1 % of 600; a lease per container refused 14-50 % here
    assert max(per_second.values()) <= 19


def test_a_busy_container_pays_no_round_trip_per_call_quiet_ones_may() -> None:
    clock = FakeClock(start=1_800_000_000.0)
    store = MemoryBudgetStore()
    busy = budget(store, clock, owner="busy", per_second=19)

    total = sum(run_second(busy, clock, 10) for _ in range(60))

    assert total == 600
    assert store.calls / total < 0.1
