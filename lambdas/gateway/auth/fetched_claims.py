"""The customer's ids where the identity provider keeps them beside the token.

Some identity providers cannot put a customer's ids into the access token the app sends:
Amazon Cognito's access tokens carry no custom attributes ("Understanding the access
token": only a pre token generation trigger adds claims), and an OIDC provider may hand
out claims only at its UserInfo endpoint. With ``auth_claims_from`` set, the authorizer
verifies the token first (signature, issuer, audience, times), then asks the identity
provider, with that same token, for the claims it reads:

* ``userinfo``: OpenID Connect Core 5.3, ``GET`` with ``Authorization: Bearer``; the
  answer's ``sub`` must be the token's (5.3.2: otherwise "the UserInfo Response values
  MUST NOT be used");
* ``cognito``: Cognito's ``GetUser`` (an unsigned API call authorized by the access
  token alone, which needs the ``aws.cognito.signin.user.admin`` scope); its
  ``UserAttributes`` are read as claims (``custom:accountNumbers``), ``sub`` checked too.

Only the claims the gateway reads (the top-level keys of the configured claim names) are
kept, in the container and in DynamoDB (item ``claims#<hash>``, keyed by the token's
issuer and subject under the customer key), for ``auth_claims_cache_s``: a new token
of the same customer costs the identity provider nothing, and a change there (an account
added or removed) shows within that time, as it would with a token of that lifetime.

A provider that refuses the token (UserInfo 401/403, Cognito NotAuthorizedException)
makes it a 401, as a token it has revoked is. Anything else (unreachable, throttled,
5xx, an answer not understood) is an :class:`IdentityUnavailableError`: a 503 with
Retry-After, nothing cached, never a Deny.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import urllib3

from gateway import aws_clients, customer_keys
from gateway.auth.errors import AuthenticationError, IdentityUnavailableError
from gateway.clock import Clock
from gateway.http import shared_pool
from gateway.observability import MetricsSink, NullMetrics
from gateway.settings import is_loopback

logger = logging.getLogger(__name__)

_MAX_BODY = 64 * 1024
_MEMORY_ENTRIES = 4096
_TIMEOUT_S = 3.0
# Claims of the token itself, never replaced by what the provider answers.
_REGISTERED = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "token_use", "azp", "scope"}
)
# Cognito's answers to GetUser that mean "not this token" rather than "not now"
# (the API reference's Errors section for GetUser).
_COGNITO_REFUSALS = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
        "ForbiddenException",
    }
)

Fetch = Callable[[str, float], Mapping[str, Any]]


class ClaimsStore(aws_clients.DynamoDbTable):
    """The DynamoDB tier: item ``claims#<key>`` with the kept claims and their expiry."""

    def read(self, key: str, now: float) -> dict[str, Any] | None:
        item = (
            self._ddb()
            .get_item(TableName=self._table, Key={"pk": {"S": f"claims#{key}"}})
            .get("Item")
        )
        if not item or float(item["until"]["N"]) <= now:
            return None
        kept = json.loads(item["claims"]["S"])
        return kept if isinstance(kept, dict) else None

    def write(self, key: str, claims: Mapping[str, Any], until: float) -> None:
        self._ddb().put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"claims#{key}"},
                "claims": {"S": json.dumps(claims, sort_keys=True)},
                "until": {"N": f"{until:.3f}"},
                "ttl": {"N": str(int(until) + 60)},
            },
        )


