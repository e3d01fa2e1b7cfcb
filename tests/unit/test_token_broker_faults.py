"""The broker under token-endpoint faults, each at the boundary where it once broke: the
token requests of an episode stay a small constant whatever the fleet's size.

Fakes at every edge (tests/fakes.py); the same faults with real processes are in
`make bench-faults` (bench/token_faults.py)."""

from __future__ import annotations

import pytest

from gateway import observability as m
from gateway.errors import TokenEndpointTimeoutError, TokenUnavailableError
from gateway.token.broker import TokenBroker
from tests.fakes import KEY, Fleet, transient

FLEET_SIZES = (10, 20)


@pytest.fixture
def fleet() -> Fleet:
    return Fleet(lifetime_s=3600.0)


def _everyone(brokers: list[TokenBroker], deadline_s: float = 20.0) -> dict[str, int]:
    """Each container asks for a token once; what they got."""
    outcomes = {"ok": 0, "unavailable": 0}
    for broker in brokers:
        try:
            broker.get_token(deadline=broker_now(brokers) + deadline_s)
            outcomes["ok"] += 1
        except TokenUnavailableError:
            outcomes["unavailable"] += 1
    return outcomes


def broker_now(brokers: list[TokenBroker]) -> float:
    return brokers[0]._clock.now()


# -- a hanging endpoint ---------------------------------------------------------------------
@pytest.mark.parametrize("containers", FLEET_SIZES)
def test_a_hanging_endpoint_with_no_valid_token_is_the_endpoints_failure_for_the_fleet(
    containers: int,
) -> None:
    fleet = Fleet()
    fleet.issuer.hanging = True
    brokers = [fleet.broker() for _ in range(containers)]

    outcomes = _everyone(brokers)

    # One request, given the endpoint's whole timeout; its timeout is recorded for the
    # fleet, so nobody else sends one inside the back-off.
    assert len(fleet.issuer.requests) == 1
    assert fleet.issuer.timeouts == [fleet.issuer.max_request_s]
    assert outcomes == {"ok": 0, "unavailable": containers}
    assert fleet.store.items[KEY].failures == 1
    assert fleet.metrics.counts[m.TOKEN_FETCH_OUT_OF_TIME] == 0


def test_a_hanging_endpoint_costs_requests_by_back_off_rounds_not_by_containers() -> None:
    counts = {}
    for containers in FLEET_SIZES:
        fleet = Fleet()
        fleet.issuer.hanging = True
        brokers = [fleet.broker() for _ in range(containers)]
        for _ in range(60):  # a minute of every container asking every second
            _everyone(brokers)
            fleet.clock.advance(1)
        counts[containers] = len(fleet.issuer.requests)

    # ~2 minutes of fake time (each hanging request takes its 10 s): back-off rounds of
    # 1, 2, 4, 8, 16, 30 s after each, the same for either fleet.
    assert counts[FLEET_SIZES[0]] == counts[FLEET_SIZES[1]] <= 8


def test_a_timeout_cut_short_by_the_callers_deadline_is_not_sent_at_all(fleet: Fleet) -> None:
    broker = fleet.broker()

    with pytest.raises(TokenUnavailableError):
        broker.get_token(deadline=fleet.clock.now() + 1.5)  # less than a fair request

    assert fleet.issuer.requests == []
    assert KEY not in fleet.store.items or fleet.store.items[KEY].failures == 0


# -- waiting for the lease holder -----------------------------------------------------------
def test_waiting_is_bounded_by_the_holders_lease_not_a_fixed_three_seconds(
    fleet: Fleet,
) -> None:
    holder, waiter = fleet.broker(), fleet.broker()
    fleet.store.leases[KEY] = (holder.owner, fleet.clock.now() + 12)
    published_at = fleet.clock.now() + 6  # a slow but healthy holder

    def holder_publishes() -> None:
        if fleet.clock.now() >= published_at and KEY in fleet.store.leases:
            fleet.store.leases.pop(KEY)
            holder.get_token()

    fleet.clock.on_sleep.append(holder_publishes)

    token = waiter.get_token(deadline=fleet.clock.now() + 20)

    assert token.value == "tok-1"
    assert len(fleet.issuer.requests) == 1  # the holder's only
    assert 6 <= fleet.clock.slept < 7


