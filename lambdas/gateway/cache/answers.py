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

import logging
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.cache.flight import SingleFlight
from gateway.cache.keys import CacheKey
from gateway.cache.tiers import CacheStoreError, DynamoDbCacheStore, Entry, MemoryTier
from gateway.clock import Clock
from gateway.observability import MetricsSink, NullMetrics

logger = logging.getLogger(__name__)

CACHE_NAME = "OpowerGateway"  # the cache's name in Cache-Status (RFC 9211 section 2)
_DYNAMODB_ITEM_LIMIT = 400 * 1024

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
class Lookup:
    """What the cache holds for a key: a fresh entry to serve, or a stale one to keep at
    hand in case Opower cannot answer (``fresh`` False), or nothing."""

    entry: Entry | None
    fresh: bool
    tier: str = ""  # "memory" or "shared" for a fresh hit


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
