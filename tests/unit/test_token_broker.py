"""The broker's rules, with fakes at every edge (see tests/integration for the real ones)."""

from __future__ import annotations

import pytest

from gateway import observability as m
from gateway.credentials import OpowerCredentials
from gateway.errors import (
    InvalidClientError,
    TokenClientMismatchError,
    TokenResponseError,
    TokenUnavailableError,
)
from gateway.token.broker import BrokerSettings
from gateway.token.fetch import FetchSettings
from tests.fakes import CREDS, KEY, Fleet, transient


@pytest.fixture
def fleet() -> Fleet:
    return Fleet()


def test_a_warm_container_fetches_once_and_serves_from_memory(fleet: Fleet) -> None:
    broker = fleet.broker()

    tokens = {broker.get_token().value for _ in range(100)}

    assert tokens == {"tok-1"}
    assert len(fleet.issuer.requests) == 1
    assert fleet.metrics.counts[m.TOKEN_CACHE_HIT_MEMORY] == 99
    # the refresh read the item twice (before and after taking the lease); the 99 memory
    # hits never touched DynamoDB
    assert fleet.store.calls["read"] == 2


def test_a_second_container_takes_the_token_from_the_shared_item(fleet: Fleet) -> None:
    first, second = fleet.broker(), fleet.broker()
    issued = first.get_token()

    adopted = second.get_token()

    assert adopted.value == issued.value
    assert adopted.expires_at == issued.expires_at
    assert len(fleet.issuer.requests) == 1
    assert fleet.metrics.counts[m.TOKEN_CACHE_HIT_DYNAMODB] == 1


def test_the_shared_item_holds_only_ciphertext(fleet: Fleet) -> None:
    token = fleet.broker().get_token()

    stored = fleet.store.items[KEY].token
    assert stored is not None
    assert token.value.encode() not in stored.ciphertext
    assert stored.fingerprint == token.fingerprint


def test_refresh_happens_ahead_of_expiry_once_a_quarter_of_the_life_is_left(
    fleet: Fleet,
) -> None:
    broker = fleet.broker()
    first = broker.get_token()

    fleet.clock.advance(3600 * 0.74)
    assert broker.get_token().value == first.value
    fleet.clock.advance(3600 * 0.02)
    refreshed = broker.get_token()

    assert refreshed.value != first.value
    assert len(fleet.issuer.requests) == 2


def test_the_refresh_margin_is_at_least_sixty_seconds_and_at_most_half_the_life() -> None:
    fleet = Fleet(lifetime_s=120)  # 25 % would be 30 s; the 60 s floor applies
    broker = fleet.broker()
    broker.get_token()
    fleet.clock.advance(59)
    broker.get_token()
    assert len(fleet.issuer.requests) == 1
    fleet.clock.advance(2)
    broker.get_token()
    assert len(fleet.issuer.requests) == 2

    short = Fleet(lifetime_s=10)  # a 60 s margin would make it due from birth
    broker = short.broker()
    for _ in range(4):
        broker.get_token()
        short.clock.advance(1)
    assert len(short.issuer.requests) == 1


def test_only_the_lease_holder_refreshes_the_others_keep_serving(fleet: Fleet) -> None:
    first, second = fleet.broker(), fleet.broker()
    token = first.get_token()
    second.get_token()
    fleet.clock.advance(3600 * 0.8)  # both are in the refresh window
    fleet.store.leases[KEY] = ("a-crashed-or-busy-container", fleet.clock.now() + 10)

    served = second.get_token()

    assert served.value == token.value
    assert len(fleet.issuer.requests) == 1
    assert fleet.metrics.counts[m.TOKEN_LEASE_CONTENTION] == 1


