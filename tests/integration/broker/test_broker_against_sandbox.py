"""The broker over real HTTP to the sandbox, with moto server's DynamoDB, KMS and Secrets
Manager; each behaviour driven by the sandbox's fault switches."""

from __future__ import annotations

import json
import time
from typing import cast

import boto3
import pytest

from gateway import observability as m
from gateway.clock import SYSTEM_CLOCK
from gateway.credentials import SecretsManagerCredentials
from gateway.errors import (
    ConfigurationError,
    InvalidClientError,
    TokenClientMismatchError,
    TokenUnavailableError,
    UpstreamAuthError,
)
from gateway.opower_client import OpowerClient
from gateway.token.broker import BrokerSettings
from gateway.token.fetch import FetchSettings
from gateway.token.store import DynamoDbTokenStore
from local.aws import EmbeddedAws
from local.provision import put_secret
from local.sandbox import OpowerSandbox
from tests import leakcheck
from tests.conftest import AwsResources
from tests.fakes import RecordingMetrics
from tests.integration.broker.conftest import BrokerFactory

pytestmark = pytest.mark.integration

# Scaled to the sandbox's seconds-long tokens, as the defaults are to Opower's hour.
SCALED = FetchSettings(retry_pause_s=0.01, min_request_s=0.05, ahead_min_s=0.3)
FAST = BrokerSettings(
    refresh_min_s=0.5,
    fetch=SCALED,
    wait_step_s=0.05,
    backoff_base_s=2,
    backoff_max_s=5,
)


def token_requests(sandbox: OpowerSandbox) -> int:
    return cast(int, sandbox.stats()["token_requests"])


def customers_path(sandbox: OpowerSandbox) -> str:
    return f"/apis/customer-data-v2/{sandbox.config.utility_code}/customers"


def first_account_number(sandbox: OpowerSandbox) -> str:
    return cast(list[str], sandbox.customers()[0]["accountNumbers"])[0]


def test_one_token_serves_the_container_and_the_fleet(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, metrics: RecordingMetrics
) -> None:
    containers = [make_broker() for _ in range(5)]

    values = {c.get_token().value for c in containers for _ in range(20)}

    assert len(values) == 1
    assert token_requests(sandbox) == 1
    assert values <= set(sandbox.issued_tokens())
    assert metrics.counts[m.TOKEN_CACHE_HIT_DYNAMODB] == 4
    assert metrics.counts[m.TOKEN_CACHE_HIT_MEMORY] == 95


