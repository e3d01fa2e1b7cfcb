"""Calls to Opower's data APIs: the broker's token, timeouts, a deadline and safe retries.

* A 401 means Opower refused the token: it is invalidated (compare-and-delete in the
  shared item), a fresh one is obtained and the request is replayed once. A second 401,
  with the fresh token, is that route's failure (an API the utility is not licensed for,
  say): an :class:`UpstreamAuthError` (502) for this call, and for ``route_401_hold_s``
  that route's 401s with that same token are answered at once, without invalidating it
  (a newer token is tried once again). No route can make the fleet back off, nor cost
  more than one token request per token.
* 429, 502, 503, 504 and connection failures are retried for idempotent methods only,
  with exponential back-off and full jitter, honouring ``Retry-After``, and never past
  the request's deadline (derived from the Lambda's remaining time).
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import urllib3

from gateway import observability as m
from gateway.clock import Clock
from gateway.errors import (
    BudgetExceededError,
    CustomerBudgetExceededError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTooLargeError,
)
from gateway.http import shared_pool
from gateway.observability import MetricsSink, NullMetrics
from gateway.token.broker import TokenBroker

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes
    content_type: str | None
    retry_after: str | None
    attempts: int


class Permits(Protocol):
    """The fleet budget (gateway.budgets.utility.Budget): one permit per call sent to Opower."""

    def acquire(self, priority: str = "standard") -> Any: ...

    def refused(self, priority: str = "standard") -> Any: ...


class CustomerPermits(Protocol):
    """Each customer's share (gateway.budgets.customer.CustomerBudget), once per request."""

    def acquire(self, customer: str) -> Any: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_base_s: float = 0.1
    backoff_max_s: float = 2.0


