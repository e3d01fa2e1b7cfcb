"""Domain errors. Each carries a stable ``code``; HTTP statuses are chosen in one place
(the handlers' error mapping), never by matching message text.

Messages name settings and keys, never values: nothing secret is ever put in an error.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code = "internal_error"


class ConfigurationError(GatewayError):
    """A setting or the Opower secret is missing or invalid (an operator must act)."""

    code = "configuration_error"


class CredentialsNotSetError(ConfigurationError):
    """The Opower secret is missing, has no value yet (a new stack before its first
    `make fill-secret`) or cannot be decrypted: an operator must act, clients retry."""

    code = "credentials_not_set"


class CredentialsUnavailableError(GatewayError):
    """The Opower credentials could not be read and none are cached."""

    code = "credentials_unavailable"


class TokenUnavailableError(GatewayError):
    """No valid Opower token could be obtained; the token endpoint is failing."""

    code = "token_unavailable"

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TokenEndpointError(GatewayError):
    """One token request failed in a way worth retrying (5xx, timeout, malformed body)."""

    code = "token_endpoint_error"


class TokenEndpointTimeoutError(TokenEndpointError):
    """The token endpoint did not answer within the time the request allowed."""

    code = "token_endpoint_timeout"


class TokenEndpointUnreachableError(TokenEndpointError):
    """No connection could be made to the token endpoint: its host does not resolve, or
    nothing answers there (urllib3 makes both a kind of timeout; they are not one)."""

    code = "token_endpoint_unreachable"


class InvalidClientError(GatewayError):
    """The token endpoint rejected our client credentials (``invalid_client``)."""

    code = "invalid_client"


class TokenResponseError(TokenEndpointError):
    """The token endpoint answered 200 with a body we cannot trust or use."""

    code = "token_response_invalid"


class TokenClientMismatchError(GatewayError):
    """The token answer names another client_id than ours (Oracle asks us to check)."""

    code = "token_client_mismatch"


class TokenStoreError(GatewayError):
    """The shared token store (DynamoDB or KMS) is unavailable or failing."""

    code = "token_store_unavailable"


class UpstreamError(GatewayError):
    """Opower failed or answered in a way we cannot pass on."""

    code = "upstream_error"


class UpstreamTimeoutError(UpstreamError):
    """Opower did not answer within the request's deadline."""

    code = "upstream_timeout"


class UpstreamAuthError(UpstreamError):
    """Opower refused a freshly obtained token too: a second 401 ends the attempt."""

    code = "upstream_unauthorized"


class UpstreamTooLargeError(UpstreamError):
    """Opower's answer exceeds what a Lambda response can carry (6 MB)."""

    code = "upstream_too_large"


class BudgetExceededError(GatewayError):
    """The fleet's Opower budget is spent for now; nothing was sent."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, reason: str) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.reason = reason


class CustomerBudgetExceededError(BudgetExceededError):
    """This customer's share of the budget (per minute or per day) is spent for now."""

    code = "customer_rate_limited"


class BudgetStoreError(GatewayError):
    """The shared budget counters (DynamoDB) are unavailable."""

    code = "budget_store_unavailable"
