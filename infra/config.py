"""The deploy-time model: ``GatewayConfig``, read once from CDK context.

Sources, later ones winning:

1. the defaults of the fields below (and of ``RuntimeSettings``);
2. the ``"gateway"`` object of ``cdk.json`` context (typed JSON values);
3. flat ``-c name=value`` flags (always strings; converted here).

A key is either a deploy-only field of ``GatewayConfig`` or a field of
``RuntimeSettings``; the latter are passed, untouched, to ``RuntimeSettings.from_mapping``
so that settings the Lambda code adds are picked up without a change here. Any invalid
value fails synthesis with ``GatewayConfigError`` naming the setting.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_type_hints
from urllib.parse import urlsplit

from gateway.errors import ConfigurationError
from gateway.settings import RuntimeSettings, convert, kind_of

if TYPE_CHECKING:  # aws_cdk costs a second of start-up: `make dev` reads this model too
    import aws_cdk as cdk
    from aws_cdk import aws_logs as logs
    from constructs import Node

CONTEXT_KEY = "gateway"

# API Gateway gives up on an integration after 29 s. The proxy must end first so the
# caller gets the gateway's own error envelope instead of an anonymous 504.
API_GATEWAY_INTEGRATION_TIMEOUT_S = 29

# Runtime settings that name resources this stack creates or imports: the stack fills
# them in, so setting them by hand could only point a function at the wrong resource.
STACK_FILLED_RUNTIME_SETTINGS = {
    "table_name": "the table is created by the stack",
    "kms_key_id": "the key is created by the stack",
    "cache_table_name": "the cache table is created by the stack",
    "opower_secret_id": "use opower_secret_arn or opower_secret_name",
    "auth_introspection_secret_id": "use introspection_secret_arn",
}

# The only retention periods CloudWatch Logs accepts.
_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
_REMOVAL = {"destroy": "DESTROY", "retain": "RETAIN"}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Lambda's LoggingConfig.SystemLogLevel takes these three.
_SYSTEM_LOG_LEVELS = ("DEBUG", "INFO", "WARN")
_ACCOUNT_ROLE = ("create_if_missing", "leave")
# "Amazon API Gateway quotas": 10,000 requests per second per account and region by default.
ACCOUNT_THROTTLE_RATE = 10_000
# A complete secret ARN ends in '-' and the six random characters Secrets Manager appends;
# a partial ARN (without them) does not match an IAM resource of the secret.
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}"
)
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,99}")
# The example values cdk.json ships: fine for synth and `make dev`, never for a deployment.
PLACEHOLDER_UTILITY_CODE = "UTX"
_PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class GatewayConfigError(ValueError):
    """A deploy-time setting is invalid; the message names it, never a secret."""


@dataclass(frozen=True)
class CompanySecret:
    """Where one operating company's Opower credentials are: an imported secret (complete
    ARN or name, optionally under a customer-managed key), or none (the stack creates an
    empty one)."""

    utility_code: str
    secret_arn: str = ""
    secret_name: str = ""
    kms_key_arn: str = ""


# The keys a company of cdk.json's `companies` may hold besides the runtime ones.
_COMPANY_SECRET_KEYS = {
    "opower_secret_arn": "secret_arn",
    "opower_secret_name": "secret_name",
    "opower_secret_kms_key_arn": "kms_key_arn",
}


def deploy_setting(default: Any, *, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class GatewayConfig:
    runtime: RuntimeSettings = field(
        default_factory=RuntimeSettings, metadata={"doc": "the Lambda runtime settings"}
    )
    stack_name: str = deploy_setting(
        "OpowerGateway",
        doc="CloudFormation stack name; a second copy in the same account and region (e.g. "
        "UAT beside production) takes another name and shares nothing with the first",
    )
    service_name: str = deploy_setting(
        "",
        doc="Powertools service name (the metrics' `service` dimension, the WAF metric prefix);"
        " empty: the stack name",
    )
    metrics_namespace: str = deploy_setting(
        "OpowerGateway", doc="CloudWatch namespace of the gateway's custom metrics"
    )
    log_level: str = deploy_setting(
        "INFO",
        doc="Application log level of both functions (Lambda's JSON log filter and "
        "POWERTOOLS_LOG_LEVEL): DEBUG, INFO, WARNING, ERROR",
    )
    system_log_level: str = deploy_setting(
        "INFO",
        doc="Lambda system log level (START/END/REPORT lines): DEBUG, INFO, WARN",
    )
    stage_name: str = deploy_setting(
        "prod", doc="API Gateway stage (first path segment; routes already carry /v1)"
    )
    throttle_rate_limit: int = deploy_setting(
        1000,
        doc="Stage steady-state requests/s, a guard for Lambda concurrency and cost (the fleet "
        "budget, not the stage, keeps Opower's 20/s); at most the account's 10,000",
    )
    throttle_burst_limit: int = deploy_setting(
        2000, doc="Stage burst (token bucket size): two seconds of the steady rate"
    )
    api_gateway_account_role: str = deploy_setting(
        "create_if_missing",
        doc="API Gateway's account-wide CloudWatch Logs role, which access logging needs: "
        "'create_if_missing' (a custom resource sets one only if the account has none, and "
        "never removes it) or 'leave' (the account already has one)",
    )
    waf_enabled: bool = deploy_setting(True, doc="Attach the AWS WAF web ACL to the stage")
    waf_rate_limit_per_5min: int = deploy_setting(
        2000,
        doc="WAF: requests per client IP per 5 minutes before it is blocked (10 or more); "
        "mobile carriers put many customers behind one IP",
    )
    waf_rate_limit_per_session_per_5min: int = deploy_setting(
        500,
        doc="WAF: requests per Authorization header value (one session) per 5 minutes before "
        "it is blocked (10 or more)",
    )
    waf_logging_enabled: bool = deploy_setting(
        True,
        doc="WAF logs to CloudWatch Logs (aws-waf-logs-*), credentials and the service API's "
        "customer headers redacted, "
        "kept log_retention_days",
    )
    lambda_memory_mb: int = deploy_setting(
        512, doc="Memory (and so CPU share) of the proxy and authorizer functions"
    )
    proxy_timeout_s: int = deploy_setting(
        25, doc="Proxy function timeout; under API Gateway's 29 s integration limit"
    )
    authorizer_timeout_s: int = deploy_setting(
        10, doc="Authorizer function timeout; under API Gateway's 29 s limit"
    )
    log_retention_days: int = deploy_setting(
        30, doc="Retention of the function, access and WAF logs (a CloudWatch Logs value)"
    )
    removal_policy: str = deploy_setting(
        "destroy", doc="'destroy' or 'retain' the table, key, secret and logs with the stack"
    )
    table_point_in_time_recovery: bool = deploy_setting(
        False, doc="Point-in-time recovery of the table (it holds only cache data)"
    )
    opower_secret_arn: str = deploy_setting(
        "", doc="Import this existing Opower credentials secret (its complete ARN)"
    )
    opower_secret_name: str = deploy_setting(
        "", doc="... or this one (name); neither: the stack creates an empty secret"
    )
    opower_secret_kms_key_arn: str = deploy_setting(
        "",
        doc="KMS key (ARN) of an imported Opower secret encrypted with a customer-managed key:"
        " the functions may decrypt with it through Secrets Manager only",
    )
    introspection_secret_arn: str = deploy_setting(
        "",
        doc="Secret of the introspection client, its complete ARN (required with "
        "auth_mode=introspection)",
    )
    introspection_secret_kms_key_arn: str = deploy_setting(
        "", doc="KMS key (ARN) of the introspection secret, if customer-managed"
    )
    alarm_topic_enabled: bool = deploy_setting(
        False, doc="Create an SNS topic (KMS-encrypted) that every alarm notifies"
    )
    alarm_email: str = deploy_setting(
        "", doc="Subscribe this address to the alarm topic (implies alarm_topic_enabled)"
    )
    deploy: bool = deploy_setting(
        False,
        doc="Set by `make deploy`: refuse the placeholder settings cdk.json ships with "
        "(utility_code UTX, login.example.com)",
    )
    # Each operating company's secret, from `companies` (not a setting of its own).
    company_secrets: tuple[CompanySecret, ...] = field(
        default=(), metadata={"doc": "", "internal": True}
    )

    # -- derived ---------------------------------------------------------------------
    @property
    def retention(self) -> logs.RetentionDays:
        from aws_cdk import aws_logs

        return getattr(aws_logs.RetentionDays, _RETENTION[self.log_retention_days])  # type: ignore[no-any-return]

    @property
    def cdk_removal_policy(self) -> cdk.RemovalPolicy:
        import aws_cdk

        return getattr(aws_cdk.RemovalPolicy, _REMOVAL[self.removal_policy])  # type: ignore[no-any-return]

    @property
    def service(self) -> str:
        """The service name of metrics and logs: ``service_name``, or the stack's name."""
        return self.service_name or self.stack_name

    @property
    def alarm_topic_wanted(self) -> bool:
        return self.alarm_topic_enabled or bool(self.alarm_email)

    @property
    def introspection_enabled(self) -> bool:
        return self.runtime.auth_mode == "introspection"

    def lambda_environment(
        self,
        *,
        table_name: str,
        kms_key_id: str,
        cache_table_name: str = "",
        opower_secret_id: str = "",
        introspection_secret_id: str = "",
        company_secret_ids: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Every runtime setting (``RuntimeSettings.to_env``) with the stack's resources:
        the single company's ``opower_secret_id``, or each company's (by utility code)."""
        companies = tuple(
            dataclasses.replace(
                company, opower_secret_id=(company_secret_ids or {})[company.utility_code]
            )
            for company in self.runtime.companies
        )
        runtime = dataclasses.replace(
            self.runtime,
            table_name=table_name,
            kms_key_id=kms_key_id,
            cache_table_name=cache_table_name,
            opower_secret_id=opower_secret_id,
            auth_introspection_secret_id=introspection_secret_id,
            companies=companies,
        )
        return {
            **runtime.to_env(),
            "POWERTOOLS_SERVICE_NAME": self.service,
            "POWERTOOLS_METRICS_NAMESPACE": self.metrics_namespace,
            # Lambda's own filter (the function's LoggingConfig) drops records below the
            # same level; Powertools reads AWS_LAMBDA_LOG_LEVEL first when Lambda sets it.
            "POWERTOOLS_LOG_LEVEL": self.log_level,
        }

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_node(cls, node: Node) -> GatewayConfig:
        """From the ``gateway`` context object, then flat ``-c name=value`` overrides."""
        base = node.try_get_context(CONTEXT_KEY) or {}
        if not isinstance(base, Mapping):
            raise GatewayConfigError(f"context '{CONTEXT_KEY}' must be a JSON object")
        values = dict(base)
        for name in (*deploy_field_names(), *runtime_field_names()):
            flat = node.try_get_context(name)
            if flat is not None:
                values[name] = flat
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GatewayConfig:
        deploy_names = set(deploy_field_names())
        runtime_names = set(runtime_field_names())
        # A runtime setting is the one truth for its name (e.g. cors_allow_origins, which
        # the proxy answers with and the API's preflight uses): never a second copy here.
        shadowed = sorted(deploy_names & runtime_names)
        if shadowed:
            raise GatewayConfigError(
                f"deploy setting(s) {', '.join(shadowed)} shadow runtime settings: remove "
                "them from GatewayConfig"
            )
        unknown = sorted(set(values) - deploy_names - runtime_names)
        if unknown:
            raise GatewayConfigError(f"unknown gateway setting(s): {', '.join(unknown)}")
        for name, hint in STACK_FILLED_RUNTIME_SETTINGS.items():
            if values.get(name) not in (None, ""):
                raise GatewayConfigError(f"{name} is filled in by the stack ({hint})")
        companies, secrets = cls._split_companies(values.get("companies"))
        try:
            runtime = RuntimeSettings.from_mapping(
                {
                    **{k: v for k, v in values.items() if k in runtime_names},
                    "companies": companies,
                }
            )
        except ConfigurationError as error:
            raise GatewayConfigError(f"invalid runtime setting: {error}") from None
        hints = get_type_hints(cls)
        deploy = {
            name: _convert(name, hints[name], raw)
            for name, raw in values.items()
            if name in deploy_names
        }
        config = cls(runtime=runtime, company_secrets=secrets, **deploy)
        config.validate()
        return config

    @staticmethod
    def _split_companies(raw: Any) -> tuple[list[dict[str, Any]], tuple[CompanySecret, ...]]:
        """cdk.json's companies: the runtime part of each, and where its secret is."""
        if raw in (None, "", []):
            return [], ()
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise GatewayConfigError(
                    "gateway setting 'companies' is invalid: expected a JSON list"
                ) from None
        if not isinstance(raw, list) or not all(isinstance(c, Mapping) for c in raw):
            raise GatewayConfigError(
                "gateway setting 'companies' is invalid: expected a list of objects"
            )
        runtime: list[dict[str, Any]] = []
        secrets = []
        for index, company in enumerate(raw):
            code = company.get("utility_code")
            if "opower_secret_id" in company:
                raise GatewayConfigError(
                    f"companies[{index}] ({code}).opower_secret_id is filled in by the stack: "
                    "use opower_secret_arn or opower_secret_name"
                )
            runtime.append({k: v for k, v in company.items() if k not in _COMPANY_SECRET_KEYS})
            secrets.append(
                CompanySecret(
                    utility_code=str(code),
                    **{
                        field_name: str(company.get(key) or "")
                        for key, field_name in _COMPANY_SECRET_KEYS.items()
                    },
                )
            )
        return runtime, tuple(secrets)

    def validate(self) -> None:
        """Cross-field and range checks; each error names its setting."""
        _check(
            bool(_STACK_NAME.fullmatch(self.stack_name)),
            "stack_name",
            "a CloudFormation stack name: a letter, then letters, digits, '-' (at most 100)",
        )
        _check(bool(_NAME.fullmatch(self.stage_name)), "stage_name", "letters, digits, '-'")
        _check(
            not self.service_name or bool(_NAME.fullmatch(self.service_name)),
            "service_name",
            "letters, digits, '-'",
        )
        _check(
            bool(re.fullmatch(r"[A-Za-z0-9_./#:-]{1,255}", self.metrics_namespace)),
            "metrics_namespace",
            "a CloudWatch namespace (no spaces)",
        )
        _check(self.log_level in _LOG_LEVELS, "log_level", " | ".join(_LOG_LEVELS))
        _check(
            self.system_log_level in _SYSTEM_LOG_LEVELS,
            "system_log_level",
            " | ".join(_SYSTEM_LOG_LEVELS),
        )
        _check(
            self.api_gateway_account_role in _ACCOUNT_ROLE,
            "api_gateway_account_role",
            " | ".join(_ACCOUNT_ROLE),
        )
        _check(
            1 <= self.throttle_rate_limit <= ACCOUNT_THROTTLE_RATE,
            "throttle_rate_limit",
            f"1 to {ACCOUNT_THROTTLE_RATE} (API Gateway's default account limit per region)",
        )
        _check(
            self.throttle_burst_limit >= self.throttle_rate_limit,
            "throttle_burst_limit",
            "at least throttle_rate_limit",
        )
        for name in ("waf_rate_limit_per_5min", "waf_rate_limit_per_session_per_5min"):
            _check(10 <= getattr(self, name) <= 2_000_000_000, name, "between 10 and 2,000,000,000")
        _check(128 <= self.lambda_memory_mb <= 10240, "lambda_memory_mb", "128 to 10240")
        limit = API_GATEWAY_INTEGRATION_TIMEOUT_S
        _check(1 <= self.proxy_timeout_s < limit, "proxy_timeout_s", f"1 to {limit - 1}")
        _check(1 <= self.authorizer_timeout_s < limit, "authorizer_timeout_s", f"1 to {limit - 1}")
        _check(
            self.log_retention_days in _RETENTION,
            "log_retention_days",
            "one of " + ", ".join(map(str, _RETENTION)),
        )
        _check(self.removal_policy in _REMOVAL, "removal_policy", "'destroy' or 'retain'")
        _check(
            not (self.opower_secret_arn and self.opower_secret_name),
            "opower_secret_arn",
            "set either it or opower_secret_name, not both",
        )
        for name in ("opower_secret_arn", "introspection_secret_arn"):
            value = getattr(self, name)
            _check(
                not value or bool(_SECRET_ARN.fullmatch(value)),
                name,
                "a complete secret ARN, ending in the six characters Secrets Manager appends "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf); for a name, use "
                "opower_secret_name",
            )
        for name in ("opower_secret_kms_key_arn", "introspection_secret_kms_key_arn"):
            value = getattr(self, name)
            _check(not value or bool(_KMS_KEY_ARN.fullmatch(value)), name, "a KMS key ARN")
        _check(
            not self.opower_secret_kms_key_arn
            or bool(self.opower_secret_arn or self.opower_secret_name),
            "opower_secret_kms_key_arn",
            "only with an imported secret (opower_secret_arn or opower_secret_name)",
        )
        _check(
            not self.introspection_secret_kms_key_arn or bool(self.introspection_secret_arn),
            "introspection_secret_kms_key_arn",
            "only with introspection_secret_arn",
        )
        _check(
            not self.alarm_email or bool(_EMAIL.fullmatch(self.alarm_email)),
            "alarm_email",
            "an e-mail address",
        )
        self._validate_runtime()
        self._validate_companies()
        if self.deploy:
            self._refuse_placeholders()

    def _validate_companies(self) -> None:
        """Each company's secret, named as companies[i] (CODE).setting."""
        if not self.company_secrets:
            return
        for name in ("opower_secret_arn", "opower_secret_name", "opower_secret_kms_key_arn"):
            _check(
                not getattr(self, name),
                name,
                "empty with companies (give each company its own opower_secret_arn or "
                "opower_secret_name)",
            )
        for index, company in enumerate(self.company_secrets):
            where = f"companies[{index}] ({company.utility_code})"
            _check(
                not (company.secret_arn and company.secret_name),
                f"{where}.opower_secret_arn",
                "set either it or opower_secret_name, not both",
            )
            _check(
                not company.secret_arn or bool(_SECRET_ARN.fullmatch(company.secret_arn)),
                f"{where}.opower_secret_arn",
                "a complete secret ARN, ending in the six characters Secrets Manager appends",
            )
            _check(
                not company.kms_key_arn or bool(_KMS_KEY_ARN.fullmatch(company.kms_key_arn)),
                f"{where}.opower_secret_kms_key_arn",
                "a KMS key ARN",
            )
            _check(
                not company.kms_key_arn or bool(company.secret_arn or company.secret_name),
                f"{where}.opower_secret_kms_key_arn",
                "only with an imported secret",
            )

    def secrets(self) -> tuple[CompanySecret, ...]:
        """Every company's secret: a group's, or the single company's (top-level settings)."""
        if self.company_secrets:
            return self.company_secrets
        return (
            CompanySecret(
                self.runtime.utility_code,
                self.opower_secret_arn,
                self.opower_secret_name,
                self.opower_secret_kms_key_arn,
            ),
        )

    @property
    def is_group(self) -> bool:
        return bool(self.company_secrets)

    def _refuse_placeholders(self) -> None:
        """cdk.json ships example values so that `make synth` and `make dev` work on a
        fresh clone; deploying them would give a stack no customer can use."""
        found = self.placeholders()
        if found:
            named = ", ".join(f"'{name}' ({value!r})" for name, value in found)
            raise GatewayConfigError(
                f"gateway setting(s) {named} still hold cdk.json's placeholder values: set "
                "your own (cdk.json context.gateway, or -c name=value) before deploying"
            )

    def placeholders(self) -> list[tuple[str, str]]:
        """(setting, value) of every setting still holding one of cdk.json's examples."""
        found = []
        for name in runtime_field_names():
            value = getattr(self.runtime, name)
            if isinstance(value, str) and _is_placeholder(name, value):
                found.append((name, value))
        if self.alarm_email and _is_placeholder("alarm_email", self.alarm_email):
            found.append(("alarm_email", self.alarm_email))
        return found

    def _validate_runtime(self) -> None:
        # RuntimeSettings validates the values it holds; what it cannot know is which
        # empty ones a deployment needs, which the handlers would only find on their
        # first request.
        rt = self.runtime
        try:
            if not rt.companies:
                rt.require("utility_code")
            if self.introspection_enabled:
                rt.require("auth_introspection_url")
            else:
                rt.require("auth_issuer", "auth_audience", "auth_jwks_url")
        except ConfigurationError as error:
            raise GatewayConfigError(f"invalid runtime setting: {error}") from None
        _check(
            not self.introspection_enabled or bool(self.introspection_secret_arn),
            "introspection_secret_arn",
            "required when auth_mode is 'introspection'",
        )


