"""Capacity across a month and on its worst day: customers within Opower's quota, with the
response cache off, as it was before issue #38 ("before") and as it is now ("new"), side
by side.

Thirty days of a utility's customers, simulated against the gateway's own code in
process as bench/capacity.py simulates a day (its ``gateway``: the authorizer and proxy
of several warm containers, the sandbox as Opower, DynamoDB on moto server), on one
simulated clock that the gateway and the sandbox both read: bills post and meter
intervals end as the month goes by, answers age, bindings are looked up again. The month
ends just before the real present (the 1st of a month falls inside it, and a bill posts
then); a warm-up week before it, run but not counted, starts the month with what a running
gateway holds. Session tokens are signed at the simulated time.

Where the visits come from (``MonthWorkload``, every parameter printed with the results;
the shares are assumptions, chosen as a utility's customer app is used):

* **bill-driven**: a bill-ready notice (an e-mail or a push message, as most utilities
  send one to paperless customers) brings ``bill_look_p`` of the customers to the app
  within days of their bill posting, exponentially fewer each day after (mean
  ``bill_look_days``). The sandbox bills in read cycles (``MonthWorkload.billing``, issue
  #38): each customer's bill posts on their cycle's day (00:00 UTC, when Get Bill
  Comparison's default asOf moves), 20 cycles over the month's working days, as a
  utility's do; ``billing="calendar"`` puts every bill on the 1st, the stress case;
* **weekly**: ``weekly_p`` of the customers are engaged ones who look every week, on a day
  of their own (weekly usage e-mails and high-bill alerts bring them);
* **other**: ``other_visits`` more visits a month per customer on any day (Poisson);
* **new**: ``new_p`` of the customers arrive during the month: their first visit ever,
  nothing held for them before it;
* a visit is followed by another the same day, 1 to 6 hours later, with ``return_p``; the
  time of day follows capacity.HOURLY;
* and a probe, not a pattern: ``bill_watchers`` customers look 30 minutes before the bill
  posts on the 1st, 20 minutes after and 90 minutes after, so that a bill kept from
  before is served after the new one posted, and how late it shows is measured.

A visit's screens are bench/capacity.py's (home: accounts, the bill comparison, the bill
forecast; the usage tab: daily usage of the last 30 whole days; the home screen again;
neighbors; the threshold screen), and with ``previous_month_p`` last month's daily usage
(a window already settled, or about to be) and with ``raw_day_p`` the meter's intervals of
one day 3 to 7 days back (96 quarter hours): what assembling usage from cached days is for.

Measured per mode: Opower calls (the proxy's and the authorizer's, counted as the
gateway reports them), per active customer (one who visits during the month); customers a
month within 30 x 99,000 calls; the busiest day and its busiest second (calls counted per
simulated second, scaled to that population: see ``_peak``) against 19/s of Opower's 20;
the hit ratio by screen (each answer's Cache-Status, RFC 9211); DynamoDB request units
per million customer requests and their cost (every DynamoDB call's own items, sized as
DynamoDB meters them); the memory tier's peak bytes per container.

Checked, for every answer served from the cache: staleness. What Opower would have
answered to the same upstream request at that instant is asked of the sandbox's data
directly (``Opower``: not through the gateway, not counted); when it differs, the instant
the served answer stopped being Opower's is found (the sandbox is a pure function of the
request and the time for these routes) and the answer's staleness compared with its
route's stated bound (its lifetime; for the latest bill comparison in the new mode,
``cache_new_bill_s``, the time within which a new bill is visible). Every answer the
gateway assembled from cached days is compared byte for byte with Opower's.

The floor is what the new mode could not have saved: the binding's lookups and every call
whose answer was new to that customer on that screen (the day's forecast, the usage of
days not yet held, a new bill, a first ask); its ratio to the calls without the cache
bounds the gain. The rest, answers the customer had already been given, is what a longer
lifetime could still save. The binding's trust is costed from the visit plan alone: the
lookups a trust of 1, 7 or 30 days makes (two Opower calls each).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import math
import multiprocessing
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from bench.capacity import (
    DAILY_BUDGET,
    DAY_S,
    HOURLY,
    OFF,
    PER_SECOND_BUDGET,
    Container,
    Request,
    Workload,
    gateway,
    quiet,
    visit_requests,
)
from bench.cost import PRICES
from bench.environment import SimulatedClock
from local.sandbox.data import TIMEZONE
from local.sandbox.restatements import Restatements

DAYS = 30
MONTH_BUDGET = DAYS * DAILY_BUDGET
# The visit plan reaches this far before the month: the binding's trust is costed over it
# (a customer's last visit before the month decides whether their first one looks up).
HISTORY_DAYS = 60
TRUST_DAYS = (1, 7, 30)
# Where the sandbox's customers live: their days and months.
ZONE = ZoneInfo(TIMEZONE)
# The cache as it was before issue #38, as far as settings and the route table can say:
# the latest neighbor comparison kept its 12 hours, not to its period's end (``_before``).
# (#38's other move, the bill comparison no longer asking Get Bill Period, is code that is
# gone: measured at its commit, 3ae8cad, docs/cache.md.)
BEFORE: dict[str, str] = {}
MODES: dict[str, dict[str, str]] = {"off": OFF, "before": BEFORE, "new": {}}
# Routes whose answers only time changes (no customer writes them): checked for staleness.
READ_ONLY = frozenset({"accounts", "bill_comparison", "bill_forecast", "usage",
                       "neighbor_comparison"})  # fmt: skip
TARGETS = {"typical": 4.0, "engaged": 6.0}
# The days of a month bill-driven visits crowd in calendar billing: every bill on the 1st
# (UTC), and most of its customers look within 4 days.
BILL_DAYS = 4
TARGETS_WORST_DAY = {"typical": 2.5, "engaged": 3.5}
# Opower's tokens live an hour: the fleet asks for one about every hour (not a call of the
# quota, and not what is measured here). Refreshed every simulated hour, they would take
# a quarter of the run: here they live the whole simulation.
TOKEN_LIFETIME_S = 60 * DAY_S


@dataclass(frozen=True)
class MonthWorkload:
    """Who visits when, and what a visit shows (the module's docstring says where each
    share comes from); ``customers`` sized so that a profile's three modes take about ten
    minutes on two cores."""

    customers: int = 260
    bill_look_p: float = 0.6
    bill_look_days: float = 2.0
    weekly_p: float = 0.1
    other_visits: float = 0.8
    new_p: float = 0.04
    return_p: float = 0.2
    usage_p: float = 0.6
    home_again_p: float = 0.5
    neighbors_p: float = 0.3
    threshold_p: float = 0.05
    previous_month_p: float = 0.2
    raw_day_p: float = 0.15
    bill_watchers: int = 2
    warmup_days: int = 7
    seed: int = 29
    billing: str = "cycles"  # the sandbox's (SandboxConfig.billing)

    @property
    def screens(self) -> Workload:
        """A visit's screens, as bench/capacity.py draws them."""
        return Workload(
            usage_p=self.usage_p,
            home_again_p=self.home_again_p,
            neighbors_p=self.neighbors_p,
            threshold_p=self.threshold_p,
        )


