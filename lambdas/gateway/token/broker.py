"""The token broker: one Opower token per lifetime for the whole fleet, in every fault.

Two tiers: the warm container's memory, then the shared DynamoDB item (token encrypted
under KMS). What a container does when it needs a token is one of a few named moves
(:class:`Move`), decided from its memory and the shared item; ``docs/token-broker.md``
draws them as a state machine and says what happens in each fault:

* ``SERVE``: a token before its refresh point (memory, or adopted from the item);
* ``HOLD``: the fleet must not ask Opower before ``retry_at`` (the endpoint failed and
  the fleet backs off, or it re-issues the current token until that token expires):
  serve a usable token, or answer "unavailable" with the time to wait;
* ``REFRESH``: this container holds the fleet's lease: it asks Opower (``fetch``),
  keeping the lease alive before each attempt, and publishes the outcome (a token, or
  a failure the fleet backs off from, or the latency it learnt);
* ``WAIT``: another container holds the lease and this one has no usable token: poll the
  item until a token or a failure is published, or the lease expires (its holder died:
  take it over), within the caller's deadline, never fetching without the lease;
* ``ALONE``: DynamoDB or KMS is failing: serve the usable token while there is one,
  then fetch for this container alone (one at a time per container).

The shared item's key is known without the secret (the token URL and the secret's id),
so a new container in a warm fleet serves the shared token without reading Secrets
Manager; the item names the client it was issued to.
"""

from __future__ import annotations

import enum
import logging
import math
import random
import threading
import uuid
from collections import deque
from dataclasses import replace
from typing import TypeGuard

from gateway import observability as m
from gateway.clock import Clock
from gateway.credentials import CredentialsSource
from gateway.errors import TokenUnavailableError
from gateway.observability import MetricsSink, NullMetrics, fingerprint
from gateway.token.endpoint import TokenIssuer
from gateway.token.fetch import (
    EndpointFailed,
    Issued,
    NoTimeLeft,
    TokenFetcher,
    TooSlowForNow,
)
from gateway.token.fleet import FleetView
from gateway.token.store import SharedState, TokenStore
from gateway.token.values import BrokerSettings, Token, store_key

# The broker's value types, importable from here as from their own module.
__all__ = ["BrokerSettings", "Move", "Token", "TokenBroker", "store_key"]

logger = logging.getLogger(__name__)


class Move(enum.Enum):
    SERVE = "serve"
    HOLD = "hold"
    REFRESH = "refresh"
    WAIT = "wait"
    ALONE = "alone"


