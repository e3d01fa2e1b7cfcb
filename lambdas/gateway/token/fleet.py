"""What the fleet knows about its token: the shared DynamoDB item and lease, read and
written with every failure of DynamoDB or KMS degrading to this container's own view.

The broker (``broker.py``) decides; this module keeps the record: the shared token
(adopted only if it is not refused, not older than ours, and of our client), the lease
(taken, renewed by its owner before each token request, released), and "no token request
before ``retry_at``" (a failure's back-off, a pause after a slow answer, or a re-issued
token's expiry), with the endpoint's observed latency.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace

from gateway import observability as m
from gateway.clock import Clock
from gateway.errors import TokenStoreError
from gateway.observability import MetricsSink, fingerprint
from gateway.token.store import SharedState, StoredToken, TokenStore
from gateway.token.values import BrokerSettings, Token

logger = logging.getLogger(__name__)


class FleetView:
    def __init__(
        self,
        store: TokenStore | None,
        *,
        key: str,
        owner: str,
        clock: Clock,
        settings: BrokerSettings,
        metrics: MetricsSink,
        rng: random.Random,
    ) -> None:
        self._store = store
        self.key = key
        self.owner = owner
        self._clock = clock
        self._settings = settings
        self._metrics = metrics
        self._rng = rng
        # This container's own view: what it recorded, kept for when DynamoDB is down.
        self._local = SharedState()
        self._latency_s: float | None = None

    @property
    def shared(self) -> bool:
        return self._store is not None

    # -- reading ------------------------------------------------------------------------------
    def read(self) -> SharedState | None:
        """The shared item; None when there is no store or it is failing."""
        if self._store is None:
            return None
        try:
            return self._store.read(self.key)
        except TokenStoreError:
            self._degraded("read")
            return None

    def adopt(
        self,
        state: SharedState,
        current: Token | None,
        *,
        refused: frozenset[str],
        client_id: str | None,
    ) -> Token | None:
        """The shared token as a Token, if it is not refused, of our client (when known),
        and not older than ``current``."""
        stored = state.token
        if stored is None or self._store is None or stored.fingerprint in refused:
            return None
        if stored.client_id and client_id is not None and stored.client_id != client_id:
            return None  # issued to the client the secret named before a rotation
        if current is not None and stored.fingerprint == current.fingerprint:
            # The same token: the item's word on it (re-issued, the earlier expiry) wins.
            return replace(
                current,
                expires_at=min(current.expires_at, stored.expires_at),
                reissued=current.reissued or stored.reissued,
            )
        if current is not None and stored.expires_at <= current.expires_at:
            return None
        if not stored.expires_at > self._clock.now():
            return None
        try:
            value = self._store.unseal(self.key, stored)
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
            store_key=self.key,
            reissued=stored.reissued,
        )

    def retry_at(self, state: SharedState) -> float:
        return max(state.retry_at, self._local.retry_at)

    def latency(self, state: SharedState | None) -> float | None:
        shared = state.latency_s if state is not None else None
        if shared is None:
            return self._latency_s
        return shared if self._latency_s is None else max(shared, self._latency_s)

    @property
    def local(self) -> SharedState:
        return self._local

    # -- recording ----------------------------------------------------------------------------
    def share(self, token: Token, *, client_id: str, latency_s: float, hold_until: float) -> None:
        """Publish a new token; ``hold_until``: no token request before then (re-issued)."""
        self._local = SharedState(retry_at=hold_until)
        self._latency_s = latency_s
        if self._store is None:
            return
        try:
            stored = StoredToken(
                ciphertext=self._store.seal(self.key, token.value),
                fingerprint=token.fingerprint,
                expires_at=token.expires_at,
                lifetime_s=token.lifetime_s,
                reissued=token.reissued,
                client_id=client_id,
            )
            # False: a token as new or newer is there already; fine.
            self._store.write(self.key, stored, latency_s=latency_s, hold_until=hold_until)
        except TokenStoreError:
            self._degraded("write")

    def forget_failures(self) -> None:
        """Someone got a token: the endpoint works."""
        self._local = SharedState()

    def record_failure(self, state: SharedState, *, latency_s: float | None) -> float:
        """The fleet backs off from the endpoint: base * 2^(failures-1), jittered."""
        failures = max(self._local.failures, state.failures) + 1
        backoff = min(
            self._settings.backoff_max_s, self._settings.backoff_base_s * 2.0 ** (failures - 1)
        )
        retry_at = self._clock.now() + backoff * (0.5 + self._rng.random() / 2)
        if latency_s is not None:
            self._latency_s = max(self._latency_s or 0.0, latency_s)
        return self._record(failures, retry_at, latency_s, "record failure")

    def pause(self, state: SharedState, *, latency_at_least_s: float) -> float:
        """No token request for a moment (``backoff_base_s``), the failures unchanged: the
        endpoint was slow, not failed, and the next request is given longer."""
        self._latency_s = max(self._latency_s or 0.0, latency_at_least_s)
        failures = max(self._local.failures, state.failures)
        retry_at = self._clock.now() + self._settings.backoff_base_s
        return self._record(failures, retry_at, self._latency_s, "record latency")

    def _record(
        self, failures: int, retry_at: float, latency_s: float | None, operation: str
    ) -> float:
        self._local = SharedState(failures=failures, retry_at=retry_at)
        if self._store is not None:
            try:
                self._store.record_failure(
                    self.key, failures=failures, retry_at=retry_at, latency_s=latency_s
                )
            except TokenStoreError:
                self._degraded(operation)
        return retry_at

    def delete_if_current(self, token: Token) -> None:
        if self._store is None:
            return
        try:
            self._store.delete_if_current(token.store_key, token.fingerprint)
        except TokenStoreError:
            self._degraded("invalidate")

    # -- the lease ----------------------------------------------------------------------------
    def try_lease(self, now: float, duration_s: float) -> tuple[bool, float | None]:
        """(taken, the holder's expiry when not taken); not taken when the store fails."""
        assert self._store is not None
        try:
            return self._store.acquire_lease(
                self.key, owner=self.owner, now=now, duration_s=duration_s
            )
        except TokenStoreError:
            self._degraded("lease")
            return False, None

    def renew_lease(self, request_s: float) -> bool:
        """Before each further token request: False when another container took it over."""
        if self._store is None:
            return True
        try:
            return self._store.renew_lease(
                self.key,
                owner=self.owner,
                now=self._clock.now(),
                duration_s=request_s + self._settings.lease_margin_s,
            )
        except TokenStoreError:
            self._degraded("renew")
            return True  # the lease cannot be checked: it expires on its own

    def release_lease(self) -> None:
        assert self._store is not None
        try:
            self._store.release_lease(self.key, owner=self.owner)
        except TokenStoreError:
            self._degraded("release")  # the lease expires on its own

    def _degraded(self, operation: str) -> None:
        self._metrics.add_metric(m.TOKEN_STORE_DEGRADED, "Count", 1)
        logger.warning("token store unavailable; working from memory", extra={"op": operation})