# "typical": most customers come when their bill posts, a few every week; "engaged": most
# come every week as well, come back the same day more, and every return to the home
# screen refetches it (as capacity.PROFILES' engaged customers).
PROFILES = {
    "typical": MonthWorkload(),
    "engaged": MonthWorkload(
        customers=85,
        bill_look_p=0.9,
        weekly_p=0.6,
        other_visits=2.0,
        return_p=0.5,
        usage_p=0.8,
        home_again_p=1.0,
        neighbors_p=0.4,
        previous_month_p=0.4,
        raw_day_p=0.3,
    ),
}


@dataclass
class Screen(Request):
    """A request of the plan, with the screen it shows (the rows of the hit ratios)."""

    screen: str = ""


@dataclass
class Plan:
    start: float  # the month's first instant; the warm-up runs before it
    end: float
    requests: list[Screen]  # warm-up and month, in time order
    visits: dict[int, list[float]]  # every customer's visits, HISTORY_DAYS before the month on
    arrivals: dict[int, float]  # new customers: their first visit ever
    last_of_visit: dict[int, int] = field(default_factory=dict)  # visit -> its last request

    def active(self) -> set[int]:
        """Customers who visit during the month."""
        return {c for c, times in self.visits.items() if any(t >= self.start for t in times)}


def month_plan(w: MonthWorkload, end: float) -> Plan:
    """Every visit of the month (and of the history before it), and the requests of the
    warm-up and the month, in time order."""
    start = end - DAYS * DAY_S
    first_day = _midnight(start - HISTORY_DAYS * DAY_S)
    warm = start - w.warmup_days * DAY_S
    times_rng, screens_rng = random.Random(w.seed), random.Random(w.seed + 1)
    visits, arrivals, requests = {}, {}, []
    visit_id = 0
    for customer in range(w.customers):
        watcher = customer < w.bill_watchers
        bill_day = bill_day_of(customer, w.billing)
        times, arrival = _visit_times(
            times_rng, w, first_day, start, end, watcher=watcher, bill_day=bill_day
        )
        visits[customer] = times
        if arrival is not None:
            arrivals[customer] = arrival
        for at in (t for t in times if t >= warm):
            visit_id += 1
            requests += _screens(screens_rng, w, customer, visit_id, at)
    requests.sort(key=lambda r: r.at)
    plan = Plan(start, end, requests, visits, arrivals)
    plan.last_of_visit = {r.visit: i for i, r in enumerate(requests)}
    return plan


def _visit_times(
    rng: random.Random,
    w: MonthWorkload,
    first_day: float,
    start: float,
    end: float,
    *,
    watcher: bool,
    bill_day: int = 1,
) -> tuple[list[float], float | None]:
    days = math.ceil((end - first_day) / DAY_S)
    times = []
    posting = _posting(first_day - 15 * DAY_S, bill_day)
    while posting < end:
        if rng.random() < w.bill_look_p:
            late = min(int(rng.expovariate(1 / w.bill_look_days)), 13)
            times.append(_at_hour(rng, posting + late * DAY_S))
        posting = _posting(posting + 32 * DAY_S, bill_day)
    if rng.random() < w.weekly_p:
        day = first_day + rng.randrange(7) * DAY_S
        while day < end:
            times.append(_at_hour(rng, day))
            day += 7 * DAY_S
    for _ in range(_poisson(rng, w.other_visits * days / DAYS)):
        times.append(_at_hour(rng, first_day + rng.randrange(days) * DAY_S))
    times += [t + rng.uniform(3600, 6 * 3600) for t in list(times) if rng.random() < w.return_p]
    if watcher:
        # The probe of a new bill's visibility: around each bill posted in the month.
        posted = _posting(end, bill_day)
        if posted >= end:
            posted = _posting(posted - 20 * DAY_S, bill_day)
        if posted > start:
            times += [posted - 1800, posted + 1200, posted + 5400]
    arrival = None
    if rng.random() < w.new_p:
        arrival = start + rng.uniform(0, end - start - DAY_S)
        times = [t for t in times if t > arrival] + [arrival]
    return sorted(t for t in times if first_day <= t < end - 600), arrival


def _screens(
    rng: random.Random, w: MonthWorkload, customer: int, visit: int, at: float
) -> list[Screen]:
    """capacity's screens of a visit, then last month's usage and one day's intervals."""
    out = [Screen(**asdict(r), screen=_screen_of(r)) for r in
           visit_requests(rng, w.screens, customer, visit, at)]  # fmt: skip
    local = datetime.fromtimestamp(at, ZONE).date()
    extra: list[tuple[str, str, dict[str, list[str]]]] = []
    if rng.random() < w.previous_month_p:
        this_month = local.replace(day=1)
        last_month = (this_month - timedelta(days=1)).replace(day=1)
        window = {"start": [_local_midnight(last_month)], "end": [_local_midnight(this_month)]}
        extra.append(("usage/day last month", "/v1/me/usage/day/ELECTRICITY", window))
    if rng.random() < w.raw_day_p:
        first = datetime.fromisoformat(_local_midnight(local - timedelta(days=rng.randint(3, 7))))
        last = datetime.fromtimestamp(first.timestamp() + DAY_S, ZONE)  # 96 quarter hours
        window = {"start": [first.isoformat()], "end": [last.isoformat()]}
        extra.append(("usage/raw one day", "/v1/me/usage/raw/ELECTRICITY", window))
    t = out[-1].at
    for screen, path, query in extra:
        t += rng.uniform(5, 40)
        out.append(Screen(t, customer, visit, "GET", path, query, None, screen))
    return out


