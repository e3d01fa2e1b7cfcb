"""The per-customer response cache: Opower's answers to GET routes, kept per customer.

Opower allows a utility 100,000 calls a day for all of its customers; most of what a
customer asks for changes once a day or once a bill, and the same customer often asks
twice. An answer is kept under a key made of the customer's verified binding (their
Opower ids), the route and the normalized upstream request, so it can only ever be served
to that customer, for that request.

Two tiers:

* the warm container's memory: an LRU bounded in bytes; a hit costs no I/O;
* the shared DynamoDB table (``cache_table_name``): partition ``c#<customer scope>``, sort
  key ``<route>#<request hash>``, the body zlib-compressed, TTL; encrypted at rest with the
  stack's key by DynamoDB itself, so a hit is one GetItem and never a KMS call of ours.
  Answers larger than ``max_entry_bytes`` are not cached.

Routes a customer can write (threshold, home profile) are read from the shared tier on
every hit, never from memory alone: a write in any container removes the customer's
entries there before it is answered and leaves a marker with its time (``<route>#!``);
the read is one consistent Query of the route's items, and an entry asked of Opower
before the last write (stored after it by a request already on its way) is no entry.

An entry stays fresh for its route's lifetime; past it, it is kept ``max_stale_s`` more
and served only when Opower cannot answer (stale-if-error). Every answer says which it
was, with ``Age`` and ``Cache-Status`` (RFC 9211).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from gateway import aws_clients, customer_keys
from gateway.clock import Clock
from gateway.observability import MetricsSink, NullMetrics

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

CACHE_NAME = "OpowerGateway"  # the cache's name in Cache-Status (RFC 9211 section 2)
_ENTRY_OVERHEAD_BYTES = 256  # key, timestamps and bookkeeping of a memory entry
_DYNAMODB_ITEM_LIMIT = 400 * 1024
T = TypeVar("T")

# Metrics: Cache<outcome> in total and Cache_<route>_<outcome> per route, for each of
# OUTCOMES (the proxy counts them), and these.
OUTCOMES = ("Hit", "Miss", "Stale", "Invalidated")
CACHE_HIT_MEMORY = "CacheHitMemory"
CACHE_HIT_SHARED = "CacheHitShared"
CACHE_COLLAPSED = "CacheCollapsed"
CACHE_TOO_LARGE = "CacheEntryTooLarge"
CACHE_STORE_DEGRADED = "CacheStoreDegraded"


def outcome_metric(outcome: str, route: str | None = None) -> str:
    return f"Cache_{route}_{outcome}" if route else f"Cache{outcome}"


@dataclass(frozen=True)
class CacheKey:
    """Where an answer lives: the customer's scope and the request within it."""

    scope: str  # hash of the customer's binding: utility code and Opower ids
    route: str
    request: str  # hash of the normalized upstream request

    @property
    def sort_key(self) -> str:
        return f"{self.route}#{self.request}"


def customer_scope(utility_code: str, customer_id: str, utility_customer_id: str) -> str:
    """The customer's cache partition: their company and both Opower ids, canonically
    encoded and hashed under the customer key (no id is stored in a key, and none can be
    tried against one: gateway.customer_keys)."""
    return customer_keys.digest(["cache", utility_code, customer_id, utility_customer_id], 32)


def cache_key(scope: str, route: str, path: str, query: Iterable[tuple[str, str]] = ()) -> CacheKey:
    """The key of one upstream GET: its path (which holds the bound ids) and its query,
    sorted, so that the same request asked in another order is the same entry."""
    material = json.dumps([path, sorted(query)], separators=(",", ":"))
    return CacheKey(scope, route, hashlib.sha256(material.encode()).hexdigest()[:32])


