"""Real threads, several brokers (containers) sharing one moto DynamoDB table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import pytest

from gateway.token.broker import BrokerSettings, Token, TokenBroker, store_key
from gateway.token.endpoint import TOKEN_PATH
from gateway.token.fetch import FetchSettings
from gateway.token.store import DynamoDbTokenStore
from local.sandbox import OpowerSandbox
from tests.conftest import AwsResources
from tests.integration.broker.conftest import BrokerFactory

pytestmark = pytest.mark.integration


def token_requests(sandbox: OpowerSandbox) -> int:
    return cast(int, sandbox.stats()["token_requests"])


def run_together(workers: list[Callable[[], object]]) -> list[object]:
    """Start every worker at the same instant (a barrier) and collect the results."""
    barrier = threading.Barrier(len(workers))

    def start(work: Callable[[], object]) -> object:
        barrier.wait()
        return work()

    with ThreadPoolExecutor(len(workers)) as pool:
        return list(pool.map(start, workers))


def test_a_stampede_of_cold_containers_fetches_one_token(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    brokers = [make_broker(settings=BrokerSettings(wait_step_s=0.05)) for _ in range(12)]

    tokens = cast(list[Token], run_together([b.get_token for b in brokers]))

    assert len({t.value for t in tokens}) == 1
    assert token_requests(sandbox) == 1


def test_refresh_races_over_three_lifetimes_stay_near_one_fetch_per_lifetime(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    # Real threads, a real DynamoDB (moto) and real token expiry at the sandbox: time is
    # the system's. Scaled so that a refresh has 0.9 s between its start and the old
    # token's last usable moment (1.5 s ahead of expiry, a tenth of the life kept back):
    # at 2 s tokens it had 0.3 s, which a loaded 2-core machine could take from a thread.
    lifetime = 6
    sandbox.set_faults(token_lifetime_s=lifetime)
    settings = BrokerSettings(  # scaled to 6 s tokens
        refresh_min_s=0.9,
        wait_step_s=0.05,
        fetch=FetchSettings(retry_pause_s=0.01, min_request_s=0.15, ahead_min_s=0.6),
    )
    brokers = [make_broker(settings=settings) for _ in range(8)]
    failures: list[BaseException] = []
    stop_at = time.monotonic() + 3 * lifetime

    def hammer(broker: TokenBroker) -> None:
        while time.monotonic() < stop_at:
            try:
                token = broker.get_token()
                assert token.expires_at > time.time()
            except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted
                failures.append(exc)
            time.sleep(0.01)

    run_together([lambda b=b: hammer(b) for b in brokers for _ in range(3)])

    assert failures == []
    # Refresh-ahead replaces each 6 s token after 4.5 s: fetches at 0, 4.5, 9 and 13.5 s are
    # the minimum for one container; the fleet of 8 x 3 threads must not do worse (+1 slack).
    assert token_requests(sandbox) <= 5


def test_the_lease_of_a_crashed_refresher_is_taken_over_after_it_expires(
    sandbox: OpowerSandbox,
    make_broker: BrokerFactory,
    store: DynamoDbTokenStore,
    aws_resources: AwsResources,
) -> None:
    key = store_key(sandbox.base_url + TOKEN_PATH, aws_resources.secret_name)
    # Timed from the lease's start: building the brokers after it can take a good part of
    # its second on a busy machine.
    started = time.monotonic()
    assert store.acquire_lease(key, owner="crashed", now=time.time(), duration_s=1.0)[0]
    brokers = [make_broker(settings=BrokerSettings(wait_step_s=0.1)) for _ in range(5)]

    tokens = cast(list[Token], run_together([b.get_token for b in brokers]))

    assert len({t.value for t in tokens}) == 1
    assert token_requests(sandbox) == 1  # the take-over, not one fetch per waiter
    assert 0.9 < time.monotonic() - started < 3


def test_a_late_invalidation_does_not_delete_a_concurrent_refresh(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    first, second = make_broker(), make_broker()
    stale = first.get_token()
    assert second.get_token().value == stale.value
    sandbox.set_faults(revoke_tokens=True)

    second.invalidate(stale)  # second saw the 401 first ...
    fresh = second.get_token()  # ... and refreshed
    first.invalidate(stale)  # first's 401 on the same old token arrives late

    assert make_broker().get_token().value == fresh.value  # the new token survived
    assert first.get_token().value == fresh.value
    assert token_requests(sandbox) == 2


def test_simultaneous_401s_across_the_fleet_cause_a_single_refresh(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    brokers = [make_broker(settings=BrokerSettings(wait_step_s=0.05)) for _ in range(8)]
    stale = brokers[0].get_token()
    for broker in brokers:
        broker.get_token()
    sandbox.set_faults(revoke_tokens=True)

    def on_401(broker: TokenBroker) -> Token:
        broker.invalidate(stale)
        return broker.get_token()

    tokens = cast(list[Token], run_together([lambda b=b: on_401(b) for b in brokers]))

    assert len({t.value for t in tokens}) == 1
    assert tokens[0].value != stale.value
    assert token_requests(sandbox) == 2
