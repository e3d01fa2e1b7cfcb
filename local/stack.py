"""The whole gateway on one machine: the Opower sandbox, moto server (DynamoDB, Secrets
Manager, KMS), a development identity provider, and the API Gateway emulator running the
real authorizer and proxy handlers in-process. Given an ``OpowerTier`` (a real Opower,
local/opower_tier.py), the handlers call it instead, and no sandbox runs.

Configuration comes from the same model the stack deploys (``GatewayConfig`` from
``cdk.json``), with only the endpoints pointed at the embedded services; the Lambda
environment is built by the same ``lambda_environment()`` the stack uses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from gateway.companies import Company
from gateway.service import TAG_KEY
from local.aws import EmbeddedAws
from local.emulator import ACCOUNT, REGION, ApiGatewayEmulator
from local.idp import DevIdentityProvider
from local.metrics_output import hide_metric_lines
from local.opower_tier import OpowerTier
from local.provision import create_cache_table, create_key, create_table, put_secret
from local.sandbox import UTILITY_CODE, OpowerSandbox, SandboxConfig
from local.sandbox.config import SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, SECOND_UTILITY_CODE
from local.service import Service
from local.sigv4 import LocalPrincipal

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".dev"

# The service API's callers locally. The embedded AWS's own credentials (what `make dev`
# exports for boto3) sign as a role listed in service_principals; a workload tagged by
# grant_invoke for two routes; a principal the resource policy does not admit; another
# account's role carrying the tag.
SERVICE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/opower-local-service"
SERVICE_TAG = "local:OpowerGateway/Default"
LOCAL_PRINCIPALS = {
    p.access_key: p
    for p in (
        LocalPrincipal(
            "testing",
            "testing",
            user_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/opower-local-service/make-dev",
            principal_arn=SERVICE_ROLE_ARN,
        ),
        LocalPrincipal(
            "AKIALOCALWORKFLOW001",
            "local-workflow-secret-key-0000000000000",
            user_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/high-bill-alerts/execution-1",
            principal_arn=f"arn:aws:iam::{ACCOUNT}:role/high-bill-alerts",
            tags={TAG_KEY: SERVICE_TAG},
            # grant_invoke(role, routes=[("GET", "/v1/service/bill-forecast"), ...])
            invoke=("GET/v1/service/bill-forecast", "GET/v1/service/accounts"),
        ),
        LocalPrincipal(
            "AKIALOCALSTRANGER01",
            "local-stranger-secret-key-000000000000",
            user_arn=f"arn:aws:iam::{ACCOUNT}:user/stranger",
            principal_arn=f"arn:aws:iam::{ACCOUNT}:user/stranger",
            invoke=("*",),  # its own policy allows everything: the resource policy denies
        ),
        LocalPrincipal(
            "AKIAOTHERACCOUNT0001",
            "other-account-secret-key-0000000000000",
            user_arn="arn:aws:sts::111111111111:assumed-role/copycat/session",
            principal_arn="arn:aws:iam::111111111111:role/copycat",
            tags={TAG_KEY: SERVICE_TAG},  # the tag is guessable: another account's word
            invoke=("*",),
        ),
    )
}


@dataclass(frozen=True)
class Ports:
    gateway: int = 3000
    sandbox: int = 4010
    idp: int = 4011
    aws: int = 4566

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> Ports:
        values = {}
        for name, default in (("gateway", 3000), ("sandbox", 4010), ("idp", 4011), ("aws", 4566)):
            raw = env.get(f"{name.upper()}_PORT", str(default))
            if not raw.isdecimal() or int(raw) > 65535:
                raise SystemExit(f"{name.upper()}_PORT must be a port number, got {raw!r}")
            values[name] = int(raw)
        return cls(**values)


def load_config(overrides: dict[str, Any] | None = None) -> Any:
    """The deploy-time GatewayConfig from cdk.json's "gateway" context object, with
    ``overrides`` on top (the local equivalent of ``-c name=value``)."""
    from infra.config import CONTEXT_KEY, GatewayConfig

    context = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
    return GatewayConfig.from_mapping({**context.get(CONTEXT_KEY, {}), **(overrides or {})})


_QUIET_KEYS = {
    "level", "message", "timestamp", "service", "location", "cold_start", "function_arn",
    "function_memory_size", "function_request_id", "function_name", "name", "xray_trace_id",
    "sampling_rate", "correlation_id",
}  # fmt: skip


def terminal_line(log: dict[str, Any]) -> str:
    """A Powertools log record as one line: time, level, function, message, then the rest."""
    time_of_day = str(log.get("timestamp", ""))[11:23]
    origin = log.get("function_name") or log.get("name", "")
    extra = " ".join(f"{k}={v}" for k, v in log.items() if k not in _QUIET_KEYS)
    request = str(log.get("correlation_id") or "")[:8]
    level = log.get("level", "")
    return f"{time_of_day} {level:<7} {origin:<10} {request:<8} {log.get('message')} {extra}"


class LocalStack(Service):
    def __init__(
        self,
        ports: Ports | None = None,
        *,
        state_dir: Path = STATE_DIR,
        overrides: dict[str, Any] | None = None,
        opower: OpowerTier | None = None,
    ) -> None:
        self.ports = ports or Ports()
        self._state_dir = state_dir
        self._overrides = overrides
        self._exit = contextlib.ExitStack()
        self.config: Any = None
        # A real Opower (its one utility code, its client in the embedded secret), or
        # None: the sandbox's group of two companies.
        self.opower = opower
        self.sandbox: OpowerSandbox | None = None

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _start(self) -> None:
        deployed = load_config(self._overrides)
        runtime = deployed.runtime
        if self.opower is None:
            # A utility group of two operating companies, as the sandbox serves them: each
            # has its own customers, client (secret) and limits.
            self.sandbox = self._exit.enter_context(
                OpowerSandbox(
                    SandboxConfig(
                        port=self.ports.sandbox,
                        utility_code=UTILITY_CODE,
                        second_utility_code=SECOND_UTILITY_CODE,
                    )
                )
            )
        self.aws = self._exit.enter_context(EmbeddedAws(port=self.ports.aws))
        os.environ.update(self.aws.environment())
        self.idp = self._exit.enter_context(
            DevIdentityProvider(
                port=self.ports.idp,
                audience=(runtime.auth_audience or ("opower-gateway",))[0],
                customer_claim=runtime.claim_utility_customer_id,
                accounts_claim=runtime.claim_account_numbers,
                keys_file=self._state_dir / "idp-keys.json",
            )
        )
        service = deployed.service
        table = f"{service}-local"
        with contextlib.suppress(Exception):  # a restarted moto may still have it
            create_table(table)
        cache_table = self.cache_table = f"{service}-local-cache"
        with contextlib.suppress(Exception):
            create_cache_table(cache_table)
        key = create_key(f"{service} local token key")
        self.opower_secret_name = f"{service}/opower"
        upstream = (
            self._sandbox_upstream() if self.opower is None else self._tier_upstream(self.opower)
        )
        introspection_secret = put_secret(
            f"{service}/introspection",
            {
                "client_id": self.idp.introspection_client_id,
                "client_secret": self.idp.introspection_secret,
            },
        )
        # The key of customers' names, as the stack generates one (gateway.customer_keys).
        customer_key = put_secret(f"{service}/customer-key", {"key": secrets.token_hex(32)})
        self.config = dataclasses.replace(
            deployed,
            runtime=dataclasses.replace(
                runtime,
                opower_base_url=upstream.base_url,
                auth_mode="jwt",
                auth_issuer=self.idp.issuer,
                auth_jwks_url=self.idp.jwks_url,
                auth_introspection_url=self.idp.introspection_url,
                utility_code=upstream.utility_code,
                companies=upstream.companies,
                service_principals=(*runtime.service_principals, SERVICE_ROLE_ARN),
            ),
        )
        environment = self.config.lambda_environment(
            table_name=table,
            kms_key_id=key,
            cache_table_name=cache_table,
            introspection_secret_id=introspection_secret,
            customer_key_secret_id=customer_key,
            **upstream.secret_ids,
        )
        os.environ.update(environment)
        # CloudWatch EMF lines would drown the request lines; SHOW_METRICS=1 brings them back.
        if os.environ.get("SHOW_METRICS") not in {"1", "true"}:
            hide_metric_lines()

        # The handlers are imported once the environment is theirs, as in Lambda.
        from gateway import wiring
        from handlers import authorizer, observability, proxy

        wiring.reset()
        # Same records and keys as in Lambda, one readable line each instead of JSON.
        formatter = observability.logger.registered_formatter
        formatter.json_serializer = terminal_line  # type: ignore[attr-defined]
        self.emulator = self._exit.enter_context(
            ApiGatewayEmulator(
                proxy=proxy.handler,
                authorizer=authorizer.handler,
                port=self.ports.gateway,
                authorizer_cache_ttl_s=self.config.runtime.authorizer_cache_ttl_s,
                proxy_timeout_s=self.config.proxy_timeout_s,
                authorizer_timeout_s=self.config.authorizer_timeout_s,
                cors_allow_origins=self.config.runtime.cors_allow_origins,
                control=self._faults,
                explain_unauthorized=True,
                iam_principals=LOCAL_PRINCIPALS,
                service_principals=self.config.runtime.service_principals,
                service_tag=(TAG_KEY, SERVICE_TAG),
            )
        )

    def _sandbox_upstream(self) -> _Upstream:
        """The sandbox's two companies, each with its own client in its own secret."""
        assert self.sandbox is not None
        secret = put_secret(
            self.opower_secret_name,
            {
                "client_id": self.sandbox.config.client_id,
                "client_secret": self.sandbox.config.client_secret,
            },
        )
        self.second_secret_name = f"{self.opower_secret_name}-{SECOND_UTILITY_CODE.lower()}"
        second_secret = put_secret(
            self.second_secret_name,
            {"client_id": SECOND_CLIENT_ID, "client_secret": SECOND_CLIENT_SECRET},
        )
        return _Upstream(
            base_url=self.sandbox.base_url,
            companies=(Company(UTILITY_CODE), Company(SECOND_UTILITY_CODE)),
            secret_ids={
                "company_secret_ids": {UTILITY_CODE: secret, SECOND_UTILITY_CODE: second_secret}
            },
        )

    def _tier_upstream(self, tier: OpowerTier) -> _Upstream:
        """A real Opower: one utility code, as a deployment of one company is configured,
        its client in the one secret (in the embedded Secrets Manager's memory only)."""
        secret = put_secret(
            self.opower_secret_name,
            {
                "client_id": tier.credentials.client_id,
                "client_secret": tier.credentials.client_secret,
            },
        )
        return _Upstream(
            base_url=tier.url,
            utility_code=tier.utility_code,
            secret_ids={"opower_secret_id": secret},
        )

    def _faults(self, switches: dict[str, Any]) -> dict[str, Any]:
        """`POST /_local/faults`: `{"aws_unavailable": ["dynamodb", ...]}` an AWS outage;
        `{"cache_expired": true}` every cached answer past its freshness at once, as if
        its lifetime had passed (a one-shot action, to see stale-if-error in minutes)."""
        if "aws_unavailable" in switches:
            self.aws.set_unavailable(switches["aws_unavailable"] or [])
        expired = 0
        if switches.get("cache_expired"):
            expired = self._expire_cache()
        return {"aws_unavailable": sorted(self.aws.unavailable), "cache_expired": expired}

    def _expire_cache(self) -> int:
        """Both tiers' entries made stale now (they stay usable for stale-if-error)."""
        import boto3

        from gateway import wiring
        from handlers.observability import metrics

        now = time.time()
        wiring.response_cache(metrics).expire_all()
        dynamodb = boto3.client("dynamodb")
        expired = 0
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=self.cache_table, ProjectionExpression="pk, sk"
        ):
            for item in page.get("Items", []):
                if item["sk"]["S"].endswith("#!"):
                    continue  # a write's marker, not an answer
                dynamodb.update_item(
                    TableName=self.cache_table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET fresh = :now",
                    ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
                )
                expired += 1
        return expired

    def stop(self) -> None:
        self._exit.close()

    # -- what a user needs to try it -------------------------------------------------
    @property
    def companies(self) -> list[str]:
        if self.opower is not None:
            return [self.opower.utility_code]
        return [UTILITY_CODE, SECOND_UTILITY_CODE]

    def customers(self) -> list[dict[str, Any]]:
        """The sandbox's sample customers; none on a real Opower (its customers are the
        utility's, known to whoever mints a session for them)."""
        return self.sandbox.customers() if self.sandbox is not None else []

    def token_for(
        self, utility_customer_id: str, *, company: str = UTILITY_CODE, lifetime_s: float = 3600
    ) -> str:
        for customer in self.customers():
            if (customer["utilityCode"], customer["utilityCustomerId"]) == (
                company,
                utility_customer_id,
            ):
                return self.idp.mint(
                    utility_customer_id,
                    customer["accountNumbers"],
                    lifetime_s=lifetime_s,
                    overrides={self.config.runtime.claim_utility_code: company},
                )
        raise KeyError((company, utility_customer_id))

    def running_settings(self) -> dict[str, Any]:
        """What `make token` needs to sign as this stack does (local/token.py). On a real
        Opower, which one (`opower`: its URL and utility code, never its client)."""
        runtime = self.config.runtime
        return {
            "gateway": self.emulator.base_url,
            "issuer": self.idp.issuer,
            "audience": self.idp.audience,
            "customer_claim": runtime.claim_utility_customer_id,
            "accounts_claim": runtime.claim_account_numbers,
            "utility_code_claim": runtime.claim_utility_code,
            "companies": self.companies,
            "customers": self.customers(),
            "region": REGION,
            **self._opower_named(),
        }

    def summary(self) -> dict[str, Any]:
        upstream = (
            {"sandbox": self.sandbox.base_url} if self.sandbox is not None else self._opower_named()
        )
        return {
            "gateway": self.emulator.base_url,
            **upstream,
            "aws": self.aws.endpoint_url,
            "idp": self.idp.base_url,
            "openapi": f"{self.emulator.base_url}/v1/openapi.json",
            "opower_secret": self.opower_secret_name,
            "companies": self.companies,
            "customers": [
                {**c, "token": self.token_for(c["utilityCustomerId"], company=c["utilityCode"])}
                for c in self.customers()
            ],
        }

    def _opower_named(self) -> dict[str, Any]:
        return {"opower": self.opower.describe()} if self.opower is not None else {}


@dataclass(frozen=True)
class _Upstream:
    """The Opower the handlers call: its origin, its companies (one ``utility_code`` or a
    group's ``companies``) and where each one's client is (lambda_environment's secrets)."""

    base_url: str
    utility_code: str = ""
    companies: tuple[Company, ...] = ()
    secret_ids: dict[str, Any] = dataclasses.field(default_factory=dict)
