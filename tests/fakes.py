"""Fakes for the edges of the library: clock, metrics, token store, token issuer.

They keep the same contracts as the real edges (the store's conditional writes, the
issuer's absolute expiry) so unit tests exercise the broker's logic, not a mock script.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.credentials import OpowerCredentials
from gateway.errors import InvalidClientError, TokenEndpointError, TokenStoreError
from gateway.token_endpoint import IssuedToken
from gateway.token_store import SharedState, StoredToken


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

    def write(self, key: str, token: StoredToken) -> bool:
        self._check("write")
        current = self.items.get(key, SharedState()).token
        if (
            current is not None
            and current.expires_at >= token.expires_at
            and current.fingerprint != token.fingerprint
        ):
            return False
        self.items[key] = SharedState(token=token)
        return True

    def delete_if_current(self, key: str, fingerprint: str) -> bool:
        self._check("delete")
        current = self.items.get(key, SharedState()).token
        if current is None or current.fingerprint != fingerprint:
            return False
        del self.items[key]
        return True

    def record_failure(self, key: str, *, failures: int, retry_at: float) -> None:
        self._check("record_failure")
        state = self.items.get(key, SharedState())
        self.items[key] = SharedState(token=state.token, failures=failures, retry_at=retry_at)

    def acquire_lease(self, key: str, *, owner: str, now: float, duration_s: float) -> bool:
        self._check("lease")
        held = self.leases.get(key)
        if held is not None and held[1] >= now:
            return False
        self.leases[key] = (owner, now + duration_s)
        return True

    def release_lease(self, key: str, *, owner: str) -> None:
        self._check("release")
        if self.leases.get(key, ("", 0.0))[0] == owner:
            del self.leases[key]


class FakeIssuer:
    """A token endpoint scripted by a queue of outcomes; default: a new token each time."""

    url = "https://opower.test/apis/authorization-v1/oauth2/token"

    def __init__(self, clock: FakeClock, lifetime_s: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.script: list[str | Exception] = []
        self.requests: list[OpowerCredentials] = []
        self.timeouts: list[float | None] = []
        self.accepted_secret: str | None = None
        self.reissue_same = False
        self._current: IssuedToken | None = None

    def request(
        self, credentials: OpowerCredentials, *, timeout_s: float | None = None
    ) -> IssuedToken:
        self.requests.append(credentials)
        self.timeouts.append(timeout_s)
        if self.accepted_secret is not None and credentials.client_secret != self.accepted_secret:
            raise InvalidClientError("the token endpoint rejected the client credentials")
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            value = outcome
        else:
            value = f"tok-{len(self.requests)}"
        now = self.clock.now()
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
