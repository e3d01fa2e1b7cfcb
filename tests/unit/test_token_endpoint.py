"""Validation of token answers and the exact shape of the token request."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.credentials import OpowerCredentials
from gateway.errors import (
    InvalidClientError,
    TokenClientMismatchError,
    TokenEndpointError,
    TokenResponseError,
)
from gateway.token.endpoint import TokenEndpoint
from tests.fakes import FakeClock

CREDS = OpowerCredentials(client_id="cid-1", client_secret="csecret-1")


@dataclass
class CannedResponse:
    status: int
    body: bytes

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        return self.body if amt is None else self.body[:amt]

    def release_conn(self) -> None:
        return None


@dataclass
class CannedPool:
    response: CannedResponse
    calls: list[dict[str, Any]] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> CannedResponse:
        self.calls.append({"method": method, "url": url, **kwargs})
        return self.response


def endpoint(status: int, document: object) -> tuple[TokenEndpoint, CannedPool, FakeClock]:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    pool = CannedPool(CannedResponse(status, body))
    clock = FakeClock()
    issuer = TokenEndpoint(
        "https://cxapi.opower.test",
        clock=clock,
        pool=pool,  # type: ignore[arg-type]
        missing_expires_in_s=120,
    )
    return issuer, pool, clock


GOOD = {
    "client_id": "cid-1",
    "access_token": "a3b9-token",
    "token_type": "BEARER",
    "expires_in": 3599,
}


def test_the_request_is_exactly_the_one_in_oracles_seed_document() -> None:
    issuer, pool, _ = endpoint(200, GOOD)

    issuer.request(CREDS)

    (call,) = pool.calls
    assert call["method"] == "POST"
    assert call["url"] == "https://cxapi.opower.test/apis/authorization-v1/oauth2/token"
    assert call["body"] == b"grant_type=client_credentials"
    assert call["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert (
        call["headers"]["Authorization"] == "Basic " + base64.b64encode(b"cid-1:csecret-1").decode()
    )
    assert call["redirect"] is False
    assert call["timeout"].connect_timeout == 2.0


def test_expiry_is_absolute_from_when_the_request_was_sent() -> None:
    issuer, _, clock = endpoint(200, GOOD)
    sent = clock.now()

    token = issuer.request(CREDS)

    assert token.value == "a3b9-token"
    assert token.expires_at == sent + 3599
    assert token.lifetime_s == 3599


@pytest.mark.parametrize("token_type", ["BEARER", "Bearer", "bearer"])
def test_token_type_bearer_in_any_case(token_type: str) -> None:
    issuer, _, _ = endpoint(200, {**GOOD, "token_type": token_type})
    assert issuer.request(CREDS).value == "a3b9-token"


@pytest.mark.parametrize(
    "document",
    [
        {**GOOD, "access_token": ""},
        {**GOOD, "access_token": "  "},
        {**GOOD, "access_token": "has space"},
        {**GOOD, "access_token": 42},
        {k: v for k, v in GOOD.items() if k != "access_token"},
        {**GOOD, "token_type": "mac"},
        {k: v for k, v in GOOD.items() if k != "token_type"},
        {**GOOD, "expires_in": 0},
        {**GOOD, "expires_in": -5},
        {**GOOD, "expires_in": "soon"},
        {**GOOD, "expires_in": True},
        {**GOOD, "expires_in": float("inf")},
        ["not", "an", "object"],
        b"<html>gateway timeout</html>",
        b'{"access_token": "trunc',
    ],
    ids=lambda d: str(d)[:40],
)
def test_malformed_answers_are_rejected_like_a_5xx(document: object) -> None:
    issuer, _, _ = endpoint(200, document)
    with pytest.raises(TokenResponseError) as caught:
        issuer.request(CREDS)
    assert isinstance(caught.value, TokenEndpointError)
    assert "a3b9-token" not in str(caught.value)


def test_a_numeric_string_expires_in_is_accepted() -> None:
    issuer, _, clock = endpoint(200, {**GOOD, "expires_in": "600"})
    assert issuer.request(CREDS).expires_at == clock.now() + 600


def test_a_missing_expires_in_means_a_short_configured_lifetime_never_forever() -> None:
    issuer, _, clock = endpoint(200, {k: v for k, v in GOOD.items() if k != "expires_in"})

    token = issuer.request(CREDS)

    assert token.expires_in_missing
    assert token.expires_at == clock.now() + 120


def test_another_client_id_in_the_answer_is_an_error() -> None:
    issuer, _, _ = endpoint(200, {**GOOD, "client_id": "someone-else"})
    with pytest.raises(TokenClientMismatchError):
        issuer.request(CREDS)


def test_an_absent_client_id_is_accepted() -> None:
    issuer, _, _ = endpoint(200, {k: v for k, v in GOOD.items() if k != "client_id"})
    assert issuer.request(CREDS).value == "a3b9-token"


@pytest.mark.parametrize(
    ("status", "document"),
    [(401, {"error": "invalid_client"}), (400, {"error": "invalid_client"}), (401, b"")],
)
def test_rejected_credentials_are_invalid_client(status: int, document: object) -> None:
    issuer, _, _ = endpoint(status, document)
    with pytest.raises(InvalidClientError):
        issuer.request(CREDS)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 302])
def test_other_statuses_are_transient_errors(status: int) -> None:
    issuer, _, _ = endpoint(status, {"error": "server_error", "echo": "csecret-1"})
    with pytest.raises(TokenEndpointError) as caught:
        issuer.request(CREDS)
    assert "csecret-1" not in str(caught.value)


def test_an_oversized_answer_is_refused() -> None:
    issuer, _, _ = endpoint(200, b"{" + b" " * 70_000 + b"}")
    with pytest.raises(TokenResponseError):
        issuer.request(CREDS)
