from __future__ import annotations

import random
from collections.abc import Callable

import boto3
import pytest

from gateway.clock import SYSTEM_CLOCK
from gateway.credentials import SecretsManagerCredentials
from gateway.token.broker import BrokerSettings, TokenBroker
from gateway.token.endpoint import TokenEndpoint
from gateway.token.fetch import FetchSettings
from gateway.token.store import DynamoDbTokenStore
from local.sandbox import OpowerSandbox
from tests.conftest import AwsResources
from tests.fakes import RecordingMetrics

BrokerFactory = Callable[..., TokenBroker]


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def store(aws_resources: AwsResources) -> DynamoDbTokenStore:
    return DynamoDbTokenStore(aws_resources.table_name, aws_resources.kms_key_arn)


@pytest.fixture
def make_broker(
    sandbox: OpowerSandbox,
    aws_resources: AwsResources,
    store: DynamoDbTokenStore,
    metrics: RecordingMetrics,
) -> BrokerFactory:
    """A container's broker: its own memory and secret cache, the shared table and key."""

    def build(
        *,
        settings: BrokerSettings | None = None,
        token_store: object = store,
        secret_max_age_s: int = 300,
        read_timeout_s: float = 2.0,
    ) -> TokenBroker:
        return TokenBroker(
            endpoint=TokenEndpoint(
                sandbox.base_url, clock=SYSTEM_CLOCK, read_timeout_s=read_timeout_s
            ),
            credentials=SecretsManagerCredentials(
                aws_resources.secret_name,
                max_age_s=secret_max_age_s,
                client=boto3.client("secretsmanager"),
                metrics=metrics,
            ),
            store=token_store,  # type: ignore[arg-type]
            clock=SYSTEM_CLOCK,
            settings=settings
            or BrokerSettings(fetch=FetchSettings(retry_pause_s=0.01), wait_step_s=0.05),
            metrics=metrics,
            rng=random.Random(1),
        )

    return build
