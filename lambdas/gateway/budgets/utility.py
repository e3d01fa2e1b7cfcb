"""The fleet's upstream budget: Opower allows 20 requests per second and 100,000 per day
per utility; the gateway keeps the whole fleet under configurable figures just below.

Shared state lives in DynamoDB, but a request does not pay a round trip for it:

* per second: a busy container (one call a second or more) holds a *rate lease* (``r``
  calls per second until ``u``) in the item ``budget#rate``; the leases never add up to
  more than the limit. It spends its lease in fixed wall-clock seconds, as Opower counts,
  and renews it about once per lease period (10 s) sized to its demand; a burst doubles it
  (a few times a second at most) for a short (2 s) lease. A quiet container, or one
  whose lease is spent, counts each call in the second's shared counter
  (``budget#sec#<epoch second>``) under what the leases leave free: a round trip per
  call, but only for containers with less than one call a second, and no number of
  warm containers can starve each other.
* per day: each container reserves a slice of the day's count (``budget#day#YYYY-MM-DD``,
  one item for the company's customers and its service API: ``used``, and ``svc`` the
  service's part) and spends it locally; a slice is sized to about ten seconds of its
  demand. Who may reserve how much, and when, is the day's plan (gateway.budgets.day):
  priorities, reserves, pacing, the service API's share. A kind of call that its cap
  refuses is refused in the container, with no DynamoDB call, until the instant its cap
  allows it again; past that instant, one read says whether it does before a write is
  made: a refused call costs at most a read.

(With several operating companies, each has its own budget: the items are
``budget#<utility code>#rate`` and so on.)

Over budget, the proxy answers 429 with ``Retry-After`` (the next allowance: the next
second, or the instant the day's plan lets this kind of call through) and never calls
Opower. If DynamoDB is unavailable, each container falls back to a quarter of the
per-second limit (it cannot see the others) and does not count the day, with a metric.
"""

from __future__ import annotations

import logging
import math
import threading
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from gateway import aws_clients
from gateway.budgets.day import (
    DEFAULT_RESERVES,
    MAX_CUSTOMER_RETRY_AFTER_S,
    PRIORITIES,
    SERVICE,
    DayPlan,
)
from gateway.clock import Clock
from gateway.errors import BudgetStoreError
from gateway.observability import MetricsSink, NullMetrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

_DEGRADED_SHARE = 0.25
_RETRY_STORE_AFTER_S = 5.0
_MAX_GROWTHS_PER_SECOND = 4
_HOT_DEMAND = 1.0  # calls per second from which a container takes a lease of its own
_BURST_LEASE_S = 2.0


@dataclass(frozen=True)
class BudgetSettings:
    per_second: float = 19.0
    per_day: int = 99_000  # the company's day, every pool's calls
    lease_s: float = 10.0
    reserves: Mapping[str, float] = field(default_factory=lambda: DEFAULT_RESERVES)
    pace_ahead_s: int = 4 * 3600
    day_start_s: int = 0
    service_share: int = 0  # the service API's share of the day (gateway.budgets.day)
    service: bool = False  # this is the service API's pool
    curve: tuple[float, ...] = ()  # the day's expected demand by hour (gateway.budgets.day)
    shaped: bool = True  # False: first come, first served

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.per_day <= 0 or self.lease_s <= 1:
            raise ValueError("budget figures must be positive and the lease longer than 1 s")
        self.plan  # noqa: B018 - the day's plan validates its own figures

    @property
    def plan(self) -> DayPlan:
        return DayPlan(
            per_day=self.per_day,
            reserves=self.reserves,
            pace_ahead_s=self.pace_ahead_s,
            day_start_s=self.day_start_s,
            service_share=self.service_share,
            curve=self.curve,
            shaped=self.shaped,
        )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0
    reason: str = ""


class DayGrant(NamedTuple):
    granted: int
    used: int  # the fleet's reserved count for the day, this grant included
    service_used: int = 0  # the service API's part of it
    spent: Mapping[str, int] = MappingProxyType({})  # the customers' part, by kind


# The company's reserved count of the day, every pool's (a gauge: read it as Maximum),
# emitted on each reservation; the DailyQuota alarm watches it against budget_per_day.
OPOWER_CALLS_TODAY = "OpowerCallsToday"