class FetchedClaims:
    """The verified token's claims with the customer's ids fetched from its provider."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        kept: Collection[str],
        store: ClaimsStore | None,
        clock: Clock,
        ttl_s: float,
        issuer: str = "",
        metrics: MetricsSink | None = None,
    ) -> None:
        self._fetch = fetch
        self._kept = frozenset(kept) - _REGISTERED
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._issuer = issuer
        self._metrics = metrics or NullMetrics()
        self._memory: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, token: str, verified: Mapping[str, Any], deadline: float) -> dict[str, Any]:
        subject = verified.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("missing_claim")
        issuer = verified.get("iss")
        key = customer_keys.digest(
            ["claims", issuer if isinstance(issuer, str) else self._issuer, subject], 32
        )
        now = self._clock.now()
        kept = self._held(key, now)
        if kept is None:
            answer = self._fetch(token, deadline)
            if answer.get("sub") != subject:
                # OIDC Core 5.3.2; Cognito's attributes name their user's sub the same way.
                raise AuthenticationError("claims_subject_mismatch")
            kept = {name: answer[name] for name in self._kept if name in answer}
            self._metrics.add_metric("ClaimsFetched", "Count", 1)
            self._remember(key, now + self._ttl_s, kept)
            self._write_store(key, kept, now + self._ttl_s)
        return {**verified, **kept}

    def _held(self, key: str, now: float) -> dict[str, Any] | None:
        with self._lock:
            cached = self._memory.get(key)
        if cached is not None and cached[0] > now:
            self._metrics.add_metric("ClaimsCacheHitMemory", "Count", 1)
            return cached[1]
        if self._store is None:
            return None
        try:
            stored = self._store.read(key, now)
        except Exception:  # noqa: BLE001 - a cache miss, whatever the cause
            self._metrics.add_metric("ClaimsStoreDegraded", "Count", 1)
            logger.warning("claims store unavailable; asking the identity provider")
            return None
        if stored is not None:
            self._metrics.add_metric("ClaimsCacheHitDynamoDb", "Count", 1)
            # This container keeps it no longer than a fresh fetch would be kept.
            self._remember(key, now + self._ttl_s, stored)
        return stored

    def _remember(self, key: str, until: float, kept: dict[str, Any]) -> None:
        with self._lock:
            self._memory[key] = (until, kept)
            self._memory.move_to_end(key)
            while len(self._memory) > _MEMORY_ENTRIES:
                self._memory.popitem(last=False)

    def _write_store(self, key: str, kept: Mapping[str, Any], until: float) -> None:
        if self._store is None:
            return
        try:
            self._store.write(key, kept, until)
        except Exception:  # noqa: BLE001 - kept in memory meanwhile
            self._metrics.add_metric("ClaimsStoreDegraded", "Count", 1)
            logger.warning("claims store unavailable; claims kept in memory only")


class UserInfo:
    """OpenID Connect UserInfo (Core 5.3), its URL given or found in the issuer's
    discovery document (OpenID Connect Discovery 1.0, 4: ``{issuer}/.well-known/
    openid-configuration``, whose ``issuer`` must be the issuer itself, 4.3)."""

    def __init__(
        self,
        *,
        url: str = "",
        issuer: str = "",
        clock: Clock,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        if not url and not issuer:
            raise ValueError("a UserInfo URL or an issuer to discover it from is needed")
        self._url = url
        self._issuer = issuer
        self._clock = clock
        self._pool = pool
        self._lock = threading.Lock()

    def __call__(self, token: str, deadline: float) -> Mapping[str, Any]:
        url = self._url or self._discover(deadline)
        status, headers, body = self._get(
            url, deadline, {"Authorization": f"Bearer {token}"}, "userinfo"
        )
        if status in {401, 403}:
            raise AuthenticationError("userinfo_refused")
        if status != 200:
            raise IdentityUnavailableError(
                "userinfo_unavailable", retry_after_s=_retry_after(headers.get("Retry-After"))
            )
        if "json" not in headers.get("Content-Type", "application/json").lower():
            # A signed or encrypted UserInfo answer (application/jwt) is not read.
            raise IdentityUnavailableError("userinfo_not_json")
        return _json_object(body, "userinfo_malformed")

    def _discover(self, deadline: float) -> str:
        with self._lock:
            if self._url:
                return self._url
        document_url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        status, _, body = self._get(document_url, deadline, {}, "discovery")
        if status != 200:
            raise IdentityUnavailableError("discovery_unavailable")
        document = _json_object(body, "discovery_malformed")
        endpoint = document.get("userinfo_endpoint")
        if document.get("issuer") != self._issuer or not isinstance(endpoint, str):
            raise IdentityUnavailableError("discovery_mismatch")
        if not _trusted_endpoint(endpoint, self._issuer):
            # Every customer's token goes there: https only, or plain http on a loopback
            # host only when the issuer itself is one (a local identity provider).
            raise IdentityUnavailableError("discovery_mismatch")
        with self._lock:
            self._url = endpoint
        return endpoint

    def _get(
        self, url: str, deadline: float, headers: dict[str, str], what: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        """The answer, read within the request's deadline as a whole: a socket timeout
        bounds each read only, so a provider trickling bytes is cut off between reads."""
        until = min(deadline, self._clock.now() + _TIMEOUT_S)
        left = until - self._clock.now()
        if left <= 0:
            raise IdentityUnavailableError(f"{what}_timeout")
        try:
            response = (self._pool or shared_pool()).request(
                "GET",
                url,
                headers={"Accept": "application/json", **headers},
                timeout=urllib3.Timeout(connect=left, read=left),
                redirect=False,
                retries=False,
                preload_content=False,
            )
            try:
                chunks: list[bytes] = []
                size = 0
                while size <= _MAX_BODY:
                    if self._clock.now() >= until:
                        raise IdentityUnavailableError(f"{what}_timeout")
                    chunk = response.read(8192)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                body = b"".join(chunks)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError:
            raise IdentityUnavailableError(f"{what}_unreachable") from None
        if len(body) > _MAX_BODY:
            raise IdentityUnavailableError(f"{what}_too_large")
        return response.status, response.headers, body


class CognitoGetUser:
    """Cognito's GetUser with the customer's access token; its attributes as claims."""

    def __init__(self, *, endpoint: str, region: str) -> None:
        self._endpoint = endpoint
        self._region = region
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self, token: str, deadline: float) -> Mapping[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        if deadline - time.time() < 0.5:
            raise IdentityUnavailableError("cognito_timeout")
        try:
            answer = self._cognito().get_user(AccessToken=token)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _COGNITO_REFUSALS:
                raise AuthenticationError("cognito_refused") from None
            raise IdentityUnavailableError("cognito_unavailable") from None
        except (BotoCoreError, ValueError):
            raise IdentityUnavailableError("cognito_unreachable") from None
        attributes = answer.get("UserAttributes")
        if not isinstance(attributes, list):
            raise IdentityUnavailableError("cognito_malformed")
        claims: dict[str, Any] = {
            str(a["Name"]): a.get("Value")
            for a in attributes
            if isinstance(a, dict) and isinstance(a.get("Name"), str)
        }
        claims.setdefault("username", answer.get("Username"))
        return claims

    def _cognito(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore import UNSIGNED
                from botocore.config import Config

                # GetUser is authorized by the access token alone ("authtype": "none" in
                # the API model): no AWS credentials are sent, none are needed.
                self._client = boto3.session.Session().client(
                    "cognito-idp",
                    region_name=self._region,
                    endpoint_url=self._endpoint or None,
                    config=Config(
                        signature_version=UNSIGNED,
                        connect_timeout=_TIMEOUT_S,
                        read_timeout=_TIMEOUT_S,
                        retries={"max_attempts": 1, "mode": "standard"},
                    ),
                )
            return self._client


def _trusted_endpoint(endpoint: str, issuer: str) -> bool:
    parts = urlsplit(endpoint)
    if not parts.hostname or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    return (
        parts.scheme == "http"
        and is_loopback(parts.hostname)
        and is_loopback(urlsplit(issuer).hostname or "")
    )


def _json_object(body: bytes, reason: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise IdentityUnavailableError(reason) from None
    if not isinstance(document, dict):
        raise IdentityUnavailableError(reason)
    return document


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(min(int(value.strip()), 3600))
