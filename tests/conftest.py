"""Fixtures shared by every test layer: the embedded AWS endpoint and the Opower sandbox.

Both servers start once per session on free loopback ports; each test gets them clean
(the sandbox reset, a fresh table and key).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest

from local.aws import EmbeddedAws
from local.provision import create_key, create_table, put_secret
from local.sandbox import OpowerSandbox, SandboxConfig
from tests import leakcheck


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
        yield from self._sandbox.issued_tokens()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[OpowerSandbox]:
    # Opower's 20 requests per second would throttle the test suite itself; the tests of
    # the limit set it back (sandbox.set_limits) and reset() restores this.
    config = SandboxConfig(port=0, rate_per_second=100_000, rate_per_day=10_000_000)
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


@pytest.fixture
def aws_resources(embedded_aws: EmbeddedAws, sandbox: OpowerSandbox) -> AwsResources:
    """A fresh table, key and Opower secret (holding the sandbox's credentials) per test."""
    suffix = uuid.uuid4().hex[:8]
    table_name = f"gateway-{suffix}"
    create_table(table_name)
    secret_name = f"opower/{suffix}"
    put_secret(
        secret_name,
        {"client_id": sandbox.config.client_id, "client_secret": sandbox.current_client_secret},
    )
    return AwsResources(table_name, create_key(f"test {suffix}"), secret_name)