def test_without_a_valid_token_a_container_waits_for_the_refresher(fleet: Fleet) -> None:
    refresher, waiter = fleet.broker(), fleet.broker()
    fleet.store.leases[KEY] = ("refresher", fleet.clock.now() + 10)
    # While the waiter sleeps, the lease holder publishes a token.
    fleet.clock.on_sleep.append(lambda: fleet.store.leases.pop(KEY, None) and refresher.get_token())

    token = waiter.get_token()

    assert token.value == "tok-1"
    assert len(fleet.issuer.requests) == 1  # the refresher's only
    assert fleet.clock.slept < 10  # the lease


def test_a_waiter_never_fetches_without_the_lease_it_takes_it_over_when_it_expires(
    fleet: Fleet,
) -> None:
    waiter = fleet.broker()
    fleet.store.leases[KEY] = ("crashed", fleet.clock.now() + 10)

    token = waiter.get_token()

    assert token.value == "tok-1"
    assert len(fleet.issuer.requests) == 1
    assert 10 <= fleet.clock.slept < 10.5  # the crashed holder's lease, not a fixed bound


def test_an_expired_lease_of_a_crashed_refresher_is_taken_over(fleet: Fleet) -> None:
    fleet.store.leases[KEY] = ("crashed", fleet.clock.now() - 0.001)

    fleet.broker().get_token()

    assert fleet.clock.slept == 0
    assert KEY not in fleet.store.leases  # taken, then released by the new holder


def test_an_endpoint_that_reissues_the_same_token_causes_no_refresh_loop(fleet: Fleet) -> None:
    fleet.issuer.reissue_same = True
    broker, other = fleet.broker(), fleet.broker()
    first = broker.get_token()
    fleet.clock.advance(3600 * 0.8)

    for _ in range(50):
        assert broker.get_token().value == first.value
        assert other.get_token().value == first.value
        fleet.clock.advance(10)

    # One fetch at the start, one at the refresh point that brought the same token back.
    assert len(fleet.issuer.requests) == 2
    assert fleet.metrics.counts[m.TOKEN_REISSUED] == 1
    assert broker.get_token().expires_at == first.expires_at  # never lengthened


def test_invalidate_deletes_the_shared_token_only_if_it_is_still_current(fleet: Fleet) -> None:
    first, second = fleet.broker(), fleet.broker()
    stale = first.get_token()
    first.invalidate(stale)
    fresh = second.get_token()  # second never saw `stale` in memory: it fetches anew
    assert fresh.value != stale.value

    first.invalidate(stale)  # a late 401 on the old token must not delete the new one

    shared = fleet.store.items[KEY].token
    assert shared is not None
    assert shared.fingerprint == fresh.fingerprint


def test_a_refused_token_is_never_adopted_again_even_if_the_delete_failed(fleet: Fleet) -> None:
    broker = fleet.broker()
    stale = broker.get_token()
    fleet.store.down = True
    broker.invalidate(stale)
    fleet.store.down = False  # the item still holds the refused token

    fresh = broker.get_token()

    assert fresh.value != stale.value
    assert len(fleet.issuer.requests) == 2


def test_invalid_client_rereads_the_secret_once_and_succeeds_after_a_rotation(
    fleet: Fleet,
) -> None:
    rotated = OpowerCredentials(client_id="client-1", client_secret="rotated")

    class RotatingSecret:
        forced = 0
        source_id = "secret:opower"

        def get(self, *, force_fetch: bool = False) -> OpowerCredentials:
            self.forced += force_fetch
            return rotated if force_fetch else CREDS

        def peek(self) -> OpowerCredentials | None:
            return None

    source = RotatingSecret()
    fleet.issuer.accepted_secret = "rotated"

    token = fleet.broker(credentials=source).get_token()

    assert token.value
    assert source.forced == 1
    assert [c.client_secret for c in fleet.issuer.requests] == ["s3cr3t-value", "rotated"]