@dataclass(frozen=True)
class Entry:
    body: str
    stored_at: float  # when Opower gave this answer
    fresh_until: float
    stale_until: float

    def age(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def usable_stale(self, now: float) -> bool:
        return now < self.stale_until

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8")) + _ENTRY_OVERHEAD_BYTES


class MemoryTier:
    """An LRU of entries bounded by the bytes of their bodies."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: CacheKey, entry: Entry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self._max:
                return  # larger than the whole tier: not kept (nor the older answer)
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self._max:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def expire_all(self, now: float) -> None:
        with self._lock:
            for key, entry in self._entries.items():
                if entry.fresh_until > now:
                    self._entries[key] = dataclasses.replace(entry, fresh_until=now)

    def discard(self, key: CacheKey) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size

    def drop(self, scope: str, routes: Sequence[str]) -> int:
        with self._lock:
            doomed = [k for k in self._entries if k.scope == scope and k.route in routes]
            for key in doomed:
                self._bytes -= self._entries.pop(key).size
            return len(doomed)


class CacheStoreError(Exception):
    pass


class DynamoDbCacheStore(aws_clients.DynamoDbTable):
    """The shared tier: one item per entry, in the customer's partition."""

    def get(self, key: CacheKey) -> Entry | None:
        """The entry (an eventually consistent read: half the cost; a route that writes
        change is read with ``get_written``)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            item = (
                self._ddb()
                .get_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"c#{key.scope}"}, "sk": {"S": key.sort_key}},
                )
                .get("Item")
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("get") from exc
        return _entry(item) if item else None

    def get_written(self, key: CacheKey) -> tuple[Entry | None, float]:
        """The entry and the time of the customer's last write to its route (0: none), in
        one consistent Query of the route's items (its entries and the write marker)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._ddb().query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :route)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"c#{key.scope}"},
                    ":route": {"S": f"{key.route}#"},
                },
                ConsistentRead=True,
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("get") from exc
        entry, written_at = None, 0.0
        for item in answer.get("Items", []):
            sort_key = item["sk"]["S"]
            if sort_key == _marker(key.route):
                written_at = float(item["at"]["N"])
            elif sort_key == key.sort_key:
                entry = _entry(item)
        return entry, written_at

    def put(self, key: CacheKey, entry: Entry, compressed: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ddb().put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"c#{key.scope}"},
                    "sk": {"S": key.sort_key},
                    "body": {"B": compressed},
                    "at": {"N": f"{entry.stored_at:.3f}"},
                    "fresh": {"N": f"{entry.fresh_until:.3f}"},
                    "stale": {"N": f"{entry.stale_until:.3f}"},
                    # DynamoDB deletes expired items within days, not at once: the reader
                    # checks `stale` itself; TTL only keeps the table from growing.
                    "ttl": {"N": str(int(entry.stale_until) + 60)},
                },
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("put") from exc

    def delete(self, key: CacheKey) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ddb().delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{key.scope}"}, "sk": {"S": key.sort_key}},
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("delete") from exc

    def delete_routes(self, scope: str, routes: Sequence[str], *, at: float, keep_s: float) -> int:
        """Remove every entry of these routes in the customer's partition, and mark each
        route written at ``at`` (the marker outlives any entry asked for before it)."""
        from botocore.exceptions import BotoCoreError, ClientError

        removed = 0
        try:
            for route in routes:
                self._ddb().put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": f"c#{scope}"},
                        "sk": {"S": _marker(route)},
                        "at": {"N": f"{at:.3f}"},
                        "ttl": {"N": str(int(at + keep_s))},
                    },
                )
                pages = (
                    self._ddb()
                    .get_paginator("query")
                    .paginate(
                        TableName=self._table,
                        KeyConditionExpression="pk = :pk AND begins_with(sk, :route)",
                        ExpressionAttributeValues={
                            ":pk": {"S": f"c#{scope}"},
                            ":route": {"S": f"{route}#"},
                        },
                        ProjectionExpression="pk, sk",
                        ConsistentRead=True,
                    )
                )
                for page in pages:
                    for item in page.get("Items", []):
                        if item["sk"]["S"] == _marker(route):
                            continue
                        self._ddb().delete_item(
                            TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]}
                        )
                        removed += 1
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("delete") from exc
        return removed


def _marker(route: str) -> str:
    """The sort key of a route's write marker (no request hash ends in "!")."""
    return f"{route}#!"