class OpowerClient:
    def __init__(
        self,
        base_url: str,
        broker: TokenBroker,
        *,
        clock: Clock,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 8.0,
        retry: RetryPolicy | None = None,
        max_body_bytes: int = LAMBDA_RESPONSE_LIMIT,
        metrics: MetricsSink | None = None,
        pool: urllib3.PoolManager | None = None,
        rng: random.Random | None = None,
        budget: Permits | None = None,
        customers: CustomerPermits | None = None,
        budget_wait_s: float = 1.1,
        route_401_hold_s: float = 60.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._budget = budget
        self._customers = customers
        self._budget_wait_s = budget_wait_s
        self._broker = broker
        self._clock = clock
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._retry = retry or RetryPolicy()
        self._max_body = max_body_bytes
        self._metrics = metrics or NullMetrics()
        self._pool = pool
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._route_401_hold_s = route_401_hold_s
        # Routes that refused a fresh token: that token, until when. Their 401s with that
        # token invalidate nothing; a newer token (after a refresh) is tried again once.
        self._refusing: dict[str, tuple[str, float]] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        deadline: float,
        query: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        customer_key: str | None = None,
        route: str | None = None,
        priority: str = "standard",
    ) -> UpstreamResponse:
        """Send one customer-scoped call. ``path`` starts with ``/apis/``, already encoded;
        ``route`` names the Opower API it belongs to (for a route-specific 401);
        ``priority`` what the call is to the customer when the day's budget runs short
        (gateway.budgets.day).

        Every attempt (retries and the 401 replay too) spends a permit of the fleet
        budget; without one, nothing is sent: :class:`BudgetExceededError` before the first
        attempt, the last answer or error after a later one.
        """
        url = self._base + path + (f"?{urlencode(query)}" if query else "")
        idempotent = method in IDEMPOTENT_METHODS
        # A kind of call the day's plan refuses for now is refused before anything is
        # spent or counted (gateway.budgets.utility: no write for a refusal).
        refused = self._budget.refused(priority) if self._budget is not None else None
        if refused is not None:
            raise BudgetExceededError(
                "the fleet's Opower budget is spent",
                retry_after_s=refused.retry_after_s,
                reason=refused.reason,
            )
        # The customer's own share first: once per request (retries are Opower's doing,
        # not the customer's), and before anything else is spent.
        if customer_key is not None and self._customers is not None:
            share = self._customers.acquire(customer_key)
            if not share.allowed:
                raise CustomerBudgetExceededError(
                    "this customer's share of the Opower budget is spent for now",
                    retry_after_s=share.retry_after_s,
                    reason=share.reason,
                )
        # First, so that no budget is spent while the token endpoint is failing.
        token = self._broker.get_token(deadline=deadline)
        replayed = False
        attempt = 0
        last: UpstreamResponse | None = None
        while True:
            attempt += 1
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                raise UpstreamTimeoutError("the request's deadline passed before Opower answered")
            verdict = self._permit(deadline, priority)
            if verdict is not None and not verdict.allowed:
                if last is not None:
                    return last
                raise BudgetExceededError(
                    "the fleet's Opower budget is spent",
                    retry_after_s=verdict.retry_after_s,
                    reason=verdict.reason,
                )
            # Again after the permit, which may have waited (for the next second, or on a
            # slow DynamoDB): never send a token that expired meanwhile. A memory hit.
            token = self._broker.get_token(deadline=deadline)
            started = self._clock.now()
            self._metrics.add_metric(m.OPOWER_CALL, "Count", 1)
            try:
                status, data, content_type, retry_after = self._send(
                    method, url, body, headers, token.authorization, remaining
                )
            except UpstreamTimeoutError:
                self._metrics.add_metric(m.UPSTREAM_TIMEOUT, "Count", 1)
                if not (idempotent and self._may_retry(attempt, deadline, None)):
                    raise
                continue
            except UpstreamTooLargeError:
                raise  # the same answer would come back
            except UpstreamError:
                self._metrics.add_metric(m.UPSTREAM_CONNECTION_ERROR, "Count", 1)
                if not (idempotent and self._may_retry(attempt, deadline, None)):
                    raise
                continue
            finally:
                elapsed_ms = (self._clock.now() - started) * 1000
                self._metrics.add_metric(m.UPSTREAM_LATENCY, "Milliseconds", elapsed_ms)

            if status == 401:
                refusing = route or path
                if replayed or self._refuses(refusing, token.fingerprint):
                    if replayed:
                        self._refusing[refusing] = (
                            token.fingerprint,
                            self._clock.now() + self._route_401_hold_s,
                        )
                    self._metrics.add_metric(m.UPSTREAM_ROUTE_UNAUTHORIZED, "Count", 1)
                    raise UpstreamAuthError("Opower refused this route even a fresh token")
                # The request was refused, not processed: replaying it is safe.
                self._metrics.add_metric(m.UPSTREAM_TOKEN_REPLAY, "Count", 1)
                self._broker.invalidate(token)
                replayed = True
                continue
            last = UpstreamResponse(status, data, content_type, retry_after, attempt)
            if (
                status in RETRYABLE_STATUSES
                and idempotent
                and self._may_retry(attempt, deadline, retry_after)
            ):
                continue
            return last

    def _refuses(self, route: str, token_fingerprint: str) -> bool:
        refused = self._refusing.get(route)
        if refused is None:
            return False
        if refused[1] <= self._clock.now():
            del self._refusing[route]
            return False
        return refused[0] == token_fingerprint

    def _permit(self, deadline: float, priority: str) -> Any:
        """A permit of the fleet budget; over the per-second budget, wait for the next
        second once (bounded by ``budget_wait_s`` and the deadline) rather than refuse."""
        if self._budget is None:
            return None
        verdict = self._budget.acquire(priority)
        waited = 0.0
        while not verdict.allowed and verdict.reason == "per_second":
            now = self._clock.now()
            pause = 1.0 - now % 1.0 + self._rng.uniform(0.0, 0.05)
            if waited + pause > self._budget_wait_s or now + pause + 0.05 >= deadline:
                break
            self._metrics.add_metric(m.UPSTREAM_BUDGET_WAIT, "Count", 1)
            self._clock.sleep(pause)
            waited += pause
            verdict = self._budget.acquire(priority)
        return verdict

    def _send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        authorization: str,
        remaining: float,
    ) -> tuple[int, bytes, str | None, str | None]:
        timeout = urllib3.Timeout(
            connect=min(self._connect_timeout_s, remaining),
            read=min(self._read_timeout_s, remaining),
        )
        all_headers = {"Accept": "application/json", **(headers or {})}
        all_headers["Authorization"] = authorization
        try:
            response = (self._pool or shared_pool()).request(
                method,
                url,
                body=body,
                headers=all_headers,
                timeout=timeout,
                redirect=False,
                preload_content=False,
            )
            try:
                data = response.read(self._max_body + 1, decode_content=True)
            finally:
                response.release_conn()
        except urllib3.exceptions.NewConnectionError as exc:
            # Its host does not resolve, or nothing answers there: unreachable, not slow
            # (urllib3 derives both from ConnectTimeoutError).
            raise UpstreamError(f"Opower unreachable ({type(exc).__name__})") from None
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise UpstreamTimeoutError("Opower did not answer in time") from None
        except urllib3.exceptions.HTTPError as exc:
            raise UpstreamError(f"Opower unreachable ({type(exc).__name__})") from None
        if len(data) > self._max_body:
            self._metrics.add_metric(m.UPSTREAM_BODY_TOO_LARGE, "Count", 1)
            raise UpstreamTooLargeError("Opower's answer exceeds the Lambda response limit")
        return (
            response.status,
            data,
            response.headers.get("Content-Type"),
            response.headers.get("Retry-After"),
        )

    def _may_retry(self, attempt: int, deadline: float, retry_after: str | None) -> bool:
        """Sleep before the next attempt if one is allowed and fits the deadline."""
        if attempt >= self._retry.max_attempts:
            return False
        cap = min(self._retry.backoff_max_s, self._retry.backoff_base_s * 2**attempt)
        delay = self._rng.uniform(0, cap)  # full jitter
        hinted = parse_retry_after(retry_after, self._clock.now())
        if hinted is not None:
            delay = max(delay, hinted)
        # Leave time for the next attempt to do something useful.
        if self._clock.now() + delay + 0.05 >= deadline:
            return False
        self._metrics.add_metric(m.UPSTREAM_RETRY, "Count", 1)
        self._clock.sleep(delay)
        return True


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