def test_invalid_client_after_the_reread_fails_clearly_and_backs_off(fleet: Fleet) -> None:
    fleet.issuer.accepted_secret = "never"
    broker = fleet.broker()

    with pytest.raises(TokenUnavailableError) as caught:
        broker.get_token()
    with pytest.raises(TokenUnavailableError):
        broker.get_token()  # within the back-off: no request at all

    assert isinstance(caught.value.__cause__, InvalidClientError)
    assert len(fleet.issuer.requests) == 2  # the first try and the one after the re-read
    assert fleet.metrics.counts[m.TOKEN_INVALID_CLIENT] == 2
    assert fleet.metrics.counts[m.TOKEN_BACKOFF] == 1
    assert "never" not in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_transient_failures_are_retried_a_bounded_number_of_times(fleet: Fleet) -> None:
    fleet.issuer.script = [transient(), TokenResponseError("token answer is not JSON")]

    with pytest.raises(TokenUnavailableError) as caught:
        fleet.broker().get_token()

    assert len(fleet.issuer.requests) == fleet.settings.fetch.attempts
    assert caught.value.retry_after_s is not None
    state = fleet.store.items[KEY]
    assert state.failures == 1
    assert state.retry_at > fleet.clock.now()


def test_one_transient_failure_is_absorbed_by_the_retry(fleet: Fleet) -> None:
    fleet.issuer.script = [transient()]

    assert fleet.broker().get_token().value == "tok-2"


def test_token_endpoint_down_while_a_token_is_valid_is_invisible(fleet: Fleet) -> None:
    broker = fleet.broker()
    token = broker.get_token()
    fleet.clock.advance(3600 * 0.8)
    fleet.issuer.script = [transient()] * 10

    for _ in range(20):
        assert broker.get_token().value == token.value
        fleet.clock.advance(1)

    assert fleet.metrics.counts[m.TOKEN_SERVED_STALE_WINDOW] >= 1
    # Back-off: far fewer attempts than calls.
    assert len(fleet.issuer.requests) <= 1 + 2 * 5  # rounds at ~0, 1, 3, 7, 15 s


def test_the_fleet_backs_off_together_after_a_failure(fleet: Fleet) -> None:
    fleet.issuer.script = [transient(), transient()]
    with pytest.raises(TokenUnavailableError):
        fleet.broker().get_token()

    with pytest.raises(TokenUnavailableError) as caught:
        fleet.broker().get_token()  # another container, inside the recorded back-off

    assert len(fleet.issuer.requests) == 2
    assert caught.value.retry_after_s is not None
    assert caught.value.retry_after_s > 0


def test_back_off_grows_and_is_bounded() -> None:
    fleet = Fleet(
        settings=BrokerSettings(backoff_base_s=1, backoff_max_s=8, fetch=FetchSettings(attempts=1))
    )
    fleet.issuer.script = [transient()] * 20
    broker = fleet.broker()
    delays = []
    for _ in range(6):
        with pytest.raises(TokenUnavailableError):
            broker.get_token()
        delays.append(fleet.store.items[KEY].retry_at - fleet.clock.now())
        fleet.clock.advance(delays[-1] + 0.01)

    assert delays[0] <= 1
    assert max(delays) <= 8
    assert delays[4] > delays[0] * 2


def test_a_successful_fetch_clears_the_recorded_failures(fleet: Fleet) -> None:
    fleet.issuer.script = [transient(), transient()]
    broker = fleet.broker()
    with pytest.raises(TokenUnavailableError):
        broker.get_token()
    fleet.clock.advance(fleet.settings.backoff_base_s + 0.1)

    broker.get_token()

    assert fleet.store.items[KEY].failures == 0


def test_dynamodb_down_degrades_to_memory_and_direct_fetches(fleet: Fleet) -> None:
    fleet.store.down = True
    broker = fleet.broker()

    values = {broker.get_token().value for _ in range(10)}

    assert values == {"tok-1"}
    assert len(fleet.issuer.requests) == 1
    assert fleet.metrics.counts[m.TOKEN_STORE_DEGRADED] >= 1


def test_without_a_store_the_broker_still_caches_in_memory(fleet: Fleet) -> None:
    broker = fleet.broker(store=None)

    for _ in range(5):
        broker.get_token()

    assert len(fleet.issuer.requests) == 1


