"""RFC 7662 introspection of opaque session tokens at the utility's identity provider.

Answers are cached in the container, keyed by a hash of the token, for at most the
token's remaining life and a configured bound. Inactive (or otherwise refused) answers
are cached too, briefly (``negative_cache_s``): the same bad token sent again, under
any spelling of "Bearer" (each a separate API Gateway cache key), costs the identity
provider one call, not one per request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

import urllib3

from gateway.auth.claims import audience_matches
from gateway.auth.errors import AuthenticationError, IdentityUnavailableError
from gateway.clock import Clock
from gateway.credentials import CredentialsSource
from gateway.errors import CredentialsUnavailableError
from gateway.http import shared_pool

_MAX_BODY = 64 * 1024
_CACHE_ENTRIES = 4096


class Introspector:
    def __init__(
        self,
        url: str,
        credentials: CredentialsSource,
        *,
        clock: Clock,
        cache_max_s: float = 60,
        negative_cache_s: float = 30,
        issuer: str = "",
        audience: str | Collection[str] = (),
        timeout_s: float = 3.0,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self._url = url
        self._credentials = credentials
        self._clock = clock
        self._cache_max_s = cache_max_s
        self._issuer = issuer
        self._audiences = frozenset([audience] if isinstance(audience, str) else audience) - {""}
        self._timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self._pool = pool
        self._negative_cache_s = negative_cache_s
        # digest -> (until, claims) or (until, the refusal's reason)
        self._cache: OrderedDict[str, tuple[float, dict[str, Any] | str]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            if isinstance(cached[1], str):
                raise AuthenticationError(cached[1])
            return cached[1]
        try:
            claims = self._checked(self._introspect(token), now)
        except AuthenticationError as refused:
            self._remember(digest, now + self._negative_cache_s, refused.reason)
            raise
        self._remember(digest, min(float(claims["exp"]), now + self._cache_max_s), claims)
        return claims

    def _remember(self, digest: str, until: float, answer: dict[str, Any] | str) -> None:
        with self._lock:
            self._cache[digest] = (until, answer)
            self._cache.move_to_end(digest)
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)

    def _checked(self, claims: dict[str, Any], now: float) -> dict[str, Any]:
        if claims.get("active") is not True:
            raise AuthenticationError("token_inactive")
        expires_at = claims.get("exp")
        if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool):
            if expires_at <= now:
                raise AuthenticationError("token_expired")
        else:
            raise AuthenticationError("missing_exp_claim")
        if self._issuer and claims.get("iss") != self._issuer:
            raise AuthenticationError("wrong_issuer")
        # RFC 7662 2.2: aud, or client_id for a token without one, as for JWTs.
        if self._audiences and not audience_matches(claims, self._audiences):
            raise AuthenticationError("wrong_audience")
        return claims

    def _introspect(self, token: str) -> dict[str, Any]:
        try:
            client = self._credentials.get()
        except CredentialsUnavailableError:
            raise IdentityUnavailableError("introspection_credentials_unavailable") from None
        basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
        try:
            response = (self._pool or shared_pool()).request(
                "POST",
                self._url,
                fields={"token": token, "token_type_hint": "access_token"},
                encode_multipart=False,
                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                timeout=self._timeout,
                redirect=False,
                preload_content=False,
            )
            try:
                body = response.read(_MAX_BODY + 1)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError:
            raise IdentityUnavailableError("introspection_unreachable") from None
        if response.status in {401, 403}:
            raise IdentityUnavailableError("introspection_client_rejected")
        if response.status != 200 or len(body) > _MAX_BODY:
            raise IdentityUnavailableError("introspection_unavailable")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise IdentityUnavailableError("introspection_malformed") from None
        if not isinstance(document, dict):
            raise IdentityUnavailableError("introspection_malformed")
        return document
