"""The sandbox's own tests use the session sandbox of tests/conftest.py (reset around
every test, its secrets registered with the leak check) through a small HTTP client."""

from __future__ import annotations

import pytest

from local.sandbox import OpowerSandbox
from tests.integration.sandbox.sandbox_client import SandboxClient


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: OpowerSandbox) -> None:
    """Every test starts from the seeded state, without faults, tokens or counters."""


@pytest.fixture(scope="session")
def client(sandbox_server: OpowerSandbox) -> SandboxClient:
    """HTTP client for the session sandbox."""
    return SandboxClient(sandbox_server.base_url)


@pytest.fixture
def token(client: SandboxClient) -> str:
    """A valid access token for the current test."""
    return client.token()
