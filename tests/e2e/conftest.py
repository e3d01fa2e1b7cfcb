"""The whole local stack (`make dev`'s own program) in a subprocess on free ports.

Tests drive it over HTTP only, as a user would: the customer API on the emulator, faults
through the sandbox's control plane, counts from /_sandbox/stats and /_local/stats.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3

from local.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests import leakcheck

ROOT = Path(__file__).resolve().parents[2]
# Short timeouts so that slow-upstream tests end quickly; everything else as in cdk.json.
# The tests send one customer's requests by the thousand: their share is lifted (the
# integration tests cover the per-customer limits).
E2E_CONFIG = {
    "proxy_timeout_s": 4,
    "authorizer_timeout_s": 4,
    "authorizer_cache_ttl_s": 60,
    "budget_per_customer_per_minute": 100_000,
    "budget_per_customer_per_day": 10_000_000,
    # rows are independent: a route's refusal of one row must not outlive the row
    "upstream_route_unauthorized_hold_s": 1,
    # The fault matrix's forwarding rows ask for the accounts, which must reach Opower;
    # its cache rows use bill_forecast (stale after a second) and neighbor_comparison.
    "cache_fresh_s": {"accounts": 0, "bill_forecast": 1},
}


@dataclass
class RunningStack:
    summary: dict[str, Any]
    process: subprocess.Popen[str]
    state_dir: Path
    output: list[str] = field(default_factory=list)
    http: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(maxsize=32))

    @property
    def gateway(self) -> str:
        return str(self.summary["gateway"])

    @property
    def sandbox(self) -> str:
        return str(self.summary["sandbox"])

    def token(self, customer: str, company: str = "UTX") -> str:
        return next(
            str(c["token"])
            for c in self.summary["customers"]
            if (c["utilityCode"], c["utilityCustomerId"]) == (company, customer)
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        customer: str | None = None,
        **options: Any,
    ) -> urllib3.BaseHTTPResponse:
        headers = dict(options.pop("headers", {}))
        bearer = token or (self.token(customer) if customer else None)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return self.http.request(
            method, self.gateway + path, headers=headers, retries=False, timeout=30, **options
        )

    def sandbox_control(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(
            method, f"{self.sandbox}/_sandbox/{name}", json=body, retries=False, timeout=10
        )
        assert response.status < 300, response.data
        return response.json() if response.data else None

    def token_command_env(self) -> dict[str, str]:
        """The environment under which `python -m local.token` signs for this stack."""
        idp_port = str(self.summary["idp"]).rsplit(":", 1)[1]
        return {**os.environ, "IDP_PORT": idp_port, "LOCAL_STATE_DIR": str(self.state_dir)}

    def local_stats(self) -> Any:
        return self.http.request("GET", f"{self.gateway}/_local/stats").json()


class _Secrets:
    def __init__(self, stack: RunningStack) -> None:
        self._stack = stack

    def secret_values(self) -> list[str]:
        values = [
            DEFAULT_CLIENT_SECRET,
            leakcheck.basic_header_value(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        ]
        return values + [str(c["token"]) for c in self._stack.summary["customers"]]


@contextlib.contextmanager
def running_stack(state_dir: Path, config: dict[str, Any]) -> Iterator[RunningStack]:
    """`make dev`'s own program on free ports, with ``config`` as GATEWAY_CONFIG; its
    output is scanned for secrets once it stops."""
    env = {
        **os.environ,
        "GATEWAY_PORT": "0",
        "SANDBOX_PORT": "0",
        "IDP_PORT": "0",
        "AWS_PORT": "0",
        "PORTAL_PORT": "0",
        "GATEWAY_CONFIG": json.dumps(config),
        "LOCAL_STATE_DIR": str(state_dir),
        "SHOW_METRICS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name in [n for n in env if n.startswith(("AWS_ENDPOINT_URL", "POWERTOOLS_"))]:
        del env[name]  # the stack sets its own
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dev", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    summary = None
    for line in process.stdout:
        if line.startswith("{") and '"gateway"' in line:
            # The ready line hands the tests their dev session tokens, on purpose; every
            # other line the stack prints is scanned for secrets.
            summary = json.loads(line)
            break
        output.append(line)
    assert summary is not None, "".join(output)[-3000:]
    running = RunningStack(summary=summary, process=process, state_dir=state_dir, output=output)

    def drain() -> None:  # a full pipe would block the stack
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)

    threading.Thread(target=drain, daemon=True).start()
    leakcheck.register_holder(_Secrets(running))
    try:
        yield running
    finally:
        process.terminate()
        process.wait(timeout=15)
        leakcheck.add_captured("local stack output", "".join(output))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("dev-state"), E2E_CONFIG) as running:
        yield running


@pytest.fixture
def e2e(stack: RunningStack) -> Iterator[RunningStack]:
    """The running stack with the sandbox reset around the test."""
    stack.sandbox_control("POST", "reset")
    yield stack
    stack.sandbox_control("POST", "reset")