def test_a_client_id_mismatch_is_an_error_and_nothing_is_cached(fleet: Fleet) -> None:
    fleet.issuer.script = [TokenClientMismatchError("token answer names another client_id")]
    fleet.settings = BrokerSettings(fetch=FetchSettings(attempts=1))

    with pytest.raises(TokenUnavailableError) as caught:
        fleet.broker().get_token()

    assert isinstance(caught.value.__cause__, TokenClientMismatchError)
    assert fleet.store.items[KEY].token is None


def test_reprs_never_show_token_or_secret(fleet: Fleet) -> None:
    token = fleet.broker().get_token()

    assert token.value not in repr(token)
    assert "s3cr3t-value" not in repr(CREDS)
    assert "authorization" not in repr(token).lower()


def test_a_waiter_takes_over_a_lease_that_expires_while_it_waits(fleet: Fleet) -> None:
    fleet.store.leases[KEY] = ("crashed", fleet.clock.now() + 1.0)

    token = fleet.broker().get_token()

    assert token.value == "tok-1"
    assert len(fleet.issuer.requests) == 1
    assert 1.0 <= fleet.clock.slept < 1.5


def test_token_requests_stay_within_the_callers_deadline(fleet: Fleet) -> None:
    deadline = fleet.clock.now() + 8

    fleet.broker().get_token(deadline=deadline)

    (timeout,) = fleet.issuer.timeouts
    assert timeout is not None
    assert timeout <= 8 - 1  # time is left for the call the token is for


def test_a_refresh_ahead_is_bounded_so_it_never_holds_the_request_up(fleet: Fleet) -> None:
    broker = fleet.broker()
    broker.get_token()
    fleet.clock.advance(3600 * 0.8)  # due for refresh, 720 s of life left

    broker.get_token(deadline=fleet.clock.now() + 20)

    # the endpoint answered at once so far: the shortest refresh-ahead bound
    assert fleet.issuer.timeouts[-1] == fleet.settings.fetch.ahead_min_s


def test_no_time_left_means_no_token_request_and_a_clear_error(fleet: Fleet) -> None:
    with pytest.raises(TokenUnavailableError):
        fleet.broker().get_token(deadline=fleet.clock.now() + 0.001)

    assert fleet.issuer.requests == []


def test_running_out_of_the_callers_time_is_not_recorded_as_an_endpoint_failure(
    fleet: Fleet,
) -> None:
    with pytest.raises(TokenUnavailableError):
        fleet.broker().get_token(deadline=fleet.clock.now() + 0.01)

    assert KEY not in fleet.store.items  # no fleet-wide back-off for the others
    assert fleet.broker().get_token(deadline=fleet.clock.now() + 10).value == "tok-1"


def test_a_refused_token_handed_back_by_the_endpoint_is_no_token(fleet: Fleet) -> None:
    fleet.issuer.reissue_same = True
    broker = fleet.broker()
    refused = broker.get_token()
    broker.invalidate(refused)

    with pytest.raises(TokenUnavailableError):
        broker.get_token()
    with pytest.raises(TokenUnavailableError):
        broker.get_token()  # backing off: no second request

    assert len(fleet.issuer.requests) == 2


def test_a_token_too_close_to_expiry_to_bound_a_refresh_is_refreshed_as_if_absent() -> None:
    """Half of its remaining life is less than a request may take (FetchSettings
    min_request_s): a refresh bounded by it would send nothing and hand the caller a token
    about to expire. Found as a flaky fleet test with 2 s tokens (test_broker_concurrency)."""
    fleet = Fleet(lifetime_s=10)
    broker = fleet.broker()
    first = broker.get_token()
    fleet.clock.advance(8.5)  # 1.5 s left: usable (margin 1 s), half-life 0.75 s

    refreshed = broker.get_token(deadline=fleet.clock.now() + 20)

    assert refreshed.value != first.value
    assert len(fleet.issuer.requests) == 2
    assert fleet.issuer.timeouts[-1] >= fleet.settings.fetch.min_request_s
