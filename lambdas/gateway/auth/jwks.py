"""The identity provider's signing keys, fetched over HTTPS and cached in the container.

An unknown ``kid`` (the provider rotated its keys) refreshes the set, but at most once
per ``min_refresh_s``: a flood of tokens with made-up kids cannot turn the gateway into
a load generator against the identity provider.
"""

from __future__ import annotations

import json
import logging
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
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> SigningKey:
        with self._lock:
            now = self._clock.now()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age_s
            unknown = kid not in self._keys
            may_refresh = self._fetched_at is None or now - self._fetched_at >= self._min_refresh_s
            if stale or (unknown and may_refresh):
                self._refresh(now, keep_on_failure=not stale)
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
                self._fetched_at = now  # do not retry on every request
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
        self._fetched_at = now

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