def _screen_of(request: Request) -> str:
    path = request.path
    for part, name in (("bill-comparison", "bill_comparison"), ("bill-forecast", "bill_forecast"),
                       ("usage/day", "usage/day last 30 days"),
                       ("neighbor-comparison", "neighbor_comparison"),
                       ("threshold", "threshold"), ("accounts", "accounts")):  # fmt: skip
        if part in path:
            return name if request.method == "GET" else f"{name} {request.method}"
    return path


def _midnight(t: float) -> float:
    """The UTC midnight that starts ``t``'s day (Unix time has no leap seconds)."""
    return t - t % DAY_S


def _posting(t: float, bill_day: int) -> float:
    """When the bill of ``t``'s month posts for a customer billed on ``bill_day``."""
    day = datetime.fromtimestamp(t, UTC).date()
    return datetime(day.year, day.month, bill_day, tzinfo=UTC).timestamp()


def bill_day_of(customer: int, billing: str) -> int:
    """The day of the month the bills of the population's customer ``customer`` post."""
    from local.sandbox.data import POPULATION_FIRST_ID, read_cycle_day

    return read_cycle_day(POPULATION_FIRST_ID + customer) if billing == "cycles" else 1


def _before() -> None:
    """The route table as it was before issue #38, in this (the mode's own) process: the
    latest neighbor comparison kept its route's lifetime, not to its period's end."""
    from gateway.routes import ROUTES_BY_NAME

    get = ROUTES_BY_NAME["neighbor_comparison"].operation("GET")
    assert get is not None
    assert get.cache is not None
    object.__setattr__(get.cache, "latest", "")  # a frozen dataclass: this process only


def _local_midnight(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE).isoformat()


def _at_hour(rng: random.Random, day: float) -> float:
    hour = rng.choices(range(24), weights=HOURLY)[0]
    return day + hour * 3600 + rng.uniform(0, 3600)


def _poisson(rng: random.Random, mean: float) -> int:
    threshold, k, p = math.exp(-mean), 0, rng.random()
    while p > threshold:
        k += 1
        p *= rng.random()
    return k


def binding_trust(plan: Plan) -> dict[str, float]:
    """Opower calls per active customer a month for the binding, if a binding were
    trusted (refreshed after) 1, 7 or 30 days: a lookup (two calls) at a visit when none is
    held or the one held is older; each visit is a new session."""
    active = plan.active()
    cost = {}
    for days in TRUST_DAYS:
        lookups = 0
        for customer in active:
            held = -math.inf
            for t in plan.visits[customer]:
                if t - held > days * DAY_S:
                    held = t
                    lookups += t >= plan.start
        cost[f"{days}d"] = round(2 * lookups / len(active), 2)
    return cost


class Opower:
    """What the sandbox answers to an upstream GET at an instant, asked of its data in
    process: another DataApi over the same customers with its own clock (the read-only
    routes are a function of the request and the time), not a call of the quota."""

    def __init__(
        self,
        population: int,
        utility_code: str,
        restatements: Restatements | None = None,
        *,
        billing: str = "calendar",
    ) -> None:
        from local.sandbox.api import DataApi
        from local.sandbox.data import DEFAULT, with_population, with_read_cycles
        from local.sandbox.store import MutableStore

        directory = with_population(DEFAULT, population)
        if billing == "cycles":  # billed as the sandbox bills (SandboxConfig.billing)
            directory = with_read_cycles(directory)
        self._at = 0.0
        self._api = DataApi(
            utility_code, MutableStore(directory), self._now, directory=directory,
            restatements=restatements,
        )  # fmt: skip

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._at, UTC)

    def answer(self, path: str, query: tuple[tuple[str, str], ...], at: float) -> str:
        from local.sandbox.api import classify
        from local.sandbox.errors import ApiError
        from local.sandbox.messages import Request as SandboxRequest

        self._at = at
        _, resource, params = classify(path.removeprefix("/apis/"))
        request = SandboxRequest("GET", path, {n: [v] for n, v in query}, {})
        try:
            answer = self._api.handle(resource, params, request)
        except ApiError as error:
            answer = error.to_response(nested=False)
        return f"{answer.status} {answer.body.decode()}"

    def stale_for(
        self, path: str, query: tuple[tuple[str, str], ...], served: str, t: float, age: float
    ) -> float:
        """How long before ``t`` the answer ``served`` (given by Opower ``age`` seconds
        before) stopped being Opower's: 0 while it still is; to the second."""
        if self.answer(path, query, t) == served:
            return 0.0
        good, bad = t - age, t
        if self.answer(path, query, good) != served:
            return age  # not Opower's answer even when it was kept
        while bad - good > 1:
            middle = (good + bad) / 2
            if self.answer(path, query, middle) == served:
                good = middle
            else:
                bad = middle
        return t - bad


class DynamoDbUnits:
    """DynamoDB's request units of every call the gateway makes, by what they are for
    ("cache": the cache table; "binding": binding items; "other": tokens, leases,
    budgets), from each call's own items as DynamoDB meters them: a read 4 KB (half
    for an eventually consistent one; at least one unit), a write 1 KB, a transaction's
    item twice."""

    def __init__(self, cache_table: str) -> None:
        self._cache_table = cache_table
        self.counting = False
        self.parts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    @contextlib.contextmanager
    def attached(self) -> Iterator[DynamoDbUnits]:
        """Counting every DynamoDB client's calls (the fleet's containers each have
        their own), while ``counting``."""
        from botocore.client import BaseClient

        original = getattr(BaseClient, "_make_api_call")  # noqa: B009 (not in its stubs)
        units = self

        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            answer = original(client, operation, params)
            if units.counting and client.meta.service_model.service_name == "dynamodb":
                units._count(operation, params, answer)
            return answer

        with mock.patch.object(BaseClient, "_make_api_call", counted):
            yield self

    def _count(self, operation: str, params: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        part = self._part(params)
        read = 1.0 if params.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            rru, wru = read * _units(_size(answer.get("Item", {})), 4096), 0.0
        elif operation == "Query":
            rru, wru = read * _units(sum(_size(i) for i in answer.get("Items", [])), 4096), 0.0
        elif operation == "PutItem":
            rru, wru = 0.0, _units(_size(params.get("Item", {})), 1024)
        elif operation in ("UpdateItem", "DeleteItem"):
            rru, wru = 0.0, 1.0  # small items: counters, markers
        elif operation == "TransactWriteItems":
            rru, wru = 0.0, 2.0 * len(params.get("TransactItems", []))
        elif operation == "TransactGetItems":
            rru, wru = 2.0 * len(params.get("TransactItems", [])), 0.0
        else:
            return
        counts = self.parts[part]
        counts["reads" if rru else "writes"] += 1
        counts["rru"] += rru
        counts["wru"] += wru

    def _part(self, params: Mapping[str, Any]) -> str:
        if params.get("TableName") == self._cache_table:
            return "cache"
        key = params.get("Key") or params.get("Item") or {}
        pk = key.get("pk", {}).get("S", "")
        if not pk:
            pk = params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "")
        return "binding" if pk.startswith("bind#") else "other"


