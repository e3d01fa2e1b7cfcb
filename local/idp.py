"""A development OpenID provider: signs session JWTs, serves its JWKS, answers RFC 7662
introspection for opaque session tokens.

It stands in for the utility's identity provider in `make dev` and in the tests. The
gateway talks to it exactly as to a real one: JWKS over HTTP(S), introspection with
HTTP Basic client credentials. Endpoints:

* ``GET /.well-known/openid-configuration``: issuer, ``jwks_uri``, ``introspection_endpoint``
* ``GET /jwks.json``: the public keys (an RSA key for RS256, an EC P-256 key for ES256)
* ``POST /introspect``: form ``token=…``; Basic auth with the introspection client
* ``GET /userinfo``: the claims of a session it signed (``Authorization: Bearer``), for a
  gateway that reads them there (``auth_claims_from`` "userinfo")
* ``GET, POST /authorize`` and ``POST /token``: sign-in for a browser app, the authorization
  code flow with PKCE (local/idp_code_flow.py), for the apps registered with
  :meth:`DevIdentityProvider.register_client` (the portal); their origins get CORS answers
  on discovery, keys, token and userinfo, as a real provider gives a single-page app

It writes each id where the gateway's claim names say: a plain name is a top-level claim,
a JSON Pointer (``/opower/accountNumbers``) a nested one (gateway.settings.claim_path).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.settings import claim_path
from local.idp_code_flow import AuthorizationError, CodeFlow, PublicClient, Reply
from local.service import HttpService, KnownMethodsHandler

DEFAULT_AUDIENCE = "opower-gateway"
DEFAULT_CUSTOMER_CLAIM = "utilityCustomerId"
DEFAULT_ACCOUNTS_CLAIM = "accountNumbers"
DEFAULT_UTILITY_CODE_CLAIM = "utilityCode"
INTROSPECTION_CLIENT_ID = "opower-gateway-introspection"


@dataclass
class _Key:
    kid: str
    alg: str
    private: Any
    public_jwk: dict[str, Any]


def _new_keys() -> dict[str, _Key]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "RS256": _key("RS256", rsa_key, f"rs256-{uuid.uuid4().hex[:8]}"),
        "ES256": _key("ES256", ec_key, f"es256-{uuid.uuid4().hex[:8]}"),
    }


def _key(alg: str, private: Any, kid: str) -> _Key:
    algorithm = RSAAlgorithm if alg.startswith("RS") else ECAlgorithm
    public = json.loads(algorithm.to_jwk(private.public_key()))
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    return _Key(kid, alg, private, public)


def load_or_create_keys(path: Path) -> dict[str, _Key]:
    """Signing keys kept in a file (0600), so `make token` signs what `make dev` publishes."""
    if path.exists():
        stored = json.loads(path.read_text())
        return {
            alg: _key(
                alg, serialization.load_pem_private_key(entry["pem"].encode(), None), entry["kid"]
            )
            for alg, entry in stored.items()
        }
    keys = _new_keys()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        alg: {
            "kid": key.kid,
            "pem": key.private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
        }
        for alg, key in keys.items()
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(document))
    return keys


@dataclass
class _State:
    keys: dict[str, _Key]
    retired: list[dict[str, Any]] = field(default_factory=list)
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    minted: list[str] = field(default_factory=list)
    jwks_requests: int = 0
    introspection_requests: int = 0
    jwks_down: bool = False
    introspection_down: bool = False


class DevIdentityProvider(HttpService):
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        audience: str = DEFAULT_AUDIENCE,
        customer_claim: str = DEFAULT_CUSTOMER_CLAIM,
        accounts_claim: str = DEFAULT_ACCOUNTS_CLAIM,
        utility_code_claim: str = DEFAULT_UTILITY_CODE_CLAIM,
        designated_claim: str = "",
        token_type: str = "",
        token_use: str = "",
        introspection_secret: str | None = None,
        keys_file: Path | None = None,
        issuer: str | None = None,
        algorithm: str = "RS256",
        session_lifetime_s: float = 3600,
    ) -> None:
        """``token_type`` (the header's ``typ``) and ``token_use`` (a claim), when given,
        are written into every session, as the gateway configured to require them
        expects (auth_token_type, auth_token_use). ``algorithm`` and
        ``session_lifetime_s``: how the sessions of a sign-in (the code flow) are signed
        and how long they last."""
        super().__init__((host, port), name="identity provider")
        self._issuer = issuer
        self.audience = audience
        self.customer_claim = customer_claim
        self.accounts_claim = accounts_claim
        self.utility_code_claim = utility_code_claim
        # The gateway's designated_claim, if set: the dev IdP's customers are all on the
        # utility's designated list (true), as a pilot's test users would be.
        self.designated_claim = designated_claim
        self.token_type = token_type
        self.token_use = token_use
        self.introspection_client_id = INTROSPECTION_CLIENT_ID
        self.introspection_secret = introspection_secret or secrets.token_urlsafe(24)
        self._state = _State(keys=load_or_create_keys(keys_file) if keys_file else _new_keys())
        self._lock = threading.Lock()
        self.algorithm = algorithm
        self.session_lifetime_s = session_lifetime_s
        self.code_flow = CodeFlow(designated_claim=designated_claim)

    def register_client(
        self, client_id: str, redirect_uris: Sequence[str], *, name: str = ""
    ) -> None:
        """A browser app that signs its customers in here (public: PKCE, no secret)."""
        self.code_flow.register(PublicClient(client_id, tuple(redirect_uris), name))

    def set_directory(self, customers: Sequence[Mapping[str, Any]]) -> None:
        """Whom the sign-in page offers (each: utilityCode, utilityCustomerId, name,
        accountNumbers); none: it asks for the ids."""
        listed = list(customers)
        self.code_flow.directory = lambda: listed

    # -- lifecycle ---------------------------------------------------------------------
    def _make_server(self) -> ThreadingHTTPServer:
        return _Server(self._address, self)

    @property
    def issuer(self) -> str:
        """The provider's own URL (as OIDC requires), unless given: `make token` signs
        without serving."""
        return self._issuer or self.base_url

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks.json"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    @property
    def userinfo_url(self) -> str:
        return f"{self.base_url}/userinfo"

    # -- tokens --------------------------------------------------------------------------
    def claims_for(
        self,
        utility_customer_id: str,
        account_numbers: Sequence[str] | str,
        *,
        lifetime_s: float = 900,
        now: float | None = None,
        designated: bool = True,
    ) -> dict[str, Any]:
        issued = time.time() if now is None else now
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": f"user-{utility_customer_id}",
            "iat": int(issued),
            "nbf": int(issued),
            "exp": int(issued + lifetime_s),
            "jti": uuid.uuid4().hex,
        }
        if self.token_use:
            claims["token_use"] = self.token_use
        place_claim(claims, self.customer_claim, utility_customer_id)
        place_claim(claims, self.accounts_claim, account_numbers)
        if self.designated_claim:
            place_claim(claims, self.designated_claim, designated)
        return claims

    def mint(
        self,
        utility_customer_id: str,
        account_numbers: Sequence[str] | str,
        *,
        alg: str = "RS256",
        lifetime_s: float = 900,
        overrides: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
        now: float | None = None,
        typ: str | None = None,
        company: str | None = None,
        designated: bool = True,
    ) -> str:
        """A signed session JWT for a customer, with claims changed as a test needs
        (``overrides``: top-level claims as given; ``typ``: the header's type, e.g.
        "at+jwt" for an RFC 9068 access token, else the provider's ``token_type``;
        ``company``: the operating company, where the utility code claim's name says)."""
        claims = self.claims_for(
            utility_customer_id, account_numbers, lifetime_s=lifetime_s, now=now,
            designated=designated,
        )  # fmt: skip
        if company is not None:
            place_claim(claims, self.utility_code_claim, company)
        claims.update(overrides or {})
        for name in omit:
            claims.pop(name, None)
        key = self._state.keys[alg]
        typ = typ or self.token_type
        headers = {"kid": key.kid, **({"typ": typ} if typ else {})}
        token = jwt.encode(claims, key.private, algorithm=alg, headers=headers)
        self._remember(token)
        return token

    def sign_with(self, claims: Mapping[str, Any], key: Any, alg: str, kid: str | None) -> str:
        """Sign arbitrary claims with an arbitrary key (attacks in tests)."""
        headers = {"kid": kid} if kid else None
        token = jwt.encode(dict(claims), key, algorithm=alg, headers=headers)
        self._remember(token)
        return token

    def signing_key(self, alg: str = "RS256") -> tuple[str, Any, dict[str, Any]]:
        key = self._state.keys[alg]
        return key.kid, key.private, dict(key.public_jwk)

    def mint_opaque(
        self,
        utility_customer_id: str,
        account_numbers: Sequence[str] | str,
        *,
        lifetime_s: float = 900,
        active: bool = True,
        company: str | None = None,
    ) -> str:
        """An opaque session token, known to the introspection endpoint (``company``: the
        operating company, as in :meth:`mint`)."""
        token = secrets.token_urlsafe(32)
        claims = self.claims_for(utility_customer_id, account_numbers, lifetime_s=lifetime_s)
        if company is not None:
            place_claim(claims, self.utility_code_claim, company)
        with self._lock:
            self._state.opaque[token] = {**claims, "active": active}
        self._remember(token)
        return token

    def deactivate(self, token: str) -> None:
        with self._lock:
            self._state.opaque[token]["active"] = False

    def rotate_keys(self) -> None:
        """New signing keys; the old public keys stay published (as during a real rotation)."""
        with self._lock:
            self._state.retired.extend(k.public_jwk for k in self._state.keys.values())
            self._state.keys = _new_keys()

    def set_down(self, *, jwks: bool | None = None, introspection: bool | None = None) -> None:
        with self._lock:
            if jwks is not None:
                self._state.jwks_down = jwks
            if introspection is not None:
                self._state.introspection_down = introspection

    @property
    def jwks_requests(self) -> int:
        return self._state.jwks_requests

    @property
    def introspection_requests(self) -> int:
        return self._state.introspection_requests

    def secret_values(self) -> list[str]:
        """For the leak check: every token minted, the codes not yet redeemed, and the
        introspection client secret."""
        with self._lock:
            minted = [*self._state.minted, self.introspection_secret]
        return minted + self.code_flow.secret_values()

    def _remember(self, token: str) -> None:
        with self._lock:
            self._state.minted.append(token)

    # -- HTTP answers ------------------------------------------------------------------
    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, query: str = ""
    ) -> Any:
        if method == "GET" and path == "/.well-known/openid-configuration":
            return 200, {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "jwks_uri": self.jwks_url,
                "introspection_endpoint": self.introspection_url,
                "userinfo_endpoint": self.userinfo_url,
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "scopes_supported": ["openid", "profile"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }
        if method == "GET" and path == "/authorize":
            return self.code_flow.authorize(query, self.issuer)
        if method == "POST" and path == "/authorize":
            return self.code_flow.decide(body, headers.get("origin", ""), self.base_url)
        if method == "POST" and path == "/token":
            return self._token(body)
        if method == "GET" and path == "/jwks.json":
            with self._lock:
                self._state.jwks_requests += 1
                if self._state.jwks_down:
                    return 503, {"error": "temporarily_unavailable"}
                keys = [k.public_jwk for k in self._state.keys.values()] + self._state.retired
            return 200, {"keys": keys}
        if method == "POST" and path == "/introspect":
            return self._introspect(headers, body)
        if method == "GET" and path == "/userinfo":
            return self._userinfo(headers.get("authorization", ""))
        return 404, {"error": "not_found"}

    def _token(self, body: bytes) -> tuple[int, Any]:
        """RFC 6749 4.1.3 / OIDC Core 3.1.3: a code for the customer's session (the access
        token the gateway accepts, as `make token` signs it) and an ID token for the app."""
        try:
            grant = self.code_flow.redeem(body)
        except AuthorizationError as exc:
            return exc.status, {"error": exc.error, "error_description": exc.description}
        customer = next(
            (
                c
                for c in self.code_flow.directory()
                if (c["utilityCode"], c["utilityCustomerId"])
                == (grant.utility_code, grant.utility_customer_id)
            ),
            None,
        )
        accounts = list(customer["accountNumbers"]) if customer else list(grant.account_numbers)
        lifetime = self.session_lifetime_s
        session = self.mint(
            grant.utility_customer_id,
            accounts,
            alg=self.algorithm,
            lifetime_s=lifetime,
            company=grant.utility_code,
            designated=grant.designated,
        )
        now = time.time()
        id_claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"user-{grant.utility_customer_id}",
            "aud": grant.client_id,
            "iat": int(now),
            "auth_time": int(grant.authenticated or now),
            "exp": int(now + lifetime),
            **({"nonce": grant.nonce} if grant.nonce else {}),
        }
        if "profile" in grant.scope.split():  # OIDC Core 5.4: the name is profile's
            id_claims["name"] = (
                str(customer.get("name", "")) if customer else grant.utility_customer_id
            )
        key = self._state.keys[self.algorithm]
        id_token = jwt.encode(id_claims, key.private, algorithm=key.alg, headers={"kid": key.kid})
        self._remember(id_token)
        return 200, {
            "access_token": session,
            "token_type": "Bearer",
            "expires_in": int(lifetime),
            "id_token": id_token,
            "scope": grant.scope,
        }

    def _userinfo(self, authorization: str) -> tuple[int, Any]:
        """OIDC Core 5.3: the claims of a session this provider signed and that is still
        valid (`make token`'s too: they share the keys file), or 401."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 401, {"error": "invalid_token"}
        with self._lock:
            keys = {k.kid: k for k in self._state.keys.values()}
        try:
            key = keys[str(jwt.get_unverified_header(token).get("kid"))]
            claims = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=[key.alg],
                issuer=self.issuer,
                options={"verify_aud": False},
            )
        except (KeyError, jwt.PyJWTError):
            return 401, {"error": "invalid_token"}
        return 200, claims

    def _introspect(self, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        with self._lock:
            self._state.introspection_requests += 1
            if self._state.introspection_down:
                return 503, {"error": "temporarily_unavailable"}
        if not self._client_authenticated(headers.get("authorization", "")):
            return 401, {"error": "invalid_client"}
        token = parse_qs(body.decode("ascii", "replace")).get("token", [""])[0]
        with self._lock:
            claims = self._state.opaque.get(token)
        if claims is None or not claims["active"] or claims["exp"] <= time.time():
            return 200, {"active": False}
        return 200, {**claims, "token_type": "Bearer", "client_id": "dev-web-app"}

    def _client_authenticated(self, authorization: str) -> bool:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(credential).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return client_id == self.introspection_client_id and secrets.compare_digest(
            secret, self.introspection_secret
        )


def place_claim(claims: dict[str, Any], name: str, value: Any) -> None:
    """``value`` where the claim name ``name`` reads it (gateway.settings.claim_path): a
    top-level claim, or, for a JSON Pointer, nested objects made as needed, so that
    ``/opower/customerId`` and ``/opower/accountNumbers`` share one ``opower`` object."""
    *parents, last = claim_path(name)
    holder = claims
    for key in parents:
        inner = holder.get(key)
        if not isinstance(inner, dict):
            inner = holder[key] = {}
        holder = inner
    holder[last] = value


_MAX_BODY = 64 * 1024  # a sign-in form, a token or introspection request: a few hundred bytes
_CORS_PATHS = frozenset({"/.well-known/openid-configuration", "/jwks.json", "/token", "/userinfo"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], idp: DevIdentityProvider) -> None:
        super().__init__(address, _Handler)
        self.idp = idp


class _Handler(KnownMethodsHandler):
    ALLOW = "GET, POST, OPTIONS"
    protocol_version = "HTTP/1.1"
    server_version = "DevIdP/1.0"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        """A CORS preflight from a registered app's origin (userinfo's Authorization)."""
        assert isinstance(self.server, _Server)
        self.send_response(204)
        if self._cors_headers(self.server.idp):
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "authorization, content-type")
            self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _cors_headers(self, idp: DevIdentityProvider) -> bool:
        """CORS for a registered app's origin on what its script reads: discovery, keys,
        token and userinfo; never the sign-in page or introspection."""
        origin = self.headers.get("Origin", "")
        path = self.path.partition("?")[0]
        if path in _CORS_PATHS and origin and origin in idp.code_flow.allowed_origins():
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
            return True
        return False

    def log_message(self, format: str, *args: object) -> None:
        return None  # request lines would show nothing useful; tokens never travel in URLs

    def _serve(self) -> None:
        assert isinstance(self.server, _Server)
        raw_length = (self.headers.get("Content-Length") or "0").strip()
        if not raw_length.isdecimal() or int(raw_length) > _MAX_BODY:
            # a length it cannot read, or a body no form or token request comes near
            self.close_connection = True
            answer: Any = (413 if raw_length.isdecimal() else 400), {"error": "invalid_request"}
        else:
            length = int(raw_length)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            path, _, query = self.path.partition("?")
            answer = self.server.idp._answer(self.command, path, headers, body, query)
        if isinstance(answer, Reply):
            status, payload, content_type = answer.status, answer.body, answer.content_type
            extra = answer.headers
        else:
            status, document = answer
            payload, content_type, extra = json.dumps(document).encode(), "application/json", ()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")  # RFC 6749 5.1, for the token endpoint
        if self.close_connection:
            self.send_header("Connection", "close")  # (a body left unread)
        for name, value in extra:
            self.send_header(name, value)
        self._cors_headers(self.server.idp)
        self.end_headers()
        self.wfile.write(payload)
