"""Verification of OIDC session JWTs with PyJWT: signature, algorithm, iss, times, and the
audience and kind of token as the identity provider states them.

The audience: a token passes when its ``aud`` (a string or a list) holds one of the
configured audiences, or, when it has no ``aud`` at all, when its ``client_id`` is one of
them: Amazon Cognito's access tokens name their app client that way ("The access token
doesn't contain an aud claim", Cognito's "Understanding the access token" page). A token
with an ``aud`` is never judged by its ``client_id``.

The kind: ``token_use`` (Cognito: "access" or "id") when configured, the header's ``typ``
(RFC 9068 ``at+jwt``) when configured: an ID token of the same issuer, signed by the same
key, must not pass for an access token where access tokens are required.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import jwt

from gateway.auth.claims import audience_matches
from gateway.auth.errors import AuthenticationError
from gateway.auth.jwks import JwksCache
from gateway.settings import ASYMMETRIC_ALGORITHMS

_REQUIRED = ("exp", "iat", "iss", "sub")

# PyJWT's exception classes, most specific first, to reason codes.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.InvalidIssuedAtError, "bad_iat"),
    (jwt.DecodeError, "malformed_token"),
)


class JwtVerifier:
    def __init__(
        self,
        jwks: JwksCache,
        *,
        issuer: str,
        audience: str | Collection[str],
        algorithms: Collection[str],
        leeway_s: int,
        required_claims: Collection[str] = (),
        token_type: str = "",
        token_use: str = "",
    ) -> None:
        # Defence in depth: the settings already refuse these.
        if not algorithms or set(algorithms) - ASYMMETRIC_ALGORITHMS:
            raise ValueError("only asymmetric algorithms may be allowed")
        if leeway_s > 60:
            raise ValueError("leeway must be at most 60 s")
        self._jwks = jwks
        self._issuer = issuer
        self._audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not self._audiences or not all(self._audiences):
            raise ValueError("at least one audience is needed")
        self._token_use = token_use
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway_s
        self._required = list(dict.fromkeys([*_REQUIRED, *required_claims]))
        self._token_type = token_type.lower().removeprefix("application/")

    def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, RecursionError):
            raise AuthenticationError("malformed_token") from None
        alg = header.get("alg")
        # "none", HS* (signed with the public key as an HMAC secret) and anything else not
        # on the allow-list stop here, before a key is even looked up.
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthenticationError("algorithm_not_allowed")
        if self._token_type:
            # RFC 9068: access tokens say "at+jwt" (or "application/at+jwt"); an ID token
            # of the same issuer, signed by the same key, must not pass for one.
            typ = header.get("typ")
            if not isinstance(typ, str) or typ.lower().removeprefix("application/") != (
                self._token_type
            ):
                raise AuthenticationError("wrong_token_type")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("missing_kid")
        key = self._jwks.key(kid)
        if key.algorithm is not None and key.algorithm != alg:
            raise AuthenticationError("algorithm_mismatch")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                issuer=self._issuer,
                leeway=self._leeway,
                # The audience is checked below, where a Cognito access token's client_id
                # may stand in for the aud it does not have.
                options={"require": self._required, "verify_signature": True, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(_reason(exc)) from None
        except (TypeError, ValueError):
            # The kid names a key of another type than the header's algorithm (an RS256
            # header on an EC key): PyJWT fails outside its own exception family.
            raise AuthenticationError("algorithm_key_mismatch") from None
        except RecursionError:
            raise AuthenticationError("malformed_token") from None
        if not audience_matches(claims, self._audiences):
            raise AuthenticationError("wrong_audience")
        if self._token_use and claims.get("token_use") != self._token_use:
            raise AuthenticationError("wrong_token_use")
        return claims


def _reason(exc: Exception) -> str:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "invalid_token"
