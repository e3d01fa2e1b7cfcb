"""JWT verification and the JWKS cache: key types, outages."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.auth.errors import AuthenticationError, IdentityUnavailableError
from gateway.auth.jwks import JwksCache, SigningKey
from gateway.auth.jwt_verifier import JwtVerifier
from tests.fakes import FakeClock


class StaticKeys:
    def __init__(self, key: SigningKey) -> None:
        self._key = key

    def key(self, kid: str) -> SigningKey:
        return self._key


def test_a_token_whose_algorithm_does_not_fit_the_keys_type_is_unauthorized() -> None:
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key()
    verifier = JwtVerifier(
        StaticKeys(SigningKey("k", None, ec_public)),  # type: ignore[arg-type]
        issuer="i", audience="a", algorithms=("RS256", "ES256"), leeway_s=0,
    )  # fmt: skip
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"sub": "s"}, signer, algorithm="RS256", headers={"kid": "k"})

    with pytest.raises(AuthenticationError):
        verifier.verify(token)


class FlakyPool:
    """Serves a JWKS once, then fails: an identity provider outage."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.calls = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        body = json.dumps(self.jwks).encode() if self.calls == 1 else b""
        status = 200 if self.calls == 1 else 503

        class Response:
            def read(self, amt: int | None = None) -> bytes:
                return body

            def release_conn(self) -> None:
                return None

        answer = Response()
        answer.status = status  # type: ignore[attr-defined]
        return answer


def test_known_keys_keep_working_through_an_identity_provider_outage() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    pool = FlakyPool({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
    clock = FakeClock()
    cache = JwksCache("https://idp/jwks", clock=clock, min_refresh_s=300, max_age_s=3600,
                      pool=pool)  # type: ignore[arg-type]  # fmt: skip
    cache.key("k1")

    clock.advance(3600 + 10)  # stale: a refresh is due, and fails
    assert cache.key("k1").kid == "k1"
    clock.advance(60)
    assert cache.key("k1").kid == "k1"
    assert pool.calls == 2  # the failed refresh is not retried on every request

    clock.advance(2 * 86_400)  # past the grace period, the keys are no longer trusted
    with pytest.raises(IdentityUnavailableError):
        cache.key("k1")