def test_the_token_is_accepted_by_the_data_apis(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    client = OpowerClient(sandbox.base_url, make_broker(), clock=SYSTEM_CLOCK)

    response = client.request(
        "GET",
        customers_path(sandbox),
        query=[("accountNumber", first_account_number(sandbox))],
        deadline=time.time() + 5,
    )

    assert response.status == 200
    # Get Customer List (schemas.PAGES["customers"]): the customers under "response".
    assert json.loads(response.body)["response"]


def test_refresh_ahead_with_a_short_lifetime_fetches_once_per_lifetime(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    sandbox.set_faults(token_lifetime_s=2)
    broker, other = make_broker(settings=FAST), make_broker(settings=FAST)
    first = broker.get_token()

    time.sleep(1.6)  # past the refresh point (0.5 s before expiry)
    second = broker.get_token()
    adopted = other.get_token()

    assert second.value != first.value
    assert adopted.value == second.value
    assert token_requests(sandbox) == 2


def test_a_reissued_token_causes_no_refresh_loop(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, metrics: RecordingMetrics
) -> None:
    sandbox.set_faults(token_lifetime_s=3, reissue_same_token=True)
    settings = BrokerSettings(refresh_min_s=1.5, fetch=SCALED)
    broker, other = make_broker(settings=settings), make_broker(settings=settings)
    first = broker.get_token()
    time.sleep(1.7)  # in the refresh window

    served = {broker.get_token().value for _ in range(30)} | {other.get_token().value}

    assert served == {first.value}
    assert token_requests(sandbox) == 2  # the first fetch and the one that came back the same
    assert metrics.counts[m.TOKEN_REISSUED] == 1


def test_rotated_secret_is_reread_once_bypassing_the_cache(
    sandbox: OpowerSandbox,
    make_broker: BrokerFactory,
    aws_resources: AwsResources,
    metrics: RecordingMetrics,
) -> None:
    broker = make_broker(settings=FAST)
    broker.get_token()  # the secret is now cached for 300 s
    new_secret = "9a1f3c6e-rotated-secret-0001"
    leakcheck.register_secret(new_secret)
    sandbox.set_faults(rotate_client_secret=new_secret, revoke_tokens=True)
    put_secret(
        aws_resources.secret_name,
        {"client_id": sandbox.config.client_id, "client_secret": new_secret},
    )
    stale = broker.get_token()
    broker.invalidate(stale)  # as after Opower's 401

    fresh = broker.get_token()

    assert fresh.value != stale.value
    assert token_requests(sandbox) == 3  # first, refused with the old secret, accepted
    assert metrics.counts[m.TOKEN_INVALID_CLIENT] == 1
    assert metrics.counts["SecretRotated"] == 1


def test_a_wrong_secret_fails_clearly_and_is_not_retried_forever(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, metrics: RecordingMetrics
) -> None:
    sandbox.set_faults(rotate_client_secret="a-secret-nobody-was-given-1")
    broker = make_broker(settings=FAST)

    with pytest.raises(TokenUnavailableError) as caught:
        broker.get_token()
    with pytest.raises(TokenUnavailableError):
        make_broker(settings=FAST).get_token()  # another container, inside the back-off

    assert isinstance(caught.value.__cause__, InvalidClientError)
    assert token_requests(sandbox) == 2
    assert metrics.counts[m.TOKEN_INVALID_CLIENT] == 2


@pytest.mark.parametrize("fault", ["down", "5xx", "malformed", "slow"])
def test_token_endpoint_failing_while_a_token_is_valid_is_invisible(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, fault: str
) -> None:
    sandbox.set_faults(token_lifetime_s=4)
    settings = BrokerSettings(refresh_min_s=2, fetch=SCALED, backoff_base_s=5)
    broker = make_broker(settings=settings, read_timeout_s=0.4)
    token = broker.get_token()
    time.sleep(2.05)  # in the refresh window (the last half), 1.95 s of life left
    sandbox.set_faults(token_endpoint=fault, token_delay_s=3)

    started = time.monotonic()
    served = [broker.get_token().value for _ in range(10)]

    assert served == [token.value] * 10
    # Failing: two attempts, then the fleet-wide back-off. Slow: one attempt cut short by
    # the refresh-ahead bound, then a pause (slow is not failed).
    expected = 1 + (1 if fault == "slow" else settings.fetch.attempts)
    assert token_requests(sandbox) == expected
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("fault", ["down", "5xx", "malformed"])
def test_token_endpoint_failing_with_no_token_is_a_clear_bounded_error(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, fault: str
) -> None:
    sandbox.set_faults(token_endpoint=fault)

    with pytest.raises(TokenUnavailableError) as caught:
        make_broker(settings=FAST).get_token()
    with pytest.raises(TokenUnavailableError):
        make_broker(settings=FAST).get_token()

    assert caught.value.retry_after_s is not None
    assert token_requests(sandbox) == FAST.fetch.attempts  # the second broker backed off


def test_a_transient_failure_is_absorbed_by_one_retry(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    sandbox.set_faults(token_endpoint="malformed", fault_count=1)

    assert make_broker(settings=FAST).get_token().value
    assert token_requests(sandbox) == 2


def test_missing_expires_in_gives_the_short_default_lifetime(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, metrics: RecordingMetrics
) -> None:
    sandbox.set_faults(omit_expires_in=True)

    token = make_broker().get_token()

    assert token.lifetime_s == 300
    assert token.expires_at <= time.time() + 300
    assert metrics.counts[m.TOKEN_EXPIRY_MISSING] == 1


def test_a_foreign_client_id_in_the_answer_is_refused(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    sandbox.set_faults(wrong_client_id=True)

    with pytest.raises(TokenUnavailableError) as caught:
        make_broker(settings=FAST).get_token()

    assert isinstance(caught.value.__cause__, TokenClientMismatchError)


def test_revoked_tokens_are_replaced_once_and_the_request_replayed(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, metrics: RecordingMetrics
) -> None:
    brokers = [make_broker() for _ in range(3)]
    clients = [
        OpowerClient(sandbox.base_url, b, clock=SYSTEM_CLOCK, metrics=metrics) for b in brokers
    ]
    for broker in brokers:
        broker.get_token()
    sandbox.set_faults(revoke_tokens=True)

    statuses = [
        c.request(
            "GET",
            customers_path(sandbox),
            query=[("accountNumber", first_account_number(sandbox))],
            deadline=time.time() + 5,
        ).status
        for c in clients
    ]

    assert statuses == [200, 200, 200]
    assert token_requests(sandbox) == 2  # the revoked one and a single replacement
    assert metrics.counts[m.UPSTREAM_TOKEN_REPLAY] == 3


def test_a_second_401_is_an_error_not_a_loop(
    sandbox: OpowerSandbox, make_broker: BrokerFactory
) -> None:
    client = OpowerClient(sandbox.base_url, make_broker(), clock=SYSTEM_CLOCK)
    sandbox.set_faults(data_endpoints="401")

    with pytest.raises(UpstreamAuthError):
        client.request("GET", customers_path(sandbox), deadline=time.time() + 5)

    assert sandbox.stats()["data_requests"] == 2
    assert token_requests(sandbox) == 2


def test_dynamodb_unavailable_degrades_to_memory(
    sandbox: OpowerSandbox, make_broker: BrokerFactory, metrics: RecordingMetrics
) -> None:
    dead = DynamoDbTokenStore(
        "any",
        "any",
        dynamodb=boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9"),
    )
    broker = make_broker(token_store=dead)

    values = {broker.get_token().value for _ in range(10)}

    assert len(values) == 1
    assert token_requests(sandbox) == 1
    assert metrics.counts[m.TOKEN_STORE_DEGRADED] >= 1


def test_secrets_manager_unavailable_with_cached_credentials_keeps_working(
    sandbox: OpowerSandbox, metrics: RecordingMetrics
) -> None:
    with EmbeddedAws() as aws:
        secrets = boto3.client("secretsmanager", endpoint_url=aws.endpoint_url)
        secrets.create_secret(
            Name="opower",
            SecretString=f'{{"client_id": "{sandbox.config.client_id}",'
            f' "client_secret": "{sandbox.current_client_secret}"}}',
        )
        source = SecretsManagerCredentials("opower", max_age_s=0, client=secrets, metrics=metrics)
        first = source.get()
    # The server is gone now; the cache has expired (max_age 0).

    assert source.get() == first
    assert metrics.counts["SecretsDegraded"] == 1


def test_a_missing_secret_is_a_configuration_error_naming_the_setting(
    embedded_aws: EmbeddedAws,
) -> None:
    source = SecretsManagerCredentials("no/such/secret", client=boto3.client("secretsmanager"))

    with pytest.raises(ConfigurationError, match="OPOWER_SECRET_ID"):
        source.get()


def test_a_malformed_secret_names_the_key(
    embedded_aws: EmbeddedAws, aws_resources: AwsResources
) -> None:
    put_secret(aws_resources.secret_name, {"client_id": "only-the-id"})
    source = SecretsManagerCredentials(
        aws_resources.secret_name, client=boto3.client("secretsmanager")
    )

    with pytest.raises(ConfigurationError, match="'client_secret'"):
        source.get()