class TokenBroker:
    """Hands out a valid Opower token, fetching one only when the fleet has none."""

    def __init__(
        self,
        *,
        endpoint: TokenIssuer,
        credentials: CredentialsSource,
        store: TokenStore | None,
        clock: Clock,
        settings: BrokerSettings | None = None,
        metrics: MetricsSink | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._settings = settings or BrokerSettings()
        self._metrics = metrics or NullMetrics()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._fetcher = TokenFetcher(
            endpoint=endpoint,
            credentials=credentials,
            clock=clock,
            metrics=self._metrics,
            settings=self._settings.fetch,
            rng=self._rng,
        )
        self.owner = uuid.uuid4().hex
        self._fleet = FleetView(
            store,
            key=store_key(endpoint.url, credentials.source_id),
            owner=self.owner,
            clock=clock,
            settings=self._settings,
            metrics=self._metrics,
            rng=self._rng,
        )
        self._memory: Token | None = None
        self._refresh_lock = threading.Lock()
        # Fingerprints Opower refused: never adopted again, even when the compare-and-
        # delete could not reach DynamoDB.
        self._refused: deque[str] = deque(maxlen=16)
        # This container's own view, for when DynamoDB is down.

    # -- public API ---------------------------------------------------------------------
    def get_token(self, *, deadline: float | None = None) -> Token:
        """A valid token; ``deadline`` (absolute, this clock) bounds any refresh work."""
        now = self._clock.now()
        token = self._memory
        if token is not None and now < token.refresh_at(self._settings):
            self._metrics.add_metric(m.TOKEN_CACHE_HIT_MEMORY, "Count", 1)
            return token
        usable = token if token is not None and token.usable(now, self._settings) else None
        # One refresher per container: threads holding a usable token do not queue
        # behind it; the others wait for its result, within their deadline.
        if usable is not None:
            if not self._refresh_lock.acquire(blocking=False):
                return usable
        elif not self._refresh_lock.acquire(timeout=_lock_wait(deadline, now)):
            raise TokenUnavailableError("no token yet: a refresh is in progress", retry_after_s=1)
        try:
            token = self._memory
            if token is not None and self._clock.now() < token.refresh_at(self._settings):
                return token
            return self._obtain(deadline)
        finally:
            self._refresh_lock.release()

    def invalidate(self, token: Token) -> None:
        """Opower refused ``token``: forget it here and, if still current, in the fleet."""
        self._metrics.add_metric(m.TOKEN_INVALIDATION, "Count", 1)
        self._refused.append(token.fingerprint)
        if self._memory is not None and self._memory.fingerprint == token.fingerprint:
            self._memory = None
        self._fleet.delete_if_current(token)

    # -- deciding ---------------------------------------------------------------------------
    def _obtain(self, deadline: float | None) -> Token:
        """The moves of a container whose memory has no token before its refresh point."""
        contended = False
        while True:
            now = self._clock.now()
            state = self._fleet.read()
            shared = self._adopt(state) if state is not None else None
            best = _newest(shared, self._memory)
            usable = best if best is not None and best.usable(now, self._settings) else None
            move = self._decide(now, state, shared, usable)
            if move is Move.SERVE:
                assert shared is not None
                self._metrics.add_metric(m.TOKEN_CACHE_HIT_DYNAMODB, "Count", 1)
                self._fleet.forget_failures()
                return self._keep(shared)
            if move is Move.HOLD:
                assert state is not None
                self._metrics.add_metric(m.TOKEN_BACKOFF, "Count", 1)
                if self._still_usable(usable):
                    return self._keep(usable)
                raise _holding(self._fleet.retry_at(state) - now)
            if move is Move.ALONE:
                return self._alone(usable, deadline)
            lease_s = self._lease_for(usable, deadline, now)
            acquired, holder_until = self._fleet.try_lease(now, lease_s)
            if acquired:
                try:
                    return self._refresh(usable, deadline)
                finally:
                    self._fleet.release_lease()
            if not contended:
                contended = True
                self._metrics.add_metric(m.TOKEN_LEASE_CONTENTION, "Count", 1)
            if self._still_usable(usable):
                return self._keep(usable)  # the holder refreshes
            self._wait(holder_until, deadline)

    def _adopt(self, state: SharedState) -> Token | None:
        return self._fleet.adopt(
            state,
            self._memory,
            refused=frozenset(self._refused),
            client_id=self._fetcher.known_client_id(),
        )

    def _decide(
        self, now: float, state: SharedState | None, shared: Token | None, usable: Token | None
    ) -> Move:
        if state is None:
            return Move.ALONE
        if shared is not None and now < shared.refresh_at(self._settings):
            return Move.SERVE
        if self._fleet.retry_at(state) > now:
            return Move.HOLD
        return Move.REFRESH  # or WAIT, when the lease is taken

    def _wait(self, holder_until: float | None, deadline: float | None) -> None:
        """Sleep one step while another container refreshes: bounded by the caller's
        deadline (less the time its call needs) and, when its holder is gone, by the lease."""
        now = self._clock.now()
        give_up_at = math.inf if deadline is None else deadline - self._settings.call_reserve_s
        if now >= give_up_at:
            raise TokenUnavailableError(
                "no Opower token yet: another container is fetching one", retry_after_s=1
            )
        step = self._settings.wait_step_s * (0.5 + self._rng.random())
        if holder_until is not None and holder_until > now:
            step = min(step, holder_until - now + 0.01)
        self._clock.sleep(max(0.0, min(step, give_up_at - now)))

    # -- REFRESH: this container holds the lease ---------------------------------------------
    def _refresh(self, usable: Token | None, deadline: float | None) -> Token:
        # The previous holder may have published between our read and our lease.
        state = self._fleet.read()
        published = self._adopt(state) if state is not None else None
        if published is not None and self._clock.now() < published.refresh_at(self._settings):
            self._metrics.add_metric(m.TOKEN_CACHE_HIT_DYNAMODB, "Count", 1)
            return self._keep(published)
        current = _newest(published, usable)
        latency = self._fleet.latency(state)
        ahead_of = self._ahead_of(usable)
        outcome = self._fetcher.fetch(
            until=self._fetch_until(ahead_of, deadline, latency),
            ahead=ahead_of is not None,
            latency_s=latency,
            renew=self._fleet.renew_lease,
        )
        return self._conclude(outcome, current, usable, state or self._fleet.local)

    def _ahead_of(self, usable: Token | None) -> Token | None:
        """The token a refresh runs ahead of; none when half its remaining life is less
        than a request may take: bounding the refresh by it would send no request at all
        (NoTimeLeft) and leave the caller with an expired token. The refresh then runs
        as without a token, within the caller's deadline."""
        if usable is None:
            return None
        half_life = (usable.expires_at - self._clock.now()) / 2
        return usable if half_life >= self._fetcher.settings.min_request_s else None

    def _conclude(
        self, outcome: object, current: Token | None, usable: Token | None, state: SharedState
    ) -> Token:
        if isinstance(outcome, Issued):
            return self._publish(outcome, current, usable, state)
        if isinstance(outcome, TooSlowForNow):
            # Slow, not failed: the fleet learns the latency (the next request is given
            # longer) and paces its next try, but does not escalate a back-off.
            self._metrics.add_metric(m.TOKEN_FETCH_OUT_OF_TIME, "Count", 1)
            retry_at = self._fleet.pause(state, latency_at_least_s=outcome.latency_at_least_s)
            if self._still_usable(usable):
                return self._keep(usable)
            raise _holding(retry_at - self._clock.now())
        if isinstance(outcome, NoTimeLeft):
            self._metrics.add_metric(m.TOKEN_FETCH_OUT_OF_TIME, "Count", 1)
            if self._still_usable(usable):
                return self._keep(usable)
            raise TokenUnavailableError("no Opower token in the time left", retry_after_s=1)
        assert isinstance(outcome, EndpointFailed)
        self._metrics.add_metric(m.TOKEN_FETCH_FAILURE, "Count", 1)
        retry_at = self._fleet.record_failure(state, latency_s=outcome.latency_s)
        logger.warning(
            "Opower token request failed",
            extra={
                "error_code": getattr(outcome.error, "code", type(outcome.error).__name__),
                "serving_cached": usable is not None,
            },
        )
        if self._still_usable(usable):
            self._metrics.add_metric(m.TOKEN_SERVED_STALE_WINDOW, "Count", 1)
            return self._keep(usable)
        raise _holding(retry_at - self._clock.now()) from outcome.error

    def _publish(
        self, outcome: Issued, current: Token | None, usable: Token | None, state: SharedState
    ) -> Token:
        issued = outcome.token
        print_ = fingerprint(issued.value)
        if print_ in self._refused:
            # The endpoint handed back a token Opower's APIs refused: as good as none.
            self._metrics.add_metric(m.TOKEN_FETCH_FAILURE, "Count", 1)
            retry_at = self._fleet.record_failure(state, latency_s=None)
            if self._still_usable(usable):
                return self._keep(usable)
            raise TokenUnavailableError(
                "the token endpoint re-issued a refused token",
                retry_after_s=max(1.0, retry_at - self._clock.now()),
            )
        token = Token(
            value=issued.value,
            fingerprint=print_,
            expires_at=issued.expires_at,
            lifetime_s=issued.lifetime_s,
            store_key=self._fleet.key,
        )
        hold_until = 0.0
        if current is not None and current.fingerprint == token.fingerprint:
            # Re-issued: the earlier (never a later) expiry, no refresh ahead, and no
            # token request from anyone before it expires: the answer would be the same.
            self._metrics.add_metric(m.TOKEN_REISSUED, "Count", 1)
            token = replace(
                token,
                expires_at=min(token.expires_at, current.expires_at),
                lifetime_s=current.lifetime_s,
                reissued=True,
            )
            hold_until = token.expires_at
        self._memory = token
        self._fleet.share(
            token, client_id=outcome.client_id, latency_s=outcome.latency_s, hold_until=hold_until
        )
        return token

    def _fetch_until(
        self, usable: Token | None, deadline: float | None, latency_s: float | None
    ) -> float | None:
        """When this refresh's requests must be over: within the caller's deadline (less
        the time its call needs), and, with a valid token at hand, within a bound adapted
        to the endpoint's latency and half of that token's remaining life."""
        now = self._clock.now()
        bounds = []
        if deadline is not None:
            bounds.append(deadline - self._settings.call_reserve_s)
        if usable is not None:
            ahead = self._fetcher.ahead_bound(latency_s)
            bounds.append(now + min(ahead, (usable.expires_at - now) / 2))
        return min(bounds) if bounds else None

    def _lease_for(self, usable: Token | None, deadline: float | None, now: float) -> float:
        """The lease covers the first request and a margin; it is renewed before others."""
        until = self._fetch_until(usable, deadline, self._fleet.latency(None))
        request_s = self._fetcher.max_request_s
        if until is not None:
            request_s = min(request_s, max(0.0, until - now))
        return request_s + self._settings.lease_margin_s

    # -- ALONE: the shared tier is failing ------------------------------------------------
    def _alone(self, usable: Token | None, deadline: float | None) -> Token:
        now = self._clock.now()
        if self._still_usable(usable):
            # Waiting for DynamoDB costs nothing while the token is valid; fetching would
            # cost a token request per container.
            return self._keep(usable)
        if self._fleet.local.retry_at > now:
            raise _holding(self._fleet.local.retry_at - now)
        outcome = self._fetcher.fetch(
            until=self._fetch_until(None, deadline, self._fleet.latency(None)),
            ahead=False,
            latency_s=self._fleet.latency(None),
        )
        return self._conclude(outcome, self._memory, None, self._fleet.local)

    def _still_usable(self, token: Token | None) -> TypeGuard[Token]:
        """Whether ``token`` is usable *now*: time passes on DynamoDB calls and requests."""
        return token is not None and token.usable(self._clock.now(), self._settings)

    def _keep(self, token: Token) -> Token:
        self._memory = token
        return token


def _newest(a: Token | None, b: Token | None) -> Token | None:
    if a is None or b is None:
        return a or b
    return a if a.expires_at >= b.expires_at else b


def _lock_wait(deadline: float | None, now: float) -> float:
    """Seconds to wait for another thread's refresh: -1 (no limit) without a deadline."""
    return -1 if deadline is None else max(0.0, deadline - now)


def _holding(retry_after_s: float) -> TokenUnavailableError:
    return TokenUnavailableError(
        "no Opower token for now: the fleet is backing off from the token endpoint",
        retry_after_s=max(1.0, retry_after_s),
    )
