"""The token endpoint: Opower's client-credentials grant and its error cases."""

from __future__ import annotations

import base64
import time
import uuid

import pytest

from local.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OpowerSandbox
from tests.integration.sandbox.sandbox_client import FORM, TOKEN_PATH, SandboxClient, U, basic

pytestmark = pytest.mark.integration

ACCOUNTS = f"customer-data-v2/{U}/customers/1000001/utility_accounts"


def test_success_has_opower_shape_and_is_not_cached(client: SandboxClient) -> None:
    response = client.token_request()

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"client_id", "access_token", "token_type", "expires_in"}
    assert body["client_id"] == DEFAULT_CLIENT_ID
    assert body["token_type"] == "BEARER"
    assert body["expires_in"] == 3599
    assert uuid.UUID(body["access_token"]).version == 4


def test_each_request_issues_a_new_token_and_all_stay_valid(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    first, second = client.token(), client.token()

    assert first != second
    assert client.get(ACCOUNTS, first).status == 200
    assert client.get(ACCOUNTS, second).status == 200
    assert sandbox.stats()["tokens_valid"] == 2
    assert sandbox.issued_tokens()[-2:] == [first, second]


def test_content_type_parameters_are_accepted(client: SandboxClient) -> None:
    response = client.token_request(content_type="application/x-www-form-urlencoded; charset=utf-8")

    assert response.status == 200


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("", id="missing"),
        pytest.param(basic(secret="not-the-secret"), id="wrong-secret"),
        pytest.param(basic(client_id="someone-else"), id="wrong-client-id"),
        pytest.param("Basic %%%not-base64%%%", id="bad-base64"),
        pytest.param("Basic " + base64.b64encode(b"no-colon").decode(), id="no-colon"),
        pytest.param("Bearer " + DEFAULT_CLIENT_SECRET, id="wrong-scheme"),
    ],
)
def test_bad_client_credentials_are_invalid_client(
    client: SandboxClient, authorization: str
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization:
        headers["Authorization"] = authorization

    response = client.api("POST", TOKEN_PATH, headers=headers, body="grant_type=client_credentials")

    assert response.status == 401
    assert response.json() == {"error": "invalid_client"}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="opower"'


@pytest.mark.parametrize(
    ("content_type", "body", "error"),
    [
        pytest.param(FORM, "grant_type=password", "unsupported_grant_type", id="other-grant"),
        pytest.param("application/json", '{"grant_type": "client_credentials"}',
                     "invalid_request", id="json-content-type"),
        pytest.param(None, "grant_type=client_credentials", "invalid_request",
                     id="no-content-type"),
        pytest.param(FORM, "", "invalid_request", id="empty-body"),
        pytest.param(FORM, "grant_type", "invalid_request", id="malformed-body"),
        pytest.param(FORM, "scope=all", "invalid_request", id="missing-grant-type"),
        pytest.param(FORM, "grant_type=client_credentials&grant_type=client_credentials",
                     "invalid_request", id="repeated-grant-type"),
        pytest.param(FORM, "grant_type=%ff", "invalid_request", id="not-utf8"),
    ],
)  # fmt: skip
def test_bad_token_requests_are_rfc6749_errors(
    client: SandboxClient, content_type: str | None, body: str, error: str
) -> None:
    response = client.token_request(content_type=content_type, body=body)

    assert response.status == 400
    assert response.json() == {"error": error}


def test_credentials_are_checked_before_the_form(client: SandboxClient) -> None:
    response = client.token_request(authorization=basic(secret="wrong"), body="grant_type=password")

    assert response.status == 401


def test_get_is_method_not_allowed(client: SandboxClient) -> None:
    response = client.token_request(method="GET", body="", content_type=None)

    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["httpStatus"] == 405


def test_expired_token_is_rejected(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    sandbox.set_faults(token_lifetime_s=1)
    response = client.token_request()
    token = response.json()["access_token"]
    assert response.json()["expires_in"] == 1
    assert client.get(ACCOUNTS, token).status == 200

    time.sleep(1.05)

    expired = client.get(ACCOUNTS, token)
    assert expired.status == 401
    assert expired.json()["serviceErrorCode"] == "UNAUTHORIZED"
    assert sandbox.stats()["tokens_valid"] == 0


def test_reissue_same_token_returns_current_token_with_remaining_lifetime(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    sandbox.set_faults(reissue_same_token=True, token_lifetime_s=3)
    first = client.token_request().json()
    time.sleep(1.1)

    second = client.token_request().json()

    assert second["access_token"] == first["access_token"]
    assert first["expires_in"] == 3
    assert second["expires_in"] == 1  # whole seconds left, rounded down
    assert sandbox.stats()["tokens_issued"] == 1


def test_reissue_same_token_issues_a_new_one_after_expiry(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    sandbox.set_faults(reissue_same_token=True, token_lifetime_s=1)
    first = client.token()
    time.sleep(1.05)

    second = client.token()

    assert second != first
    assert client.get(ACCOUNTS, second).status == 200


def test_rotated_secret_replaces_the_old_one(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    old_token = client.token()
    new_secret = "7e5f0000-0000-4000-8000-rotated00001"

    switches = sandbox.set_faults(rotate_client_secret=new_secret)

    assert switches["client_secret_rotated"] is True
    assert sandbox.current_client_secret == new_secret
    assert client.token_request().json() == {"error": "invalid_client"}
    assert client.get(ACCOUNTS, client.token(secret=new_secret)).status == 200
    assert client.get(ACCOUNTS, old_token).status == 200  # rotation does not revoke tokens


def test_reset_restores_the_original_secret(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    sandbox.set_faults(rotate_client_secret="temporary")

    sandbox.reset()

    assert sandbox.current_client_secret == DEFAULT_CLIENT_SECRET
    assert client.token_request().status == 200


def test_omit_expires_in(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    sandbox.set_faults(omit_expires_in=True)

    body = client.token_request().json()

    assert "expires_in" not in body
    assert set(body) == {"client_id", "access_token", "token_type"}


def test_wrong_client_id(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    sandbox.set_faults(wrong_client_id=True)

    body = client.token_request().json()

    assert body["client_id"] != DEFAULT_CLIENT_ID
    assert uuid.UUID(body["access_token"])


def test_revoke_tokens_invalidates_issued_tokens_once(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    before = client.token()

    switches = sandbox.set_faults(revoke_tokens=True)

    assert "revoke_tokens" not in switches
    assert client.get(ACCOUNTS, before).status == 401
    assert client.get(ACCOUNTS, client.token()).status == 200


def test_reset_invalidates_tokens_but_keeps_the_leak_check_history(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    token = client.token()

    sandbox.reset()

    assert client.get(ACCOUNTS, token).status == 401
    assert token in sandbox.issued_tokens()
    assert sandbox.stats()["tokens_issued"] == 0
