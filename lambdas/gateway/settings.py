"""The gateway's runtime settings: one typed model, read once.

Every field is a setting with a default (or required), a description and a validation.
The same model is filled three ways, so there is no second hand-written copy:

* in Lambda, from the environment (``from_env``): the variable is the field name in
  upper case, e.g. ``UTILITY_CODE``;
* at synth time, from ``cdk.json`` context and ``-c`` flags (``infra/config.py``), and
  written into each function's environment with ``to_env``;
* in ``make dev``, from the same defaults pointed at the embedded endpoints.

An invalid value raises ConfigurationError naming the setting (never echoing secrets:
no setting holds one; secrets live in Secrets Manager).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_type_hints
from urllib.parse import urlsplit

from gateway.companies import CODE, CODE_RULE, Company, companies_json, parse_companies
from gateway.errors import ConfigurationError

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
AuthMode = Literal["jwt", "introspection"]
TokenUse = Literal["", "access", "id"]
ClaimsFrom = Literal["token", "userinfo", "cognito"]
Durations = tuple[tuple[str, int], ...]
Curve = tuple[float, ...]  # 24 weights, by hour
# An IAM role or user (the resource policy's aws:PrincipalArn), with an optional path.
_PRINCIPAL_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)(/[\w+=,.@-]+)*/[\w+=,.@-]{1,64}"
)


def setting(default: Any = dataclasses.MISSING, *, doc: str) -> Any:
    if default is dataclasses.MISSING:
        return field(metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class RuntimeSettings:
    # Opower
    opower_base_url: str = setting(
        "https://cxapi.opower.com",
        doc="Opower origin: production https://cxapi.opower.com, UAT https://cxapi-stage.opower.com",
    )
    utility_code: str = setting(
        "", doc=f"Opower utility code ({{U}} in every path), {CODE_RULE}: a single company"
    )
    companies: tuple[Company, ...] = setting(
        (),
        doc="Several operating companies instead of utility_code: a list of objects with "
        "utility_code and, each optional, opower_secret_arn / opower_secret_name, "
        "opower_base_url, budget_per_second, budget_per_day (docs/companies.md)",
    )
    opower_secret_id: str = setting(
        "", doc="Secrets Manager secret (name or ARN) with the Opower client_id / client_secret"
    )
    secret_max_age_s: int = setting(300, doc="How long the Opower credentials are cached")
    customer_key_secret_id: str = setting(
        "",
        doc="Secrets Manager secret (name or ARN) with the key of customers' names in logs, "
        "metrics and DynamoDB keys (an HMAC key the stack generates; gateway.customer_keys)",
    )
    http_connect_timeout_s: float = setting(2.0, doc="Connect timeout for calls to Opower")
    http_read_timeout_s: float = setting(8.0, doc="Read timeout for calls to Opower")
    token_missing_expires_in_s: int = setting(
        300, doc="Lifetime assumed when a token answer lacks expires_in"
    )
    token_refresh_fraction: float = setting(
        0.25, doc="Refresh the Opower token once less than this share of its life is left"
    )
    token_refresh_min_s: float = setting(60.0, doc="... or less than this many seconds")
    token_backoff_base_s: float = setting(
        1.0, doc="Fleet-wide back-off after a failed token request: base * 2^(failures-1) ..."
    )
    token_backoff_max_s: float = setting(30.0, doc="... up to this many seconds (jittered)")
    upstream_max_attempts: int = setting(
        3, doc="Attempts per idempotent Opower call (429, 502-504, connection errors)"
    )
    upstream_route_unauthorized_hold_s: int = setting(
        60,
        doc="After an Opower API refused a fresh token (401 twice), its 401s with that token "
        "are answered 502 at once for this long, invalidating nothing",
    )
    # Shared state
    table_name: str = setting("", doc="DynamoDB table for token, lease, binding and budget items")
    kms_key_id: str = setting("", doc="KMS key (id, ARN or alias) that encrypts the token")
    # Customer authorization
    auth_mode: str = setting("jwt", doc="'jwt' (OIDC JWT + JWKS) or 'introspection' (RFC 7662)")
    auth_issuer: str = setting("", doc="Expected 'iss' of session tokens")
    auth_audience: tuple[str, ...] = setting(
        (),
        doc="Accepted audiences, one or a list (e.g. a web and a mobile app client): a token "
        "passes when its 'aud' holds one of them or, with no 'aud', its 'client_id' is one "
        "(Cognito access tokens)",
    )
    auth_jwks_url: str = setting("", doc="JWKS URL of the identity provider (https)")
    auth_algorithms: tuple[str, ...] = setting(
        ("RS256", "ES256"), doc="Allowed JWT algorithms (asymmetric only; never none or HS*)"
    )
    auth_leeway_s: int = setting(30, doc="Clock leeway for exp / nbf / iat, at most 60")
    auth_jwks_min_refresh_s: int = setting(
        300, doc="An unknown 'kid' refreshes the JWKS at most once per this interval"
    )
    auth_introspection_url: str = setting("", doc="RFC 7662 introspection endpoint (https)")
    auth_introspection_secret_id: str = setting(
        "", doc="Secret with the introspection client's client_id / client_secret"
    )
    auth_introspection_cache_s: int = setting(
        60, doc="Longest an introspection answer is cached (never past the token's exp)"
    )
    auth_introspection_negative_cache_s: int = setting(
        30, doc="How long an inactive or refused token's introspection answer is cached"
    )
    auth_max_session_age_s: int = setting(
        86_400,
        doc="Refuse session tokens issued ('iat') longer ago than this, whatever their exp "
        "(0 = no limit)",
    )
    auth_token_type: str = setting(
        "",
        doc="Required JWT 'typ' header, e.g. at+jwt (RFC 9068) so that an ID token cannot "
        "stand in for an access token; empty: not checked",
    )
    auth_token_use: str = setting(
        "",
        doc="Required 'token_use' claim, 'access' or 'id' (Amazon Cognito); empty: not checked",
    )
    auth_claims_from: str = setting(
        "token",
        doc="Where the customer's ids are read: 'token' (its claims), 'userinfo' (the OIDC "
        "UserInfo endpoint, called with the customer's access token) or 'cognito' (Cognito's "
        "GetUser, called with the access token)",
    )
    auth_userinfo_url: str = setting(
        "",
        doc="UserInfo endpoint for auth_claims_from 'userinfo'; empty: the issuer's discovery "
        "document's userinfo_endpoint",
    )
    auth_cognito_endpoint: str = setting(
        "",
        doc="Cognito user pools endpoint for auth_claims_from 'cognito'; empty: "
        "https://cognito-idp.{region}.amazonaws.com, the region taken from auth_issuer",
    )
    auth_claims_cache_s: int = setting(
        3600,
        doc="How long claims fetched from UserInfo or GetUser are kept per issuer and subject "
        "(in the container and DynamoDB): a change at the identity provider shows within this",
    )
    claim_utility_customer_id: str = setting(
        "utilityCustomerId",
        doc="Claim holding the utility's customer id: a top-level name taken literally, or a "
        "JSON Pointer (RFC 6901) into nested claims when it starts with '/'",
    )
    claim_account_numbers: str = setting(
        "accountNumbers",
        doc="Claim holding the account numbers: a JSON array, or one string of numbers "
        "separated by commas or spaces (named as claim_utility_customer_id is)",
    )
    claim_utility_code: str = setting(
        "utilityCode",
        doc="Session claim naming the customer's operating company (required with several "
        "companies)",
    )
    designated_customers_max: int = setting(
        0,
        doc="Most distinct customers whose data the gateway shows, per company (Opower's "
        "designated customers, by the utility's agreement; a company's own value in "
        "companies wins); 0: no cap",
    )
    designated_claim: str = setting(
        "",
        doc="A session claim that must be true for the customer to be served (the utility's "
        "designated-customer list, kept at its identity provider); empty: not checked",
    )
    binding_ttl_s: int = setting(
        8 * 86_400,
        doc="Longest a customer's Opower binding is used before it is looked up again "
        "(the session's claims are part of its key: a changed claim is a new binding)",
    )
    binding_refresh_after_s: int = setting(
        7 * 86_400,
        doc="A binding used when older than this is looked up again with that request "
        "(a failed lookup keeps the held one until binding_ttl_s), so Opower's changes to "
        "a customer whose claims did not change show within this (docs: the binding across "
        "days)",
    )
    binding_negative_ttl_s: int = setting(
        60, doc="How long a session that binds to no customer is remembered as such"
    )
    cache_settled_after_s: int = setting(
        172_800,
        doc="Meter-read settlement window: usage (and neighbor history, a bill's breakdown) "
        "of a period that ended longer ago than this has all its reads",
    )
    cache_settled_fresh_s: int = setting(
        7 * 86_400,
        doc="How long a settled answer (and each settled usage day held, and the latest bill "
        "comparison) is trusted from when Opower gave it, then asked again: a correction "
        "Opower makes reaches the customer within it (docs/cache.md; one with an estimated "
        "read keeps its route's lifetime); 0: like any other",
    )
    cache_until_period_end: bool = setting(
        True,
        doc="The latest bill comparison, bill period and neighbor comparison (no asOf) are "
        "kept until the billing period ends (less cache_bill_margin_s), not a day",
    )
    cache_bill_margin_s: int = setting(
        4 * 86_400,
        doc="A bill may post this long before the end its bill period gives (Opower's "
        "period is a median of past ones): from then, and until the new bill shows, the "
        "latest bill comparison is kept only cache_new_bill_s",
    )
    cache_new_bill_s: int = setting(
        3_600,
        doc="A new bill is visible within this after Opower has it: how long a latest bill "
        "comparison is kept while a bill is due",
    )
    cache_assemble_usage: bool = setting(
        True,
        doc="Daily and raw usage: settled days are kept per customer, and a window asks "
        "Opower only for the days not held (answered as one Opower call would be)",
    )
    cache_usage_days: int = setting(
        400,
        doc="Most settled days of one customer's usage (per fuel and resolution) kept for "
        "assembly; the newest are kept",
    )
    authorizer_cache_ttl_s: int = setting(
        300, doc="API Gateway's cache of the authorizer's decision per session token"
    )

    # Customer API (proxy)
    disaggregation_account_id: str = setting(
        "number",
        doc="How the disaggregation routes name an account to Opower (utilityAccountId): "
        "'number', the utility's account number, as Oracle's pages define it (\"Utility "
        "customer account ID\"), or 'opower_id', Opower's account id; make opower-check says "
        "which one a tier answers",
    )
    cors_allow_origins: tuple[str, ...] = setting(
        (), doc="Origins allowed to call the API from a browser (none by default)"
    )
    budget_per_second: float = setting(
        19.0, doc="Fleet-wide Opower calls per second (Opower allows 20 per utility)"
    )
    budget_per_day: int = setting(
        99_000,
        doc="Fleet-wide Opower calls per quota day (Opower allows 100,000), the service "
        "API's included",
    )
    budget_day_start_s: int = setting(
        0,
        doc="When Opower's quota day starts, in seconds after 00:00 UTC (0-86399; 28800: "
        "midnight in US Pacific standard time). Oracle's Limitations page gives a limit per "
        "day but no boundary: ask Oracle for your tier's (docs/opower-limits.md)",
    )
    budget_pace_ahead_s: int = setting(
        4 * 3600,
        doc="How far ahead of an even spend of the day standard and optional calls may run "
        "(0-86400 s): at any time of the day, at most the day's elapsed share plus this "
        "much of it is spent, so a morning cannot spend the evening (docs/opower-limits.md)",
    )
    budget_day_plan: bool = setting(
        True,
        doc="Share the quota day out by priority (reserves, pacing, optional screens shed "
        "first: docs/opower-limits.md); false: first come, first served (no reserve, no "
        "pacing), as before issue #38",
    )
    budget_day_curve: tuple[float, ...] = setting(
        (),
        doc="The day's expected demand: 24 weights (any scale), one per hour of the quota "
        "day from budget_day_start_s, as the dashboard's Opower calls per hour show it; "
        "reserves are released and the pace runs along it (empty: even through the day; "
        "docs/opower-limits.md)",
    )
    budget_reserve_login: float = setting(
        0.05,
        doc="Share of the day held for new sessions' binding lookups, out of reach of every "
        "other call; shrinks as the day goes (docs/opower-limits.md)",
    )
    budget_reserve_bill: float = setting(
        0.15,
        doc="Share of the day held for the bill screen (accounts, bill comparison, bill "
        "period) and logins, out of reach of standard and optional calls",
    )
    budget_reserve_standard: float = setting(
        0.10,
        doc="Share of the day held for standard calls (usage, settings, writes) and above, "
        "out of reach of optional screens (forecast, neighbors, tips, breakdowns)",
    )
    budget_per_customer_per_minute: int = setting(
        60,
        doc="Opower calls per customer per minute (0 = no limit): about 5 % of the fleet's "
        "per-second budget, sustained",
    )
    budget_per_customer_per_day: int = setting(
        500,
        doc="Opower calls per customer per UTC day (0 = no limit): 0.5 % of the fleet's day",
    )
    cache_enabled: bool = setting(
        True, doc="The per-customer response cache of GET routes (false: every GET goes to Opower)"
    )
    cache_table_name: str = setting(
        "",
        doc="DynamoDB table of the cache's shared tier (pk, sk, TTL on ttl); empty: "
        "memory tier only",
    )
    cache_fresh_s: tuple[tuple[str, int], ...] = setting(
        (),
        doc="Freshness lifetimes in seconds by cache name, overriding the route table's, "
        'e.g. {"usage/raw": 600, "threshold": 0} (0: not cached); names in docs/cache.md',
    )
    cache_max_stale_s: int = setting(
        86_400,
        doc="How long past its freshness a cached answer may still be served while Opower "
        "fails or the budget is spent (stale-if-error; 0: never)",
    )
    cache_memory_bytes: int = setting(
        16 * 1024 * 1024, doc="Bound of the warm container's memory tier (LRU), in bytes"
    )
    cache_max_entry_bytes: int = setting(
        128 * 1024, doc="Answers larger than this are not cached (DynamoDB items are <= 400 KB)"
    )
    quota_alarm_fraction: float = setting(
        0.8,
        doc="The DailyQuota alarm fires when the day's Opower calls reach this share of "
        "budget_per_day",
    )
    # Service API (the utility's own workloads, AWS IAM)
    service_enabled: bool = setting(
        False,
        doc="Turn the service API (/v1/service/..., AWS IAM) on, for principals given to "
        "grant_invoke; listing service_principals turns it on too. On, it carves the "
        "service budget out of each company's",
    )
    service_principals: tuple[str, ...] = setting(
        (),
        doc="IAM role or user ARNs (arn:aws:iam::<account>:role/<name>) admitted to the "
        "service API by the REST API's resource policy; grant_invoke admits more",
    )
    service_budget_per_second: float = setting(
        2.0,
        doc="Opower calls per second kept for the service API, out of each company's "
        "budget_per_second (customers keep the rest, whatever the services do)",
    )
    service_budget_per_day: int = setting(
        10_000,
        doc="Opower calls per UTC day kept for the service API, out of each company's "
        "budget_per_day",
    )
    budget_customer_share_every: int = setting(
        6,
        doc="A container shares a customer's count with the fleet (one DynamoDB update) after "
        "this many calls, and on every call past half a limit",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigurationError(f"{f.name.upper()} must not be negative")
        if self.utility_code and not CODE.fullmatch(self.utility_code):
            raise ConfigurationError(f"UTILITY_CODE must be {CODE_RULE}")
        if self.companies and self.utility_code:
            raise ConfigurationError(
                "UTILITY_CODE and COMPANIES are both set: list every company in COMPANIES"
            )
        for company in self.companies:
            if company.opower_base_url:
                validate_base_url(
                    company.opower_base_url,
                    setting=f"COMPANIES ({company.utility_code}) opower_base_url",
                )
        if self.auth_mode not in get_args(AuthMode):
            raise ConfigurationError("AUTH_MODE must be 'jwt' or 'introspection'")
        refused = set(self.auth_algorithms) - ASYMMETRIC_ALGORITHMS
        if refused or not self.auth_algorithms:
            raise ConfigurationError(
                "AUTH_ALGORITHMS must list asymmetric algorithms only"
                f" (refused: {', '.join(sorted(refused)) or 'empty list'})"
            )
        if self.auth_token_use not in get_args(TokenUse):
            raise ConfigurationError("AUTH_TOKEN_USE must be '', 'access' or 'id'")
        if self.auth_claims_from not in get_args(ClaimsFrom):
            raise ConfigurationError("AUTH_CLAIMS_FROM must be 'token', 'userinfo' or 'cognito'")
        if (
            self.auth_claims_from == "cognito"
            and not self.auth_cognito_endpoint
            and self.auth_issuer
            and cognito_region(self.auth_issuer) is None
        ):
            raise ConfigurationError(
                "AUTH_CLAIMS_FROM 'cognito' needs a Cognito issuer "
                "(https://cognito-idp.{region}.amazonaws.com/{userPoolId}) or "
                "AUTH_COGNITO_ENDPOINT"
            )
        names = ["claim_utility_customer_id", "claim_account_numbers", "claim_utility_code"]
        for name in names + (["designated_claim"] if self.designated_claim else []):
            try:
                claim_path(getattr(self, name))
            except ValueError as problem:
                raise ConfigurationError(f"{name.upper()}: {problem}") from None
        if any(not re.fullmatch(r"[ -~]{1,256}", a) for a in self.auth_audience):
            raise ConfigurationError("AUTH_AUDIENCE must list printable audiences")
        if self.auth_token_type and not re.fullmatch(
            r"[A-Za-z0-9+./-]{1,64}", self.auth_token_type
        ):
            raise ConfigurationError("AUTH_TOKEN_TYPE must be a media type like at+jwt")
        if self.auth_leeway_s > 60:
            raise ConfigurationError("AUTH_LEEWAY_S must be at most 60")
        if not 0 < self.token_refresh_fraction < 1:
            raise ConfigurationError("TOKEN_REFRESH_FRACTION must be between 0 and 1")
        if self.upstream_max_attempts < 1:
            raise ConfigurationError("UPSTREAM_MAX_ATTEMPTS must be at least 1")
        if self.budget_customer_share_every < 1:
            raise ConfigurationError("BUDGET_CUSTOMER_SHARE_EVERY must be at least 1")
        if self.budget_per_second <= 0 or self.budget_per_day <= 0:
            raise ConfigurationError("BUDGET_PER_SECOND and BUDGET_PER_DAY must be positive")
        if self.budget_day_start_s >= 86_400:
            raise ConfigurationError(
                "BUDGET_DAY_START_S must be 0 to 86399 (seconds after 00:00 UTC)"
            )
        if self.budget_pace_ahead_s > 86_400:
            raise ConfigurationError("BUDGET_PACE_AHEAD_S must be 0 to 86400 (a day)")
        curve = self.budget_day_curve
        if curve and (len(curve) != 24 or min(curve) < 0 or not sum(curve) > 0):
            raise ConfigurationError(
                "BUDGET_DAY_CURVE must be 24 weights (one per hour of the quota day), none "
                "negative and not all 0, or empty"
            )
        if sum(self.budget_reserves.values()) >= 1:
            raise ConfigurationError(
                "BUDGET_RESERVE_LOGIN + BUDGET_RESERVE_BILL + BUDGET_RESERVE_STANDARD must be "
                "less than 1 (they are shares of the day)"
            )
        for origin in self.cors_allow_origins:
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d+)?", origin):
                raise ConfigurationError("CORS_ALLOW_ORIGINS must list origins like https://a.b")
        validate_base_url(self.opower_base_url, setting="OPOWER_BASE_URL")
        for name in (
            # OpenID Connect issuers are https URLs (Discovery 1.0, 2); the issuer is where
            # discovery looks, so a plain-http one would let the network choose the
            # UserInfo endpoint that gets every customer's token.
            "auth_issuer",
            "auth_jwks_url",
            "auth_introspection_url",
            "auth_userinfo_url",
            "auth_cognito_endpoint",
        ):
            if getattr(self, name):
                validate_url(getattr(self, name), setting=name.upper())
        if not 0 < self.quota_alarm_fraction <= 1:
            raise ConfigurationError("QUOTA_ALARM_FRACTION must be in (0, 1]")
        if not 0 <= self.cache_settled_fresh_s <= 731 * 86_400:
            raise ConfigurationError(
                "CACHE_SETTLED_FRESH_S must be 0 to 63158400 (two years): how long a settled "
                "answer is trusted"
            )
        if not 1 <= self.cache_usage_days <= 731:
            raise ConfigurationError("CACHE_USAGE_DAYS must be 1 to 731 (two years of days)")
        if self.cache_max_entry_bytes > 300 * 1024:
            raise ConfigurationError(
                "CACHE_MAX_ENTRY_BYTES must be at most 307200 (a DynamoDB item holds 400 KB)"
            )
        from gateway.routes import cache_lifetimes

        unknown = sorted({name for name, _ in self.cache_fresh_s} - set(cache_lifetimes()))
        if unknown:
            raise ConfigurationError(
                f"CACHE_FRESH_S names no cached route: {', '.join(unknown)} "
                f"(known: {', '.join(cache_lifetimes())})"
            )
        for arn in self.service_principals:
            if not _PRINCIPAL_ARN.fullmatch(arn):
                raise ConfigurationError(
                    "SERVICE_PRINCIPALS must list IAM role or user ARNs like "
                    "arn:aws:iam::123456789012:role/name"
                )
        if self.service_api:
            if self.service_budget_per_second <= 0 or self.service_budget_per_day <= 0:
                raise ConfigurationError(
                    "SERVICE_BUDGET_PER_SECOND and SERVICE_BUDGET_PER_DAY must be positive "
                    "while the service API is enabled"
                )
            for company in self.company_list():
                if (
                    company.budget_per_second - self.service_budget_per_second < 1
                    or company.budget_per_day - self.service_budget_per_day < 1
                ):
                    raise ConfigurationError(
                        f"SERVICE_BUDGET_PER_SECOND / SERVICE_BUDGET_PER_DAY leave customers "
                        f"of {company.utility_code} nothing: they must stay below the "
                        f"company's budget_per_second ({company.budget_per_second:g}) and "
                        f"budget_per_day ({company.budget_per_day}) by at least 1"
                    )
        if self.disaggregation_account_id not in ("number", "opower_id"):
            raise ConfigurationError("DISAGGREGATION_ACCOUNT_ID must be number or opower_id")
        if self.authorizer_cache_ttl_s > 3600:
            raise ConfigurationError("AUTHORIZER_CACHE_TTL_S must be at most 3600")

    # -- adapters ----------------------------------------------------------------------
    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RuntimeSettings:
        return cls.from_mapping(
            {f.name: env[f.name.upper()] for f in _fields() if f.name.upper() in env}
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RuntimeSettings:
        """From field names to raw values (strings, or already typed values)."""
        hints = get_type_hints(cls)
        known = {f.name for f in _fields()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**{name: _convert(name, hints[name], raw) for name, raw in values.items()})

    def to_env(self) -> dict[str, str]:
        """The environment of a Lambda function (or the local run) holding these settings."""
        env = {}
        for f in _fields():
            value = getattr(self, f.name)
            if f.name == "companies":
                env["COMPANIES"] = companies_json(value) if value else ""
            elif f.name == "budget_day_curve":
                env["BUDGET_DAY_CURVE"] = ",".join(f"{w:g}" for w in value)
            elif f.name == "cache_fresh_s":
                env["CACHE_FRESH_S"] = json.dumps(dict(value), sort_keys=True) if value else ""
            elif isinstance(value, tuple):
                env[f.name.upper()] = ",".join(value)
            else:
                env[f.name.upper()] = str(value)
        return env

    def company_list(self) -> tuple[Company, ...]:
        """Every operating company, each setting it leaves empty taken from the gateway's."""
        listed = self.companies or (
            (Company(self.utility_code, self.opower_secret_id),) if self.utility_code else ()
        )
        return tuple(
            dataclasses.replace(
                company,
                opower_secret_id=company.opower_secret_id or self.opower_secret_id,
                opower_base_url=company.opower_base_url or self.opower_base_url,
                budget_per_second=company.budget_per_second or self.budget_per_second,
                budget_per_day=company.budget_per_day or self.budget_per_day,
                designated_customers_max=(
                    company.designated_customers_max or self.designated_customers_max
                ),
            )
            for company in listed
        )

    @property
    def service_api(self) -> bool:
        """Whether the service API is on: turned on, or principals listed for it."""
        return self.service_enabled or bool(self.service_principals)

    @property
    def budget_reserves(self) -> dict[str, float]:
        """The day's reserves by priority (gateway.budgets.day)."""
        return {
            "login": self.budget_reserve_login,
            "bill": self.budget_reserve_bill,
            "standard": self.budget_reserve_standard,
        }

    def budget_shares(self, company: Company) -> dict[str, tuple[float, int]]:
        """Each pool's (per second, per day) of ``company``'s budget: customers alone, or,
        with the service API, the service's share carved out and the rest for customers."""
        if not self.service_api:
            return {"customer": (company.budget_per_second, company.budget_per_day)}
        service = (self.service_budget_per_second, self.service_budget_per_day)
        return {
            "customer": (
                company.budget_per_second - service[0],
                company.budget_per_day - service[1],
            ),
            "service": service,
        }

    def cache_lifetime(self, name: str) -> int:
        """Seconds a cached answer of cache name ``name`` stays fresh (0: not cached)."""
        from gateway.routes import cache_lifetimes

        if not self.cache_enabled:
            return 0
        overrides = dict(self.cache_fresh_s)
        return overrides.get(name, cache_lifetimes().get(name, 0))

    def require(self, *names: str) -> None:
        """Fail clearly when a setting a handler needs was left empty."""
        missing = [n.upper() for n in names if getattr(self, n) in ("", ())]
        if missing:
            raise ConfigurationError(f"required setting(s) not set: {', '.join(missing)}")


