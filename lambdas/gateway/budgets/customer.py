"""Each customer's share of the utility's Opower budget: limits per minute and per day.

One customer (one session, or one compromised account) must not spend what every other
customer needs: Opower allows the utility 20 calls a second and 100,000 a day in all.
The limits count every call to Opower made for the customer, the authorizer's binding
lookups included.

Cheap on the hot path. A container counts each customer's calls in memory and shares
them with the fleet (one DynamoDB update, which also answers the fleet-wide totals) only
when they add up: after ``share_every`` unshared calls, or on every call once the
fleet-wide total it last saw is past half a limit. A customer well under the limits costs
no DynamoDB call on most requests (``make bench`` measures it), and the share of a
customer who is not past half a limit runs beside the request, not in front of it: the
call is admitted on the local count and the fleet's totals serve the next calls (a
DynamoDB round trip every few calls was most of the proxy's p99, ``make bench``
warm_overhead). Past half a limit, every call waits for its share, as the bound needs.

The bound. A container admits at most ``share_every - 1`` calls of a customer the fleet
has not heard of yet; so in one minute a customer spread over C containers gets through
at most ``per_minute + C x (2 x share_every - 1)`` calls (a container may admit another
``share_every`` while its share is on the way), and at most ``per_minute + C`` once each
of them has seen the customer past half the limit (every call is then shared before it
is allowed). The same holds per day. Refused calls are not counted.

Item ``budget#cust#<customer>#<YYYYMMDD>`` (TTL a day after): ``d`` the day's calls,
``m`` the current minute (epoch minutes) and ``mc`` its calls.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from gateway import aws_clients
from gateway.clock import Clock
from gateway.errors import BudgetStoreError
from gateway.observability import MetricsSink, NullMetrics

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

_MEMORY_CUSTOMERS = 10_000
CUSTOMER_LIMITED = "CustomerLimited"
CUSTOMER_BUDGET_SHARED = "CustomerBudgetShared"


@dataclass(frozen=True)
class CustomerLimits:
    per_minute: int = 60
    per_day: int = 500
    share_every: int = 6  # unshared calls a container admits before it shares them

    def __post_init__(self) -> None:
        if self.per_minute < 1 or self.per_day < 1 or self.share_every < 1:
            raise ValueError("customer limits must be positive")


@dataclass(frozen=True)
class CustomerVerdict:
    allowed: bool
    retry_after_s: int = 0
    reason: str = ""  # "customer_minute" or "customer_day" when refused


@dataclass
class _Seen:
    """One customer, as this container knows them."""

    minute: int = -1
    day: int = -1
    unshared: int = 0  # calls admitted here and not yet added to the shared item
    minute_total: int = 0  # the fleet's count, as last shared (plus unshared)
    day_total: int = 0
    blocked_until: float = 0.0
    blocked_reason: str = ""


class CustomerStore(Protocol):
    def add(
        self, customer: str, *, day: str, minute: int, calls: int, expires_at: float
    ) -> tuple[int, int]:
        """Add ``calls``; the fleet's (day, minute) totals after it."""
        ...


