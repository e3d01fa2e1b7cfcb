"""An identity provider the tests control: it signs tokens of any shape with its own RSA
key, serves that key as a JWKS, an OpenID discovery document and a UserInfo endpoint,
all over HTTP on 127.0.0.1, and counts what it was asked."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from local.service import HttpService


class ShapedIdentityProvider(HttpService):
    def __init__(self, issuer: str = "") -> None:
        super().__init__(("127.0.0.1", 0), name="shaped identity provider")
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"shaped-{uuid.uuid4().hex[:8]}"
        self._issuer = issuer
        self._lock = threading.Lock()
        self.minted: list[str] = []
        self.requests: dict[str, int] = {}
        # UserInfo: the claims answered per access token, or a status to answer instead.
        self.userinfo: dict[str, dict[str, Any]] = {}
        self.userinfo_status = 200
        # Seconds between each byte of a UserInfo answer (a provider trickling it out).
        self.trickle_s = 0.0

    def _make_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(self._address, _Handler)
        server.provider = self  # type: ignore[attr-defined]
        return server

    @property
    def issuer(self) -> str:
        return self._issuer or self.base_url

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/keys"

    @property
    def userinfo_url(self) -> str:
        return f"{self.base_url}/userinfo"

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        header: Mapping[str, Any] | None = None,
        lifetime_s: float = 3600,
    ) -> str:
        """``claims`` with fresh times (iat, exp, and nbf where the shape has one),
        signed RS256 under this provider's key; the shape's header fields kept."""
        now = int(time.time())
        timed = {**claims, "iat": now, "exp": int(now + lifetime_s)}
        if "nbf" in claims:
            timed["nbf"] = now
        if "auth_time" in claims:
            timed["auth_time"] = now
        fields = {k: v for k, v in (header or {}).items() if v is not None and k != "alg"}
        fields["kid"] = self.kid
        token = jwt.encode(timed, self._key, algorithm="RS256", headers=fields)
        with self._lock:
            self.minted.append(token)
        return token

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests.get(path, 0)

    def secret_values(self) -> list[str]:
        with self._lock:
            return list(self.minted)

    def answer(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1
        if path == "/keys":
            public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
            return 200, {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}
        if path == "/.well-known/openid-configuration":
            return 200, {
                "issuer": self.issuer,
                "jwks_uri": self.jwks_url,
                "userinfo_endpoint": self.userinfo_url,
            }
        if path == "/userinfo":
            if self.userinfo_status != 200:
                return self.userinfo_status, {"error": "as the test asked"}
            token = headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.userinfo:
                return 401, {"error": "invalid_token"}
            return 200, self.userinfo[token]
        return 404, {"error": "not_found"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        provider: ShapedIdentityProvider = self.server.provider  # type: ignore[attr-defined]
        status, body = provider.answer(self.path, dict(self.headers.items()))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if provider.trickle_s and self.path == "/userinfo":
            try:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(provider.trickle_s)
            except OSError:
                return  # the gateway gave up, as it should
            return
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
