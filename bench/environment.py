"""The benchmarks' embedded world: the sandbox and moto server in this process, the
gateway's resources provisioned, and the handlers' environment set, as in `make dev`.

Every benchmark runs in one process after others (`make bench`): what one sets (the
environment, the gateway's cached edges and clock, the customer key, stdout) it puts
back on the way out (:func:`restored`), and a program it starts gets an environment
built for it (:func:`child_environment`), never this process's leftovers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

from local.aws import EmbeddedAws
from local.idp import DevIdentityProvider
from local.metrics_output import hide_metric_lines
from local.provision import create_key, create_table, put_secret
from local.sandbox import OpowerSandbox, SandboxConfig

ROOT = Path(__file__).resolve().parents[1]
# What `make dev` and the handlers read besides the runtime settings: a child given any
# of these from a benchmark's environment would run something else (a real Opower, a
# port in use, another state directory).
_LOCAL_INPUTS = frozenset(
    {
        "GATEWAY_CONFIG",
        "OPOWER_URL",
        "OPOWER_CREDENTIALS",
        "INTROSPECTION_CREDENTIALS",
        "LOCAL_STATE_DIR",
        "SHOW_METRICS",
        "GATEWAY_PORT",
        "SANDBOX_PORT",
        "IDP_PORT",
        "AWS_PORT",
        "PORTAL_PORT",
    }
)


def gateway_variables() -> frozenset[str]:
    """Every environment variable the gateway's handlers or `make dev` read as a
    setting: the runtime settings (one per field of RuntimeSettings), AWS's and
    Powertools' are recognised by prefix (:func:`is_gateway_variable`)."""
    from gateway.settings import RuntimeSettings

    return frozenset(f.name.upper() for f in fields(RuntimeSettings)) | _LOCAL_INPUTS


def is_gateway_variable(name: str, known: frozenset[str] | None = None) -> bool:
    return name.startswith(("AWS_", "POWERTOOLS_")) or name in (known or gateway_variables())


def clear_gateway_variables(*, keep_aws: bool = False) -> None:
    """Every setting of the gateway (and Powertools', and AWS's unless ``keep_aws``) out
    of this process's environment: what is not set again is at its default."""
    known = gateway_variables()
    for name in [k for k in os.environ if is_gateway_variable(k, known)]:
        if not (keep_aws and name.startswith("AWS_")):
            del os.environ[name]


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a program a benchmark starts: this process's, less every
    setting of the gateway, AWS and Powertools (whatever an earlier benchmark or the
    user's shell left), with the project importable and ``extra`` on top."""
    known = gateway_variables()
    env = {k: v for k, v in os.environ.items() if not is_gateway_variable(k, known)}
    env["PYTHONPATH"] = f"{ROOT / 'lambdas'}{os.pathsep}{ROOT}"
    env.update(extra)
    return env


def _reset_gateway() -> None:
    """The gateway's process-wide state as a fresh import has it: no edge built, the
    system clock, no customer key (each is rebuilt from the environment on first use)."""
    from gateway import customer_keys, wiring
    from gateway.clock import SYSTEM_CLOCK

    wiring.use_clock(SYSTEM_CLOCK)  # forgets every edge and the settings too
    customer_keys.use(None)


@contextlib.contextmanager
def restored() -> Iterator[None]:
    """Whatever happens inside, the process leaves as it came in: the environment, the
    gateway's cached edges, clock and customer key, stdout, the working directory and
    logging's switches."""
    environment, stdout, cwd = dict(os.environ), sys.stdout, os.getcwd()
    root = logging.getLogger()
    logging_state = (logging.root.manager.disable, root.level, list(root.handlers))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environment)
        sys.stdout = stdout
        os.chdir(cwd)
        logging.disable(logging_state[0])
        root.setLevel(logging_state[1])
        root.handlers[:] = logging_state[2]
        if "gateway.wiring" in sys.modules:
            _reset_gateway()


def changed_variables(before: Mapping[str, str]) -> list[str]:
    """The names of the variables set, changed or removed since ``before``."""
    now = os.environ
    return sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))


class ChildFailed(RuntimeError):
    """A program a benchmark started failed: what it was and its last lines of stderr."""

    def __init__(self, what: str, stderr: str, lines: int = 5) -> None:
        tail = [line.strip()[:240] for line in stderr.strip().splitlines()[-lines:]]
        said = " | ".join(line for line in tail if line) or "(nothing on stderr)"
        super().__init__(f"{what}; its stderr ended: {said}")


def stderr_tail(stream: IO[bytes] | IO[str] | None, limit: int = 4096) -> str:
    """The last ``limit`` characters written to a child's stderr file."""
    if stream is None:
        return ""
    stream.flush()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - limit))
    data = stream.read()
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def spawn(
    args: list[str], env: Mapping[str, str], stderr: IO[bytes], **kwargs: Any
) -> subprocess.Popen[str]:
    """A child of this interpreter's project (cwd the repository), its stdout piped as
    text, its stderr to ``stderr`` (a file: read with :func:`stderr_tail` when it fails)."""
    return subprocess.Popen(  # noqa: S603 - this interpreter, the project's own modules
        args, cwd=ROOT, env=dict(env), stdout=subprocess.PIPE, stderr=stderr, text=True,
        **kwargs,
    )  # fmt: skip


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
        restored(),
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
        # Every other setting at its default, whatever the process's environment held.
        clear_gateway_variables()
        os.environ.update(environment)
        hide_metric_lines()
        _reset_gateway()  # a new world: nothing built for an earlier one may be reused
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
