"""One request to Opower's token endpoint, exactly as Oracle's seed document shows it.

``POST {base}/apis/authorization-v1/oauth2/token`` with HTTP Basic client credentials and
the form body ``grant_type=client_credentials``. The answer is validated before anyone
may use it; a bad answer is an error like a 5xx, and is never cached.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Protocol

import urllib3

from gateway.clock import Clock
from gateway.credentials import GRANT_TYPE, OpowerCredentials
from gateway.errors import (
    InvalidClientError,
    TokenClientMismatchError,
    TokenEndpointError,
    TokenEndpointTimeoutError,
    TokenEndpointUnreachableError,
    TokenResponseError,
)
from gateway.http import shared_pool

TOKEN_PATH = "/apis/authorization-v1/oauth2/token"
_FORM = f"grant_type={GRANT_TYPE}".encode()
# A token body is a few hundred bytes; a huge one is not a token answer.
_MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class IssuedToken:
    """A validated token answer, with its expiry made absolute.

    ``expires_at`` counts from when the request was *sent*: a slow answer shortens the
    usable life instead of lengthening it, and our clock is the only one involved.
    """

    value: str = field(repr=False)
    expires_at: float
    lifetime_s: float
    expires_in_missing: bool = False


class TokenIssuer(Protocol):
    """What the broker needs of a token endpoint (a fake in unit tests)."""

    @property
    def url(self) -> str: ...

    @property
    def max_request_s(self) -> float:
        """The longest one request can take: connect and read timeouts."""
        ...

    def request(
        self, credentials: OpowerCredentials, *, timeout_s: float | None = None
    ) -> IssuedToken: ...


class TokenEndpoint:
    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 5.0,
        missing_expires_in_s: float = 300.0,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + TOKEN_PATH
        self._clock = clock
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._missing_expires_in_s = missing_expires_in_s
        self._pool = pool

    @property
    def url(self) -> str:
        return self._url

    @property
    def max_request_s(self) -> float:
        return self._connect_timeout_s + self._read_timeout_s

    def request(
        self, credentials: OpowerCredentials, *, timeout_s: float | None = None
    ) -> IssuedToken:
        """One token request, within ``timeout_s`` when given (a caller's deadline)."""
        cap = timeout_s if timeout_s is not None else float("inf")
        timeout = urllib3.Timeout(
            connect=min(self._connect_timeout_s, cap), read=min(self._read_timeout_s, cap)
        )
        basic = base64.b64encode(
            f"{credentials.client_id}:{credentials.client_secret}".encode()
        ).decode("ascii")
        sent_at = self._clock.now()
        try:
            response = (self._pool or shared_pool()).request(
                "POST",
                self._url,
                body=_FORM,
                headers={
                    "Authorization": f"Basic {basic}",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
                timeout=timeout,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            # A host that does not resolve (NameResolutionError) or a refused connection:
            # urllib3 derives both from ConnectTimeoutError, but nothing timed out.
            raise TokenEndpointUnreachableError(
                f"token endpoint unreachable ({type(exc).__name__})"
            ) from None
        except urllib3.exceptions.TimeoutError as exc:
            raise TokenEndpointTimeoutError(
                f"token endpoint timed out ({type(exc).__name__})"
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            # The exception text names only the URL and the failure, but we keep even
            # that out: one fixed message, the class name for the operator.
            raise TokenEndpointError(f"token endpoint unreachable ({type(exc).__name__})") from None
        try:
            body = response.read(_MAX_BODY + 1, decode_content=True)
        except urllib3.exceptions.TimeoutError as exc:
            raise TokenEndpointTimeoutError(
                f"token endpoint timed out ({type(exc).__name__})"
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            raise TokenEndpointError(f"token endpoint read failed ({type(exc).__name__})") from None
        finally:
            response.release_conn()
        return self._parse(response.status, body, credentials.client_id, sent_at)

    def _parse(self, status: int, body: bytes, client_id: str, sent_at: float) -> IssuedToken:
        # The raw body is never logged nor put into an error: error bodies of token
        # endpoints are known to echo credentials.
        if status in {400, 401}:
            if _oauth_error(body) == "invalid_client" or status == 401:
                raise InvalidClientError("the token endpoint rejected the client credentials")
            raise TokenResponseError(f"token endpoint refused the request ({status})")
        if status != 200:
            raise TokenEndpointError(f"token endpoint answered {status}")
        if len(body) > _MAX_BODY:
            raise TokenResponseError("token answer too large")
        try:
            document = json.loads(body)
        except ValueError:
            raise TokenResponseError("token answer is not JSON") from None
        if not isinstance(document, dict):
            raise TokenResponseError("token answer is not a JSON object")

        value = document.get("access_token")
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
            raise TokenResponseError("token answer lacks a usable access_token")
        token_type = document.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenResponseError("token answer's token_type is not bearer")
        answered_client = document.get("client_id")
        if answered_client is not None and answered_client != client_id:
            raise TokenClientMismatchError("token answer names another client_id")

        missing = "expires_in" not in document or document["expires_in"] is None
        lifetime = self._missing_expires_in_s if missing else _positive_seconds(document)
        return IssuedToken(
            value=value,
            expires_at=sent_at + lifetime,
            lifetime_s=lifetime,
            expires_in_missing=missing,
        )


def _positive_seconds(document: dict[str, object]) -> float:
    raw = document["expires_in"]
    try:
        seconds = float(raw) if isinstance(raw, (int, float, str)) else math.nan
    except ValueError:
        seconds = math.nan
    if isinstance(raw, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise TokenResponseError("token answer's expires_in is not a positive number")
    return seconds


def _oauth_error(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, str) else None


def _timed_out(exc: Exception) -> str:
    return f"token endpoint timed out ({type(exc).__name__})"