def _entry(item: Mapping[str, Any]) -> Entry | None:
    try:
        return Entry(
            body=zlib.decompress(item["body"]["B"]).decode("utf-8"),
            stored_at=float(item["at"]["N"]),
            fresh_until=float(item["fresh"]["N"]),
            stale_until=float(item["stale"]["N"]),
        )
    except (KeyError, ValueError, zlib.error):
        return None  # not an entry this code wrote: a miss


@dataclass(frozen=True)
class Lookup:
    """What the cache holds for a key: a fresh entry to serve, or a stale one to keep at
    hand in case Opower cannot answer (``fresh`` False), or nothing."""

    entry: Entry | None
    fresh: bool
    tier: str = ""  # "memory" or "shared" for a fresh hit


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None
        self.followers = 0


class SingleFlight:
    """Identical requests in one container at once: the first calls, the others wait for
    its outcome (bounded by their own deadline) and share it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def run(self, key: Hashable, call: Callable[[], T], *, deadline: float) -> tuple[T, bool]:
        """``call()``'s outcome and whether it was another request's (collapsed)."""
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                flight.followers += 1
        if not leader:
            if not flight.done.wait(min(900.0, max(0.0, deadline - self._clock.now()))):
                from gateway.errors import UpstreamTimeoutError

                raise UpstreamTimeoutError("an identical request in flight did not finish in time")
            if flight.error is not None:
                raise flight.error
            return flight.result, True  # type: ignore[return-value]
        try:
            result = call()
            flight.result = result
            return result, False
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()


class ResponseCache:
    def __init__(
        self,
        *,
        store: DynamoDbCacheStore | None,
        clock: Clock,
        memory_bytes: int,
        max_entry_bytes: int,
        max_stale_s: float,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._memory = MemoryTier(memory_bytes)
        self._max_entry = max_entry_bytes
        self._max_stale_s = max_stale_s
        self._metrics = metrics or NullMetrics()
        self.flights = SingleFlight(clock)

    @property
    def memory(self) -> MemoryTier:
        return self._memory

    def expire_all(self) -> None:
        """Every entry of the memory tier past its freshness now (local tools and tests;
        the shared tier's items are the table's)."""
        self._memory.expire_all(self._clock.now())

    def lookup(self, key: CacheKey, *, shared_only: bool = False) -> Lookup:
        """The freshest entry of the two tiers. ``shared_only``: a route the customer can
        write, whose memory copy another container's write may have made wrong."""
        if shared_only:
            return self._lookup_written(key)
        now = self._clock.now()
        held = self._memory.get(key)
        if held is not None and held.fresh(now):
            return Lookup(held, True, "memory")
        if self._store is not None:
            try:
                stored = self._store.get(key)
            except CacheStoreError:
                self._degraded("using the memory tier only")
                stored = None
            if stored is not None:
                if stored.fresh(now):
                    self._memory.put(key, stored)
                    return Lookup(stored, True, "shared")
                if held is None or stored.stored_at > held.stored_at:
                    held = stored
        return self._stale_only(held, now)

    def _lookup_written(self, key: CacheKey) -> Lookup:
        """A route some write changes: the shared tier's entry and the time of the last
        write, in one consistent read; an answer fetched before that write is no answer
        (it may have been stored after the write's invalidation, by a request that was
        already on its way to Opower)."""
        now = self._clock.now()
        held = self._memory.get(key)
        if self._store is None:
            if held is not None and held.fresh(now):
                return Lookup(held, True, "memory")
            return self._stale_only(held, now)
        try:
            stored, written_at = self._store.get_written(key)
        except CacheStoreError:
            self._degraded("using the memory tier only")
            return self._stale_only(held, now)  # not fresh: another write may be unseen
        if held is not None and held.stored_at < written_at:
            self._memory.discard(key)
            held = None
        if stored is not None and stored.stored_at < written_at:
            stored = None
        if stored is not None and stored.fresh(now):
            return Lookup(stored, True, "shared")
        if stored is not None and (held is None or stored.stored_at > held.stored_at):
            held = stored
        return self._stale_only(held, now)

    @staticmethod
    def _stale_only(held: Entry | None, now: float) -> Lookup:
        return Lookup(held if held is not None and held.usable_stale(now) else None, False)

    def _degraded(self, what: str) -> None:
        self._metrics.add_metric(CACHE_STORE_DEGRADED, "Count", 1)
        logger.warning("cache store unavailable; %s", what)

    def store(
        self, key: CacheKey, body: str, *, fresh_s: float, asked_at: float | None = None
    ) -> bool:
        """Keep an answer Opower just gave to a request sent at ``asked_at`` (its age
        counts from then); False when it is too large to cache (and then no older answer
        stays in its place)."""
        if len(body.encode("utf-8")) > self._max_entry:
            self._metrics.add_metric(CACHE_TOO_LARGE, "Count", 1)
            self.forget(key)
            return False
        at = self._clock.now() if asked_at is None else asked_at
        entry = Entry(body, at, at + fresh_s, at + fresh_s + self._max_stale_s)
        self._memory.put(key, entry)
        if self._store is not None:
            compressed = zlib.compress(body.encode("utf-8"), 6)
            if len(compressed) > _DYNAMODB_ITEM_LIMIT - 1024:
                self._metrics.add_metric(CACHE_TOO_LARGE, "Count", 1)
                self._forget_shared(key)
                return True  # kept in memory only
            try:
                self._store.put(key, entry, compressed)
            except CacheStoreError:
                self._metrics.add_metric(CACHE_STORE_DEGRADED, "Count", 1)
                logger.warning("cache store unavailable; answer kept in memory only")
        return True

    def forget(self, key: CacheKey) -> None:
        """Opower's latest word is that there is no such answer (404, or an empty one):
        no older answer may stand in for it later."""
        self._memory.discard(key)
        self._forget_shared(key)

    def _forget_shared(self, key: CacheKey) -> None:
        if self._store is None:
            return
        try:
            self._store.delete(key)
        except CacheStoreError:
            self._metrics.add_metric(CACHE_STORE_DEGRADED, "Count", 1)
            logger.warning("cache store unavailable; an answer may outlive its removal")

    def invalidate(self, scope: str, routes: Sequence[str]) -> int:
        """Remove the customer's entries of these routes from both tiers, and record the
        write's time, so that an answer asked for before it and stored after is no answer."""
        removed = self._memory.drop(scope, routes)
        if self._store is not None:
            try:
                removed += self._store.delete_routes(
                    scope, routes, at=self._clock.now(), keep_s=self._max_stale_s + 86_400
                )
            except CacheStoreError:
                # Nothing to fall back on: the shared tier may still hold the old answer,
                # and it ages out at the route's (short) lifetime. Counted and alarmed.
                self._metrics.add_metric(CACHE_STORE_DEGRADED, "Count", 1)
                logger.warning("cache store unavailable; invalidation reached memory only")
        return removed


def cache_status(
    *,
    hit: bool,
    ttl_s: float | None = None,
    forward: str = "",
    forward_status: int | None = None,
    stored: bool = False,
    collapsed: bool = False,
    detail: str = "",
) -> str:
    """A ``Cache-Status`` member (RFC 9211 section 2): ``hit``, or ``fwd`` with the reason
    the request went to Opower; ``fwd-status`` what Opower answered; ``ttl`` the remaining
    freshness (negative when stale); ``stored``; ``collapsed``; ``detail``."""
    parts = [CACHE_NAME]
    if hit:
        parts.append("hit")
    if forward:
        parts.append(f"fwd={forward}")
    if forward_status is not None:
        parts.append(f"fwd-status={forward_status}")
    if ttl_s is not None:
        parts.append(f"ttl={math.floor(ttl_s)}")
    if stored:
        parts.append("stored")
    if collapsed:
        parts.append("collapsed")
    if detail:
        parts.append(f'detail="{detail}"')
    return "; ".join(parts)