def test_a_waiter_answers_unavailable_at_its_deadline_without_fetching(fleet: Fleet) -> None:
    fleet.store.leases[KEY] = ("busy", fleet.clock.now() + 30)

    with pytest.raises(TokenUnavailableError):
        fleet.broker().get_token(deadline=fleet.clock.now() + 5)

    assert fleet.issuer.requests == []


def test_a_waiter_sees_the_holders_failure_and_backs_off_with_the_fleet(fleet: Fleet) -> None:
    holder, waiter = fleet.broker(), fleet.broker()
    fleet.issuer.script = [transient(), transient()]
    fleet.store.leases[KEY] = (holder.owner, fleet.clock.now() + 10)

    def holder_fails() -> None:
        if fleet.clock.on_sleep:
            fleet.clock.on_sleep.clear()  # once: the holder's own pauses sleep too
            fleet.store.leases.pop(KEY)
            with pytest.raises(TokenUnavailableError):
                holder.get_token()

    fleet.clock.on_sleep.append(holder_fails)

    with pytest.raises(TokenUnavailableError) as caught:
        waiter.get_token(deadline=fleet.clock.now() + 20)

    assert len(fleet.issuer.requests) == 2  # the holder's two attempts, nothing more
    assert caught.value.retry_after_s is not None
    assert caught.value.retry_after_s >= 1


# -- the lease holder's slow fetch ----------------------------------------------------------
def test_the_holder_renews_its_lease_before_each_further_attempt(fleet: Fleet) -> None:
    fleet.issuer.script = [transient()]
    broker = fleet.broker()

    broker.get_token(deadline=fleet.clock.now() + 20)

    assert fleet.store.calls["renew"] == 1
    assert len(fleet.issuer.requests) == 2


def test_a_holder_whose_lease_was_taken_over_stops_asking(fleet: Fleet) -> None:
    broker = fleet.broker()
    fleet.issuer.script = [transient()]

    def taken_over() -> None:  # the pause between attempts outlived the lease
        fleet.store.leases[KEY] = ("another-container", fleet.clock.now() + 10)

    fleet.clock.on_sleep.append(taken_over)

    with pytest.raises(TokenUnavailableError):
        broker.get_token(deadline=fleet.clock.now() + 20)

    assert len(fleet.issuer.requests) == 1  # no second request beside the new holder's


def test_the_first_lease_covers_the_whole_first_request(fleet: Fleet) -> None:
    fleet.issuer.hanging = True
    leases: list[float] = []
    original = fleet.store.acquire_lease

    def spy(key: str, *, owner: str, now: float, duration_s: float) -> tuple[bool, float | None]:
        leases.append(duration_s)
        return original(key, owner=owner, now=now, duration_s=duration_s)

    fleet.store.acquire_lease = spy  # type: ignore[method-assign]

    with pytest.raises(TokenUnavailableError):
        fleet.broker().get_token(deadline=fleet.clock.now() + 20)

    assert leases == [fleet.issuer.max_request_s + fleet.settings.lease_margin_s]


