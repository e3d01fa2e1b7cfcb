"""Metrics as an edge. The handlers pass a Powertools ``Metrics``; tests pass a recorder.

Metric names are constants here so dashboards, alarms and tests agree on them.
"""

from __future__ import annotations

import hashlib
from typing import Protocol


class MetricsSink(Protocol):
    """The one method of Powertools ``Metrics`` the library uses (hashable: the cached
    factories in ``gateway.wiring`` are keyed by the sink)."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...

    def __hash__(self) -> int: ...


class NullMetrics:
    def add_metric(self, name: str, unit: str, value: float) -> None:
        return None


# The metrics a group of operating companies sees per company too (dimension `utility`):
# each company's token requests and its budget.
PER_COMPANY = frozenset(
    {
        "TokenFetch",
        "TokenFetchFailure",
        "BudgetShed",
        "CustomerLimited",
        "OpowerCall",
        "OpowerCallsToday",
        "DesignatedCustomers",
        "DesignatedRefused",
    }
)
COMPANY_DIMENSION = "utility"


class CompanyMetrics:
    """A sink for one operating company's calls: every metric as usual (the alarms'), and
    the ones of ``PER_COMPANY`` once more with the company's code as a dimension, where
    the sink can (``add_dimensioned_metric``: the handlers' Powertools metrics)."""

    def __init__(self, sink: MetricsSink, utility_code: str) -> None:
        self._sink = sink
        self._dimensions = {COMPANY_DIMENSION: utility_code}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self._sink.add_metric(name, unit, value)
        dimensioned = getattr(self._sink, "add_dimensioned_metric", None)
        if name in PER_COMPANY and dimensioned is not None:
            dimensioned(name, unit, value, self._dimensions)

    def __hash__(self) -> int:
        return hash((id(self._sink), self._dimensions[COMPANY_DIMENSION]))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CompanyMetrics)
            and other._sink is self._sink
            and other._dimensions == self._dimensions
        )


class ServiceMetrics:
    """The service API's budget (gateway.service): its sheds and its day's count named
    ``Service…`` so that they are never read as the customers' (``BudgetShed`` alarms,
    ``OpowerCallsToday`` against the customers' share); every other metric as is."""

    RENAMED = ("BudgetShed", "OpowerCallsToday")

    def __init__(self, sink: MetricsSink) -> None:
        self._sink = sink

    def add_metric(self, name: str, unit: str, value: float) -> None:
        renamed = f"Service{name}" if name.startswith(self.RENAMED) else name
        self._sink.add_metric(renamed, unit, value)

    def __hash__(self) -> int:
        return hash(("service", self._sink))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServiceMetrics) and other._sink == self._sink


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a secret value, safe to log and to compare."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


# A setting or the Opower secret is missing or invalid: an operator must act (both functions)
GATEWAY_MISCONFIGURED = "GatewayMisconfigured"
# The authorizer could not check a session (identity provider or Opower unreachable)
AUTH_UNAVAILABLE = "Auth_unavailable"

# Token broker
TOKEN_CACHE_HIT_MEMORY = "TokenCacheHitMemory"
TOKEN_CACHE_HIT_DYNAMODB = "TokenCacheHitDynamoDb"
TOKEN_FETCH = "TokenFetch"
TOKEN_FETCH_FAILURE = "TokenFetchFailure"
TOKEN_FETCH_LATENCY = "TokenEndpointLatency"
TOKEN_LEASE_CONTENTION = "TokenLeaseContention"
TOKEN_INVALIDATION = "TokenInvalidation"
TOKEN_FETCH_OUT_OF_TIME = "TokenFetchOutOfTime"
TOKEN_STORE_DEGRADED = "TokenStoreDegraded"
TOKEN_EXPIRY_MISSING = "TokenExpiresInMissing"
TOKEN_REISSUED = "TokenReissued"
TOKEN_INVALID_CLIENT = "TokenInvalidClient"
TOKEN_BACKOFF = "TokenEndpointBackoff"
TOKEN_SERVED_STALE_WINDOW = "TokenServedDuringRefreshFailure"

# Calls to Opower's data APIs
UPSTREAM_LATENCY = "UpstreamLatency"
UPSTREAM_RETRY = "UpstreamRetry"
UPSTREAM_TIMEOUT = "UpstreamTimeout"
UPSTREAM_CONNECTION_ERROR = "UpstreamConnectionError"
UPSTREAM_TOKEN_REPLAY = "UpstreamTokenReplay"
UPSTREAM_ROUTE_UNAUTHORIZED = "UpstreamRouteUnauthorized"
OPOWER_CALL = "OpowerCall"  # one per request sent to Opower's data APIs (the quota's unit)
UPSTREAM_BODY_TOO_LARGE = "UpstreamBodyTooLarge"
UPSTREAM_BUDGET_WAIT = "UpstreamBudgetWait"
