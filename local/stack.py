"""The whole gateway on one machine: the Opower sandbox, moto server (DynamoDB, Secrets
Manager, KMS), a development identity provider, and the API Gateway emulator running the
real authorizer and proxy handlers in-process. Given an ``OpowerTier`` (a real Opower,
local/opower_tier.py), the handlers call it instead, and no sandbox runs.

Configuration comes from the same model the stack deploys (``GatewayConfig`` from
``cdk.json``), with only the endpoints pointed at the embedded services; the Lambda
environment is built by the same ``lambda_environment()`` the stack uses.

The identity provider is the dev IdP, unless GATEWAY_CONFIG names one (``TrustedIdp``):
then the gateway trusts that one, with every ``auth_*`` and ``claim_*`` setting given,
and the dev IdP's sessions are refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from gateway.cache.keys import MARKERS
from gateway.companies import Company
from gateway.credentials import OpowerCredentials
from gateway.errors import ConfigurationError
from gateway.service import TAG_KEY
from gateway.settings import cognito_region
from local.aws import EmbeddedAws
from local.emulator import ACCOUNT, REGION, ApiGatewayEmulator
from local.idp import DevIdentityProvider
from local.metrics_output import hide_metric_lines
from local.opower_tier import OpowerTier
from local.portal import PORTAL_CLIENT_ID, PortalServer, discovered_origins
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
    portal: int = 4012

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> Ports:
        values = {}
        for name, default in (
            ("gateway", 3000), ("sandbox", 4010), ("idp", 4011), ("aws", 4566), ("portal", 4012)
        ):  # fmt: skip
            raw = env.get(f"{name.upper()}_PORT", str(default))
            if not raw.isdecimal() or int(raw) > 65535:
                raise SystemExit(f"{name.upper()}_PORT must be a port number, got {raw!r}")
            values[name] = int(raw)
        return cls(**values)


# The settings naming an identity provider's endpoints. Named in GATEWAY_CONFIG, they are
# the user's own provider; otherwise cdk.json's values (a deployment's placeholders,
# login.example.com) give way to the dev IdP's.
IDP_ENDPOINT_SETTINGS = ("auth_issuer", "auth_jwks_url", "auth_introspection_url")
# The JSON file of the gateway's client at the user's own introspection endpoint.
INTROSPECTION_CREDENTIALS = "INTROSPECTION_CREDENTIALS"
NO_INTROSPECTION_CLIENT = (
    "your IdP's introspection endpoint answers its own clients only: pass "
    f'{INTROSPECTION_CREDENTIALS}=<file> holding {{"client_id": "...", "client_secret": "..."}}'
)
# A deployment names the introspection client's secret by ARN, which its checks require;
# locally the stack puts the client into the embedded Secrets Manager itself.
_LOCAL_INTROSPECTION_SECRET_ARN = (
    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:local-introspection-client-000000"
)
# The algorithms the dev IdP signs with (local/idp.py), in its order of preference.
_DEV_ALGORITHMS = ("RS256", "ES256")


class IdentityConfigError(Exception):
    """GATEWAY_CONFIG names an identity provider the local gateway cannot trust as given:
    what to add, in one line."""


@dataclass(frozen=True)
class TrustedIdp:
    """The identity provider the local gateway trusts, decided from GATEWAY_CONFIG alone
    (before anything starts): the dev IdP, or the user's own (``own``), whose sessions
    are JWTs checked against its JWKS or, with ``introspection``, opaque tokens its RFC
    7662 endpoint answers for (its client from INTROSPECTION_CREDENTIALS)."""

    own: bool = False
    introspection: bool = False

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any]) -> TrustedIdp:
        named = {n for n in IDP_ENDPOINT_SETTINGS if overrides.get(n) not in (None, "")}
        introspection = str(overrides.get("auth_mode", "")).strip() == "introspection"
        if introspection:
            if "auth_introspection_url" not in named:
                raise IdentityConfigError(
                    'GATEWAY_CONFIG sets "auth_mode": "introspection" but not '
                    "auth_introspection_url: add your IdP's RFC 7662 endpoint, "
                    '"auth_introspection_url": "https://...", with '
                    f"{INTROSPECTION_CREDENTIALS}=<file> (the dev IdP's sessions are JWTs: "
                    "leave auth_mode out to use them)"
                )
            return cls(own=True, introspection=True)
        if not named:
            if str(overrides.get("auth_claims_from", "")).strip() == "cognito":
                raise IdentityConfigError(
                    'GATEWAY_CONFIG sets "auth_claims_from": "cognito", which asks Cognito '
                    "about a user pool's access tokens, never the dev IdP's: name your "
                    "pool's auth_issuer and auth_jwks_url too, or leave auth_claims_from out"
                )
            return cls()
        if named == {"auth_introspection_url"}:
            raise IdentityConfigError(
                'GATEWAY_CONFIG names auth_introspection_url, used with "auth_mode": '
                f'"introspection": add that (and {INTROSPECTION_CREDENTIALS}=<file>), or '
                "auth_issuer and auth_jwks_url for your IdP's JWTs"
            )
        missing = [n for n in ("auth_issuer", "auth_jwks_url") if n not in named]
        if missing:
            hint = {
                "auth_issuer": '"auth_issuer": "<the iss of its tokens>"',
                "auth_jwks_url": '"auth_jwks_url": "<its JWKS URL>" (https; http only on '
                "127.0.0.1), where the gateway gets its keys",
            }[missing[0]]
            raise IdentityConfigError(
                f"GATEWAY_CONFIG names {' and '.join(sorted(named))} of your identity "
                f"provider but not {missing[0]}: add {hint}"
            )
        return cls(own=True)


# The origins of the web dev servers a developer is likely to start first (Vite 5173 and
# its preview 4173, Create React App and Next.js 3000, Angular 4200, Vue CLI and webpack
# 8080), by both loopback names: their first request from a browser works on `make dev`.
# A deployed stack allows no origin until cors_allow_origins names the app's own.
DEV_SERVER_ORIGINS = tuple(
    f"http://{host}:{port}"
    for port in (5173, 4173, 3000, 4200, 8080)
    for host in ("localhost", "127.0.0.1")
)


def with_dev_origins(
    overrides: Mapping[str, Any], portal_origins: Sequence[str] = ()
) -> dict[str, Any]:
    """``overrides`` allowing cdk.json's origins and the dev servers', unless they name
    ``cors_allow_origins`` themselves (GATEWAY_CONFIG: then exactly theirs); and always
    the portal's own (``portal_origins``), which `make dev` serves as a deployed app
    would be served, on an origin listed for it."""
    given = overrides.get("cors_allow_origins", [])
    if not isinstance(given, list):
        return dict(overrides)  # not a list: the configuration's own check says so
    defaults: Sequence[str] = ()
    if "cors_allow_origins" in overrides:
        configured = list(given)
    else:
        from infra.config import CONTEXT_KEY

        context = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
        configured = list(context.get(CONTEXT_KEY, {}).get("cors_allow_origins", []))
        defaults = DEV_SERVER_ORIGINS
    extra = [o for o in (*defaults, *portal_origins) if o not in configured]
    return {**overrides, "cors_allow_origins": [*configured, *extra]}


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
        introspection_client: OpowerCredentials | None = None,
    ) -> None:
        """``introspection_client``: the client of the user's own introspection endpoint
        (GATEWAY_CONFIG's auth_introspection_url), put into the embedded Secrets Manager."""
        self.ports = ports or Ports()
        self._state_dir = state_dir
        self._overrides = overrides or {}
        self._introspection_client = introspection_client
        self._exit = contextlib.ExitStack()
        self.config: Any = None
        # A real Opower (its one utility code, its client in the embedded secret), or
        # None: the sandbox's group of two companies.
        self.opower = opower
        self.sandbox: OpowerSandbox | None = None
        self.trusted = TrustedIdp()

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _start(self) -> None:
        self.trusted = TrustedIdp.from_overrides(self._overrides)
        if self.trusted.introspection and self._introspection_client is None:
            raise IdentityConfigError(NO_INTROSPECTION_CLIENT)
        stand_ins = (
            {"introspection_secret_arn": _LOCAL_INTROSPECTION_SECRET_ARN}
            if self.trusted.introspection
            else {}
        )
        # The portal first: its origin is one the gateway allows (cors_allow_origins).
        self.portal = self._exit.enter_context(PortalServer(port=self.ports.portal))
        deployed = load_config(
            with_dev_origins({**stand_ins, **self._overrides}, self.portal.origins)
        )
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
                        # Bills post every working day, each customer on their read
                        # cycle, as a utility's do (SandboxConfig.billing).
                        billing="cycles",
                    )
                )
            )
        self.aws = self._exit.enter_context(EmbeddedAws(port=self.ports.aws))
        os.environ.update(self.aws.environment())
        self.idp = self._exit.enter_context(
            DevIdentityProvider(
                port=self.ports.idp,
                # A token carries one audience; the gateway accepts any it lists.
                audience=(runtime.auth_audience or ("opower-gateway",))[0],
                customer_claim=runtime.claim_utility_customer_id,
                accounts_claim=runtime.claim_account_numbers,
                utility_code_claim=runtime.claim_utility_code,
                token_type=runtime.auth_token_type,
                token_use=runtime.auth_token_use,
                designated_claim=runtime.designated_claim,
                keys_file=self._state_dir / "idp-keys.json",
                algorithm=next(
                    (a for a in runtime.auth_algorithms if a in _DEV_ALGORITHMS),
                    _DEV_ALGORITHMS[0],
                ),
            )
        )
        self.dev_algorithm = self.idp.algorithm
        self.idp.register_client(
            PORTAL_CLIENT_ID, self.portal.redirect_uris, name="Opower Gateway customer portal"
        )
        self.idp.set_directory(self.customers())
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
        client = self._introspection_client or OpowerCredentials(
            self.idp.introspection_client_id, self.idp.introspection_secret
        )
        introspection_secret = put_secret(
            f"{service}/introspection",
            {"client_id": client.client_id, "client_secret": client.client_secret},
        )
        # The key of customers' names, as the stack generates one (gateway.customer_keys).
        customer_key = put_secret(f"{service}/customer-key", {"key": secrets.token_hex(32)})
        try:
            self.config = dataclasses.replace(
                deployed,
                runtime=dataclasses.replace(
                    runtime,
                    opower_base_url=upstream.base_url,
                    **self._identity_settings(runtime),
                    utility_code=upstream.utility_code,
                    companies=upstream.companies,
                    service_principals=(*runtime.service_principals, SERVICE_ROLE_ARN),
                ),
            )
        except ConfigurationError as exc:
            from infra.config import GatewayConfigError

            raise GatewayConfigError(f"invalid runtime setting: {exc}") from None
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
        self.portal.configure(gateway=self.emulator.base_url, **self._portal_identity(runtime))

    def _portal_identity(self, runtime: Any) -> dict[str, Any]:
        """Where the portal signs customers in: the dev IdP, as its registered client;
        or the user's own IdP (its issuer), as the client PORTAL_CLIENT_ID names there
        (docs/portal.md), whose access token must be one the gateway accepts."""
        if not self.trusted.own:
            return {"issuer": self.idp.issuer, "client_id": PORTAL_CLIENT_ID}
        client_id = os.environ.get("PORTAL_CLIENT_ID", "")
        return {
            "issuer": runtime.auth_issuer,
            "client_id": client_id,
            "scope": os.environ.get("PORTAL_SCOPE") or "openid profile",
            # (asked only when the portal is to sign in there)
            "connect": discovered_origins(runtime.auth_issuer) if client_id else [],
        }

    def _identity_settings(self, runtime: Any) -> dict[str, Any]:
        """The settings that point the gateway at the identity provider it trusts: the dev
        IdP's endpoints in place of cdk.json's; the user's own as GATEWAY_CONFIG names them
        (with introspection, cdk.json's placeholder issuer and JWKS dropped, not checked)."""
        if not self.trusted.own:
            return {
                "auth_mode": "jwt",
                "auth_issuer": self.idp.issuer,
                "auth_jwks_url": self.idp.jwks_url,
                "auth_introspection_url": self.idp.introspection_url,
            }
        if self.trusted.introspection:
            return {
                name: getattr(runtime, name) if name in self._overrides else ""
                for name in ("auth_issuer", "auth_jwks_url")
            }
        # JWTs, whatever auth_mode cdk.json holds (GATEWAY_CONFIG did not ask otherwise).
        return {"auth_mode": "jwt"}

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
                if item["sk"]["S"] == MARKERS:
                    continue  # the customer's markers, not an answer
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
                    alg=self.dev_algorithm,
                    lifetime_s=lifetime_s,
                    company=company,
                )
        raise KeyError((company, utility_customer_id))

    def identity(self) -> dict[str, Any]:
        """Which identity provider the gateway trusts and how it reads a session (the
        banner's Identity line; ``dev_idp_trusted`` false: the dev IdP's are refused)."""
        runtime = self.config.runtime
        introspection = runtime.auth_mode == "introspection"
        described: dict[str, Any] = {
            "issuer": runtime.auth_issuer,
            "dev_idp_trusted": not self.trusted.own,
            "mode": runtime.auth_mode,
            "jwks_url": "" if introspection else runtime.auth_jwks_url,
            "introspection_url": runtime.auth_introspection_url if introspection else "",
            "audience": list(runtime.auth_audience),
            "claims_from": runtime.auth_claims_from,
            "claims": {
                "utility_customer_id": runtime.claim_utility_customer_id,
                "account_numbers": runtime.claim_account_numbers,
                "utility_code": runtime.claim_utility_code,
            },
        }
        if runtime.auth_claims_from == "userinfo":
            described["userinfo_url"] = runtime.auth_userinfo_url
        if runtime.auth_claims_from == "cognito":
            # As the authorizer builds it (gateway.wiring): AWS's own, unless named.
            described["cognito_endpoint"] = runtime.auth_cognito_endpoint or (
                f"https://cognito-idp.{cognito_region(runtime.auth_issuer)}.amazonaws.com"
            )
            described["cognito_is_aws"] = not runtime.auth_cognito_endpoint
        return described

    def running_settings(self) -> dict[str, Any]:
        """What `make token` needs to sign as this stack does (local/token.py), and whether
        the gateway accepts what it signs (``dev_idp_trusted``, else ``trusted_issuer``).
        On a real Opower, which one (`opower`: its URL and utility code, never its client)."""
        runtime = self.config.runtime
        identity = self.identity()
        return {
            "gateway": self.emulator.base_url,
            # make forget (infra/forget.py): the embedded AWS and what it holds
            "aws": self.aws.endpoint_url,
            # (the functions' environment, as lambda_environment() set it)
            "table_name": os.environ.get("TABLE_NAME", ""),
            "cache_table_name": os.environ.get("CACHE_TABLE_NAME", ""),
            "customer_key_secret_id": os.environ.get("CUSTOMER_KEY_SECRET_ID", ""),
            "issuer": self.idp.issuer,
            "audience": self.idp.audience,
            "customer_claim": runtime.claim_utility_customer_id,
            "accounts_claim": runtime.claim_account_numbers,
            "utility_code_claim": runtime.claim_utility_code,
            "token_type": runtime.auth_token_type,
            "token_use": runtime.auth_token_use,
            "designated_claim": runtime.designated_claim,
            "algorithm": self.dev_algorithm,
            "dev_idp_trusted": identity["dev_idp_trusted"],
            "trusted_issuer": identity["issuer"] or identity["introspection_url"],
            "companies": self.companies,
            "customers": self.customers(),
            "region": REGION,
            **self._opower_named(),
        }

    def summary(self) -> dict[str, Any]:
        """What is running, for the banner and programs (``--json``). The customers'
        tokens are the dev IdP's: refused when ``identity.dev_idp_trusted`` is false."""
        upstream = (
            {"sandbox": self.sandbox.base_url} if self.sandbox is not None else self._opower_named()
        )
        return {
            "gateway": self.emulator.base_url,
            **upstream,
            "aws": self.aws.endpoint_url,
            "idp": self.idp.base_url,
            "portal": f"{self.portal.base_url}/",
            "portal_client_id": (self.portal.config or {}).get("clientId", ""),
            "openapi": f"{self.emulator.base_url}/v1/openapi.json",
            "opower_secret": self.opower_secret_name,
            "identity": self.identity(),
            "cors_allow_origins": list(self.config.runtime.cors_allow_origins),
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
