"""Fakes for the edges of the library: clock, metrics, token store, token issuer.

They keep the same contracts as the real edges (the store's conditional writes, the
issuer's absolute expiry) so unit tests exercise the broker's logic, not a mock script.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.credentials import OpowerCredentials, StaticCredentials
from gateway.errors import (
    InvalidClientError,
    TokenEndpointError,
    TokenEndpointTimeoutError,
    TokenStoreError,
)
from gateway.token.broker import BrokerSettings, TokenBroker, store_key
from gateway.token.endpoint import IssuedToken
from gateway.token.store import SharedState, StoredToken


class FakeClock:
    """Manual time. ``sleep`` advances it and runs the hooks registered for "while asleep"."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.on_sleep: list[Callable[[], None]] = []
        self.slept = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.slept += seconds
        for hook in list(self.on_sleep):
            hook()

    def advance(self, seconds: float) -> None:
        self.t += seconds


class RecordingMetrics:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.values: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def add_metric(self, name: str, unit: str, value: float) -> None:
        with self._lock:
            self.counts[name] += 1
            self.values.setdefault(name, []).append(value)


@dataclass
class InMemoryTokenStore:
    """The DynamoDbTokenStore's semantics without DynamoDB. ``down`` makes every call fail."""

    items: dict[str, SharedState] = field(default_factory=dict)
    leases: dict[str, tuple[str, float]] = field(default_factory=dict)
    down: bool = False
    calls: Counter[str] = field(default_factory=Counter)

    def _check(self, op: str) -> None:
        self.calls[op] += 1
        if self.down:
            raise TokenStoreError(f"token store {op} failed (fake outage)")

    def read(self, key: str) -> SharedState:
        self._check("read")
        return self.items.get(key, SharedState())

    def seal(self, key: str, value: str) -> bytes:
        self._check("seal")
        return f"{key}|{value}".encode()[::-1]

    def unseal(self, key: str, stored: StoredToken) -> str:
        self._check("unseal")
        sealed_key, value = stored.ciphertext[::-1].decode().split("|", 1)
        assert sealed_key == key, "ciphertext moved to another item"
        return value

    def write(
        self, key: str, token: StoredToken, *, latency_s: float, hold_until: float = 0.0
    ) -> bool:
        self._check("write")
        current = self.items.get(key, SharedState()).token
        if (
            current is not None
            and current.expires_at >= token.expires_at
            and current.fingerprint != token.fingerprint
        ):
            return False
        self.items[key] = SharedState(token=token, retry_at=hold_until, latency_s=latency_s)
        return True

    def delete_if_current(self, key: str, fingerprint: str) -> bool:
        self._check("delete")
        current = self.items.get(key, SharedState()).token
        if current is None or current.fingerprint != fingerprint:
            return False
        del self.items[key]
        return True

    def record_failure(
        self, key: str, *, failures: int, retry_at: float, latency_s: float | None = None
    ) -> None:
        self._check("record_failure")
        state = self.items.get(key, SharedState())
        latency = latency_s if latency_s is not None else state.latency_s
        self.items[key] = SharedState(
            token=state.token, failures=failures, retry_at=retry_at, latency_s=latency
        )

    def acquire_lease(
        self, key: str, *, owner: str, now: float, duration_s: float
    ) -> tuple[bool, float | None]:
        self._check("lease")
        held = self.leases.get(key)
        if held is not None and held[1] >= now:
            return False, held[1]
        self.leases[key] = (owner, now + duration_s)
        return True, None

    def renew_lease(self, key: str, *, owner: str, now: float, duration_s: float) -> bool:
        self._check("renew")
        held = self.leases.get(key)
        if held is None or held[0] != owner:
            return False
        self.leases[key] = (owner, now + duration_s)
        return True

    def release_lease(self, key: str, *, owner: str) -> None:
        self._check("release")
        if self.leases.get(key, ("", 0.0))[0] == owner:
            del self.leases[key]


