"""The response cache's parts on a fake clock: the memory tier's byte bound, the key,
freshness and stale windows, single flight, Cache-Status, and the binding's refresh-ahead
(the cache and the binding are one economy of Opower calls)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from gateway.auth.binding import BindingResolver
from gateway.auth.session import SessionIdentity
from gateway.cache.answers import ResponseCache, cache_status
from gateway.cache.flight import SingleFlight
from gateway.cache.keys import cache_key, customer_scope, generation
from gateway.cache.tiers import Entry, MemoryTier
from gateway.errors import UpstreamError, UpstreamTimeoutError
from gateway.opower_client import UpstreamResponse
from gateway.routes import ROUTES, ROUTES_BY_NAME, cache_lifetimes, written_routes
from gateway.settings import RuntimeSettings
from tests.fakes import FakeClock, RecordingMetrics


def entry(size: int, at: float = 0.0) -> Entry:
    return Entry("x" * size, at, at + 60, at + 120)


def test_the_memory_tier_keeps_to_its_bytes_evicting_the_least_recently_used() -> None:
    tier = MemoryTier(max_bytes=3 * (1000 + 256))
    keys = [cache_key("s", "usage", f"/p/{i}") for i in range(4)]
    for key in keys[:3]:
        tier.put(key, entry(1000))
    assert tier.get(keys[0]) is not None  # now the most recently used
    tier.put(keys[3], entry(1000))

    assert tier.get(keys[1]) is None
    assert all(tier.get(k) is not None for k in (keys[0], keys[2], keys[3]))
    assert tier.bytes <= 3 * (1000 + 256)
    tier.put(cache_key("s", "usage", "/huge"), entry(10_000))  # larger than the tier
    assert len(tier) == 3


def test_keys_name_the_customer_and_the_request_canonically() -> None:
    ada = customer_scope("UTX", "UC-0001")
    assert ada != customer_scope("UTY", "UC-0001")
    assert ada != customer_scope("UTX", "UC-0002")
    # A canonical encoding: no id can be shifted between the parts.
    assert customer_scope("UT", "X1") != customer_scope("UTX", "1")
    now = generation("1000001", ["2000001"], "v1")
    one = cache_key(ada, "usage", "/apis/u", [("start", "a"), ("end", "b")], generation=now)
    assert one == cache_key(ada, "usage", "/apis/u", [("end", "b"), ("start", "a")], generation=now)
    assert one != cache_key(ada, "usage", "/apis/u", [("start", "a"), ("end", "c")])
    # Another binding generation (an account moved out, another Opower id) is another key.
    for other in (
        generation("1000001", ["2000001"], "v2"),
        generation("1000001", ["2000001", "2000002"], "v1"),
        generation("1000009", ["2000001"], "v1"),
    ):
        assert one != cache_key(ada, "usage", "/apis/u", [("start", "a"), ("end", "b")],
                                generation=other)  # fmt: skip
    assert "UC-0001" not in one.scope + one.sort_key
    assert "usage" not in one.sort_key  # the route is a keyed tag too


def test_fresh_then_stale_then_gone() -> None:
    clock = FakeClock()
    cache = ResponseCache(
        store=None, clock=clock, memory_bytes=10**6, max_entry_bytes=10**5, max_stale_s=100
    )
    key = cache_key("s", "bill_forecast", "/p")
    assert cache.store(key, '{"a": 1}', fresh_s=10)

    assert cache.lookup(key).fresh
    clock.advance(11)
    stale = cache.lookup(key)
    assert not stale.fresh
    assert stale.entry is not None
    assert stale.entry.age(clock.now()) == 11
    clock.advance(100)
    assert cache.lookup(key).entry is None


def test_too_large_answers_are_not_kept() -> None:
    metrics = RecordingMetrics()
    cache = ResponseCache(
        store=None, clock=FakeClock(), memory_bytes=10**6, max_entry_bytes=10,
        max_stale_s=0, metrics=metrics,
    )  # fmt: skip
    key = cache_key("s", "usage", "/p")
    assert cache.store(key, "[]", fresh_s=60)
    # A larger answer replaces nothing: the older one does not stay as if it were current.
    assert not cache.store(key, json.dumps(list(range(100))), fresh_s=60)
    assert cache.lookup(key).entry is None
    assert metrics.counts["CacheEntryTooLarge"] == 1
    assert cache.memory.bytes == 0


def test_invalidation_removes_only_that_customers_routes() -> None:
    cache = ResponseCache(
        store=None, clock=FakeClock(), memory_bytes=10**6, max_entry_bytes=10**5, max_stale_s=0
    )
    mine, theirs = customer_scope("UTX", "A"), customer_scope("UTX", "B")
    for scope in (mine, theirs):
        for route in ("threshold", "bill_forecast"):
            cache.store(cache_key(scope, route, "/p"), "{}", fresh_s=60)

    assert cache.invalidate(mine, ("threshold",)) == 1
    assert cache.lookup(cache_key(mine, "threshold", "/p")).entry is None
    assert cache.lookup(cache_key(mine, "bill_forecast", "/p")).fresh
    assert cache.lookup(cache_key(theirs, "threshold", "/p")).fresh


def test_single_flight_shares_one_outcome_success_or_failure() -> None:
    clock = FakeClock()
    flights = SingleFlight(clock)
    key = cache_key("s", "usage", "/p")
    release = threading.Event()
    calls = []

    def slow() -> str:
        calls.append(1)
        release.wait(5)
        return "answer"

    results: list[tuple[str, bool]] = []

    def ask() -> None:
        results.append(flights.run(key, slow, deadline=clock.now() + 60))

    leader = threading.Thread(target=ask)
    leader.start()
    while not flights._flights:
        pass
    followers = [threading.Thread(target=ask) for _ in range(3)]
    for t in followers:
        t.start()
    while flights._flights[key].followers < 3:
        pass
    release.set()
    for t in (leader, *followers):
        t.join()
    assert len(calls) == 1
    assert sorted(results) == [("answer", False)] + [("answer", True)] * 3

    def failing() -> str:
        raise UpstreamError("down")

    with pytest.raises(UpstreamError):
        flights.run(key, failing, deadline=1e12)
    assert not flights._flights  # nothing left behind


def test_a_follower_waits_no_longer_than_its_deadline() -> None:
    clock = FakeClock()
    flights = SingleFlight(clock)
    key = cache_key("s", "usage", "/p")
    release = threading.Event()
    leader = threading.Thread(
        target=lambda: flights.run(key, lambda: release.wait(5), deadline=clock.now() + 60)
    )
    leader.start()
    while not flights._flights:
        pass
    with pytest.raises(UpstreamTimeoutError):
        flights.run(key, lambda: "never", deadline=clock.now() + 0.05)
    release.set()
    leader.join()


def test_cache_status_follows_rfc_9211() -> None:
    assert cache_status(hit=True, ttl_s=42.7) == "OpowerGateway; hit; ttl=42"
    # Stale by under a second is stale: the ttl is negative, never 0.
    assert cache_status(hit=True, ttl_s=-0.4) == "OpowerGateway; hit; ttl=-1"
    assert (
        cache_status(hit=False, forward="miss", forward_status=200, stored=True)
        == "OpowerGateway; fwd=miss; fwd-status=200; stored"
    )
    assert (
        cache_status(
            hit=False, forward="stale", forward_status=503, ttl_s=-60, detail="upstream-error"
        )
        == 'OpowerGateway; fwd=stale; fwd-status=503; ttl=-60; detail="upstream-error"'
    )


def test_every_get_route_has_a_lifetime_and_writes_name_real_routes() -> None:
    lifetimes = cache_lifetimes()
    for route in ROUTES:
        get = route.operation("GET")
        # A route without a GET (a contact's PUT and DELETE, a tip's action) has nothing
        # to keep; every GET has a lifetime and says why.
        assert get is not None or route.methods, route.name
        if get is not None:
            assert get.cache is not None, route.name
            assert get.cache.why
    assert lifetimes["usage/raw"] < lifetimes["usage/day"] < lifetimes["usage/billing"]
    assert written_routes() == {
        "threshold", "home_profile", "contacts", "contact_preferences", "tips", "tip_names", "tip"
    }  # fmt: skip
    for route in ROUTES:
        for op in route.operations:
            assert set(op.invalidates) <= set(ROUTES_BY_NAME)
            assert op.method != "GET" or not op.invalidates


def test_lifetimes_are_configurable_and_checked() -> None:
    settings = RuntimeSettings.from_mapping({"cache_fresh_s": '{"usage/raw": 60, "threshold": 0}'})
    assert settings.cache_lifetime("usage/raw") == 60
    assert settings.cache_lifetime("threshold") == 0
    assert settings.cache_lifetime("accounts") == cache_lifetimes()["accounts"]
    assert RuntimeSettings.from_mapping({"cache_enabled": "false"}).cache_lifetime("accounts") == 0
    assert (
        "CACHE_FRESH_S"
        in RuntimeSettings.from_mapping({"cache_fresh_s": {"usage/raw": 60}}).to_env()
    )
    from gateway.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="usage/hourly"):
        RuntimeSettings.from_mapping({"cache_fresh_s": '{"usage/hourly": 60}'})
    with pytest.raises(ConfigurationError, match="CACHE_FRESH_S"):
        RuntimeSettings.from_mapping({"cache_fresh_s": '{"usage/raw": -1}'})


class _Opower:
    """The two binding lookups, counted."""

    def __init__(self) -> None:
        self.calls = 0

    def request(self, method: str, path: str, **_: Any) -> UpstreamResponse:
        self.calls += 1
        if path.endswith("/customers"):
            body = [{"id": 7, "utilityCustomerId": "UC-1"}]
        else:
            body = [{"id": 70 + self.calls}]
        return UpstreamResponse(200, json.dumps(body).encode(), "application/json", None, 1)


def test_a_binding_is_refreshed_ahead_of_its_ttl_with_the_request_that_uses_it() -> None:
    clock = FakeClock()
    opower = _Opower()
    seeded: list[tuple[str, str]] = []
    resolver = BindingResolver(
        opower,  # type: ignore[arg-type]
        utility_code="UTX",
        store=None,
        clock=clock,
        ttl_s=1000,
        refresh_after_s=100,
        seed=lambda code, binding, path, body: seeded.append((path, body.decode())),
    )
    identity = SessionIdentity("s", "UC-1", ("4100000001",), 0.0)

    first = resolver.resolve(identity, deadline=1e12)
    assert opower.calls == 2
    assert first.account_ids == ("72",)
    assert seeded == [("/apis/customer-data-v2/UTX/customers/7/utility_accounts", '[{"id": 72}]')]
    clock.advance(50)
    assert resolver.resolve(identity, deadline=1e12) == first
    assert opower.calls == 2

    clock.advance(60)  # past refresh_after: looked up again with this request
    refreshed = resolver.resolve(identity, deadline=1e12)
    assert refreshed.account_ids == ("74",)
    assert opower.calls == 4
    assert resolver.resolve(identity, deadline=1e12) == refreshed
    assert opower.calls == 4


def test_a_failed_refresh_keeps_the_held_binding() -> None:
    clock = FakeClock()
    opower = _Opower()
    resolver = BindingResolver(
        opower,  # type: ignore[arg-type]
        utility_code="UTX", store=None, clock=clock, ttl_s=1000, refresh_after_s=100,
    )  # fmt: skip
    identity = SessionIdentity("s", "UC-1", ("4100000001",), 0.0)
    first = resolver.resolve(identity, deadline=1e12)

    def down(*_: Any, **__: Any) -> UpstreamResponse:
        raise UpstreamError("down")

    opower.request = down  # type: ignore[method-assign]
    clock.advance(200)
    assert resolver.resolve(identity, deadline=1e12) == first
    calls = []
    opower.request = lambda *a, **k: calls.append(1) or down()  # type: ignore[method-assign]
    clock.advance(60)  # within the retry pause: no new attempt
    assert resolver.resolve(identity, deadline=1e12) == first
    assert calls == []
    clock.advance(300)  # the pause over: tried again, held again
    assert resolver.resolve(identity, deadline=1e12) == first
    assert calls == [1]
    clock.advance(900)  # past the TTL: no binding without Opower
    from gateway.auth.errors import IdentityUnavailableError

    with pytest.raises(IdentityUnavailableError):
        resolver.resolve(identity, deadline=1e12)
