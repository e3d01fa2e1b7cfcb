"""The benchmarks' embedded world: the sandbox and moto server in this process, the
gateway's resources provisioned, and the handlers' environment set, as in `make dev`."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from local.aws import EmbeddedAws
from local.idp import DevIdentityProvider
from local.metrics_output import hide_metric_lines
from local.provision import create_key, create_table, put_secret
from local.sandbox import OpowerSandbox, SandboxConfig


@dataclass
class World:
    sandbox: OpowerSandbox
    aws: EmbeddedAws
    idp: DevIdentityProvider
    environment: dict[str, str]


@contextlib.contextmanager
def embedded_world(**settings: Any) -> Iterator[World]:
    """Everything the handlers need, on free loopback ports; Opower's rate limits, the
    fleet budget and the per-customer limits lifted (the benchmarks measure the gateway,
    not the limits: bench/customer_limits.py measures those) unless a setting says
    otherwise."""
    from gateway.settings import RuntimeSettings

    sandbox_config = SandboxConfig(port=0, rate_per_second=10**6, rate_per_day=10**9)
    with (
        OpowerSandbox(sandbox_config) as sandbox,
        EmbeddedAws() as aws,
        DevIdentityProvider() as idp,
    ):
        os.environ.update(aws.environment())
        suffix = uuid.uuid4().hex[:6]
        table = f"bench-{suffix}"
        create_table(table)
        secret = put_secret(
            f"bench/{suffix}",
            {"client_id": sandbox_config.client_id, "client_secret": sandbox_config.client_secret},
        )
        # The key of customers' names, as a deployed stack has one (gateway.customer_keys).
        customer_key = put_secret(f"bench/{suffix}-customer-key", {"key": secrets.token_hex(32)})
        runtime = RuntimeSettings.from_mapping(
            {
                "customer_key_secret_id": customer_key,
                "opower_base_url": sandbox.base_url,
                "utility_code": sandbox_config.utility_code,
                "opower_secret_id": secret,
                "table_name": table,
                "kms_key_id": create_key("bench"),
                "auth_issuer": idp.issuer,
                "auth_audience": idp.audience,
                "auth_jwks_url": idp.jwks_url,
                "budget_per_second": 10**6,
                # The forwarding path is measured; bench/capacity.py measures the cache.
                "cache_enabled": False,
                "budget_per_customer_per_minute": 10**6,
                "budget_per_customer_per_day": 10**9,
                **settings,
            }
        )
        environment = {
            **aws.environment(),
            **runtime.to_env(),
            "POWERTOOLS_SERVICE_NAME": "opower-gateway",
            "POWERTOOLS_METRICS_NAMESPACE": "OpowerGatewayBench",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        os.environ.update(environment)
        hide_metric_lines()
        from gateway import wiring

        wiring.reset()  # a new world: nothing built for an earlier one may be reused
        yield World(sandbox, aws, idp, environment)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class SimulatedClock:
    """The gateway's clock in a simulation: set (or slept forward) by the simulation,
    never waited on for real, so minutes or a day play out in seconds."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class CountingDynamoDb:
    """A DynamoDB client counting the calls of the named operations (``calls``); every
    other call passes through uncounted."""

    def __init__(self, client: Any, *operations: str) -> None:
        self._client = client
        self._operations = frozenset(operations)
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in self._operations:
            return method

        def counted(**kwargs: Any) -> Any:
            self.calls += 1
            return method(**kwargs)

        return counted
