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

Every lookup reads the customer's markers (one item, ``!``) consistently, with the shared
entry in one BatchGetItem or alone for a memory hit: a write in any container, Opower
refusing the customer a route, or the customer forgotten, removes the customer's entries
of the routes concerned and marks them with its time; an entry asked of Opower before
the mark (held in another container's memory, or stored after it by a request already
on its way) is no entry.

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
        longest_fresh_s: float = 0.0,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._memory = MemoryTier(memory_bytes)
        self._max_entry = max_entry_bytes
        self._max_stale_s = max_stale_s
        # A marker outlives every entry asked before it (the longest lifetime, then
        # stale-if-error, then a day for DynamoDB's late TTL deletion).
        self._marker_keep_s = longest_fresh_s + max_stale_s + 86_400
        self._metrics = metrics or NullMetrics()
        self.flights = SingleFlight(clock)

    @property
    def memory(self) -> MemoryTier:
        return self._memory

    def expire_all(self) -> None:
        """Every entry of the memory tier past its freshness now (local tools and tests;
        the shared tier's items are the table's)."""
        self._memory.expire_all(self._clock.now())

    def lookup(self, key: CacheKey) -> Lookup:
        """The freshest entry of the two tiers that the customer's markers still allow:
        an entry asked of Opower before the route's last write or refusal, or before the
        customer was forgotten, is no entry, in whichever container it is held. The
        markers are read consistently with every lookup (with the shared entry, in one
        BatchGetItem; alone, for a memory hit); when they cannot be read, a memory entry
        is only stale (served only if Opower cannot answer)."""
        now = self._clock.now()
        held = self._memory.get(key)
        if self._store is None:
            if held is not None and held.fresh(now):
                return Lookup(held, True, "memory")
            return self._stale_only(held, now)
        try:
            if held is not None and held.fresh(now):
                markers = self._store.markers(key.scope)
                if held.stored_at >= markers.since(key.route):
                    return Lookup(held, True, "memory")
            stored, markers = self._store.get(key)
        except CacheStoreError:
            self._degraded("using the memory tier only, as stale answers")
            return self._stale_only(held, now)
        since = markers.since(key.route)
        if held is not None and held.stored_at < since:
            self._memory.discard(key)
            held = None
        if stored is not None and stored.stored_at < since:
            stored = None
        if stored is not None and stored.fresh(now):
            self._memory.put(key, stored)
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

    def invalidate(self, scope: str, routes: Sequence[str] | None) -> int:
        """Remove the customer's entries of these routes (None: every route) from both
        tiers, and mark them at this time: an answer asked for before it is no answer in
        any container, nor when a request already on its way stores it later. A write
        does this, Opower's refusal does (an answer it took back is not served again, not
        as a hit, assembled, nor stale), and so does forgetting the customer."""
        removed = self._memory.drop(scope, routes)
        if self._store is not None:
            try:
                removed += self._store.delete_routes(
                    scope, routes, at=self._clock.now(), keep_s=self._marker_keep_s
                )
            except CacheStoreError:
                # Nothing to fall back on: the shared tier may still hold the old answer,
                # and it ages out at the route's lifetime. Counted and alarmed.
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