def _fields() -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(RuntimeSettings)


def describe() -> list[tuple[str, str, str]]:
    """(setting, default, description) for every setting: the table of docs/configuration.md."""
    rows = []
    for f in _fields():
        default = f.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
        rows.append((f.name, shown, str(f.metadata["doc"])))
    return rows


def convert(hint: Any, raw: Any) -> Any:
    """A raw value (text from the environment or a -c flag, or JSON) as ``hint``'s type.

    Raises ValueError when it is not one. Shared with the deploy-time model.
    """
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).strip().lower()
        if lowered not in {"true", "false", "1", "0", "yes", "no"}:
            raise ValueError(raw)
        return lowered in {"true", "1", "yes"}
    if hint in (int, float):
        if isinstance(raw, bool) or (
            hint is int and isinstance(raw, float) and not raw.is_integer()
        ):
            raise ValueError(raw)
        return hint(raw)
    if hint == tuple[Company, ...]:
        return parse_companies(raw)
    if hint == Durations:
        return _durations(raw)
    if hint == tuple[str, ...]:
        items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
        return tuple(str(i).strip() for i in items if str(i).strip())
    if hint == Curve:
        items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
        numbers = tuple(float(i) for i in items if isinstance(i, (int, float)) or str(i).strip())
        if any(isinstance(i, bool) for i in items) or not all(math.isfinite(n) for n in numbers):
            raise ValueError(raw)
        return numbers
    if not isinstance(raw, str):
        raise ValueError(raw)
    return raw.strip()