class CustomerBudget:
    def __init__(
        self,
        store: CustomerStore,
        *,
        limits: CustomerLimits,
        clock: Clock,
        metrics: MetricsSink | None = None,
        background: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        self._store = store
        self._limits = limits
        self._clock = clock
        self._metrics = metrics or NullMetrics()
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._lock = threading.Lock()
        # Runs a share beside the request: one thread, so shares of a container keep
        # their order (tests pass a runner that runs it at once).
        self._background = background
        self._background_lock = threading.Lock()

    def acquire(self, customer: str) -> CustomerVerdict:
        now = self._clock.now()
        minute = int(now // 60)
        day = int(now // 86_400)
        with self._lock:
            seen = self._seen.pop(customer, None) or _Seen()
            self._seen[customer] = seen  # most recent last
            while len(self._seen) > _MEMORY_CUSTOMERS:
                self._seen.popitem(last=False)
            if seen.blocked_until > now:
                return self._refuse(seen, now)
            if seen.day != day:
                seen.day, seen.day_total = day, 0
            if seen.minute != minute:
                seen.minute, seen.minute_total = minute, 0
            limits = self._limits
            hot = seen.minute_total * 2 >= limits.per_minute or seen.day_total * 2 >= limits.per_day
            if not hot and seen.unshared + 1 < limits.share_every:
                seen.unshared += 1
                seen.minute_total += 1
                seen.day_total += 1
                return CustomerVerdict(True)
            # Taken now, under the lock: a concurrent call must not share them again.
            calls, seen.unshared = seen.unshared + 1, 0
            if not hot:
                # Far from both limits: admitted on the local count; the fleet's totals
                # come back for the next calls.
                seen.minute_total += 1
                seen.day_total += 1
        if not hot:
            self._metrics.add_metric(CUSTOMER_BUDGET_SHARED, "Count", 1)
            self._run_beside(lambda: self._share_beside(customer, seen, calls, now))
            return CustomerVerdict(True)
        try:
            totals = self._share(customer, calls, now)
        except BudgetStoreError:
            # The fleet-wide limits still hold: do not punish the customer for DynamoDB.
            return CustomerVerdict(True)
        self._metrics.add_metric(CUSTOMER_BUDGET_SHARED, "Count", 1)
        with self._lock:
            if self._learn(seen, totals, now):
                return self._refuse(seen, now)
            return CustomerVerdict(True)

    def _share(self, customer: str, calls: int, now: float) -> tuple[int, int]:
        """Add this container's unshared calls; the fleet's (day, minute) totals."""
        day = int(now // 86_400)
        return self._store.add(
            customer,
            day=_day_name(now),
            minute=int(now // 60),
            calls=calls,
            expires_at=(day + 2) * 86_400,
        )

    def _learn(self, seen: _Seen, totals: tuple[int, int], now: float) -> bool:
        """Take the fleet's totals (under the lock); True when they block the customer."""
        day_total, minute_total = totals
        minute, day = int(now // 60), int(now // 86_400)
        if seen.minute != minute:
            return False  # a later minute: these totals are history
        # The fleet's count, plus what this container admitted since it was taken.
        seen.minute_total = max(seen.minute_total, minute_total + seen.unshared)
        seen.day_total = max(seen.day_total, day_total + seen.unshared)
        if day_total > self._limits.per_day:
            seen.blocked_until = (day + 1) * 86_400
            seen.blocked_reason = "customer_day"
        elif minute_total > self._limits.per_minute:
            seen.blocked_until = (minute + 1) * 60
            seen.blocked_reason = "customer_minute"
        else:
            return False
        return True

    def _run_beside(self, share: Callable[[], None]) -> None:
        with self._background_lock:
            if self._background is None:
                executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="customer-share")
                self._background = executor.submit
            run = self._background
        run(share)

    def _share_beside(self, customer: str, seen: _Seen, calls: int, now: float) -> None:
        try:
            totals = self._share(customer, calls, now)
        except BudgetStoreError:
            return  # the fleet-wide limits still hold; the next share tries again
        except Exception:  # noqa: BLE001 - a thread of its own: nothing may escape it
            logger.warning("customer budget share failed", exc_info=False)
            return
        with self._lock:
            self._learn(seen, totals, now)

    def _refuse(self, seen: _Seen, now: float) -> CustomerVerdict:
        self._metrics.add_metric(CUSTOMER_LIMITED, "Count", 1)
        self._metrics.add_metric(f"{CUSTOMER_LIMITED}_{seen.blocked_reason}", "Count", 1)
        return CustomerVerdict(
            False, max(1, math.ceil(seen.blocked_until - now)), seen.blocked_reason
        )


def _day_name(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")


class DynamoDbCustomerStore(aws_clients.DynamoDbTable):
    def add(
        self, customer: str, *, day: str, minute: int, calls: int, expires_at: float
    ) -> tuple[int, int]:
        from botocore.exceptions import BotoCoreError, ClientError

        key = {"pk": {"S": f"budget#cust#{customer}#{day}"}}
        values = {":n": {"N": str(calls)}, ":m": {"N": str(minute)}}
        attempts = (
            # the usual case: the item is on this minute already
            ("ADD d :n, mc :n SET #ttl = :t", "m = :m"),
            # the first call of a new minute (or of the day)
            ("ADD d :n SET m = :m, mc = :n, #ttl = :t", "attribute_not_exists(m) OR m < :m"),
        )
        try:
            for _ in range(2):  # another container may move the minute between the two
                for expression, condition in attempts:
                    try:
                        answer = self._ddb().update_item(
                            TableName=self._table,
                            Key=key,
                            UpdateExpression=expression,
                            ConditionExpression=condition,
                            ExpressionAttributeNames={"#ttl": "ttl"},
                            ExpressionAttributeValues={
                                **values,
                                ":t": {"N": str(int(expires_at))},
                            },
                            # not UPDATED_NEW: whether `mc` set to the value it had
                            # is "updated" is not said (tests/integration/test_customer_store)
                            ReturnValues="ALL_NEW",
                        )
                    except ClientError as exc:
                        code = exc.response.get("Error", {}).get("Code")
                        if code == "ConditionalCheckFailedException":
                            continue
                        raise
                    item = answer["Attributes"]
                    return int(item["d"]["N"]), int(item["mc"]["N"])
        except (BotoCoreError, ClientError) as exc:
            raise BudgetStoreError("customer budget") from exc
        raise BudgetStoreError("customer budget: the minute kept moving")
