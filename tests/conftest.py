"""Fixtures shared by every test layer: the embedded AWS endpoint and the Opower sandbox.

Both servers start once per session on free loopback ports; each test gets them clean
(the sandbox reset, a fresh table and key).
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest

# Powertools reads these when the handler modules are imported.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "opower-gateway")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "OpowerGatewayTest")

from gateway import wiring
from gateway.clock import SYSTEM_CLOCK
from gateway.settings import RuntimeSettings
from local.aws import EmbeddedAws
from local.idp import DevIdentityProvider
from local.provision import create_cache_table, create_key, create_table, put_secret
from local.sandbox import OpowerSandbox, SandboxConfig
from local.sandbox.config import SECOND_UTILITY_CODE
from tests import leakcheck
from tests.fakes import Later

# The key of customers' names (gateway.customer_keys): a secret like any other, which no
# output may show.
CUSTOMER_KEY = secrets.token_hex(32)
leakcheck.register_secret(CUSTOMER_KEY)


@pytest.fixture(scope="session")
def embedded_aws() -> Iterator[EmbeddedAws]:
    """moto server on 127.0.0.1; boto3 reaches it through the environment, as in `make dev`."""
    saved = dict(os.environ)
    with EmbeddedAws() as aws:
        os.environ.update(aws.environment())
        try:
            yield aws
        finally:
            os.environ.clear()
            os.environ.update(saved)


class _SandboxSecrets:
    def __init__(self, sandbox: OpowerSandbox) -> None:
        self._sandbox = sandbox
        self._client_secrets = {sandbox.current_client_secret}

    def note_rotation(self) -> None:
        self._client_secrets.add(self._sandbox.current_client_secret)

    def secret_values(self) -> Iterable[str]:
        client_id = self._sandbox.config.client_id
        for secret in self._client_secrets | {self._sandbox.current_client_secret}:
            yield secret
            yield leakcheck.basic_header_value(client_id, secret)
        for other_id, other_secret in self._sandbox.client_secrets():
            yield other_secret
            yield leakcheck.basic_header_value(other_id, other_secret)
        yield from self._sandbox.issued_tokens()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[OpowerSandbox]:
    # Opower's 20 requests per second would throttle the test suite itself; the tests of
    # the limit set it back (sandbox.set_limits) and reset() restores this.
    config = SandboxConfig(
        port=0,
        rate_per_second=100_000,
        rate_per_day=10_000_000,
        second_utility_code=SECOND_UTILITY_CODE,  # a group's second operating company
    )
    with OpowerSandbox(config) as sandbox:
        leakcheck.register_holder(_SandboxSecrets(sandbox))
        yield sandbox


@pytest.fixture
def sandbox(sandbox_server: OpowerSandbox) -> Iterator[OpowerSandbox]:
    """The session's sandbox, reset before and after the test."""
    sandbox_server.reset()
    yield sandbox_server
    leakcheck.register_secret(sandbox_server.current_client_secret)
    sandbox_server.reset()


@dataclass(frozen=True)
class AwsResources:
    table_name: str
    kms_key_arn: str
    secret_name: str
    cache_table_name: str


@pytest.fixture
def aws_resources(embedded_aws: EmbeddedAws, sandbox: OpowerSandbox) -> AwsResources:
    """A fresh table, key and Opower secret (holding the sandbox's credentials) per test."""
    suffix = uuid.uuid4().hex[:8]
    table_name = f"gateway-{suffix}"
    create_table(table_name)
    create_cache_table(f"{table_name}-cache")
    secret_name = f"opower/{suffix}"
    put_secret(
        secret_name,
        {"client_id": sandbox.config.client_id, "client_secret": sandbox.current_client_secret},
    )
    return AwsResources(
        table_name, create_key(f"test {suffix}"), secret_name, f"{table_name}-cache"
    )


@pytest.fixture(scope="session")
def idp() -> Iterator[DevIdentityProvider]:
    """The development identity provider: JWKS and introspection over HTTP."""
    with DevIdentityProvider() as provider:
        leakcheck.register_holder(provider)
        yield provider


@pytest.fixture
def gateway_settings(
    sandbox: OpowerSandbox, aws_resources: AwsResources, idp: DevIdentityProvider
) -> RuntimeSettings:
    """Settings pointing the handlers at the sandbox, moto server and the dev IdP."""
    put_secret(
        "opower/introspection-client",
        {"client_id": idp.introspection_client_id, "client_secret": idp.introspection_secret},
    )
    put_secret("opower/customer-key", {"key": CUSTOMER_KEY})
    return RuntimeSettings.from_mapping(
        {
            "opower_base_url": sandbox.base_url,
            "utility_code": sandbox.config.utility_code,
            "opower_secret_id": aws_resources.secret_name,
            "table_name": aws_resources.table_name,
            "kms_key_id": aws_resources.kms_key_arn,
            # The response cache's table is there; the cache itself is off, so that each
            # test sees every call reach Opower. Its own tests turn it on (cache_on).
            "cache_table_name": aws_resources.cache_table_name,
            "cache_enabled": False,
            "auth_issuer": idp.issuer,
            "auth_audience": idp.audience,
            "auth_jwks_url": idp.jwks_url,
            "auth_introspection_url": idp.introspection_url,
            "auth_introspection_secret_id": "opower/introspection-client",
            "customer_key_secret_id": "opower/customer-key",
            # Tests send bursts; the budget's own tests set Opower's real figures.
            "budget_per_second": 1000,
        }
    )


@pytest.fixture
def gateway_env(
    gateway_settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RuntimeSettings]:
    """The settings in the environment, as Lambda would have them; caches cleared."""
    for name, value in gateway_settings.to_env().items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    yield gateway_settings
    wiring.reset()


@pytest.fixture
def mid_minute() -> Iterator[Later]:
    """Every edge the handlers build runs on the system's time shifted to the middle of a
    minute: a test's burst of a few seconds stays in one of the fixed minutes a
    per-minute share counts in, however the machine schedules it (at the system's own
    time, a burst that straddles a minute's turn is two half-bursts, neither over the
    limit)."""
    clock = Later(30.0 - time.time() % 60)
    wiring.use_clock(clock)
    yield clock
    wiring.use_clock(SYSTEM_CLOCK)
