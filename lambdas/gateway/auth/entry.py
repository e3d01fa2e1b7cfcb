"""From an API Gateway REQUEST-authorizer event to its answer, with every outcome logged
as a reason code (never the token) and counted by reason."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gateway import observability as m
from gateway.auth.authorizer import Authorizer, deny_response
from gateway.auth.errors import (
    AccessDeniedError,
    AuthenticationError,
    CustomerLimitedError,
    IdentityUnavailableError,
)
from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.errors import ConfigurationError, GatewayError
from gateway.observability import MetricsSink

logger = logging.getLogger(__name__)

# Leave the authorizer time to answer before Lambda's own timeout.
_DEADLINE_MARGIN_S = 0.5


class Unauthorized(Exception):
    """Raised with exactly this message, it makes API Gateway answer 401.

    API Gateway reads only the message: ``reason`` never reaches a deployed client. The
    local emulator (`make dev`) shows it in the 401's message, where a developer looks.
    """

    def __init__(self, reason: str = "") -> None:
        super().__init__("Unauthorized")
        self.reason = reason


class AuthorizerUnavailable(Exception):
    """Any other failure. API Gateway answers a raise (or a timeout) with its
    AUTHORIZER_CONFIGURATION_ERROR response, 503 in the stack, and caches nothing."""


def handle_event(
    event: Mapping[str, Any],
    *,
    remaining_ms: int,
    authorizer: Authorizer,
    metrics: MetricsSink,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Any]:
    method_arn = str(event.get("methodArn", ""))
    deadline = clock.now() + remaining_ms / 1000 - _DEADLINE_MARGIN_S
    try:
        allow = authorizer.authorize(
            _headers(event),
            deadline=deadline,
            multi_value_headers=_multi_value_headers(event),
        )
        response = allow.response(method_arn)
    except AuthenticationError as exc:
        _count(metrics, "unauthorized", exc.reason)
        raise Unauthorized(exc.reason) from None
    except AccessDeniedError as exc:
        _count(metrics, "denied", exc.reason)
        return deny_response(method_arn)
    except CustomerLimitedError as exc:
        # The customer spent their share on lookups: not an outage (no alarm), a 503
        # with Retry-After (an authorizer can only allow, deny, 401 or fail).
        _count(metrics, "limited", exc.reason)
        raise AuthorizerUnavailable(exc.reason) from None
    except IdentityUnavailableError as exc:
        _count(metrics, "unavailable", exc.reason)
        raise AuthorizerUnavailable(exc.reason) from None
    except ConfigurationError as exc:
        metrics.add_metric(m.GATEWAY_MISCONFIGURED, "Count", 1)
        logger.error("authorizer misconfigured", extra={"problem": str(exc)})
        raise AuthorizerUnavailable("configuration") from None
    except GatewayError as exc:
        _count(metrics, "unavailable", exc.code)
        raise AuthorizerUnavailable(exc.code) from None
    if allow.retry_at is not None:
        # Not an outage: the day's budget is shaped so (gateway.budgets.day); the proxy
        # answers 503 with the Retry-After of the next allowance.
        metrics.add_metric("AuthBudgetWait", "Count", 1)
        logger.warning(
            "session not bound: the day's budget", extra={"customer": allow.principal_id}
        )
        return response
    if not allow.designated:
        # Not an error: the proxy answers 403 not_designated with the decision's context.
        metrics.add_metric("AuthNotDesignated", "Count", 1)
        logger.info("session not designated", extra={"customer": allow.principal_id})
        return response
    metrics.add_metric("AuthAllowed", "Count", 1)
    logger.info("session allowed", extra={"customer": allow.principal_id})
    return response


def _headers(event: Mapping[str, Any]) -> Mapping[str, str] | None:
    headers = event.get("headers")
    return headers if isinstance(headers, Mapping) else None


def _multi_value_headers(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    headers = event.get("multiValueHeaders")
    return headers if isinstance(headers, Mapping) else None


def _count(metrics: MetricsSink, outcome: str, reason: str) -> None:
    metrics.add_metric(f"Auth_{outcome}", "Count", 1)
    metrics.add_metric(f"Auth_{outcome}_{reason}", "Count", 1)
    log = logger.error if outcome == "unavailable" else logger.info
    log("session not allowed", extra={"outcome": outcome, "reason": reason})
