"""Cached factories: each edge is built once per container from the settings, on first use.

This is the only module that reads ``os.environ``. Tests and the local run clear the
caches with :func:`reset` after changing the environment.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.companies import Company
from gateway.credentials import SecretsManagerCredentials
from gateway.errors import ConfigurationError
from gateway.observability import CompanyMetrics, MetricsSink, ServiceMetrics
from gateway.opower_client import OpowerClient, RetryPolicy
from gateway.settings import RuntimeSettings
from gateway.token.broker import BrokerSettings, TokenBroker
from gateway.token.endpoint import TokenEndpoint
from gateway.token.store import DynamoDbTokenStore

if TYPE_CHECKING:
    from gateway.auth.authorizer import Authorizer, ClaimsFetcher
    from gateway.auth.binding import BindingResolver
    from gateway.cache.answers import ResponseCache
    from gateway.designated import DesignatedCustomers
    from gateway.proxy.entry import Proxy
    from gateway.service import ServiceApi

# functools.cache may build twice under concurrent first calls (the local emulator serves
# requests on threads), and two brokers would mean two memory caches: build under a lock.
_lock = threading.RLock()
# The clock every edge is built with: the system's, except in a simulation that walks a
# day through in minutes (bench/capacity.py), set with use_clock.
_clock: Clock = SYSTEM_CLOCK


def clock() -> Clock:
    """The clock the edges are built with (the authorizer's deadline is on it too, as the
    proxy's is: a deadline on one clock and a refresh timed on another would disagree)."""
    return _clock


def use_clock(clock: Clock) -> None:
    """Build every edge from now on with ``clock`` (and forget the ones built)."""
    global _clock
    with _lock:
        _clock = clock
        reset()


@functools.cache
def settings() -> RuntimeSettings:
    s = RuntimeSettings.from_env(os.environ)
    # Customers' names (logs, metrics, budgets, DynamoDB keys) are keyed by the stack's
    # secret, read by the first name this container needs.
    from gateway import aws_clients, customer_keys

    customer_keys.use(
        customer_keys.secret_loader(s.customer_key_secret_id, aws_clients.secretsmanager)
        if s.customer_key_secret_id
        else None
    )
    return s


def _require_companies(s: RuntimeSettings) -> tuple[Company, ...]:
    companies = s.company_list()
    if not companies:
        raise ConfigurationError("required setting(s) not set: UTILITY_CODE (or COMPANIES)")
    for company in companies:
        if not company.opower_secret_id:
            raise ConfigurationError(
                f"required setting not set: OPOWER_SECRET_ID of company {company.utility_code}"
            )
    s.require("table_name", "kms_key_id")
    return companies


@functools.cache
def _broker(metrics: MetricsSink, base_url: str, secret_id: str) -> TokenBroker:
    """One broker per (Opower origin, client credentials): companies sharing a client share
    its token, in this container and (by the shared item's key) in the fleet."""
    s = settings()
    return TokenBroker(
        endpoint=TokenEndpoint(
            base_url,
            clock=_clock,
            connect_timeout_s=s.http_connect_timeout_s,
            read_timeout_s=s.http_read_timeout_s,
            missing_expires_in_s=s.token_missing_expires_in_s,
        ),
        credentials=SecretsManagerCredentials(
            secret_id, max_age_s=s.secret_max_age_s, metrics=metrics
        ),
        store=DynamoDbTokenStore(s.table_name, s.kms_key_id),
        clock=_clock,
        settings=BrokerSettings(
            refresh_fraction=s.token_refresh_fraction,
            refresh_min_s=s.token_refresh_min_s,
            backoff_base_s=s.token_backoff_base_s,
            backoff_max_s=s.token_backoff_max_s,
        ),
        metrics=metrics,
    )


def broker(metrics: MetricsSink) -> TokenBroker:
    """The first company's token broker (benchmarks and tools look at its lease owner)."""
    with _lock:
        first = _require_companies(settings())[0]
        return _broker(_company_metrics(metrics, first), first.opower_base_url,
                       first.opower_secret_id)  # fmt: skip


def _company_metrics(metrics: MetricsSink, company: Company) -> MetricsSink:
    # A single company keeps its metrics as they always were; a group's carry a copy per
    # company (dimension `utility`) of the token and budget metrics.
    return (
        CompanyMetrics(metrics, company.utility_code)
        if len(settings().company_list()) > 1
        else metrics
    )


@functools.cache
def _opower_clients(metrics: MetricsSink, pool: str) -> Mapping[str, OpowerClient]:
    """The Opower client of each operating company, by utility code, spending ``pool``'s
    share of the company's budget: ``customer`` (sessions: the proxy's customer API and
    the authorizer's bindings) or ``service`` (the service API, gateway.service). Both
    pools share the company's token broker."""
    import uuid

    from gateway.budgets.customer import CustomerBudget, CustomerLimits, DynamoDbCustomerStore
    from gateway.budgets.utility import Budget, BudgetSettings, DynamoDbBudgetStore

    s = settings()
    companies = _require_companies(s)
    # Each customer's share: one limiter, keyed by the customer's hash, which names their
    # company (gateway.auth_context.customer_hash).
    customers = None
    if pool == "customer" and (s.budget_per_customer_per_minute or s.budget_per_customer_per_day):
        customers = CustomerBudget(
            DynamoDbCustomerStore(s.table_name),
            limits=CustomerLimits(
                per_minute=s.budget_per_customer_per_minute or 10**9,
                per_day=s.budget_per_customer_per_day or 10**9,
                share_every=s.budget_customer_share_every,
            ),
            clock=_clock,
            metrics=metrics,
        )
    clients = {}
    clients_of = [(c.opower_base_url, c.opower_secret_id) for c in companies]
    for company in companies:
        company_metrics = _company_metrics(metrics, company)
        client = (company.opower_base_url, company.opower_secret_id)
        # A client shared by several companies has one token for all: its metrics
        # cannot be one company's.
        token_metrics = company_metrics if clients_of.count(client) == 1 else metrics
        # Opower's limits are per utility: one fleet budget per company, for every call to
        # its data APIs, the proxy's and the authorizer's binding lookups alike (token
        # requests, one per lifetime, fit in the headroom below Opower's limit).
        prefix = "budget#" if len(companies) == 1 else f"budget#{company.utility_code}#"
        # The service API's pool has per-second items of its own ("~" is in no utility
        # code); the day is the company's, one count that the day's plan shares out.
        per_second = s.budget_shares(company)[pool][0]
        budget = Budget(
            DynamoDbBudgetStore(
                s.table_name,
                prefix=prefix if pool == "customer" else f"{prefix}~svc#",
                day_prefix=prefix,
            ),
            owner=uuid.uuid4().hex,
            clock=_clock,
            settings=BudgetSettings(
                per_second=per_second,
                per_day=company.budget_per_day,
                reserves=s.budget_reserves,
                pace_ahead_s=s.budget_pace_ahead_s,
                day_start_s=s.budget_day_start_s,
                curve=s.budget_day_curve,
                shaped=s.budget_day_plan,
                service_share=s.service_budget_per_day if s.service_api else 0,
                service=pool == "service",
            ),
            metrics=company_metrics if pool == "customer" else ServiceMetrics(company_metrics),
        )
        clients[company.utility_code] = OpowerClient(
            company.opower_base_url,
            _broker(token_metrics, company.opower_base_url, company.opower_secret_id),
            clock=_clock,
            connect_timeout_s=s.http_connect_timeout_s,
            read_timeout_s=s.http_read_timeout_s,
            retry=RetryPolicy(max_attempts=s.upstream_max_attempts),
            metrics=company_metrics,
            budget=budget,
            customers=customers,
            route_401_hold_s=s.upstream_route_unauthorized_hold_s,
        )
    return MappingProxyType(clients)


def opower_clients(metrics: MetricsSink, pool: str = "customer") -> Mapping[str, OpowerClient]:
    with _lock:
        return _opower_clients(metrics, pool)


def opower_client(metrics: MetricsSink) -> OpowerClient:
    """The first company's client (tools and benchmarks of a single company)."""
    return next(iter(opower_clients(metrics).values()))


@functools.cache
def _authorizer(metrics: MetricsSink) -> Authorizer:
    # Imported here: PyJWT and cryptography are the authorizer's alone.
    from gateway.auth.authorizer import Authorizer

    s = settings()
    return Authorizer(
        verify=_session_verifier(s),
        resolvers=_resolvers(metrics, _opower_clients(metrics, "customer")),
        clock=_clock,
        customer_claim=s.claim_utility_customer_id,
        accounts_claim=s.claim_account_numbers,
        company_claim=s.claim_utility_code,
        max_session_age_s=s.auth_max_session_age_s,
        fetch_claims=_claims_fetcher(s, metrics),
        designated=_designated(metrics),
        designated_claim=s.designated_claim,
    )


@functools.cache
def _designated(metrics: MetricsSink) -> Mapping[str, DesignatedCustomers]:
    """Each capped company's designated-customer count (gateway.designated): one per
    container, shared by the authorizer's sessions and the service API."""
    from gateway.designated import DesignatedCustomers, DesignatedStore

    s = settings()
    store = DesignatedStore(s.table_name)
    return MappingProxyType(
        {
            company.utility_code: DesignatedCustomers(
                store,
                utility_code=company.utility_code,
                cap=company.designated_customers_max,
                metrics=_company_metrics(metrics, company),
            )
            for company in s.company_list()
            if company.designated_customers_max > 0
        }
    )


def _claims_fetcher(s: RuntimeSettings, metrics: MetricsSink) -> ClaimsFetcher | None:
    """Where the customer's ids are fetched from when the token does not carry them
    (``auth_claims_from``), or None: they are its claims."""
    from gateway.auth.fetched_claims import ClaimsStore, CognitoGetUser, FetchedClaims, UserInfo
    from gateway.settings import claim_path, cognito_region

    if s.auth_claims_from == "token":
        return None
    fetch: Callable[[str, float], Mapping[str, Any]]
    if s.auth_claims_from == "userinfo":
        if not s.auth_userinfo_url:
            s.require("auth_issuer")
        fetch = UserInfo(url=s.auth_userinfo_url, issuer=s.auth_issuer, clock=_clock)
    else:
        region = cognito_region(s.auth_issuer) or os.environ.get("AWS_REGION", "us-east-1")
        endpoint = s.auth_cognito_endpoint or f"https://cognito-idp.{region}.amazonaws.com"
        fetch = CognitoGetUser(endpoint=endpoint, region=region)
    names = [s.claim_utility_customer_id, s.claim_account_numbers, s.claim_utility_code]
    if s.designated_claim:
        names.append(s.designated_claim)
    return FetchedClaims(
        fetch,
        kept={claim_path(name)[0] for name in names},
        store=ClaimsStore(s.table_name) if s.table_name else None,
        clock=_clock,
        ttl_s=s.auth_claims_cache_s,
        issuer=s.auth_issuer,
        metrics=metrics,
    )


def _resolvers(
    metrics: MetricsSink, clients: Mapping[str, OpowerClient]
) -> dict[str, BindingResolver]:
    """Each company's binding resolver, looking customers up with ``clients`` (the
    authorizer's for sessions, the service pool's for service calls: one binding store)."""
    from gateway.auth.binding import AccountsSeed, BindingResolver, BindingStore

    s = settings()
    store = BindingStore(s.table_name)
    # The binding's utility_accounts answer is the accounts route's answer: kept in the
    # cache's shared tier, the customer's first GET /v1/me/accounts costs Opower nothing.
    accounts_fresh_s = s.cache_lifetime("accounts")
    seed = (
        AccountsSeed(_response_cache(metrics), fresh_s=accounts_fresh_s)
        if s.cache_enabled and s.cache_table_name and accounts_fresh_s
        else None
    )
    return {
        code: BindingResolver(
            client,
            utility_code=code,
            store=store,
            clock=_clock,
            ttl_s=s.binding_ttl_s,
            refresh_after_s=s.binding_refresh_after_s,
            negative_ttl_s=s.binding_negative_ttl_s,
            metrics=metrics,
            seed=seed,
        )
        for code, client in clients.items()
    }


def authorizer(metrics: MetricsSink) -> Authorizer:
    with _lock:
        return _authorizer(metrics)


@functools.cache
def _response_cache(metrics: MetricsSink) -> ResponseCache:
    """The per-customer response cache of this container (each function has its own
    memory tier; the shared tier is the cache table)."""
    from gateway.cache.answers import ResponseCache
    from gateway.cache.tiers import DynamoDbCacheStore
    from gateway.routes import cache_lifetimes

    s = settings()
    return ResponseCache(
        store=DynamoDbCacheStore(s.cache_table_name) if s.cache_table_name else None,
        clock=_clock,
        memory_bytes=s.cache_memory_bytes,
        max_entry_bytes=s.cache_max_entry_bytes,
        max_stale_s=s.cache_max_stale_s,
        longest_fresh_s=max(
            s.cache_settled_fresh_s, *(s.cache_lifetime(name) for name in cache_lifetimes())
        ),
        metrics=metrics,
    )


def response_cache(metrics: MetricsSink) -> ResponseCache:
    with _lock:
        return _response_cache(metrics)


@functools.cache
def _proxy(metrics: MetricsSink) -> Proxy:
    from gateway.proxy.entry import Proxy

    s = settings()
    return Proxy(
        clients=_opower_clients(metrics, "customer"),
        settings=s,
        clock=_clock,
        metrics=metrics,
        # Off, the cache is still the table that writes invalidate (when there is one).
        cache=_response_cache(metrics) if s.cache_enabled or s.cache_table_name else None,
        service=_service_api(metrics) if s.service_api else None,
    )


def _service_api(metrics: MetricsSink) -> ServiceApi:
    """The service API's door: the service pool's clients and their binding resolvers."""
    from gateway.service import ServiceApi

    clients = _opower_clients(metrics, "service")
    return ServiceApi(
        clients=clients,
        resolvers=_resolvers(metrics, clients),
        metrics=metrics,
        designated=_designated(metrics),
    )


def proxy(metrics: MetricsSink) -> Proxy:
    with _lock:
        return _proxy(metrics)


def _session_verifier(s: RuntimeSettings) -> Callable[[str], Mapping[str, Any]]:
    from gateway.auth.introspection import Introspector
    from gateway.auth.jwks import JwksCache
    from gateway.auth.jwt_verifier import JwtVerifier

    if s.auth_mode == "introspection":
        s.require("auth_introspection_url", "auth_introspection_secret_id")
        return Introspector(
            s.auth_introspection_url,
            SecretsManagerCredentials(s.auth_introspection_secret_id, max_age_s=s.secret_max_age_s),
            clock=_clock,
            cache_max_s=s.auth_introspection_cache_s,
            negative_cache_s=s.auth_introspection_negative_cache_s,
            issuer=s.auth_issuer,
            audience=s.auth_audience,
        ).verify
    s.require("auth_issuer", "auth_audience", "auth_jwks_url")
    return JwtVerifier(
        JwksCache(
            s.auth_jwks_url,
            clock=_clock,
            min_refresh_s=s.auth_jwks_min_refresh_s,
        ),
        issuer=s.auth_issuer,
        audience=s.auth_audience,
        algorithms=s.auth_algorithms,
        leeway_s=s.auth_leeway_s,
        token_type=s.auth_token_type,
        token_use=s.auth_token_use,
    ).verify


def reset() -> None:
    """Forget every built edge and the settings (after the environment changed)."""
    from gateway import aws_clients

    with _lock:
        for cached in (
            settings,
            _broker,
            _opower_clients,
            _authorizer,
            _proxy,
            _response_cache,
            _designated,
        ):
            cached.cache_clear()
        aws_clients.clear()