class BudgetStore(Protocol):
    def lease_rate(
        self, owner: str, want: float, *, now: float, until: float, limit: float
    ) -> float:
        """Set this owner's lease to at most ``want`` within ``limit``; the granted rate."""
        ...

    def leased_total(self, *, now: float) -> float:
        """The sum of every container's active rate lease."""
        ...

    def count_second(self, second: int, *, cap: int, expires_at: float) -> bool:
        """Count one call in this wall-clock second's shared counter, if under ``cap``."""
        ...

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
        """Reserve up to ``amount`` of the day's count, keeping it at most ``limit`` (and
        the service's part at most ``service_limit``, when given; ``service``: counted as
        the service's too; ``kind``: as that kind's of the customers'): how many were
        granted, and the day's counts once they were."""
        ...

    def read_day(self, day: str) -> DayGrant:
        """The day's counts (``granted`` 0): a read, for a refusal to cost no more."""
        ...


class Budget:
    def __init__(
        self,
        store: BudgetStore,
        *,
        owner: str,
        clock: Clock,
        settings: BudgetSettings | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._store = store
        self._owner = owner
        self._clock = clock
        self._settings = settings or BudgetSettings()
        self._metrics = metrics or NullMetrics()
        self._lock = threading.Lock()
        # per-second lease, spent in fixed one-second windows
        self._rate = 0.0
        self._lease_until = 0.0
        self._second = 0
        self._used = 0
        self._last_lease_attempt = -math.inf
        self._renewal_second = 0
        self._renewals = 0
        self._from_lease = False
        # the fleet's leased total, read at most once a second when counting shared
        self._leased_total = 0.0
        self._leased_second = -1
        # demand: requests seen in the current second, and a smoothed rate
        self._window_start = 0.0
        self._window_count = 0
        self._demand = 0.0
        # per-day: slices reserved by kind of call, the day's counts as last seen, and
        # kinds refused until an instant (no DynamoDB call until then)
        self._plan = self._settings.plan
        self._day = ""
        self._slices: dict[str, int] = {}
        self._seen = DayGrant(0, 0)
        self._closed: dict[str, float] = {}
        # DynamoDB unavailable: until when we stay local
        self._degraded_until = 0.0

    def acquire(self, priority: str = "standard") -> Verdict:
        """One upstream call of ``priority`` (gateway.budgets.day.PRIORITIES; the service
        pool's calls are the service's whatever is given): allowed, or refused with the
        seconds to wait."""
        kind = SERVICE if self._settings.service else priority
        if kind not in PRIORITIES and kind != SERVICE:
            raise ValueError(f"unknown priority {priority!r}")
        with self._lock:
            now = self._clock.now()
            refused = self._refused_now(kind, now)
            if refused is not None:
                return refused
            self._observe(now)
            if not self._take_second(now):
                return self._shed("per_second", 1, kind)
            allowed_at = self._take_day(now, kind)
            if allowed_at is not None:
                self._used -= 1  # give the second's call back (a shared count stays spent)
                return self._shed("per_day", math.ceil(allowed_at - now), kind)
        return Verdict(True)

    def refused(self, priority: str = "standard") -> Verdict | None:
        """The refusal a call of ``priority`` would get for the day's plan, decided in this
        container with nothing counted or stored, or None when it may be asked: checked
        before anything else of a request is spent (the customer's own share), so that a
        refused call costs no write."""
        kind = SERVICE if self._settings.service else priority
        with self._lock:
            return self._refused_now(kind, self._clock.now())

    def _refused_now(self, kind: str, now: float) -> Verdict | None:
        closed = self._closed.get(kind, 0.0)
        if now < closed and not self._slice_for(kind):
            return self._shed("per_day", math.ceil(closed - now), kind)
        return None

    # -- per second ------------------------------------------------------------------
    def _take_second(self, now: float) -> bool:
        second = math.floor(now)
        if second != self._second:
            self._second, self._used = second, 0
        self._from_lease = False
        if now < self._degraded_until:
            return self._spend_allowance(now)
        # A busy container spends a lease of its own; a quiet one (under one call a
        # second) takes one call at a time from the second's shared counter, so that any
        # number of warm containers share the budget and none is starved by the others.
        if self._demand >= _HOT_DEMAND or now < self._lease_until:
            self._maybe_renew(now, second)
            if now < self._lease_until and self._spend_allowance(now):
                self._from_lease = True
                return True
        return self._count_shared(now, second)

    def _spend_allowance(self, now: float) -> bool:
        if self._used < self._allowance(now):
            self._used += 1
            return True
        return False

    def _count_shared(self, now: float, second: int) -> bool:
        try:
            if self._leased_second != second:
                self._leased_total = self._store.leased_total(now=now)
                self._leased_second = second
            cap = math.floor(self._settings.per_second - self._leased_total)
            counted = cap > 0 and self._store.count_second(second, cap=cap, expires_at=second + 120)
        except BudgetStoreError:
            self._degrade(now)
            return self._spend_allowance(now)
        if counted:
            # Counted against this second's lease allowance too: a lease that grows later
            # in the same second must not add its full allowance on top.
            self._used += 1
        return counted

    def _maybe_renew(self, now: float, second: int) -> None:
        """Renewing costs a DynamoDB round trip: about once per lease when demand is
        steady, and a few times a second at most while a burst outgrows the lease."""
        limit = self._settings.per_second
        if second != self._renewal_second:
            self._renewal_second, self._renewals = second, 0
        starved = self._used >= self._allowance(now) and self._rate < limit
        if starved and self._renewals < _MAX_GROWTHS_PER_SECOND:
            # A burst at least doubles the lease (or asks for its observed demand) a few
            # times a second at most, for a short lease, so the surplus soon returns.
            self._renewals += 1
            want = max(1.0, 2 * self._rate, math.ceil(self._demand * 1.5))
            self._renew(now, min(limit, want), _BURST_LEASE_S)
        elif now >= self._lease_until - 1.0 and now - self._last_lease_attempt >= 1.0:
            # Sized to demand; a container that went quiet gives its lease back (0).
            quiet = self._demand < _HOT_DEMAND / 2
            want = 0.0 if quiet else min(limit, float(math.ceil(self._demand * 1.5)))
            self._renew(now, want, self._settings.lease_s)

    def _allowance(self, now: float) -> int:
        """Calls this container may make in the current wall-clock second.

        Fixed one-second windows, as Opower counts; a fractional rate spreads over seconds
        (2.5 per second: 2, 3, 2, 3 ...), so the fleet's sum never exceeds the limit.
        """
        if now < self._degraded_until:
            rate = self._settings.per_second * _DEGRADED_SHARE
        else:
            rate = self._rate
        second = math.floor(now)
        return math.floor(rate * (second + 1)) - math.floor(rate * second)

    def _renew(self, now: float, want: float, duration_s: float) -> None:
        self._last_lease_attempt = now
        until = now + duration_s
        try:
            granted = self._store.lease_rate(
                self._owner, want, now=now, until=until, limit=self._settings.per_second
            )
        except BudgetStoreError:
            self._degrade(now)
            return
        self._rate, self._lease_until = max(0.0, granted), until

    # -- per day -----------------------------------------------------------------------
    def _spendable(self, kind: str) -> tuple[str, ...]:
        """The kinds whose slices a call of ``kind`` may spend: its own, and those reserved
        under a lower cap (the kinds less needed)."""
        if kind == SERVICE:
            return (SERVICE,)
        return PRIORITIES[PRIORITIES.index(kind) :]

    def _slice_for(self, kind: str) -> str | None:
        return next((k for k in self._spendable(kind) if self._slices.get(k, 0) > 0), None)

    def _take_day(self, now: float, kind: str) -> float | None:
        """Count one call in the day: None when it may be made, else the instant the
        day's plan allows a call of ``kind`` again."""
        day, end = self._plan.day_of(now)
        if day != self._day:
            self._day, self._slices, self._closed = day, {}, {}
            self._seen = DayGrant(0, 0)
        if now < self._degraded_until:
            return None  # counted nowhere: DynamoDB is down, the per-second bucket holds
        spent = self._slice_for(kind)
        if spent is not None:
            self._slices[spent] -= 1
            return None
        # About ten seconds of this container's own demand: few round trips when busy,
        # and little lost for the day when a recycled container leaves some unspent.
        size = int(min(1000, max(10, math.ceil(self._demand * 10))))
        # Never more than a thousandth of the day in one slice: a small day (a test tier,
        # a benchmark's scaled one) is not held in containers' slices.
        size = max(1, min(size, self._settings.per_day // 1000))
        try:
            seen = self._seen
            cap, service_limit = self._cap(kind, now, seen)
            if seen.used + 1 > cap:
                # Full as last seen: a read says whether it still is, before any write.
                seen = self._seen = self._store.read_day(day)
                cap, service_limit = self._cap(kind, now, seen)
            room = cap - seen.used
            if service_limit is not None:
                room = min(room, service_limit - seen.service_used)
            grant = seen
            if room >= 1:
                grant = self._store.reserve_day(
                    day,
                    min(size, room),
                    limit=cap,
                    expires_at=end + 86_400,
                    service=kind == SERVICE,
                    service_limit=service_limit,
                    kind="" if kind == SERVICE else kind,
                )
                self._seen = grant._replace(granted=0)
                # The service pool's gauge is its own part (ServiceOpowerCallsToday).
                gauge = grant.service_used if kind == SERVICE else grant.used
                self._metrics.add_metric(OPOWER_CALLS_TODAY, "Count", gauge)
        except BudgetStoreError:
            self._degrade(now)
            return None
        if grant.granted <= 0:
            at = self._plan.next_allowance(
                kind,
                grant.used,
                now,
                amount=size,
                service_used=grant.service_used,
                spent=grant.spent,
            )
            self._closed[kind] = at
            return at
        self._closed.pop(kind, None)
        self._slices[kind] = self._slices.get(kind, 0) + grant.granted - 1
        # What was just reserved moves the next allowance of the kinds refused here.
        for refused in self._closed:
            self._closed[refused] = self._plan.next_allowance(
                refused,
                grant.used,
                now,
                amount=size,
                service_used=grant.service_used,
                spent=grant.spent,
            )
        return None

    def _cap(self, kind: str, now: float, seen: DayGrant) -> tuple[int, int | None]:
        """The day's count a reservation for ``kind`` may reach, and the service's part
        (for the service within its share: its share)."""
        cap = self._plan.cap(kind, now, service_used=seen.service_used, spent=seen.spent)
        within_share = kind == SERVICE and seen.service_used < self._settings.service_share
        return cap, (self._settings.service_share if within_share else None)

    # -- helpers ---------------------------------------------------------------------------
    def _observe(self, now: float) -> None:
        if now - self._window_start >= 1.0:
            elapsed = max(1.0, now - self._window_start)
            self._demand = 0.5 * self._demand + 0.5 * (self._window_count / elapsed)
            self._window_start, self._window_count = now, 0
        self._window_count += 1

    def _degrade(self, now: float) -> None:
        self._metrics.add_metric("BudgetStoreDegraded", "Count", 1)
        logger.warning("budget store unavailable; limiting this container locally")
        self._degraded_until = now + _RETRY_STORE_AFTER_S
        self._lease_until = 0.0

    def _shed(self, reason: str, retry_after_s: int, kind: str) -> Verdict:
        self._metrics.add_metric("BudgetShed", "Count", 1)
        self._metrics.add_metric(f"BudgetShed_{reason}", "Count", 1)
        if reason == "per_day":
            self._metrics.add_metric(f"BudgetShed_{kind}", "Count", 1)
            if kind != SERVICE:
                # A customer's app is told at most an hour: the day's allowance may come
                # sooner than computed (the budget raised, the fleet quieter), and an
                # app asked back in hours gives up for the day. Asking again costs the
                # quota nothing (refused in the container, no DynamoDB write).
                retry_after_s = min(retry_after_s, MAX_CUSTOMER_RETRY_AFTER_S)
        return Verdict(False, max(1, retry_after_s), reason)


def _grant(granted: int, item: Mapping[str, Any]) -> DayGrant:
    def number(name: str) -> int:
        return int(item.get(name, {}).get("N", "0"))

    spent = {k: number(f"k_{k}") for k in PRIORITIES if f"k_{k}" in item}
    return DayGrant(granted, number("used"), number("svc"), MappingProxyType(spent))


class DynamoDbBudgetStore(aws_clients.DynamoDbTable):
    """Budget items in the gateway's table (see the module docstring for the layout)."""

    def __init__(
        self,
        table_name: str,
        *,
        prefix: str = "budget#",
        day_prefix: str | None = None,
        dynamodb: DynamoDBClient | None = None,
    ) -> None:
        """``prefix`` names the pool's items; ``day_prefix`` (default ``prefix``) the
        company's day count, which its pools share."""
        super().__init__(table_name, dynamodb=dynamodb)
        self._prefix = prefix
        self._day_prefix = prefix if day_prefix is None else day_prefix

    @property
    def _rate_key(self) -> str:
        return f"{self._prefix}rate"

    def lease_rate(
        self, owner: str, want: float, *, now: float, until: float, limit: float
    ) -> float:
        from botocore.exceptions import BotoCoreError, ClientError

        for _ in range(4):  # optimistic concurrency: re-read and retry on a conflict
            try:
                item = (
                    self._ddb()
                    .get_item(
                        TableName=self._table,
                        Key={"pk": {"S": self._rate_key}},
                        ConsistentRead=True,
                    )
                    .get("Item", {})
                )
                version = int(item.get("v", {}).get("N", "0"))
                leases = {
                    name: (float(lease["M"]["r"]["N"]), float(lease["M"]["u"]["N"]))
                    for name, lease in item.get("leases", {}).get("M", {}).items()
                }
                others = sum(r for name, (r, u) in leases.items() if name != owner and u > now)
                granted = round(max(0.0, min(want, limit - others)), 3)
                active = {n: lease for n, lease in leases.items() if lease[1] > now and n != owner}
                if granted > 0:
                    active[owner] = (granted, until)
                self._ddb().put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": self._rate_key},
                        "v": {"N": str(version + 1)},
                        "leases": {
                            "M": {
                                n: {"M": {"r": {"N": str(r)}, "u": {"N": f"{u:.3f}"}}}
                                for n, (r, u) in active.items()
                            }
                        },
                    },
                    ConditionExpression="attribute_not_exists(pk) OR v = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
                return granted
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise BudgetStoreError("lease_rate") from exc
                _time.sleep(0.005)
            except BotoCoreError as exc:
                raise BudgetStoreError("lease_rate") from exc
        return 0.0

    def leased_total(self, *, now: float) -> float:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            item = (
                self._ddb()
                .get_item(
                    TableName=self._table, Key={"pk": {"S": self._rate_key}}, ConsistentRead=True
                )
                .get("Item", {})
            )
        except (BotoCoreError, ClientError) as exc:
            raise BudgetStoreError("leased_total") from exc
        return sum(
            float(lease["M"]["r"]["N"])
            for lease in item.get("leases", {}).get("M", {}).values()
            if float(lease["M"]["u"]["N"]) > now
        )

    def count_second(self, second: int, *, cap: int, expires_at: float) -> bool:
        return self._count(f"{self._prefix}sec#{second}", limit=cap, expires_at=expires_at)

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
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._day_key(day)
        try:
            for _ in range(2):
                condition = "attribute_not_exists(used) OR used <= :most"
                values = {
                    ":zero": {"N": "0"},
                    ":n": {"N": str(amount)},
                    ":most": {"N": str(limit - amount)},
                    ":t": {"N": str(int(expires_at))},
                }
                update = "SET used = if_not_exists(used, :zero) + :n, #ttl = :t"
                if service:
                    update += ", svc = if_not_exists(svc, :zero) + :n"
                if kind:
                    update += f", k_{kind} = if_not_exists(k_{kind}, :zero) + :n"
                if service_limit is not None:
                    condition = f"({condition}) AND (attribute_not_exists(svc) OR svc <= :svc)"
                    values[":svc"] = {"N": str(service_limit - amount)}
                try:
                    updated = self._ddb().update_item(
                        TableName=self._table,
                        Key=key,
                        UpdateExpression=update,
                        ConditionExpression=condition,
                        ExpressionAttributeNames={"#ttl": "ttl"},
                        ExpressionAttributeValues=values,
                        ReturnValues="ALL_NEW",
                    )
                    return _grant(amount, updated.get("Attributes", {}))
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != (
                        "ConditionalCheckFailedException"
                    ):
                        raise
                seen = self.read_day(day)
                room = limit - seen.used
                if service_limit is not None:
                    room = min(room, service_limit - seen.service_used)
                if room <= 0:
                    return seen
                amount = min(amount, room)
            return self.read_day(day)  # raced twice: nothing granted this time
        except (BotoCoreError, ClientError) as exc:
            raise BudgetStoreError("reserve_day") from exc

    def read_day(self, day: str) -> DayGrant:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            item = self._ddb().get_item(
                TableName=self._table, Key=self._day_key(day), ConsistentRead=True
            )
        except (BotoCoreError, ClientError) as exc:
            raise BudgetStoreError("read_day") from exc
        return _grant(0, item.get("Item", {}))

    def _day_key(self, day: str) -> dict[str, Any]:
        return {"pk": {"S": f"{self._day_prefix}day#{day}"}}

    def _count(self, pk: str, *, limit: int, expires_at: float) -> bool:
        """One more in the counter item ``pk``, if it stays under ``limit``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ddb().update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                UpdateExpression="SET used = if_not_exists(used, :zero) + :one, #ttl = :t",
                ConditionExpression="attribute_not_exists(used) OR used < :limit",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":t": {"N": str(int(expires_at))},
                },
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise BudgetStoreError("count") from exc
        except BotoCoreError as exc:
            raise BudgetStoreError("count") from exc
