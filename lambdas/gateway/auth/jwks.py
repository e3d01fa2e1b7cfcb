"""The identity provider's signing keys, fetched over HTTPS and cached in the container.

An unknown ``kid`` (the provider rotated its keys) refreshes the set, but at most once
per ``min_refresh_s``: a flood of tokens with made-up kids cannot turn the gateway into
a load generator against the identity provider.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import jwt
import urllib3

from gateway.auth.errors import AuthenticationError, IdentityUnavailableError
from gateway.clock import Clock
from gateway.http import shared_pool

logger = logging.getLogger(__name__)

_MAX_JWKS_BYTES = 256 * 1024
# How long known keys keep verifying sessions while the identity provider's JWKS cannot
# be fetched (retried at most once per min_refresh_s meanwhile).
_GRACE_S = 24 * 3600
_RETRY_WITHOUT_KEYS_S = 5.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str | None  # the JWK's "alg", when it names one
    key: Any


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        min_refresh_s: float = 300,
        max_age_s: float = 3600,
        timeout_s: float = 3.0,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self._url = url
        self._clock = clock
        self._min_refresh_s = min_refresh_s
        self._max_age_s = max_age_s
        self._timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self._pool = pool
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at: float | None = None  # last successful fetch
        self._next_try_at = -math.inf  # fetches happen at most once per min_refresh_s
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> SigningKey:
        with self._lock:
            now = self._clock.now()
            age = math.inf if self._loaded_at is None else now - self._loaded_at
            wanted = age >= self._max_age_s or kid not in self._keys
            if wanted and now >= self._next_try_at:
                # Without keys, a failed fetch is retried soon; with keys, once per interval.
                self._next_try_at = now + min(_RETRY_WITHOUT_KEYS_S, self._min_refresh_s)
                self._refresh(now, keep_on_failure=age < self._max_age_s + _GRACE_S)
                if self._keys:
                    self._next_try_at = now + self._min_refresh_s
            elif age >= self._max_age_s + _GRACE_S:
                raise IdentityUnavailableError("jwks_expired")
            found = self._keys.get(kid)
        if found is None:
            raise AuthenticationError("unknown_key")
        return found

    def _refresh(self, now: float, *, keep_on_failure: bool) -> None:
        self.fetches += 1
        try:
            document = self._fetch()
        except IdentityUnavailableError:
            if keep_on_failure and self._keys:
                logger.warning("JWKS refresh failed; keeping the cached keys")
                return
            raise
        keys = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
                continue
            if jwk.get("use", "sig") != "sig":
                continue
            try:
                parsed = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key type we do not support; others may still be usable
            alg = jwk.get("alg")
            keys[jwk["kid"]] = SigningKey(
                jwk["kid"], alg if isinstance(alg, str) else None, parsed.key
            )
        self._keys = keys
        self._loaded_at = now

    def _fetch(self) -> Any:
        try:
            response = (self._pool or shared_pool()).request(
                "GET",
                self._url,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                redirect=False,
                preload_content=False,
            )
            try:
                body = response.read(_MAX_JWKS_BYTES + 1)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError:
            raise IdentityUnavailableError("jwks_unreachable") from None
        if response.status != 200 or len(body) > _MAX_JWKS_BYTES:
            raise IdentityUnavailableError("jwks_unavailable")
        try:
            return json.loads(body)
        except ValueError:
            raise IdentityUnavailableError("jwks_malformed") from None