def _units(size: int, unit: int) -> float:
    return float(max(1, math.ceil(size / unit)))


def _size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return len(str(raw).lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in raw)
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v).encode()) for v in raw)
    return 1  # BOOL, NULL


@dataclass
class _Screen:
    """What one screen's requests of the month did (one mode)."""

    requests: int = 0
    hits: int = 0
    assembled: int = 0
    calls: int = 0
    # At most one call per answer the customer had not been given before on this screen
    # (every call of a write): what no cache of the customer's answers can save.
    floor_calls: int = 0


@dataclass
class _Route:
    """Staleness of a read-only screen's answers served from the cache (one mode)."""

    bound_s: int = 0
    checked: int = 0
    differed: int = 0
    violations: int = 0
    oldest_age_s: int = 0
    most_stale_s: int = 0


class _Month:
    """One mode's run through the plan: sessions, requests, and what is counted of them."""

    def __init__(self, plan: Plan, world: Any, opower: Opower, seed: int) -> None:
        from gateway import wiring

        self.plan, self.world, self.opower = plan, world, opower
        self.settings = wiring.settings()
        self.rng = random.Random(seed)
        self.sessions: dict[int, dict[str, Any]] = {}
        self.seen: set[tuple[int, str, str]] = set()
        self.screens: dict[str, _Screen] = defaultdict(_Screen)
        self.routes: dict[str, _Route] = defaultdict(_Route)
        self.statuses: Counter[int] = Counter()
        self.per_second: Counter[int] = Counter()
        self.per_day: Counter[str] = Counter()
        self.memory_peak = [0] * len(world.fleet)
        self.binding_calls = self.requests = self.assembled = self.mismatches = 0
        self.mismatch_example = ""

    def run(self, units: DynamoDbUnits) -> None:
        for index, request in enumerate(self.plan.requests):
            self.world.clock.t = request.at
            units.counting = counted = request.at >= self.plan.start
            if request.visit not in self.sessions:
                self._authorize(request, counted)
            self._ask(request, counted)
            if self.plan.last_of_visit[request.visit] == index:
                del self.sessions[request.visit]

    def _count_calls(self, calls: int) -> None:
        t = self.world.clock.t
        self.per_second[int(t)] += calls
        self.per_day[_day(t)] += calls

    def _authorize(self, request: Screen, counted: bool) -> None:
        """A visit's session: signed at the simulated time, valid past the real present
        (PyJWT checks exp against the system's clock), authorized by any container."""
        from local.sandbox.data import population_customer

        t = self.world.clock.t
        customer_id, number = population_customer(request.customer)
        token = self.world.idp.mint(customer_id, [number], lifetime_s=time.time() - t + 3600, now=t)
        container = self.rng.choice(self.world.fleet)
        before = _calls(container, "auth")
        self.sessions[request.visit] = self.world.authorize(container, token)
        calls = _calls(container, "auth") - before
        if counted:
            self.binding_calls += calls
            self._count_calls(calls)

    def _ask(self, request: Screen, counted: bool) -> dict[str, Any]:
        slot = self.rng.randrange(len(self.world.fleet))
        container = self.world.fleet[slot]
        before = _calls(container, "proxy")
        answer: dict[str, Any] = self.world.ask(container, request, self.sessions[request.visit])
        calls = _calls(container, "proxy") - before
        if container.cache is not None:
            self.memory_peak[slot] = max(self.memory_peak[slot], container.cache.memory.bytes)
        body = answer["body"] or ""
        seen = (request.customer, request.screen, _digest(answer["statusCode"], body))
        new_answer = seen not in self.seen or request.method != "GET"
        self.seen.add(seen)
        if not counted:
            return answer
        self.requests += 1
        self.statuses[answer["statusCode"]] += 1
        self._count_calls(calls)
        status = _cache_status(answer["headers"].get("Cache-Status", ""))
        assembled = "assembled" in status.get("detail", "") or status.get("fwd") == "partial"
        from_cache = not assembled and (
            "hit" in status or (status.get("fwd") == "stale" and "detail" in status)
        )
        row = self.screens[request.screen]
        row.requests += 1
        row.calls += calls
        row.floor_calls += (calls if request.method != "GET" else min(calls, 1)) * new_answer
        row.hits += from_cache
        row.assembled += assembled
        if answer["statusCode"] == 200 and (from_cache or assembled):
            self._check(request, answer, assembled)
        return answer

    def _check(self, request: Screen, answer: Mapping[str, Any], assembled: bool) -> None:
        """An answer from the cache against Opower's at this instant."""
        from gateway.auth_context import binding_from_context
        from gateway.proxy.validation import build_upstream, match
        from tests.events import proxy_event

        t = self.world.clock.t
        session = self.sessions[request.visit]
        event = proxy_event("GET", request.path, authorizer=session, query=request.query)
        route, operation, params = match(event["resource"], event["pathParameters"], "GET")
        if route.name not in READ_ONLY:
            return
        upstream = build_upstream(
            route, operation, params, event["multiValueQueryStringParameters"], None, None,
            binding=binding_from_context(session, now=t),
            utility_code=self.settings.utility_code, now=datetime.fromtimestamp(t, UTC),
        )  # fmt: skip
        served = f"200 {answer['body']}"
        settled_s = int(self.settings.cache_settled_fresh_s)
        if assembled:
            self.assembled += 1
            if not self._assembled_within(upstream, served, t, settled_s):
                self.mismatches += 1
                self.mismatch_example = self.mismatch_example or f"{request.screen} {request.query}"
            return
        age = int(answer["headers"].get("Age", "0"))
        kind, bound = self._bound(route, params, upstream, answer["body"], t - age, t)
        stats = self.routes[f"{request.screen} ({kind})"]
        stats.bound_s = bound
        stats.checked += 1
        stats.oldest_age_s = max(stats.oldest_age_s, age)
        stale = self.opower.stale_for(upstream.path, upstream.query, served, t, age)
        if stale:
            stats.differed += 1
            stats.most_stale_s = max(stats.most_stale_s, int(stale))
            stats.violations += stale > stats.bound_s + 1

    def _bound(
        self, route: Any, params: Mapping[str, str], upstream: Any, body: str, given: float,
        t: float,
    ) -> tuple[str, int]:  # fmt: skip
        """The bound the docs state for this answer, and its kind: a settled answer's
        (cache_settled_fresh_s: a correction reaches the customer within it), the latest
        bill comparison's (a new bill within cache_new_bill_s; a rebill of the bill it
        shows within the settled bound), else the route's lifetime."""
        from gateway.proxy import latest, settled

        s = self.settings
        lifetime = int(s.cache_lifetime(route.cache_name(params)))
        if route.name in {"bill_comparison", "neighbor_comparison"} and latest.applies(
            upstream, enabled=s.cache_until_period_end
        ):
            now = self.opower.answer(upstream.path, upstream.query, t)
            shown = latest.latest_shown(route.name, body)
            if latest.latest_shown(route.name, now.partition(" ")[2]) == shown:
                return "rebill", max(lifetime, int(s.cache_settled_fresh_s))
            if route.name == "neighbor_comparison":  # a new period's: within its lifetime
                return "new period", lifetime
            return "new bill", int(s.cache_new_bill_s)
        kept = settled.kept_for(
            upstream, body, fresh_s=lifetime, now=given,
            settled_after_s=s.cache_settled_after_s, settled_fresh_s=s.cache_settled_fresh_s,
        )  # fmt: skip
        return ("settled", int(kept)) if kept > lifetime else ("lifetime", lifetime)

    def _assembled_within(self, upstream: Any, served: str, t: float, bound_s: int) -> bool:
        """An answer assembled from held days is Opower's, but that a day Opower restated
        since the gateway took it may show as it was then: an interval that differs from
        Opower's now must be Opower's as of the earliest time the gateway may still trust
        it (settled, and within ``bound_s``): a day is restated at most once
        (local/sandbox/restatements), so that earlier answer is the one it was given."""
        now = self.opower.answer(upstream.path, upstream.query, t)
        if now == served:
            return True
        try:
            mine, current = (json.loads(a.partition(" ")[2])["response"] for a in (served, now))
        except (ValueError, KeyError, TypeError):
            return False
        if {k: v for k, v in mine.items() if k != "streams"} != {
            k: v for k, v in current.items() if k != "streams"
        }:
            return False
        held, latest = _intervals(mine), _intervals(current)
        earlier: dict[float, dict[tuple[str, str], Any]] = {}
        for key in set(held) | set(latest):
            if held.get(key) == latest.get(key):
                continue
            interval = held.get(key) or latest.get(key) or {}
            try:
                ended = datetime.fromisoformat(str(interval.get("end"))).timestamp()
            except ValueError:
                return False
            at = max(t - bound_s, ended + self.settings.cache_settled_after_s)
            if at not in earlier:
                body = self.opower.answer(upstream.path, upstream.query, at).partition(" ")[2]
                try:
                    earlier[at] = _intervals(json.loads(body)["response"])
                except (ValueError, KeyError, TypeError):
                    earlier[at] = {}
            if held.get(key) != earlier[at].get(key):
                return False
        return True


