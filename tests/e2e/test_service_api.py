"""The service API end to end on `make dev`'s own program: SigV4-signed requests over
HTTP to the API Gateway emulator, which checks the signature and the resource policy as
API Gateway does, then the real proxy, the sandbox and moto.

What AWS answers, and where it says so:

* unsigned: 403 MissingAuthenticationTokenException, gateway response type
  MISSING_AUTHENTICATION_TOKEN ("Gateway response types for API Gateway"; "How do I
  troubleshoot HTTP 403 errors from API Gateway?", re:Post Knowledge Center). The stack
  customizes that type to its 404 envelope (it is also the answer for no such path).
* a signature that does not match: 403 InvalidSignatureException, INVALID_SIGNATURE
  (same pages); more than five minutes off the clock: "Signature expired", also
  InvalidSignatureException ("AWS Signature Version 4 for API requests": "a request must
  reach AWS within five minutes of the time stamp in the request").
* a principal the resource policy denies explicitly, or an unknown access key: 403
  AccessDeniedException (Knowledge Center, above); the ACCESS_DENIED type is the closest
  documented one ("...authorization failure").
* same account: an identity policy's Allow is enough unless the resource policy denies
  explicitly ("How API Gateway resource policies affect authorization workflow", table A),
  hence the stack's explicit Deny (infra/service.py).
* a signature covers only the headers its SignedHeaders names ("Create a signed AWS API
  request", IAM User Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/
  reference_sigv-create-signed-request.html): API Gateway admits a request whose
  Opower-* headers are unsigned, and the gateway refuses it (issue #25, item 1).
* a security token that is not the one issued with the access key: 403
  AccessDeniedException, "The security token included in the request is invalid."
  (Knowledge Center, above).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import requests
import urllib3
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth
from urllib3._collections import HTTPHeaderDict

from gateway import opower_answers
from local.service_call import signed_request
from local.stack import LOCAL_PRINCIPALS, SERVICE_ROLE_ARN
from tests.e2e.conftest import ROOT, RunningStack

REGION = "us-east-1"
LISTED = LOCAL_PRINCIPALS["testing"]  # the embedded AWS's credentials: a listed role
TAGGED = next(p for p in LOCAL_PRINCIPALS.values() if p.tags)  # admitted by grant_invoke's tag
STRANGER = next(p for p in LOCAL_PRINCIPALS.values() if p.user_arn.endswith("/stranger"))
COPYCAT = next(p for p in LOCAL_PRINCIPALS.values() if "/copycat/" in p.user_arn)
# `make dev` serves a group of two companies: the company is named too.
UC1 = {
    "Opower-Utility-Customer-Id": "UC-0001",
    "Opower-Account-Number": "4100000001",
    "Opower-Utility-Code": "UTX",
}


def _signed(
    e2e: RunningStack,
    method: str,
    path: str,
    *,
    principal: Any = LISTED,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    secret: str | None = None,
    at: datetime | None = None,
) -> urllib3.BaseHTTPResponse:
    url = e2e.gateway + path
    credentials = Credentials(
        principal.access_key, secret or principal.secret_key, principal.session_token
    )
    if at is None:
        signed = signed_request(
            method, url, headers=dict(headers or {}), body=body, credentials=credentials,
            region=REGION,
        )  # fmt: skip
    else:
        # botocore's signer stamps the request with get_current_datetime()
        with mock.patch("botocore.auth.get_current_datetime", return_value=at):
            signed = signed_request(
                method, url, headers=dict(headers or {}), body=body, credentials=credentials,
                region=REGION,
            )  # fmt: skip
    return e2e.http.request(method, url, headers=signed, body=body or None, retries=False)


def _error(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    return dict(response.json()["error"])


def test_a_listed_principal_gets_the_named_customers_data(e2e: RunningStack) -> None:
    by_service = _signed(e2e, "GET", "/v1/service/accounts", headers=UC1)
    by_session = e2e.call("GET", "/v1/me/accounts", customer="UC-0001")

    assert by_service.status == 200, by_service.data
    assert by_service.json() == by_session.json()


# The customer in the query, as every SigV4 signer signs it (#35, item 4).
UC1_QUERY = "utilityCustomerId=UC-0001&accountNumber=4100000001&utilityCode=UTX"


def test_a_signature_of_host_and_x_amz_date_alone_reaches_the_named_customer(
    e2e: RunningStack,
) -> None:
    # SigV4 "must" sign host (and x-amz-date when sent): the least a signer signs. The
    # canonical request holds the query whatever is signed ("Create a signed AWS API
    # request", IAM User Guide), so the customer it names is under the signature.
    url = f"{e2e.gateway}/v1/service/accounts?{UC1_QUERY}"
    signed = signed_request("GET", url, headers={}, body=b"",
                            credentials=Credentials(LISTED.access_key, LISTED.secret_key),
                            region=REGION)  # fmt: skip
    assert "SignedHeaders=host;x-amz-date," in signed["Authorization"]

    answer = e2e.http.request("GET", url, headers=signed, retries=False)

    assert answer.status == 200, answer.data
    assert answer.json() == e2e.call("GET", "/v1/me/accounts", customer="UC-0001").json()


def test_the_step_functions_examples_request_is_accepted(e2e: RunningStack) -> None:
    """The request HighBillAlerts' state machine sends (infra/examples/high_bill_alerts.py;
    test_service.py checks its QueryParameters): GET of the bill forecast, the customer in
    the query, no User-Agent (Step Functions documents none), signed as its role. AWS does
    not document which headers apigateway:invoke signs: host and x-amz-date at least."""
    from infra.examples.high_bill_alerts import FORECAST

    url = f"{e2e.gateway.removesuffix('/')}{FORECAST}?{UC1_QUERY}"
    signed = signed_request("GET", url, headers={}, body=b"",
                            credentials=Credentials(TAGGED.access_key, TAGGED.secret_key,
                                                    TAGGED.session_token),
                            region=REGION)  # fmt: skip
    sent = HTTPHeaderDict(signed)
    sent["User-Agent"] = urllib3.util.SKIP_HEADER  # none at all (urllib3 would add its own)

    answer = e2e.http.request("GET", url, headers=sent, retries=False)

    assert answer.status == 200, answer.data
    assert "response" in answer.json()  # the forecast, as Opower answered it


def test_awscurl_and_requests_aws4auth_call_with_their_defaults(
    e2e: RunningStack, tmp_path: Path
) -> None:
    """Neither signs a header of the caller's (okigan/awscurl#149; requests-aws4auth signs
    host, x-amz-content-sha256 and x-amz-date): the customer in the query is signed."""
    url = f"{e2e.gateway}/v1/service/accounts?{UC1_QUERY}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)  # no ~/.aws profile
    command = [sys.executable, "-m", "awscurl", "--service", "execute-api", "--region", REGION,
               "--access_key", LISTED.access_key, "--secret_key", LISTED.secret_key]  # fmt: skip

    by_awscurl = subprocess.run(  # noqa: S603 - a fixed command line
        [*command, url], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    by_aws4auth = requests.get(
        url, auth=AWS4Auth(LISTED.access_key, LISTED.secret_key, REGION, "execute-api"),
        timeout=30,
    )  # fmt: skip

    assert by_aws4auth.status_code == 200, by_aws4auth.text
    assert json.loads(by_awscurl.stdout) == by_aws4auth.json()


def test_a_principal_tagged_by_grant_invoke_is_admitted(e2e: RunningStack) -> None:
    response = _signed(e2e, "GET", "/v1/service/bill-forecast", principal=TAGGED, headers=UC1)

    assert response.status == 200, response.data


def test_a_tagged_principal_reaches_only_the_routes_its_grant_names(e2e: RunningStack) -> None:
    """grant_invoke(routes=...) writes the identity policy, and for a tagged principal
    the resource policy allows nothing more: a write it was not granted is refused."""
    body = json.dumps({"threshold": 100, "percentage": 80}).encode()

    write = _signed(
        e2e,
        "PUT",
        "/v1/service/threshold",
        principal=TAGGED,
        headers={**UC1, "Content-Type": "application/json"},
        body=body,
    )

    assert write.status == 403
    assert write.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert e2e.sandbox_control("GET", "stats")["requests"] == {}


def test_another_accounts_principal_with_the_tag_is_refused(e2e: RunningStack) -> None:
    response = _signed(e2e, "GET", "/v1/service/accounts", principal=COPYCAT, headers=UC1)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_a_principal_not_listed_is_refused_before_any_lambda_runs(e2e: RunningStack) -> None:
    before = e2e.local_stats()["invocations"]["proxy"]

    response = _signed(e2e, "GET", "/v1/service/accounts", principal=STRANGER, headers=UC1)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert _error(response)["code"] == "forbidden"
    assert e2e.local_stats()["invocations"]["proxy"] == before
    assert e2e.sandbox_control("GET", "stats")["requests"] == {}


def test_an_unsigned_request_is_refused_as_api_gateway_refuses_it(e2e: RunningStack) -> None:
    response = e2e.call("GET", "/v1/service/accounts", headers=UC1)

    assert response.status == 404  # MISSING_AUTHENTICATION_TOKEN, customized by the stack
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert "SigV4" in _error(response)["message"]


def test_a_session_token_is_no_signature_and_is_never_echoed(e2e: RunningStack) -> None:
    token = e2e.token("UC-0001")

    response = e2e.call("GET", "/v1/service/accounts", token=token, headers=UC1)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"
    assert _error(response)["code"] == "bad_request"  # DEFAULT_4XX, in the envelope
    assert token not in response.data.decode()
    # and docs/service-api.md's table of refusals says so
    page = (ROOT / "docs" / "service-api.md").read_text()
    row = next(line for line in page.splitlines() if line.startswith("| `Authorization: Bearer"))
    assert "403 `bad_request` (`x-amzn-ErrorType: IncompleteSignatureException`)" in row


def test_a_wrong_signature_is_refused(e2e: RunningStack) -> None:
    response = _signed(e2e, "GET", "/v1/service/accounts", headers=UC1, secret="not-the-secret-key")

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert _error(response)["code"] == "invalid_signature"


def test_a_signature_more_than_five_minutes_old_is_refused(e2e: RunningStack) -> None:
    at = datetime.now(UTC) - timedelta(minutes=6)

    response = _signed(e2e, "GET", "/v1/service/accounts", headers=UC1, at=at)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_a_signed_request_altered_on_the_way_is_refused(e2e: RunningStack) -> None:
    url = e2e.gateway + "/v1/service/accounts"
    signed = signed_request(
        "GET", url, headers=dict(UC1), body=b"",
        credentials=Credentials(LISTED.access_key, LISTED.secret_key), region=REGION,
    )  # fmt: skip
    signed["Opower-Utility-Customer-Id"] = "UC-0002"  # another customer, after signing

    response = e2e.http.request("GET", url, headers=signed, retries=False)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_another_method_on_a_service_path_is_denied_by_the_resource_policy(
    e2e: RunningStack,
) -> None:
    response = _signed(e2e, "POST", "/v1/service/accounts", headers=UC1)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_cross_customer_probes_reach_no_other_customers_ids(e2e: RunningStack) -> None:
    # UC-0002's utility account asked for while naming UC-0001; UC-0002's account
    # number with UC-0001's id; then a write naming UC-0002 must touch only UC-0002.
    probe = _signed(e2e, "GET", "/v1/service/accounts/2000003/bill-comparison", headers=UC1)
    mixed = _signed(
        e2e,
        "GET",
        "/v1/service/accounts",
        headers={**UC1, "Opower-Account-Number": "4100000003"},
    )

    assert probe.status == 404
    assert mixed.status == 404
    assert _error(mixed)["code"] == "customer_not_found"
    requests = e2e.sandbox_control("GET", "stats")["requests"]
    assert not any("2000003" in path or "1000002" in path for path in requests)


def test_a_group_needs_the_company_named_and_serves_each(e2e: RunningStack) -> None:
    customers = e2e.summary["customers"]
    second = next(c for c in customers if c["utilityCode"] != "UTX")
    named = {  # no Opower-Utility-Code
        "Opower-Utility-Customer-Id": second["utilityCustomerId"],
        "Opower-Account-Number": second["accountNumbers"][0],
    }

    unnamed = _signed(e2e, "GET", "/v1/service/accounts", headers=named)
    served = _signed(
        e2e,
        "GET",
        "/v1/service/accounts",
        headers={**named, "Opower-Utility-Code": second["utilityCode"]},
    )

    assert unnamed.status == 400
    assert "Opower-Utility-Code" in _error(unnamed)["message"]
    assert served.status == 200, served.data


def test_the_audit_line_names_the_principal_route_customer_hash_and_outcome(
    e2e: RunningStack,
) -> None:
    _signed(e2e, "GET", "/v1/service/neighbor-comparison", headers=UC1)

    audits = [
        line for line in e2e.output if "service call" in line and "neighbor_comparison" in line
    ]
    assert audits, "".join(e2e.output[-20:])
    line = audits[-1]
    assert f"principal_arn={LISTED.user_arn}" in line
    assert f"principal={SERVICE_ROLE_ARN}" in line
    assert "outcome=ok" in line
    assert "status=200" in line
    assert "UC-0001" not in line
    assert "4100000001" not in line


def test_make_service_call_signs_and_prints_the_answer(e2e: RunningStack) -> None:
    env = e2e.token_command_env()

    result = subprocess.run(
        [sys.executable, "-m", "local.service_call", "UC-0001", "--route", "/accounts"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    status, _, body = result.stdout.partition("\n")
    assert status == "HTTP 200"
    assert {a["id"] for a in opower_answers.items(json.loads(body))} == {2000001, 2000002}


def test_the_snippet_of_the_service_api_page_makes_a_signed_call(e2e: RunningStack) -> None:
    """docs/service-api.md's Python, run as the page says to run it against make dev:
    GATEWAY_URL set, the embedded AWS's credentials in the environment, nothing else."""
    page = (ROOT / "docs" / "service-api.md").read_text()
    snippet = page.split("a signed call is botocore's signer:\n\n```python\n", 1)[1]
    snippet = snippet.split("```", 1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    program = (
        f"GATEWAY_URL = {e2e.gateway!r}\n{snippet}"
        "print(answer.status)\nprint(answer.data.decode())\n"
    )

    result = subprocess.run(  # noqa: S603 - the page's snippet, our interpreter
        [sys.executable, "-c", program],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    status, _, body = result.stdout.partition("\n")
    assert status == "200"
    assert "response" in json.loads(body)  # Get Bill Forecast, wrapped as documented


def test_customer_headers_left_out_of_the_signature_are_refused_and_never_reach_opower(
    e2e: RunningStack,
) -> None:
    """requests-aws4auth signs host, x-amz-content-sha256 and x-amz-date by default: API
    Gateway admits the signature, so whoever replays the request within five minutes
    could name another customer. The gateway refuses it (403), before Opower."""
    url = e2e.gateway + "/v1/service/accounts"
    by_default = AWS4Auth(LISTED.access_key, LISTED.secret_key, REGION, "execute-api")
    listed = AWS4Auth(
        LISTED.access_key, LISTED.secret_key, REGION, "execute-api",
        include_hdrs=["host", "x-amz-date", "x-amz-content-sha256", *(n.lower() for n in UC1)],
    )  # fmt: skip

    refused = requests.get(url, headers=UC1, auth=by_default, timeout=30)
    stats = e2e.sandbox_control("GET", "stats")["requests"]
    served = requests.get(url, headers=UC1, auth=listed, timeout=30)
    by_botocore = _signed(e2e, "GET", "/v1/service/accounts", headers=UC1)

    assert refused.status_code == 403
    assert "x-amzn-ErrorType" not in refused.headers  # API Gateway admitted the signature
    error = refused.json()["error"]
    assert error["code"] == "unsigned_customer_header"
    assert "Opower-Utility-Customer-Id" in error["message"]
    assert "host;x-amz-content-sha256;x-amz-date" in error["message"]
    assert stats == {}  # Opower was never asked
    assert "opower-utility-customer-id" in served.request.headers["Authorization"]
    assert served.status_code == 200, served.text
    assert by_botocore.status == 200, by_botocore.data


def test_awscurl_signs_a_query_with_colons_that_the_emulator_verifies(
    e2e: RunningStack, tmp_path: Path
) -> None:
    """awscurl encodes ':' as %3A in the canonical query, as AWS does, while sending it
    raw: the signature verifies. awscurl signs no header of the caller's own
    (okigan/awscurl#149), so the gateway then refuses the unsigned customer headers."""
    url = (e2e.gateway + "/v1/service/usage/day/ELECTRICITY"
           "?start=2026-01-01T00:00:00Z&end=2026-01-10T00:00:00Z")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)  # no ~/.aws profile
    command = [sys.executable, "-m", "awscurl", "--service", "execute-api", "--region", REGION,
               "--access_key", LISTED.access_key, "--secret_key", LISTED.secret_key]  # fmt: skip
    for name, value in UC1.items():
        command += ["-H", f"{name}: {value}"]

    result = subprocess.run(  # noqa: S603 - a fixed command line
        [*command, url], env=env, capture_output=True, text=True, timeout=60, check=True
    )

    error = json.loads(result.stdout)["error"]
    assert error["code"] == "unsigned_customer_header", error  # not invalid_signature
    assert e2e.sandbox_control("GET", "stats")["requests"] == {}


def test_a_security_token_not_issued_with_the_key_is_refused(e2e: RunningStack) -> None:
    before = e2e.local_stats()["invocations"]["proxy"]
    url = e2e.gateway + "/v1/service/accounts"
    signed = signed_request(
        "GET", url, headers=dict(UC1), body=b"", region=REGION,
        credentials=Credentials(LISTED.access_key, LISTED.secret_key, "any-token-at-all"),
    )  # fmt: skip

    response = e2e.http.request("GET", url, headers=signed, retries=False)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "security token" in _error(response)["message"]
    assert e2e.local_stats()["invocations"]["proxy"] == before


def test_two_authorization_headers_on_a_service_path_are_refused(e2e: RunningStack) -> None:
    before = e2e.local_stats()["invocations"]["proxy"]
    url = e2e.gateway + "/v1/service/accounts"
    signed = signed_request(
        "GET", url, headers=dict(UC1), body=b"", region=REGION,
        credentials=Credentials(LISTED.access_key, LISTED.secret_key),
    )  # fmt: skip
    headers = HTTPHeaderDict(signed)
    headers.add("Authorization", signed["Authorization"])

    response = e2e.http.request("GET", url, headers=headers, retries=False)

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"
    assert e2e.local_stats()["invocations"]["proxy"] == before