# -- an endpoint that re-issues the same token until it expires -----------------------------
@pytest.mark.parametrize("containers", FLEET_SIZES)
def test_reissue_at_the_expiry_boundary_costs_a_constant_number_of_requests(
    containers: int,
) -> None:
    fleet = Fleet(lifetime_s=20.0)
    fleet.issuer.reissue_same = True
    brokers = [fleet.broker() for _ in range(containers)]
    first = brokers[0].get_token(deadline=fleet.clock.now() + 20)
    failures = 0
    for _ in range(int(3 * 20 / 0.5)):  # three lifetimes, everyone asking twice a second
        fleet.clock.advance(0.5)
        failures += _everyone(brokers)["unavailable"]

    # Per token: the first fetch, the due refresh that brings the same token back, and
    # one after it has expired: never one per container.
    assert len(fleet.issuer.requests) <= 3 * 3 + 1
    assert fleet.metrics.counts[m.TOKEN_REISSUED] >= 1
    assert brokers[-1].get_token().value != first.value  # a new token after expiry
    # A re-issued token is served until moments before it expires.
    assert failures <= 3 * containers


def test_a_waiter_adopts_the_republished_token_with_the_items_expiry(fleet: Fleet) -> None:
    fleet = Fleet(lifetime_s=20.0)
    fleet.issuer.reissue_same = True
    a, b = fleet.broker(), fleet.broker()
    token = a.get_token()
    b.get_token()
    fleet.clock.advance(16)  # both are due; a refreshes and gets the same token back
    a.get_token()

    served = b.get_token()  # b must see "re-issued" in the item, not keep its stale view

    assert served.value == token.value
    assert served.reissued
    assert len(fleet.issuer.requests) == 2


# -- a slow endpoint ------------------------------------------------------------------------
def test_refresh_ahead_adapts_to_a_slow_endpoint(fleet: Fleet) -> None:
    broker = fleet.broker()
    broker.get_token()
    fleet.clock.advance(3600 * 0.8)
    fleet.issuer.latency_s = 3.0  # slower than the shortest refresh-ahead bound (2 s)

    first = broker.get_token(deadline=fleet.clock.now() + 20)  # cut short: served the old
    assert broker.get_token(deadline=fleet.clock.now() + 20).value == "tok-1"  # paced
    fleet.clock.advance(fleet.settings.backoff_base_s)
    second = broker.get_token(deadline=fleet.clock.now() + 20)  # given longer: refreshed

    assert first.value == "tok-1"
    assert second.value == "tok-3"
    assert fleet.issuer.timeouts[1] == 2.0
    assert fleet.issuer.timeouts[2] >= 8.0  # 4 x the 2 s it has at least taken
    assert fleet.store.items[KEY].failures == 0  # slow is not failed: no fleet back-off


def test_the_learnt_latency_is_shared_with_the_fleet(fleet: Fleet) -> None:
    a, b = fleet.broker(), fleet.broker()
    a.get_token()
    b.get_token()
    fleet.clock.advance(3600 * 0.8)
    fleet.issuer.latency_s = 3.0
    a.get_token(deadline=fleet.clock.now() + 20)  # learns "at least 2 s"
    fleet.clock.advance(fleet.settings.backoff_base_s)

    b.get_token(deadline=fleet.clock.now() + 20)

    assert fleet.issuer.timeouts[-1] >= 8.0
    assert len(fleet.issuer.requests) == 3


# -- DynamoDB unavailable -------------------------------------------------------------------
@pytest.mark.parametrize("containers", FLEET_SIZES)
def test_a_store_outage_shorter_than_the_refresh_margin_costs_no_token_request(
    containers: int,
) -> None:
    fleet = Fleet()
    brokers = [fleet.broker() for _ in range(containers)]
    _everyone(brokers)
    fleet.clock.advance(3600 * 0.8)  # due for refresh
    fleet.store.down = True

    for _ in range(60):
        assert _everyone(brokers)["ok"] == containers
        fleet.clock.advance(1)

    assert len(fleet.issuer.requests) == 1  # each serves its valid token meanwhile


def test_timeouts_are_not_retried_within_one_refresh(fleet: Fleet) -> None:
    fleet.issuer.script = [TokenEndpointTimeoutError("t"), "never-reached"]

    with pytest.raises(TokenUnavailableError):
        fleet.broker().get_token(deadline=fleet.clock.now() + 20)

    assert len(fleet.issuer.requests) == 1