def _intervals(response: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """A usage answer's intervals by service point and start."""
    return {
        (str(stream.get("utilityServicePointId")), str(interval.get("start"))): interval
        for stream in response.get("streams", [])
        for interval in stream.get("intervals", [])
    }


def restatements_pivot(plan: Plan) -> date:
    """The day the sandbox's late move-outs turn on: the month's middle."""
    return (datetime.fromtimestamp(plan.start, UTC) + timedelta(days=DAYS // 2)).date()


def simulate(mode: str, plan: Plan, w: MonthWorkload, containers: int) -> dict[str, Any]:
    """The warm-up and the month in one mode, on a fresh sandbox, moto and tables."""
    from gateway.settings import RuntimeSettings
    from local.sandbox import UTILITY_CODE

    started = time.monotonic()
    if mode == "before":
        _before()
    clock = SimulatedClock(plan.requests[0].at)
    pivot = restatements_pivot(plan)
    with (
        quiet(),
        gateway(
            MODES[mode], population=w.customers, clock=clock, containers=containers,
            sandbox_on_clock=True, token_lifetime_s=TOKEN_LIFETIME_S, restatements_pivot=pivot,
            billing=w.billing,
        ) as world,
    ):  # fmt: skip
        opower = Opower(w.customers, UTILITY_CODE, Restatements(pivot), billing=w.billing)
        month = _Month(plan, world, opower, w.seed + 2)
        units = DynamoDbUnits(month.settings.cache_table_name)
        with units.attached():
            month.run(units)
    active = len(plan.active())
    calls = sum(month.per_day.values())
    per_customer = calls / active
    capacity = math.floor(MONTH_BUDGET / per_customer)
    per_million = 1e6 / month.requests
    screens, routes = month.screens, month.routes
    busiest = {
        kind: _busiest(month.per_second, month.per_day, bill, active, capacity)
        for kind, bill in (("any_day", None), ("bill_day", True), ("other_day", False))
    }
    return {
        "mode": mode,
        "settings": MODES[mode],
        # Settings this gateway does not know (ignored: the mode is not what it says).
        "unknown_settings": sorted(
            n for n in MODES[mode] if n.lower() not in RuntimeSettings.__dataclass_fields__
        ),
        "customers": w.customers,
        "active_customers": active,
        "new_customers": sum(1 for t in plan.arrivals.values() if t >= plan.start),
        "requests": month.requests,
        "answers": dict(sorted(month.statuses.items())),
        "opower_calls": calls,
        "binding_calls": month.binding_calls,
        "calls_per_customer": round(per_customer, 2),
        "binding_calls_per_customer": round(month.binding_calls / active, 2),
        "customers_per_month": capacity,
        "busiest": busiest,
        # The month's population if no day may pass 99,000 (the busiest day decides).
        "customers_per_month_daily_cap": min(
            (
                b["customers_within_99000"]
                for b in busiest.values()
                if "customers_within_99000" in b
            ),
            default=capacity,
        ),
        "screens": {
            name: {
                "requests": row.requests,
                "hit_ratio": round(row.hits / row.requests, 3) if row.requests else None,
                "assembled": row.assembled,
                "calls_per_customer": round(row.calls / active, 3),
                "floor_calls_per_customer": round(row.floor_calls / active, 3),
            }
            for name, row in sorted(screens.items())
        },
        "hit_ratio": round(sum(r.hits for r in screens.values()) / month.requests, 3),
        "staleness": {name: asdict(r) for name, r in sorted(routes.items())},
        "staleness_violations": sum(r.violations for r in routes.values()),
        "assembled": month.assembled,
        "assembled_mismatches": month.mismatches,
        "assembled_mismatch_example": month.mismatch_example,
        "dynamodb": _dynamodb(units, per_million),
        "memory_peak_bytes": month.memory_peak,
        "runtime_s": round(time.monotonic() - started, 1),
    }


def _dynamodb(units: DynamoDbUnits, per_million: float) -> dict[str, Any]:
    """Request units and their cost per million customer requests: the cache's and the
    binding's, and all of the gateway's (with tokens, leases and budgets)."""

    def usd(parts: list[str]) -> float:
        counts = [units.parts[p] for p in parts if p in units.parts]
        rru = sum(c["rru"] for c in counts) * per_million
        wru = sum(c["wru"] for c in counts) * per_million
        return round(rru * PRICES["dynamodb_read_unit"] + wru * PRICES["dynamodb_write_unit"], 2)

    return {
        "per_million_requests": {
            part: {unit: round(value * per_million) for unit, value in sorted(counts.items())}
            for part, counts in sorted(units.parts.items())
        },
        "usd_per_million_requests_cache_and_binding": usd(["cache", "binding"]),
        "usd_per_million_requests": usd(["cache", "binding", "other"]),
    }


def _calls(container: Container, function: str) -> int:
    metrics = container.proxy_metrics if function == "proxy" else container.auth_metrics
    return int(metrics.counts.get("OpowerCall", 0))


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).date().isoformat()


def _digest(status: int, body: str) -> str:
    return hashlib.sha256(f"{status} {body if status == 200 else ''}".encode()).hexdigest()


def _cache_status(header: str) -> dict[str, str]:
    """The parameters of a Cache-Status member (RFC 9211): ``hit``, ``fwd``, ``detail`` ..."""
    parts = header.split("; ")[1:]
    return {name: value.strip('"') for name, _, value in (p.partition("=") for p in parts)}


def _busiest(
    per_second: Counter[int],
    per_day: Counter[str],
    bill: bool | None,
    active: int,
    capacity: int,
) -> dict[str, Any]:
    """The busiest day (of every day with ``bill`` None: the worst day; of the first
    BILL_DAYS of a month with ``bill``, else of the others): its calls, and its busiest
    second at ``capacity`` customers a month.

    The simulated customers are a sample, a few hundred calls a day: the second is
    estimated from what the whole month measured, not from that day's few calls. The
    day's calls per customer (measured) times the population, the share of the busiest
    hour of the day (measured over every day of the month: the daily curve and the
    visits' length) spread over its seconds, give the busiest hour's rate ``r``; seconds
    vary about it as calls come together (a binding's two, a screen's): variance ``r *
    E[k^2] / E[k]``, ``k`` the calls of a second that has any (measured); the busiest of
    its 3,600 seconds is about 3 standard deviations above ``r``."""
    day, calls = max(
        (
            (d, n)
            for d, n in per_day.items()
            if bill is None or (date.fromisoformat(d).day <= BILL_DAYS) == bill
        ),
        key=lambda kv: kv[1],
        default=("", 0),
    )
    if not calls:
        return {"day": day}
    hours: Counter[int] = Counter()
    for t, k in per_second.items():
        hours[t // 3600 % 24] += k
    hour_share = max(hours.values()) / sum(hours.values())
    ks = [k for k in per_second.values() if k]
    clustering = sum(k * k for k in ks) / sum(ks)
    rate = calls / active * hour_share / 3600  # per customer, in the busiest hour

    def second_at(customers: float) -> float:
        return customers * rate + 3 * math.sqrt(customers * rate * clustering)

    # The population whose busiest second is PER_SECOND_BUDGET: a quadratic in its root.
    b = 3 * math.sqrt(rate * clustering)
    root = (-b + math.sqrt(b * b + 4 * rate * PER_SECOND_BUDGET)) / (2 * rate)
    first = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())
    return {
        "day": day,
        "calls_per_customer": round(calls / active, 3),
        "calls_at_capacity": round(calls / active * capacity),
        "customers_within_99000": math.floor(DAILY_BUDGET * active / calls),
        "busiest_hour_share": round(hour_share, 4),
        "calls_per_busy_second": round(clustering, 2),
        "measured_busiest_second": max(per_second.get(t, 0) for t in range(first, first + DAY_S)),
        "second_at_capacity": round(second_at(capacity), 1),
        "customers_within_19_per_s": math.floor(root * root),
    }


def floor(modes: Mapping[str, Mapping[str, Any]], trust: Mapping[str, float]) -> dict[str, Any]:
    """What this cache could not have saved (the binding's lookups, one call per answer new
    to the customer on its screen), the gain that bounds, and where it paid more."""
    new, off = modes["new"], modes["off"]
    by_screen = {
        name: row["floor_calls_per_customer"]
        for name, row in new["screens"].items()
        if row["floor_calls_per_customer"]
    }
    per_customer = new["binding_calls_per_customer"] + sum(by_screen.values())
    beyond = {
        name: round(row["calls_per_customer"] - row["floor_calls_per_customer"], 3)
        for name, row in new["screens"].items()
        if row["calls_per_customer"] - row["floor_calls_per_customer"] > 0.0005
    }
    return {
        "calls_per_customer": round(per_customer, 2),
        "binding": new["binding_calls_per_customer"],
        "new_answers_by_screen": by_screen,
        "ratio_bound": round(off["calls_per_customer"] / per_customer, 2),
        # ... were the binding trusted 30 days (from the visit plan).
        "ratio_bound_binding_30d": round(
            off["calls_per_customer"]
            / (per_customer - new["binding_calls_per_customer"] + trust["30d"]),
            2,
        ),
        # Calls for answers the customer had already been given on that screen, and any
        # call beyond the first for a new one (a bill period asked beside a bill).
        "beyond_floor_by_screen": dict(sorted(beyond.items(), key=lambda kv: -kv[1])),
        "binding_by_trust": trust,
    }


def run(
    workload: MonthWorkload | None = None, containers: int = 4, *, profile: str = "custom"
) -> dict[str, Any]:
    """The three modes on one plan, each in its own process (they share nothing but the
    plan, and this machine's cores)."""
    workload = workload or MonthWorkload()
    started = time.monotonic()
    plan = month_plan(workload, end=time.time() - 120)
    spawn = multiprocessing.get_context("spawn")  # no thread of this process is copied
    with ProcessPoolExecutor(max_workers=len(MODES), mp_context=spawn) as pool:
        running = {m: pool.submit(simulate, m, plan, workload, containers) for m in MODES}
        modes = {mode: future.result() for mode, future in running.items()}
    if not modes["new"]["hit_ratio"]:
        raise RuntimeError("the cache was on, yet nothing was a hit: the settings did not take")
    capacity = {mode: m["customers_per_month"] for mode, m in modes.items()}
    ratio = capacity["new"] / capacity["off"]
    # The day that binds: customers whose busiest day fits in 99,000 calls.
    worst = {mode: m["busiest"]["any_day"].get("customers_within_99000", 0)
             for mode, m in modes.items()}  # fmt: skip
    violations = sum(m["staleness_violations"] for m in modes.values())
    mismatches = sum(m["assembled_mismatches"] for m in modes.values())
    target = TARGETS.get(profile, TARGETS["typical"])
    bill = modes["new"]["staleness"].get("bill_comparison (new bill)", {})
    return {
        "benchmark": "capacity_month",
        "profile": profile,
        "ratio_vs_off": round(ratio, 2),
        "ratio_before_vs_off": round(capacity["before"] / capacity["off"], 2),
        "staleness_violations": violations,
        "assembled": modes["new"]["assembled"],
        "assembled_mismatches": mismatches,
        "target": target,
        "met": ratio >= target and violations == 0 and mismatches == 0,
        "customers_per_month": capacity,
        "ratio_vs_off_daily_cap": round(
            modes["new"]["customers_per_month_daily_cap"]
            / modes["off"]["customers_per_month_daily_cap"],
            2,
        ),
        # The new bill (posted on the 1st): how long after Opower had it the old one was
        # still served, at most, against the bound.
        "new_bill": {"late_s": bill.get("most_stale_s", 0), "bound_s": bill.get("bound_s")},
        "worst_day": {
            "benchmark": "capacity_worst_day",
            "profile": profile,
            "ratio_vs_off": round(worst["new"] / max(1, worst["off"]), 2),
            "ratio_vs_before": round(worst["new"] / max(1, worst["before"]), 2),
            "staleness_violations": violations,
            "customers": worst,
            "days": {mode: m["busiest"]["any_day"].get("day", "") for mode, m in modes.items()},
            "billing": workload.billing,
            "target": TARGETS_WORST_DAY.get(profile, TARGETS_WORST_DAY["typical"]),
            "met": worst["new"] >= TARGETS_WORST_DAY.get(profile, 2.5) * max(1, worst["off"])
            and violations == 0,
        },
        "month": {
            "start": datetime.fromtimestamp(plan.start, UTC).isoformat(timespec="seconds"),
            "end": datetime.fromtimestamp(plan.end, UTC).isoformat(timespec="seconds"),
        },
        "workload": asdict(workload),
        "containers": containers,
        "floor": floor(modes, binding_trust(plan)),
        "modes": list(modes.values()),
        "runtime_s": round(time.monotonic() - started, 1),
    }


def run_profiles(containers: int = 4) -> list[dict[str, Any]]:
    """Both profiles (make bench), each at its default population."""
    return [run(w, containers, profile=name) for name, w in PROFILES.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="typical")
    parser.add_argument("--customers", type=int, help="default: the profile's")
    parser.add_argument("--containers", type=int, default=4)
    args = parser.parse_args()
    workload = PROFILES[args.profile]
    if args.customers:
        workload = dataclasses.replace(workload, customers=args.customers)
    result = run(workload, containers=args.containers, profile=args.profile)
    print(json.dumps(result), flush=True)
    sys.stdout.write(table(result) + "\n")


def table(result: Mapping[str, Any]) -> str:
    """The modes side by side, then by screen, then the floor."""
    modes = [next(m for m in result["modes"] if m["mode"] == mode) for mode in MODES]
    rows: list[tuple[str, Callable[[Mapping[str, Any]], object]]] = [
        ("Opower calls per customer a month (binding's)",
         lambda m: f"{m['calls_per_customer']} ({m['binding_calls_per_customer']})"),
        ("customers a month in 30 x 99,000 calls", lambda m: f"{m['customers_per_month']:,}"),
        ("... with no day past 99,000", lambda m: f"{m['customers_per_month_daily_cap']:,}"),
        ("customers whose busiest day fits in 99,000 calls (the worst day)",
         lambda m: f"{m['busiest']['any_day'].get('customers_within_99000', 0):,}"),
        ("at the month's population, the busiest day: calls (of 99,000), busiest second "
         "(of 19)", lambda m: _busy(m["busiest"]["any_day"])),
        ("answers from the cache", lambda m: f"{m['hit_ratio']:.0%}"),
        ("answers from the cache out of date past their bound / checked",
         lambda m: f"{m['staleness_violations']} / "
                   f"{sum(r['checked'] for r in m['staleness'].values()):,}"),
        ("usage answers assembled from cached days (not as Opower's)",
         lambda m: f"{m['assembled']:,} ({m['assembled_mismatches']})"),
        ("DynamoDB per million requests: cache and binding (all)",
         lambda m: f"${m['dynamodb']['usd_per_million_requests_cache_and_binding']} "
                   f"(${m['dynamodb']['usd_per_million_requests']})"),
        ("memory tier's peak, KB per container", lambda m: max(m["memory_peak_bytes"]) // 1024),
    ]  # fmt: skip
    lines = ["| | cache off | the cache before #38 | this cache |", "|---|---|---|---|"]
    lines += [
        f"| {name} | " + " | ".join(str(cell(m)) for m in modes) + " |" for name, cell in rows
    ]
    lines += [
        "",
        "| screen | from the cache: off / before / this | Opower calls per customer a month: "
        "off / before / this (new answers) | this cache: oldest answer served, s; most out "
        "of date, s (bound), by the bound that applies |",
        "|---|---|---|---|",
    ]
    for name in modes[2]["screens"]:
        cells = [m["screens"].get(name) for m in modes]
        hits = " / ".join(_from_cache(c) for c in cells)
        calls = " / ".join(str(c["calls_per_customer"]) if c else "-" for c in cells)
        new = cells[2]["floor_calls_per_customer"] if cells[2] else "-"
        ages = (
            "; ".join(
                f"{key[len(name) + 2 : -1]}: {stale['oldest_age_s']:,}; {stale['most_stale_s']:,} "
                f"({stale['bound_s']:,})"
                for key, stale in modes[2]["staleness"].items()
                if key.startswith(f"{name} (")
            )
            or "-"
        )
        lines.append(f"| {name} | {hits} | {calls} ({new}) | {ages} |")
    f = result["floor"]
    beyond = ", ".join(f"{k} {v}" for k, v in f["beyond_floor_by_screen"].items()) or "none"
    trust = ", ".join(f"{k} {v}" for k, v in f["binding_by_trust"].items())
    lines.append(
        f"\nFloor: {f['calls_per_customer']} calls per customer a month no cache of the "
        f"customer's answers saves (the binding's {f['binding']}; one call per answer new to "
        f"the customer {round(f['calls_per_customer'] - f['binding'], 2)}): the gain is at "
        f"most {f['ratio_bound']} x. Paid beyond it: {beyond}. The binding trusted 1, 7 or "
        f"30 days would cost {trust} calls per customer a month (from the visit plan); at "
        f"30 days the floor would bound the gain at {f['ratio_bound_binding_30d']} x."
    )
    return "\n".join(lines)


def _from_cache(screen: Mapping[str, Any] | None) -> str:
    if not screen:
        return "-"
    assembled = screen["assembled"] / screen["requests"]
    return f"{screen['hit_ratio']:.0%}" + (f" (+{assembled:.0%} assembled)" if assembled else "")


def _busy(day: Mapping[str, Any]) -> str:
    if "calls_at_capacity" not in day:
        return "-"
    return f"{day['calls_at_capacity']:,}, {day['second_at_capacity']} ({day['day']})"


def explain(results: list[dict[str, Any]]) -> str:
    """The month's section of docs/performance.md."""
    blocks = []
    for result in results:
        w = result["workload"]
        new = next(m for m in result["modes"] if m["mode"] == "new")
        blocks.append(
            f"**{result['profile']}**: on the worst day, "
            f"{result['worst_day']['ratio_vs_off']} x the customers of the cache off "
            f"({result['worst_day']['ratio_vs_before']} x the cache before #38; target "
            f"{result['worst_day']['target']:g} x); over the month "
            f"{result['ratio_vs_off']} x (the cache before #38 "
            f"{result['ratio_before_vs_off']} x; target "
            f"{result['target']:g} x). {w['customers']} customers, {new['active_customers']} "
            f"of them visiting in the month ({result['month']['start'][:10]} to "
            f"{result['month']['end'][:10]}), {new['new_customers']} for the first time; "
            f"{w['bill_look_p']:.0%} look within days of their bill (mean "
            f"{w['bill_look_days']} days), {w['weekly_p']:.0%} every week, "
            f"{w['other_visits']} other visits a month, a return the same day "
            f"{w['return_p']:.0%}; usage tab {w['usage_p']:.0%}, home screen again "
            f"{w['home_again_p']:.0%}, neighbors {w['neighbors_p']:.0%}, last month's usage "
            f"{w['previous_month_p']:.0%}, a day's intervals {w['raw_day_p']:.0%} of "
            f"visits:\n\n{table(result)}\n"
        )
    return (
        "\n## Capacity across a month\n\n"
        "`make bench-capacity` (`PROFILE=engaged`): thirty days simulated against the "
        "gateway's code, with the response cache off (and the binding cached 15 minutes), "
        "as it was before issue #38 (the latest neighbor comparison kept 12 hours) and as "
        "it is (this), on one visit plan; bench/capacity_month.py says where the visits "
        "come from. The sandbox bills in read cycles: each customer's bill posts on their "
        "cycle's day, 20 cycles over the month's working days. Opower's limit is per day, "
        "so the day that binds decides: customers whose busiest day fits in 99,000 calls "
        "(the worst day) is the headline; customers a month = 30 x 99,000 / calls is the "
        "average month's. Calls are per customer visiting in the month. Every answer "
        "served from the "
        "cache is compared with Opower's at that instant (the sandbox's data, asked "
        "directly): out of date longer than its bound is a violation. The floor is one call "
        "per answer new to the customer on its screen, and the binding's lookups: a "
        "customer's forecast and the newest days of their usage are new each day they look, "
        "so the gain is bounded by the days a customer looks in a month, not by lifetimes. "
        "What moves the floor: the binding's trust (its cost at 1, 7 and 30 days is under "
        "each profile) and a forecast kept across days (docs/cache.md says why neither "
        "is taken); what is paid beyond it (answers the customer already had: a bill "
        "comparison in the days a bill is due, usage windows asked again) is what longer "
        "lifetimes could still save.\n\n" + "\n".join(blocks)
    )


if __name__ == "__main__":
    main()
