"""Client credentials and the opaque access tokens issued for them.

Opower tokens are uuid4 strings with no embedded meaning, so validity lives here: each
token has an absolute expiry on a monotonic clock, several may be valid at once (every
token request issues a new one) unless reissue is requested, and a revocation or reset
invalidates them all. Every token ever issued is remembered for leak checks in tests.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass


class Credentials:
    """The client id and the currently accepted secret, which a rotation replaces."""

    def __init__(self, client_id: str, secret: str) -> None:
        self._lock = threading.Lock()
        self.client_id = client_id
        self._original = secret
        self._secret = secret

    @property
    def secret(self) -> str:
        """The secret accepted now."""
        with self._lock:
            return self._secret

    def rotate(self, secret: str) -> None:
        """Accept only `secret` from now on."""
        with self._lock:
            self._secret = secret

    def reset(self) -> None:
        """Accept the configured secret again."""
        with self._lock:
            self._secret = self._original

    def verify_basic(self, authorization: str | None) -> bool:
        """Whether an `Authorization: Basic base64(id:secret)` header names this client."""
        if authorization is None:
            return False
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            return False
        # Compare both parts, always, in constant time.
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(secret.encode(), self.secret.encode())
        return id_ok and secret_ok


@dataclass(frozen=True)
class IssuedToken:
    """A token answer: the token and its remaining lifetime in whole seconds."""

    value: str
    expires_in: int


class TokenStore:
    """Thread-safe registry of issued tokens and their expiry."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, history: list[str] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._latest: str | None = None
        self._issued_since_reset = 0
        # Every token issued, in order (shared by a sandbox's utilities: one history).
        self._history: list[str] = history if history is not None else []

    def issue(self, lifetime_s: int, *, reuse_current: bool) -> IssuedToken:
        """A new token, or with `reuse_current` the latest one while it has >= 1 s left."""
        now = self._clock()
        with self._lock:
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            if reuse_current and self._latest in self._expiry:
                remaining = math.floor(self._expiry[self._latest] - now)
                if remaining >= 1:
                    return IssuedToken(self._latest, remaining)
            token = str(uuid.uuid4())
            self._expiry[token] = now + lifetime_s
            self._latest = token
            self._issued_since_reset += 1
            self._history.append(token)
            return IssuedToken(token, lifetime_s)

    def is_valid(self, token: str) -> bool:
        """Whether the token was issued, not revoked and has not expired."""
        now = self._clock()
        with self._lock:
            expiry = self._expiry.get(token)
            return expiry is not None and expiry > now

    def revoke_all(self) -> None:
        """Invalidate every token issued so far."""
        with self._lock:
            self._expiry.clear()
            self._latest = None

    def reset(self) -> None:
        """Invalidate every token and restart the issue counter; the history is kept."""
        with self._lock:
            self._expiry.clear()
            self._latest = None
            self._issued_since_reset = 0

    @property
    def issued(self) -> int:
        """Tokens issued since the last reset (reissues of the same token excluded)."""
        with self._lock:
            return self._issued_since_reset

    def valid_count(self) -> int:
        """Tokens currently valid."""
        now = self._clock()
        with self._lock:
            return sum(1 for e in self._expiry.values() if e > now)

    def history(self) -> list[str]:
        """Every token issued since the sandbox was created."""
        with self._lock:
            return list(self._history)
