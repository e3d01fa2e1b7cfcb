"""The emulator's SigV4 on service routes (local.sigv4; issue #25, item 5 a-c), against
signers that are not botocore: requests-aws4auth and the awscurl command, as a utility's
developer would run them, and botocore's own.

What AWS does, and where it says so:

* a security token that is not the one issued with the access key (any token with a
  long-term key, another or none with temporary credentials): 403 AccessDeniedException,
  "The security token included in the request is invalid." ("How do I troubleshoot HTTP
  403 errors from API Gateway?", re:Post Knowledge Center; temporary credentials are the
  key, the secret and the session token, sent as X-Amz-Security-Token: "Common
  Parameters" of the AWS API references);
* the canonical query string: each parameter name and value URI-encoded (every byte but
  A-Z a-z 0-9 - _ . ~, a space as %20, upper-case hex), sorted by encoded name, then by
  value ("Create a signed AWS API request", IAM User Guide,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html;
  the cases below are those of AWS's "Signature Version 4 test suite":
  get-vanilla-query-order-key-case, -order-value, -unreserved, get-vanilla-utf8-query);
* two Authorization headers: AWS documents no answer; an Authorization field may appear
  once (RFC 9110, section 5.3), and the customer path refuses it (the authorizer's
  multiple_authorization). The emulator refuses it before the proxy runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth
from urllib3._collections import HTTPHeaderDict

from local.emulator import ApiGatewayEmulator
from local.service_call import signable_url, signed_request
from local.sigv4 import LocalPrincipal, canonical_query

pytestmark = pytest.mark.integration

ACCOUNT = "000000000000"
REGION = "us-east-1"
LONG_TERM = LocalPrincipal(
    "AKIALOCALLONGTERM001",
    "long-term-secret-key-000000000000000000",
    user_arn=f"arn:aws:iam::{ACCOUNT}:user/batch",
    principal_arn=f"arn:aws:iam::{ACCOUNT}:user/batch",
)
TEMPORARY = LocalPrincipal(
    "ASIALOCALTEMPORARY01",
    "temporary-secret-key-000000000000000000",
    user_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/workflow/execution-1",
    principal_arn=f"arn:aws:iam::{ACCOUNT}:role/workflow",
    session_token="FwoGZXIvYXdzEXAMPLE-issued-by-sts",
)
PRINCIPALS = {p.access_key: p for p in (LONG_TERM, TEMPORARY)}
NAMED = {"Opower-Utility-Customer-Id": "UC-0001", "Opower-Account-Number": "4100000001"}


class Proxy:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {}, "body": '{"ok": 1}'}


def _no_authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise AssertionError("service routes have no authorizer")


@pytest.fixture
def proxy() -> Proxy:
    return Proxy()


@pytest.fixture
def gateway(proxy: Proxy) -> Iterator[str]:
    with ApiGatewayEmulator(
        proxy=proxy,
        authorizer=_no_authorizer,
        port=0,
        iam_principals=PRINCIPALS,
        service_principals=(LONG_TERM.principal_arn, TEMPORARY.principal_arn),
        explain_unauthorized=True,  # `make dev`'s: the refusal's reason in its message
    ) as running:
        yield running.base_url


def _botocore(
    method: str,
    url: str,
    principal: LocalPrincipal,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> urllib3.BaseHTTPResponse:
    signed = signed_request(
        method, url, headers=dict(headers or NAMED), body=b"",
        credentials=Credentials(principal.access_key, principal.secret_key, token), region=REGION,
    )  # fmt: skip
    return urllib3.request(method, url, headers=signed, retries=False)


def _error_type(response: Any) -> str:
    return str(response.headers.get("x-amzn-ErrorType", ""))


# -- (a) the security token --------------------------------------------------------------
def test_a_temporary_key_with_the_token_sts_issued_is_admitted(gateway: str, proxy: Proxy) -> None:
    url = gateway + "/v1/service/accounts"

    response = _botocore("GET", url, TEMPORARY, token=TEMPORARY.session_token)

    assert response.status == 200, response.data
    assert proxy.events[-1]["requestContext"]["identity"]["userArn"] == TEMPORARY.user_arn


@pytest.mark.parametrize(
    ("principal", "token"),
    [
        (LONG_TERM, "any-token-at-all"),  # a long-term key is issued none
        (TEMPORARY, "another-sessions-token"),
        (TEMPORARY, None),  # temporary credentials without their token
    ],
    ids=["long-term-key-with-a-token", "temporary-key-another-token", "temporary-key-no-token"],
)
def test_a_security_token_not_issued_with_the_key_is_refused(
    gateway: str, proxy: Proxy, principal: LocalPrincipal, token: str | None
) -> None:
    response = _botocore("GET", gateway + "/v1/service/accounts", principal, token=token)

    assert response.status == 403
    assert _error_type(response) == "AccessDeniedException"
    assert "security token" in response.json()["error"]["message"]
    assert proxy.events == []


def test_requests_aws4auth_with_the_issued_token_is_admitted(gateway: str) -> None:
    auth = AWS4Auth(
        TEMPORARY.access_key, TEMPORARY.secret_key, REGION, "execute-api",
        session_token=TEMPORARY.session_token,
    )  # fmt: skip

    response = requests.get(gateway + "/v1/service/accounts", auth=auth, timeout=10)

    assert response.status_code == 200, response.text


# -- (b) repeated Authorization ----------------------------------------------------------
def test_two_authorization_headers_on_a_service_path_are_refused_before_the_proxy(
    gateway: str, proxy: Proxy
) -> None:
    url = gateway + "/v1/service/accounts"
    signed = signed_request(
        "GET", url, headers=dict(NAMED), body=b"",
        credentials=Credentials(LONG_TERM.access_key, LONG_TERM.secret_key), region=REGION,
    )  # fmt: skip
    headers = HTTPHeaderDict(signed)
    headers.add("authorization", signed["Authorization"])  # the same valid signature again

    response = urllib3.request("GET", url, headers=headers, retries=False)

    assert response.status == 403
    assert _error_type(response) == "IncompleteSignatureException"
    assert proxy.events == []


# -- (c) the canonical query, as AWS computes it ----------------------------------------
@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),  # order-key-case
        ("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"),  # order-value
        (  # unreserved: nothing encoded
            "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        ),
        ("%E1%88%B4=bar", "%E1%88%B4=bar"),  # utf8-query: as sent, encoded once
        ("\u1234=bar", "%E1%88%B4=bar"),  # the same, sent raw
        ("start=2026-01-01T00:00:00Z", "start=2026-01-01T00%3A00%3A00Z"),  # awscurl's
        ("start=2026-01-01T00%3A00%3A00Z", "start=2026-01-01T00%3A00%3A00Z"),
        ("a=b%20c&a=b c", "a=b%20c&a=b%20c"),  # a space is %20, never +
        ("id-type=receipt&id=1", "id=1&id-type=receipt"),  # sorted by encoded name
        ("flag&x=", "flag=&x="),  # a name without value
        ("a=%2F%3d/", "a=%2F%3D%2F"),  # upper-case hex, reserved bytes encoded
    ],
)
def test_the_canonical_query_is_awss(query: str, canonical: str) -> None:
    assert canonical_query(query) == canonical


def test_awscurl_signs_a_query_with_colons_that_verifies(
    gateway: str, proxy: Proxy, tmp_path: Path
) -> None:
    url = gateway + "/v1/service/usage/day/ELECTRICITY?start=2026-01-01T00:00:00Z&end=2026-01-10"

    answer = _awscurl(tmp_path, LONG_TERM, url, headers=NAMED)

    assert answer == {"ok": 1}
    query = proxy.events[-1]["queryStringParameters"]
    assert query == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-10"}


def test_requests_aws4auth_signs_a_query_with_colons_that_verifies(
    gateway: str, proxy: Proxy
) -> None:
    auth = AWS4Auth(LONG_TERM.access_key, LONG_TERM.secret_key, REGION, "execute-api")
    url = gateway + "/v1/service/usage/day/ELECTRICITY"

    response = requests.get(
        url, params={"start": "2026-01-01T00:00:00Z", "end": "2026-01-10 00:00"}, auth=auth,
        timeout=10,
    )  # fmt: skip

    assert response.status_code == 200, response.text
    assert proxy.events[-1]["queryStringParameters"]["end"] == "2026-01-10 00:00"


def test_botocore_signs_the_wire_query_as_written_so_it_must_be_encoded(
    gateway: str, proxy: Proxy
) -> None:
    """botocore's AWSRequest takes a URL's query as already encoded; AWS encodes it
    again: a raw ':' makes a signature AWS refuses. local.service_call sends the query
    encoded (signable_url), and then the signatures agree."""
    raw = gateway + "/v1/service/usage/day/ELECTRICITY?start=2026-01-01T00:00:00Z"

    as_written = _botocore("GET", raw, LONG_TERM)
    encoded = _botocore("GET", signable_url(raw), LONG_TERM)

    assert as_written.status == 403
    assert _error_type(as_written) == "InvalidSignatureException"
    assert encoded.status == 200, encoded.data
    assert proxy.events[-1]["queryStringParameters"] == {"start": "2026-01-01T00:00:00Z"}


def test_a_signer_that_signs_user_agent_verifies(gateway: str) -> None:
    """botocore's signer leaves User-Agent out; AWS checks what SignedHeaders names."""
    auth = AWS4Auth(
        LONG_TERM.access_key, LONG_TERM.secret_key, REGION, "execute-api",
        include_hdrs=["host", "x-amz-date", "x-amz-content-sha256", "user-agent",
                      *(n.lower() for n in NAMED)],
    )  # fmt: skip

    response = requests.get(gateway + "/v1/service/accounts", headers=NAMED, auth=auth, timeout=10)

    assert response.status_code == 200, response.text
    assert "user-agent" in response.request.headers["Authorization"]


def _awscurl(home: Path, principal: LocalPrincipal, url: str, *, headers: dict[str, str]) -> Any:
    """The awscurl command, as a developer runs it, with no AWS variable or profile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(home)
    command = [sys.executable, "-m", "awscurl", "--service", "execute-api", "--region", REGION]
    command += ["--access_key", principal.access_key, "--secret_key", principal.secret_key]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [*command, url], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


def test_the_botocore_signer_request_is_unchanged(gateway: str) -> None:
    """The signer every AWS SDK for Python uses still verifies, body and all."""
    url = gateway + "/v1/service/threshold"
    body = b'{"threshold": 100, "percentage": 80}'
    request = AWSRequest(
        "PUT", url, headers={**NAMED, "Content-Type": "application/json"}, data=body
    )
    SigV4Auth(Credentials(LONG_TERM.access_key, LONG_TERM.secret_key), "execute-api",
              REGION).add_auth(request)  # fmt: skip

    response = urllib3.request("PUT", url, headers=dict(request.headers), body=body)

    assert response.status == 200, response.data
