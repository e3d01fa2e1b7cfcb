"""Outcomes of authorization that are not an Allow. Each carries a reason code: it is
logged and counted, and never shown to the caller."""

from __future__ import annotations

from gateway.errors import GatewayError


class AuthenticationError(GatewayError):
    """The session token is missing or not valid: API Gateway answers 401."""

    code = "unauthenticated"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AccessDeniedError(GatewayError):
    """The token is valid but names no customer it may act for: API Gateway answers 403."""

    code = "access_denied"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdentityUnavailableError(GatewayError):
    """A dependency (identity provider, Opower) failed: the caller gets a 503, nothing is
    cached, and the next request tries again (after ``retry_after_s``, when the budget
    said when)."""

    code = "identity_unavailable"

    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class LoginBudgetSpentError(IdentityUnavailableError):
    """The day's budget has no call left for a new session's binding until
    ``retry_after_s`` (gateway.budgets.day): the session is let through unbound, and the
    proxy answers 503 with that ``Retry-After`` (a failing authorizer can only carry API
    Gateway's one fixed Retry-After, an invitation to retry too soon)."""


class CustomerLimitedError(GatewayError):
    """The customer's share of the Opower budget is spent (their binding lookups count)."""

    code = "customer_rate_limited"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
