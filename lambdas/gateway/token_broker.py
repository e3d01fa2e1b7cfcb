"""The token broker: one Opower token per lifetime for the whole fleet.

Two tiers: the warm container's memory, then the shared DynamoDB item (token encrypted
under KMS). Refresh happens ahead of expiry, by one container at a time (a lease), while
every other container keeps serving the still-valid token. See ``docs/token-broker.md``
for the state machine and the reasons behind each rule.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field, replace

from gateway import observability as m
from gateway.clock import Clock
from gateway.credentials import CredentialsSource, OpowerCredentials
from gateway.errors import (
    InvalidClientError,
    TokenClientMismatchError,
    TokenEndpointError,
    TokenEndpointTimeoutError,
    TokenStoreError,
    TokenUnavailableError,
)
from gateway.observability import MetricsSink, NullMetrics, fingerprint
from gateway.token_endpoint import IssuedToken, TokenIssuer
from gateway.token_store import SharedState, StoredToken, TokenStore

logger = logging.getLogger(__name__)

# Below this, a token request could not complete: it is not sent at all.
_MIN_REQUEST_TIME_S = 0.05


@dataclass(frozen=True)
class BrokerSettings:
    refresh_fraction: float = 0.25  # refresh once less than this share of the lifetime is left
    refresh_min_s: float = 60.0  # ... or less than this, whichever is more
    expiry_safety_s: float = 5.0  # never hand out a token with less than this left
    lease_s: float = 10.0  # the longest a refresher may hold the fleet's refresh lease
    wait_max_s: float = 3.0  # how long a container with no valid token waits for the refresher
    wait_step_s: float = 0.2  # mean interval between re-reads while waiting (jittered)
    fetch_attempts: int = 2  # token requests per refresh on 5xx/timeouts/malformed answers
    retry_pause_s: float = 0.2  # mean pause between those attempts (jittered)
    backoff_base_s: float = 1.0  # fleet-wide back-off after a failed refresh: base * 2^(n-1)
    backoff_max_s: float = 30.0
    refresh_ahead_timeout_s: float = 2.0  # longest a refresh ahead of expiry may take, in all
    fetch_reserve_s: float = 1.0  # time kept for the token request after waiting for a lease

    def __post_init__(self) -> None:
        if not 0 < self.refresh_fraction < 1:
            raise ValueError("refresh_fraction must be between 0 and 1")
        if not 0 < self.lease_s <= 10:
            raise ValueError("lease_s must be positive and at most 10 s")
        if self.fetch_attempts < 1:
            raise ValueError("fetch_attempts must be at least 1")


@dataclass(frozen=True)
class Token:
    """A usable Opower access token. ``value`` never appears in a repr."""

    value: str = field(repr=False)
    fingerprint: str
    expires_at: float
    lifetime_s: float
    store_key: str
    # The endpoint handed back the token we already had: asking again before it expires
    # would bring the same token back, so refresh-ahead is off for it (no refresh loop).
    reissued: bool = False

    def usable(self, now: float, settings: BrokerSettings) -> bool:
        safety = min(settings.expiry_safety_s, self.lifetime_s / 10)
        return now < self.expires_at - safety

    def refresh_at(self, settings: BrokerSettings) -> float:
        if self.reissued:
            return self.expires_at - min(settings.expiry_safety_s, self.lifetime_s / 10)
        margin = max(self.lifetime_s * settings.refresh_fraction, settings.refresh_min_s)
        # A token shorter than twice the minimum margin would be "due" from birth.
        return self.expires_at - min(margin, self.lifetime_s / 2)

    @property
    def authorization(self) -> str:
        return f"Bearer {self.value}"


def store_key(token_url: str, client_id: str) -> str:
    """The shared item's key: one per (token endpoint, client_id), not reversible."""
    return hashlib.sha256(f"{token_url}\n{client_id}".encode()).hexdigest()[:32]


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
        self._endpoint = endpoint
        self._credentials = credentials
        self._store = store
        self._clock = clock
        self._settings = settings or BrokerSettings()
        self._metrics = metrics or NullMetrics()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._owner = uuid.uuid4().hex
        self._memory: Token | None = None
        self._refresh_lock = threading.Lock()
        # Fingerprints Opower refused: never adopt them again from the shared item, even
        # when the compare-and-delete could not reach DynamoDB.
        self._refused: deque[str] = deque(maxlen=16)
        # This container's own view of token-endpoint failures, for when DynamoDB is down.
        self._failures = 0
        self._retry_at = 0.0
        # The deadline of the request doing the current refresh (set under the lock).
        self._deadline: float | None = None

    # -- public API ---------------------------------------------------------------
    def get_token(self, *, deadline: float | None = None) -> Token:
        """A valid token; ``deadline`` (absolute, this clock) bounds any refresh work."""
        now = self._clock.now()
        token = self._memory
        if token is not None and now < token.refresh_at(self._settings):
            self._metrics.add_metric(m.TOKEN_CACHE_HIT_MEMORY, "Count", 1)
            return token
        usable = token if token is not None and token.usable(now, self._settings) else None
        # One refresher per process. Threads that hold a usable token do not queue
        # behind it; the others wait for its result, within their deadline.
        if usable is not None:
            if not self._refresh_lock.acquire(blocking=False):
                return usable
        elif not self._refresh_lock.acquire(timeout=_lock_wait(deadline, now)):
            raise TokenUnavailableError("no token yet: a refresh is in progress", retry_after_s=1)
        try:
            token = self._memory
            now = self._clock.now()
            if token is not None and now < token.refresh_at(self._settings):
                return token
            self._deadline = deadline
            return self._refresh(token)
        finally:
            self._deadline = None
            self._refresh_lock.release()

    def invalidate(self, token: Token, *, fresh_replacement: bool = False) -> None:
        """Opower refused ``token``: forget it here and, if still current, in the fleet.

        ``fresh_replacement``: the token was obtained for the very request that saw the
        first one refused, and Opower refused it too. Opower then refuses the client, not
        a token: the fleet backs off as after a failed token request, so a client Opower
        keeps refusing does not cost a token request per customer request.
        """
        self._metrics.add_metric(m.TOKEN_INVALIDATION, "Count", 1)
        self._refused.append(token.fingerprint)
        if self._memory is not None and self._memory.fingerprint == token.fingerprint:
            self._memory = None
        if self._store is not None:
            try:
                self._store.delete_if_current(token.store_key, token.fingerprint)
            except TokenStoreError:
                self._degraded("invalidate")
        if fresh_replacement:  # after the delete, which would take the failure with it
            self._metrics.add_metric(m.TOKEN_REPLACEMENT_REFUSED, "Count", 1)
            self._record_failure(token.store_key, None)

    # -- refresh ------------------------------------------------------------------
    def _refresh(self, current: Token | None) -> Token:
        credentials = self._credentials.get()
        key = store_key(self._endpoint.url, credentials.client_id)
        if current is not None and current.store_key != key:
            current = None  # the client_id changed: that token belongs to the old client
        state = self._read_shared(key)
        shared = self._adopt(key, state, current)
        now = self._clock.now()
        if shared is not None and now < shared.refresh_at(self._settings):
            self._metrics.add_metric(m.TOKEN_CACHE_HIT_DYNAMODB, "Count", 1)
            self._memory = shared
            return shared
        best = shared or current
        usable = best if best is not None and best.usable(now, self._settings) else None

        retry_at = max(self._retry_at, state.retry_at if state is not None else 0.0)
        if retry_at > now:
            # A container saw the token endpoint fail: the fleet backs off together.
            self._metrics.add_metric(m.TOKEN_BACKOFF, "Count", 1)
            if usable is not None:
                return self._keep(usable)
            raise _backing_off(retry_at - now)

        if state is None or self._store is None:
            return self._fetch_and_share(key, credentials, usable, state)

        # Take the fleet's refresh lease; without it, serve the valid token we have, or
        # wait (bounded, jittered) for the holder to publish one. An expired lease of a
        # crashed holder is taken over on the next try.
        deadline = now + self._settings.wait_max_s
        if self._deadline is not None:
            deadline = min(deadline, self._deadline - self._settings.fetch_reserve_s)
        contended = False
        while True:
            if self._try_lease(key, self._clock.now()):
                try:
                    # The previous holder may have published a token between our read and
                    # our lease: look once more before asking the endpoint.
                    fresh = self._read_shared(key)
                    published = self._adopt(key, fresh, current) if fresh is not None else None
                    if published is not None and self._clock.now() < published.refresh_at(
                        self._settings
                    ):
                        self._metrics.add_metric(m.TOKEN_CACHE_HIT_DYNAMODB, "Count", 1)
                        return self._keep(published)
                    return self._fetch_and_share(key, credentials, usable, fresh or state)
                finally:
                    self._release_lease(key)
            if not contended:
                contended = True
                self._metrics.add_metric(m.TOKEN_LEASE_CONTENTION, "Count", 1)
            if usable is not None:
                return self._keep(usable)
            if self._clock.now() >= deadline:
                # The holder is slow or gone: the bound is over, fetch for ourselves.
                return self._fetch_and_share(key, credentials, usable, state)
            self._clock.sleep(self._settings.wait_step_s * (0.5 + self._rng.random()))
            state = self._read_shared(key)
            if state is None:
                return self._fetch_and_share(key, credentials, usable, state)
            if state.retry_at > self._clock.now():
                raise _backing_off(state.retry_at - self._clock.now())  # the holder failed
            published = self._adopt(key, state, current)
            if published is not None and published.usable(self._clock.now(), self._settings):
                self._metrics.add_metric(m.TOKEN_CACHE_HIT_DYNAMODB, "Count", 1)
                return self._keep(published)

    def _keep(self, token: Token) -> Token:
        self._memory = token
        return token

    def _fetch_and_share(
        self,
        key: str,
        credentials: OpowerCredentials,
        usable: Token | None,
        state: SharedState | None,
    ) -> Token:
        try:
            issued = self._fetch(credentials, usable=usable)
        except _OutOfTimeError as exc:
            self._metrics.add_metric(m.TOKEN_FETCH_OUT_OF_TIME, "Count", 1)
            if exc.sent:
                self._back_off_locally()
            if usable is not None:
                return self._keep(usable)
            raise TokenUnavailableError(
                "no Opower token in the time left", retry_after_s=1
            ) from None
        except (TokenEndpointError, InvalidClientError, TokenClientMismatchError) as exc:
            self._metrics.add_metric(m.TOKEN_FETCH_FAILURE, "Count", 1)
            self._record_failure(key, state)
            logger.warning(
                "Opower token request failed",
                extra={"error_code": exc.code, "serving_cached": usable is not None},
            )
            if usable is not None:
                self._metrics.add_metric(m.TOKEN_SERVED_STALE_WINDOW, "Count", 1)
                return self._keep(usable)
            raise TokenUnavailableError(
                "no valid Opower token could be obtained",
                retry_after_s=self._settings.backoff_base_s,
            ) from exc

        self._failures, self._retry_at = 0, 0.0
        if fingerprint(issued.value) in self._refused:
            # The endpoint handed back a token Opower's APIs refused: as good as no token.
            self._metrics.add_metric(m.TOKEN_FETCH_FAILURE, "Count", 1)
            self._record_failure(key, state)
            if usable is not None:
                return self._keep(usable)
            raise TokenUnavailableError(
                "the token endpoint re-issued a refused token",
                retry_after_s=self._settings.backoff_base_s,
            )
        token = Token(
            value=issued.value,
            fingerprint=fingerprint(issued.value),
            expires_at=issued.expires_at,
            lifetime_s=issued.lifetime_s,
            store_key=key,
        )
        if usable is not None and usable.fingerprint == token.fingerprint:
            # Re-issued: keep the earlier (never later) expiry and stop refreshing ahead.
            self._metrics.add_metric(m.TOKEN_REISSUED, "Count", 1)
            token = replace(
                token,
                expires_at=min(token.expires_at, usable.expires_at),
                lifetime_s=usable.lifetime_s,
                reissued=True,
            )
        self._memory = token
        self._share(key, token)
        return token

    def _fetch(self, credentials: OpowerCredentials, *, usable: Token | None) -> IssuedToken:
        reread = False
        attempt = 0
        last_error: TokenEndpointError | None = None
        fetch_until, by_deadline = self._fetch_until(self._clock.now(), usable)
        while True:
            attempt += 1
            started = self._clock.now()
            timeout = None if fetch_until is None else fetch_until - started
            if timeout is not None and timeout < _MIN_REQUEST_TIME_S:
                if last_error is not None and not by_deadline:
                    raise last_error  # our own bound for a refresh ahead: the endpoint failed
                # The caller's deadline: not the endpoint's fault, unless it was already
                # tried (and then only this container backs off, not the fleet).
                raise _OutOfTimeError(sent=last_error is not None)
            try:
                self._metrics.add_metric(m.TOKEN_FETCH, "Count", 1)
                issued = self._endpoint.request(credentials, timeout_s=timeout)
            except InvalidClientError:
                self._metrics.add_metric(m.TOKEN_INVALID_CLIENT, "Count", 1)
                if reread:
                    raise
                # The operator may have rotated the secret: read it again, once, uncached.
                reread = True
                credentials = self._credentials.get(force_fetch=True)
                continue
            except TokenEndpointError as exc:
                if isinstance(exc, TokenEndpointTimeoutError) and by_deadline:
                    raise _OutOfTimeError(sent=True) from None
                last_error = exc
                if attempt >= self._settings.fetch_attempts:
                    raise
                self._clock.sleep(self._settings.retry_pause_s * (0.5 + self._rng.random()))
                continue
            finally:
                elapsed_ms = (self._clock.now() - started) * 1000
                self._metrics.add_metric(m.TOKEN_FETCH_LATENCY, "Milliseconds", elapsed_ms)
            if issued.expires_in_missing:
                self._metrics.add_metric(m.TOKEN_EXPIRY_MISSING, "Count", 1)
            return issued

    def _fetch_until(self, now: float, usable: Token | None) -> tuple[float | None, bool]:
        """When every token request of this refresh must be over: within the caller's
        deadline (leaving time for the call the token is for), and soon when a valid
        token is at hand, so that a refresh ahead never holds the request up for long
        nor outlasts half of that token's remaining life."""
        by_deadline = None
        if self._deadline is not None:
            left = max(0.0, self._deadline - now)
            by_deadline = self._deadline - min(1.0, left / 4)
        ahead = None
        if usable is not None:
            life = usable.expires_at - now
            ahead = now + min(self._settings.refresh_ahead_timeout_s, life / 2)
        if by_deadline is None:
            return ahead, False
        if ahead is None or by_deadline < ahead:
            return by_deadline, True  # the caller's deadline is the tighter limit
        return ahead, False

    # -- the shared tier, each call degrading to memory-only on failure ----------------
    def _read_shared(self, key: str) -> SharedState | None:
        if self._store is None:
            return None
        try:
            return self._store.read(key)
        except TokenStoreError:
            self._degraded("read")
            return None

    def _adopt(self, key: str, state: SharedState | None, current: Token | None) -> Token | None:
        """The shared token as a Token, if it is newer than ours and not refused."""
        stored = state.token if state is not None else None
        if stored is None or self._store is None or stored.fingerprint in self._refused:
            return None
        if current is not None and stored.fingerprint == current.fingerprint:
            return replace(current, reissued=current.reissued or stored.reissued)
        if current is not None and stored.expires_at <= current.expires_at:
            return None
        if not stored.expires_at > self._clock.now():
            return None
        try:
            value = self._store.unseal(key, stored)
        except TokenStoreError:
            self._degraded("decrypt")
            return None
        if fingerprint(value) != stored.fingerprint:
            logger.error("shared token item fails its fingerprint check; ignoring it")
            return None
        return Token(
            value=value,
            fingerprint=stored.fingerprint,
            expires_at=stored.expires_at,
            lifetime_s=stored.lifetime_s,
            store_key=key,
            reissued=stored.reissued,
        )

    def _share(self, key: str, token: Token) -> None:
        if self._store is None:
            return
        try:
            stored = StoredToken(
                ciphertext=self._store.seal(key, token.value),
                fingerprint=token.fingerprint,
                expires_at=token.expires_at,
                lifetime_s=token.lifetime_s,
                reissued=token.reissued,
            )
            self._store.write(key, stored)  # False: a token as new or newer is there; fine
        except TokenStoreError:
            self._degraded("write")

    def _try_lease(self, key: str, now: float) -> bool:
        assert self._store is not None
        try:
            return self._store.acquire_lease(
                key, owner=self._owner, now=now, duration_s=self._settings.lease_s
            )
        except TokenStoreError:
            self._degraded("lease")
            return True  # no store, no fleet: this container fetches for itself

    def _release_lease(self, key: str) -> None:
        assert self._store is not None
        try:
            self._store.release_lease(key, owner=self._owner)
        except TokenStoreError:
            self._degraded("release")  # the lease expires on its own within lease_s

    def _record_failure(self, key: str, state: SharedState | None) -> None:
        failures = max(self._failures, state.failures if state is not None else 0) + 1
        backoff = min(
            self._settings.backoff_max_s, self._settings.backoff_base_s * 2 ** (failures - 1)
        )
        retry_at = self._clock.now() + backoff * (0.5 + self._rng.random() / 2)
        self._failures, self._retry_at = failures, retry_at
        if self._store is None:
            return
        try:
            self._store.record_failure(key, failures=failures, retry_at=retry_at)
        except TokenStoreError:
            self._degraded("record failure")

    def _back_off_locally(self) -> None:
        """This container waits before its next try; the fleet is not told (the caller's
        deadline, not only the endpoint, cut the request short)."""
        self._failures += 1
        backoff = min(
            self._settings.backoff_max_s, self._settings.backoff_base_s * 2 ** (self._failures - 1)
        )
        self._retry_at = self._clock.now() + backoff * (0.5 + self._rng.random() / 2)

    def _degraded(self, operation: str) -> None:
        self._metrics.add_metric(m.TOKEN_STORE_DEGRADED, "Count", 1)
        logger.warning("token store unavailable; working from memory", extra={"op": operation})


class _OutOfTimeError(Exception):
    """The caller's deadline left no time for (more of) a token request; ``sent``: one
    was sent and did not answer in the time there was."""

    def __init__(self, *, sent: bool) -> None:
        super().__init__("the caller's deadline left no time for a token request")
        self.sent = sent


def _lock_wait(deadline: float | None, now: float) -> float:
    """Seconds to wait for another thread's refresh: -1 (no limit) without a deadline."""
    return -1 if deadline is None else max(0.0, deadline - now)


def _backing_off(retry_after_s: float) -> TokenUnavailableError:
    return TokenUnavailableError(
        "the Opower token endpoint is failing; backing off", retry_after_s=retry_after_s
    )
