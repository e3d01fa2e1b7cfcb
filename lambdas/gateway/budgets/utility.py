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
* per day: each container reserves a slice of the day's count (``budget#day#YYYY-MM-DD``)

(With several operating companies, each has its own budget: the items are
``budget#<utility code>#rate`` and so on.)
  and spends it locally; a slice is sized to about half a minute of its demand.

Over budget, the proxy answers 429 with ``Retry-After`` and never calls Opower. If
DynamoDB is unavailable, each container falls back to a quarter of the per-second limit
(it cannot see the others) and does not count the day, with a metric.
"""

from __future__ import annotations

import logging
import math
import threading
import time as _time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

from gateway import aws_clients
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
    per_day: int = 99_000
    lease_s: float = 10.0

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.per_day <= 0 or self.lease_s <= 1:
            raise ValueError("budget figures must be positive and the lease longer than 1 s")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0
    reason: str = ""


class DayGrant(NamedTuple):
    granted: int
    used: int  # the fleet's reserved count for the day, this grant included


# The fleet's reserved count of the day (a gauge: read it as Maximum), emitted on each
# reservation; the DailyQuota alarm watches it against budget_per_day.
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

    def reserve_day(self, day: str, amount: int, *, limit: int, expires_at: float) -> DayGrant:
        """Reserve up to ``amount`` of the day's count: how many were granted, and the
        fleet's count for the day once they were."""
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
        # per-day slice
        self._day = ""
        self._day_left = 0
        # DynamoDB unavailable: until when we stay local
        self._degraded_until = 0.0

    def acquire(self) -> Verdict:
        """One upstream call: allowed, or refused with the seconds to wait."""
        with self._lock:
            now = self._clock.now()
            self._observe(now)
            if not self._take_second(now):
                return self._shed("per_second", 1)
            if not self._take_day(now):
                self._used -= 1  # give the second's call back (a shared count stays spent)
                return self._shed("per_day", _seconds_to_midnight(now))
        return Verdict(True)

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
    def _take_day(self, now: float) -> bool:
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        if day != self._day:
            self._day, self._day_left = day, 0
        if self._day_left <= 0 and now >= self._degraded_until:
            # About ten seconds of this container's own demand: few round trips when busy,
            # and little lost for the day when a recycled container leaves some unspent.
            size = int(min(1000, max(10, math.ceil(self._demand * 10))))
            try:
                grant = self._store.reserve_day(
                    day,
                    size,
                    limit=self._settings.per_day,
                    expires_at=now + 2 * 86_400,
                )
                self._day_left = grant.granted
                self._metrics.add_metric(OPOWER_CALLS_TODAY, "Count", grant.used)
            except BudgetStoreError:
                self._degrade(now)
        if now < self._degraded_until:
            return True  # counted nowhere: DynamoDB is down, the per-second bucket still holds
        if self._day_left <= 0:
            return False
        self._day_left -= 1
        return True

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

    def _shed(self, reason: str, retry_after_s: int) -> Verdict:
        self._metrics.add_metric("BudgetShed", "Count", 1)
        self._metrics.add_metric(f"BudgetShed_{reason}", "Count", 1)
        return Verdict(False, max(1, retry_after_s), reason)


def _seconds_to_midnight(now: float) -> int:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), UTC)
    return math.ceil((midnight - moment).total_seconds())


class DynamoDbBudgetStore(aws_clients.DynamoDbTable):
    """Budget items in the gateway's table (see the module docstring for the layout)."""

    def __init__(
        self,
        table_name: str,
        *,
        prefix: str = "budget#",
        dynamodb: DynamoDBClient | None = None,
    ) -> None:
        super().__init__(table_name, dynamodb=dynamodb)
        self._prefix = prefix

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

    def reserve_day(self, day: str, amount: int, *, limit: int, expires_at: float) -> DayGrant:
        from botocore.exceptions import BotoCoreError, ClientError

        key = {"pk": {"S": f"{self._prefix}day#{day}"}}
        used = 0
        try:
            for _ in range(2):
                try:
                    updated = self._ddb().update_item(
                        TableName=self._table,
                        Key=key,
                        UpdateExpression="SET used = if_not_exists(used, :zero) + :n, #ttl = :t",
                        ConditionExpression="attribute_not_exists(used) OR used <= :most",
                        ExpressionAttributeNames={"#ttl": "ttl"},
                        ExpressionAttributeValues={
                            ":zero": {"N": "0"},
                            ":n": {"N": str(amount)},
                            ":most": {"N": str(limit - amount)},
                            ":t": {"N": str(int(expires_at))},
                        },
                        ReturnValues="UPDATED_NEW",
                    )
                    return DayGrant(amount, int(updated["Attributes"]["used"]["N"]))
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != (
                        "ConditionalCheckFailedException"
                    ):
                        raise
                item = self._ddb().get_item(TableName=self._table, Key=key, ConsistentRead=True)
                used = int(item.get("Item", {}).get("used", {}).get("N", "0"))
                if limit - used <= 0:
                    return DayGrant(0, used)
                amount = min(amount, limit - used)
            return DayGrant(0, used)  # raced twice: nothing granted this time
        except (BotoCoreError, ClientError) as exc:
            raise BudgetStoreError("reserve_day") from exc

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
