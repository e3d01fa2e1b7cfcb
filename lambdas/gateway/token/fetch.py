"""The lease holder's work: token requests to Opower, each given a time it can use, and
every outcome named.

The broker (``broker.py``) decides *whether* this container asks Opower for a
token; this module asks, within a time budget, and says what happened, so that the broker
records it for the fleet correctly:

* :class:`Issued`: a validated token;
* :class:`EndpointFailed`: the endpoint answered badly (5xx, malformed, refused client) or
  did not answer within a time it should have: a failure of the endpoint, which the whole
  fleet backs off from;
* :class:`TooSlowForNow`: no answer within a refresh-ahead bound shorter than the
  endpoint's own timeout: the endpoint is slow, not failed; its latency is learnt, so the
  next refresh gives it longer;
* :class:`NoTimeLeft`: the caller's deadline left no time to send a request at all;
  nothing was sent, nothing is recorded.

A timeout is the endpoint's failure when the request was given the endpoint's own full
timeout, or (without a valid token) at least ``latency_factor`` times the endpoint's
observed latency; a request cut shorter than that (by a refresh-ahead bound or the
caller's deadline) is "too slow for now": the latency is learnt and the fleet pauses
briefly, without escalating a back-off. Less than ``min_request_s`` left: nothing is
sent. A timeout is never retried within one refresh: the fleet backs off instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway import observability as m
from gateway.clock import Clock
from gateway.credentials import CredentialsSource, OpowerCredentials
from gateway.errors import (
    InvalidClientError,
    TokenClientMismatchError,
    TokenEndpointError,
    TokenEndpointTimeoutError,
)
from gateway.observability import MetricsSink
from gateway.token.endpoint import IssuedToken, TokenIssuer


@dataclass(frozen=True)
class FetchSettings:
    attempts: int = 2  # token requests per refresh on 5xx / malformed answers (not timeouts)
    retry_pause_s: float = 0.2  # mean pause between those attempts (jittered)
    min_request_s: float = 1.0  # below this much time, no request is sent
    latency_factor: float = 4.0  # a request is given this many times the observed latency
    ahead_min_s: float = 2.0  # the shortest bound of a refresh ahead of expiry
    initial_latency_s: float = 0.5  # assumed before anything was observed

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")


@dataclass(frozen=True)
class Issued:
    token: IssuedToken = field(repr=False)
    latency_s: float
    client_id: str


@dataclass(frozen=True)
class EndpointFailed:
    error: Exception = field(repr=False)
    latency_s: float | None = None  # a timeout's lower bound, when it timed out


@dataclass(frozen=True)
class TooSlowForNow:
    latency_at_least_s: float


@dataclass(frozen=True)
class NoTimeLeft:
    pass


Outcome = Issued | EndpointFailed | TooSlowForNow | NoTimeLeft


class TokenFetcher:
    def __init__(
        self,
        *,
        endpoint: TokenIssuer,
        credentials: CredentialsSource,
        clock: Clock,
        metrics: MetricsSink,
        settings: FetchSettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._credentials = credentials
        self._clock = clock
        self._metrics = metrics
        self._settings = settings or FetchSettings()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    @property
    def settings(self) -> FetchSettings:
        return self._settings

    @property
    def max_request_s(self) -> float:
        """The longest one token request can take (the endpoint's own timeouts)."""
        return self._endpoint.max_request_s

    def request_bound(self, latency_s: float | None) -> float:
        """The least time a request is given before its timeout blames the endpoint."""
        seen = self._settings.initial_latency_s if latency_s is None else latency_s
        return min(
            self._endpoint.max_request_s,
            max(self._settings.min_request_s, self._settings.latency_factor * seen),
        )

    def ahead_bound(self, latency_s: float | None) -> float:
        """How long a refresh ahead of expiry may take: adapted to the observed latency."""
        return max(self._settings.ahead_min_s, self.request_bound(latency_s))

    def fetch(
        self,
        *,
        until: float | None,
        ahead: bool,
        latency_s: float | None,
        renew: Callable[[float], bool] | None = None,
    ) -> Outcome:
        """Token requests until one succeeds, the attempts are spent, or ``until``.

        ``ahead``: a valid token is at hand (a refresh ahead of expiry). ``renew`` (given
        the seconds the next attempt may take; False when the lease was lost) is called
        before every attempt after the first.
        """
        credentials = self._credentials.get()
        reread = False
        last: EndpointFailed | None = None
        attempt = 0
        while True:
            attempt += 1
            now = self._clock.now()
            timeout = self._endpoint.max_request_s
            if until is not None:
                timeout = min(timeout, until - now)
            if timeout < self._settings.min_request_s:
                return last or NoTimeLeft()
            if attempt > 1 and renew is not None and not renew(timeout):
                return last or NoTimeLeft()  # another container holds the lease now
            outcome = self._one(credentials, timeout, ahead=ahead, latency_s=latency_s)
            if not isinstance(outcome, EndpointFailed):
                return outcome
            error = outcome.error
            if isinstance(error, InvalidClientError) and not reread:
                # The operator may have rotated the secret: read it again, once, uncached.
                reread = True
                credentials = self._credentials.get(force_fetch=True)
                continue
            last = outcome
            # A timeout is not retried: the fleet backs off instead, which bounds the
            # requests a hanging endpoint receives whatever the fleet's size.
            retryable = isinstance(error, TokenEndpointError) and not isinstance(
                error, TokenEndpointTimeoutError
            )
            if not retryable or attempt - int(reread) >= self._settings.attempts:
                return outcome
            self._clock.sleep(self._settings.retry_pause_s * (0.5 + self._rng.random()))

    def _one(
        self,
        credentials: OpowerCredentials,
        timeout: float,
        *,
        ahead: bool,
        latency_s: float | None,
    ) -> Issued | EndpointFailed | TooSlowForNow:
        started = self._clock.now()
        self._metrics.add_metric(m.TOKEN_FETCH, "Count", 1)
        try:
            issued = self._endpoint.request(credentials, timeout_s=timeout)
        except TokenEndpointTimeoutError as exc:
            waited = self._clock.now() - started
            if timeout >= self._endpoint.max_request_s:
                return EndpointFailed(exc, latency_s=waited)  # its own full timeout
            if ahead or timeout < self.request_bound(latency_s):
                return TooSlowForNow(latency_at_least_s=waited)  # cut short by us
            return EndpointFailed(exc, latency_s=waited)  # given a fair time
        except InvalidClientError as exc:
            self._metrics.add_metric(m.TOKEN_INVALID_CLIENT, "Count", 1)
            return EndpointFailed(exc)
        except (TokenEndpointError, TokenClientMismatchError) as exc:
            return EndpointFailed(exc)
        finally:
            elapsed_ms = (self._clock.now() - started) * 1000
            self._metrics.add_metric(m.TOKEN_FETCH_LATENCY, "Milliseconds", elapsed_ms)
        if issued.expires_in_missing:
            self._metrics.add_metric(m.TOKEN_EXPIRY_MISSING, "Count", 1)
        return Issued(
            issued, latency_s=self._clock.now() - started, client_id=credentials.client_id
        )

    def known_client_id(self) -> str | None:
        """The client of the credentials last read, without reading them (None before)."""
        known = self._credentials.peek()
        return known.client_id if known is not None else None
