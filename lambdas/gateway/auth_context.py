"""The binding as the proxy receives it: the authorizer's context, flattened to strings
by API Gateway. The proxy trusts nothing else for Opower ids."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway import customer_keys
from gateway.budgets.day import MAX_CUSTOMER_RETRY_AFTER_S

# The keys the authorizer sets (gateway.auth.authorizer writes them).
UTILITY_CODE = "utilityCode"
CUSTOMER_ID = "customerId"
UTILITY_CUSTOMER_ID = "utilityCustomerId"
ACCOUNT_IDS = "accountIds"
SESSION_EXPIRES_AT = "sessionExpiresAt"
CUSTOMER_HASH = "customerHash"
RAW_MINUTES = "rawIntervalMinutes"
# The version of the tenancy Opower lists for the bound accounts (gateway.auth.binding).
ACCOUNTS_VERSION = "accountsVersion"
# "0" when the customer may not be served (gateway.designated); absent: they may.
DESIGNATED = "designated"
# A session the day's budget could not bind (gateway.auth.errors.LoginBudgetSpentError):
# the epoch second of its next allowance, and of the decision (API Gateway caches it).
RETRY_AT = "retryAt"
DECIDED_AT = "decidedAt"


def format_raw_minutes(raw_minutes: Mapping[str, int]) -> str:
    """``ELECTRICITY:15,GAS:60``: the context holds strings only."""
    return ",".join(f"{fuel}:{minutes}" for fuel, minutes in sorted(raw_minutes.items()))


def parse_raw_minutes(text: str) -> dict[str, int]:
    minutes = {}
    for part in text.split(","):
        fuel, _, value = part.partition(":")
        if fuel and value.isdecimal() and 0 < int(value) <= 1440:
            minutes[fuel] = int(value)
    return minutes


def customer_hash(utility_code: str, utility_customer_id: str) -> str:
    """A stable name of the customer for logs, metrics, budgets and the principal id: a
    keyed hash (gateway.customer_keys), so that no one without the key can tell whose."""
    return customer_keys.digest(["customer", utility_code, utility_customer_id], 20)


@dataclass(frozen=True)
class BindingView:
    """The verified binding, as the authorizer passed it."""

    customer_id: str
    utility_customer_id: str
    account_ids: frozenset[str]
    # The customer's name in budgets, logs and metrics (a hash, never their ids).
    customer_key: str = ""
    # Their operating company (empty in decisions cached before companies existed).
    utility_code: str = ""
    # Usage fuel -> their finest meter's raw interval in minutes (gateway.auth.binding);
    # empty when not known, and then Opower alone counts a raw window's intervals.
    raw_minutes: Mapping[str, int] = field(default_factory=dict)
    # The tenancy's version (gateway.auth.binding.Binding.version); "" when not known.
    accounts_version: str = ""


class BindingContextError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        status: int = 401,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = dict(headers or {})


LOGIN_WAIT_MESSAGE = (
    "The utility's Opower budget has no call left to start your session now; retry after "
    "the time in Retry-After"
)


def binding_from_context(authorizer: Any, *, now: float, decision_ttl_s: int = 0) -> BindingView:
    """The binding of an Allow; ``decision_ttl_s``: how long API Gateway caches it."""
    if not isinstance(authorizer, Mapping):
        raise BindingContextError("unauthenticated", "A session token is required")
    if RETRY_AT in authorizer:
        # Unbound for now: the next allowance, or, if later, when API Gateway asks the
        # authorizer again (the decision is cached for its TTL).
        try:
            retry_at = float(authorizer[RETRY_AT])
            decided_at = float(authorizer.get(DECIDED_AT, now))
        except (TypeError, ValueError):
            retry_at = decided_at = now
        # At most an hour, as every customer's day refusal (gateway.budgets.utility).
        wait = min(max(retry_at, decided_at + decision_ttl_s) - now, MAX_CUSTOMER_RETRY_AFTER_S)
        raise BindingContextError(
            "budget_spent",
            LOGIN_WAIT_MESSAGE,
            status=503,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    if str(authorizer.get(DESIGNATED, "1")) == "0":
        from gateway.designated import NOT_DESIGNATED_MESSAGE

        raise BindingContextError("not_designated", NOT_DESIGNATED_MESSAGE, status=403)
    customer_id = str(authorizer.get(CUSTOMER_ID) or "")
    utility_customer_id = str(authorizer.get(UTILITY_CUSTOMER_ID) or "")
    if not customer_id or not utility_customer_id:
        raise BindingContextError("unauthenticated", "A session token is required")
    try:
        expires_at = float(authorizer.get(SESSION_EXPIRES_AT, ""))
    except (TypeError, ValueError):
        raise BindingContextError("unauthenticated", "A session token is required") from None
    # API Gateway may serve a cached Allow for its whole TTL; the session's own expiry wins.
    if expires_at <= now:
        raise BindingContextError("session_expired", "The session has expired")
    accounts = str(authorizer.get(ACCOUNT_IDS) or "")
    return BindingView(
        customer_id=customer_id,
        utility_customer_id=utility_customer_id,
        account_ids=frozenset(a for a in accounts.split(",") if a),
        customer_key=str(authorizer.get(CUSTOMER_HASH) or authorizer.get("principalId") or ""),
        utility_code=str(authorizer.get(UTILITY_CODE) or ""),
        raw_minutes=parse_raw_minutes(str(authorizer.get(RAW_MINUTES) or "")),
        accounts_version=str(authorizer.get(ACCOUNTS_VERSION) or ""),
    )