def _convert(name: str, hint: Any, raw: Any) -> Any:
    try:
        return convert(hint, raw)
    except ConfigurationError:
        raise
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{name.upper()} has an invalid value (expected {kind_of(hint)})"
        ) from None


def _durations(raw: Any) -> Durations:
    """A JSON object (or its text) of names to whole seconds >= 0, as sorted pairs."""
    if isinstance(raw, str):
        if not raw.strip():
            return ()
        raw = json.loads(raw)
    if isinstance(raw, (list, tuple)):
        raw = dict(raw)
    if not isinstance(raw, Mapping):
        raise ValueError(raw)
    pairs = []
    for name, seconds in raw.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError(seconds)
        pairs.append((str(name), seconds))
    return tuple(sorted(pairs))


def kind_of(hint: Any) -> str:
    if hint == tuple[Company, ...]:
        return "a list of companies"
    if hint == Durations:
        return "a JSON object of names to whole seconds"
    if hint == Curve:
        return "24 numbers, comma-separated or a JSON list"
    return {int: "an integer", float: "a number", bool: "true or false", str: "text"}.get(
        hint, "a comma-separated list"
    )


def claim_path(name: str) -> tuple[str, ...]:
    """The keys leading to a claim: a name is one top-level claim taken literally
    (``custom:accountNumbers``, ``extn.accountNumbers`` and Auth0's
    ``https://utility.example.com/accountNumbers`` are plain names), unless it starts with
    ``/``: then it is a JSON Pointer (RFC 6901) into nested claims, ``/opower/accountNumbers``,
    where ``~1`` stands for ``/`` and ``~0`` for ``~``."""
    if not name or not name.isprintable() or len(name) > 256:
        raise ValueError("a claim name must be 1-256 printable characters")
    if not name.startswith("/"):
        return (name,)
    keys = []
    for token in name[1:].split("/"):
        if re.search(r"~(?![01])", token):
            raise ValueError("in a JSON Pointer, '~' must be written ~0 and '/' ~1")
        if not token:
            raise ValueError("a JSON Pointer's keys must not be empty")
        keys.append(token.replace("~1", "/").replace("~0", "~"))
    return tuple(keys)


_COGNITO_ISSUER = re.compile(
    r"https://cognito-idp\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com/[\w-]+_[0-9A-Za-z]+"
)


def cognito_region(issuer: str) -> str | None:
    """The AWS region of a Cognito user pool's issuer, or None for another issuer."""
    match = _COGNITO_ISSUER.fullmatch(issuer)
    return match.group(1) if match else None


def validate_base_url(url: str, *, setting: str) -> str:
    """An origin (scheme, host, port) with HTTPS required except on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigurationError(f"{setting} must be an absolute http(s) URL")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        raise ConfigurationError(f"{setting} must be an origin only (scheme, host and port)")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(f"{setting} must use https (plain http only on a loopback host)")
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_url(url: str, *, setting: str) -> str:
    """A full URL (path allowed) with HTTPS required except on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname or parts.username:
        raise ConfigurationError(f"{setting} must be an absolute http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(f"{setting} must use https (plain http only on a loopback host)")
    return url