def _is_placeholder(name: str, value: str) -> bool:
    if name == "utility_code":
        return value == PLACEHOLDER_UTILITY_CODE
    host = value.rsplit("@", 1)[-1] if name == "alarm_email" else urlsplit(value).hostname
    return bool(host) and any(host == p or str(host).endswith("." + p) for p in _PLACEHOLDER_HOSTS)


def deploy_field_names() -> tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(GatewayConfig)
        if f.name != "runtime" and not f.metadata.get("internal")
    )


def runtime_field_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(RuntimeSettings))


def describe_deploy() -> list[tuple[str, str, str]]:
    """(setting, default, description) of every deploy-only field."""
    rows = []
    for f in dataclasses.fields(GatewayConfig):
        if f.name == "runtime" or f.metadata.get("internal"):
            continue
        default = f.default
        if isinstance(default, bool):
            shown = str(default).lower()  # as written in cdk.json
        elif isinstance(default, tuple):
            shown = ",".join(default)
        else:
            shown = str(default)
        rows.append((f.name, shown, str(f.metadata["doc"])))
    return rows


def _check(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise GatewayConfigError(f"gateway setting '{name}' is invalid: expected {expected}")


def _convert(name: str, hint: Any, raw: Any) -> Any:
    try:
        return convert(hint, raw)
    except (TypeError, ValueError):
        raise GatewayConfigError(
            f"gateway setting '{name}' is invalid: expected {kind_of(hint)}"
        ) from None