class FakeIssuer:
    """A token endpoint scripted by a queue of outcomes; default: a new token each time.

    Script entries: a token value, an exception to raise, ``"hang"`` (no answer: the
    request takes its whole timeout, then times out), or ``"slow:S"`` (answers after S
    seconds, or times out if the request's timeout is shorter). ``latency_s`` delays
    every answer.
    """

    url = "https://opower.test/apis/authorization-v1/oauth2/token"
    max_request_s = 10.0  # as the real endpoint's connect (2 s) + read (8 s) timeouts

    def __init__(self, clock: FakeClock, lifetime_s: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.script: list[str | Exception] = []
        self.requests: list[OpowerCredentials] = []
        self.timeouts: list[float | None] = []
        self.accepted_secret: str | None = None
        self.reissue_same = False
        self.latency_s = 0.0
        self.hanging = False
        self._current: IssuedToken | None = None

    def request(
        self, credentials: OpowerCredentials, *, timeout_s: float | None = None
    ) -> IssuedToken:
        self.requests.append(credentials)
        self.timeouts.append(timeout_s)
        if self.accepted_secret is not None and credentials.client_secret != self.accepted_secret:
            raise InvalidClientError("the token endpoint rejected the client credentials")
        limit = self.max_request_s if timeout_s is None else min(timeout_s, self.max_request_s)
        delay = self.latency_s
        outcome: str | Exception | None = self.script.pop(0) if self.script else None
        if outcome == "hang" or (outcome is None and self.hanging):
            delay = math.inf
        elif isinstance(outcome, str) and outcome.startswith("slow:"):
            delay = float(outcome.removeprefix("slow:"))
        if delay >= limit:
            self.clock.advance(limit)
            raise TokenEndpointTimeoutError("token endpoint timed out (ReadTimeoutError)")
        sent_at = self.clock.now()
        self.clock.advance(delay)
        if isinstance(outcome, Exception):
            raise outcome
        value = outcome if outcome and not outcome.startswith(("hang", "slow:")) else None
        value = value or f"tok-{len(self.requests)}"
        now = sent_at
        if self.reissue_same and self._current and self._current.expires_at > now:
            # As a real endpoint would: the same token, with the lifetime it has left.
            remaining = self._current.expires_at - now
            return IssuedToken(self._current.value, now + remaining, remaining)
        self._current = IssuedToken(
            value=value, expires_at=now + self.lifetime_s, lifetime_s=self.lifetime_s
        )
        return self._current


def transient() -> TokenEndpointError:
    return TokenEndpointError("token endpoint answered 503")


CREDS = OpowerCredentials(client_id="client-1", client_secret="s3cr3t-value")
KEY = store_key(FakeIssuer.url, StaticCredentials(CREDS).source_id)


class Fleet:
    """Several containers (brokers) sharing one store, one issuer and one clock."""

    def __init__(self, *, lifetime_s: float = 3600.0, settings: BrokerSettings | None = None):
        self.clock = FakeClock()
        self.issuer = FakeIssuer(self.clock, lifetime_s)
        self.store = InMemoryTokenStore()
        self.metrics = RecordingMetrics()
        self.settings = settings or BrokerSettings()

    def broker(self, credentials: object = None, store: object = "shared") -> TokenBroker:
        return TokenBroker(
            endpoint=self.issuer,
            credentials=credentials or StaticCredentials(CREDS),  # type: ignore[arg-type]
            store=self.store if store == "shared" else store,  # type: ignore[arg-type]
            clock=self.clock,
            settings=self.settings,
            metrics=self.metrics,
            rng=random.Random(7),
        )


class Later:
    """The system's time, ``ahead_s`` on (behind, when negative): edges built on it
    (``wiring.use_clock``) run at the real pace, shifted."""

    def __init__(self, ahead_s: float) -> None:
        self._ahead_s = ahead_s

    def now(self) -> float:
        return time.time() + self._ahead_s

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
