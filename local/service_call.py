"""`make service-call CUSTOMER=<utilityCustomerId> [ROUTE=/accounts] [METHOD=GET]
[COMPANY=<code>] [ACCOUNT=<account number>] [BODY='{...}']`: one SigV4-signed call to the
running local gateway's service API, as a utility's own workload makes it.

It signs with botocore's SigV4 signer (what boto3 and the AWS SDKs use) and the embedded
AWS's credentials, which the local run admits as the role in ``service_principals``;
``--as-stranger`` signs as a principal the resource policy refuses. The customer is named
in the query (``utilityCustomerId``, ``accountNumber``, ``utilityCode``: gateway.service),
which SigV4 always signs; their first account number is used unless ``ACCOUNT`` names
another. A deployed gateway takes the same request, signed with the
workload's own credentials for region and service ``execute-api``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.service import ACCOUNT_PARAM, COMPANY_PARAM, CUSTOMER_PARAM
from local.sigv4 import uri_encode
from local.stack import LOCAL_PRINCIPALS, STATE_DIR
from local.token import NotRunningError, running_stack


def signed_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
) -> dict[str, str]:
    """``headers`` with the SigV4 ones added (Authorization, X-Amz-Date, ...). botocore
    signs the URL's query as it is written: send ``signable_url(url)`` when it has one."""
    request = AWSRequest(method=method, url=url, headers=headers, data=body)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def signable_url(url: str) -> str:
    """``url`` with its query encoded as SigV4 canonicalizes it (local.sigv4.uri_encode):
    botocore's ``AWSRequest`` takes the query as already encoded, while AWS decodes and
    encodes each name and value again, so ``start=2026-01-01T00:00:00Z`` must be sent as
    ``start=2026-01-01T00%3A00%3A00Z`` for the signatures to agree."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = "&".join(f"{uri_encode(name)}={uri_encode(value)}" for name, value in pairs)
    return urlunsplit(parts._replace(query=query))


def call(
    running: dict[str, Any],
    *,
    route: str,
    method: str,
    customer: str,
    company: str,
    account: str,
    body: str,
    access_key: str,
) -> tuple[int, str]:
    principal = LOCAL_PRINCIPALS[access_key]
    path, _, query = route.lstrip("/").partition("?")
    named = urlencode({CUSTOMER_PARAM: customer, ACCOUNT_PARAM: account, COMPANY_PARAM: company})
    url = signable_url(
        f"{running['gateway']}/v1/service/{path}?{named}" + (f"&{query}" if query else "")
    )
    headers: dict[str, str] = {}
    if body:
        headers["Content-Type"] = "application/json"
    signed = signed_request(
        method,
        url,
        headers=headers,
        body=body.encode(),
        credentials=Credentials(
            principal.access_key, principal.secret_key, principal.session_token
        ),
        region=running["region"],
    )
    answer = urllib3.request(method, url, headers=signed, body=body.encode() or None)
    return answer.status, answer.data.decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make service-call", description=__doc__)
    parser.add_argument("customer", nargs="?", default="", help="utilityCustomerId")
    parser.add_argument("--route", default="/accounts", help="path after /v1/service")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--company", default="", help="operating company (utility code)")
    parser.add_argument("--account", default="", help="account number (default: the first)")
    parser.add_argument("--body", default="", help="JSON body of a PUT")
    parser.add_argument("--as-stranger", action="store_true", help="sign as a refused principal")
    args = parser.parse_args(argv)
    try:
        running = running_stack(
            Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR), command="make service-call"
        )
    except NotRunningError as exc:
        print(exc, file=sys.stderr)
        return 1
    customers = [
        c
        for c in running["customers"]
        if c["utilityCustomerId"] == args.customer
        and (not args.company or c["utilityCode"] == args.company)
    ]
    opower = running.get("opower")
    if not customers and opower and args.customer and args.account:
        # A real Opower tier: any of the utility's customers, named as the utility knows
        # them (the gateway binds them through Opower, as it would a session).
        customers = [{"utilityCustomerId": args.customer, "accountNumbers": [args.account],
                      "utilityCode": args.company or opower["utility_code"]}]  # fmt: skip
    if not customers:
        names = ", ".join(
            f"{c['utilityCode']}/{c['utilityCustomerId']}" for c in running["customers"]
        )
        hint = (
            "on a real Opower, name one of your customers: CUSTOMER=<id> ACCOUNT=<number>"
            if opower
            else f"name a sample customer: CUSTOMER=<id> [COMPANY=<code>] ({names})"
        )
        print(hint, file=sys.stderr)
        return 2
    customer = customers[0]
    stranger = next(k for k, p in LOCAL_PRINCIPALS.items() if p.principal_arn.endswith("/stranger"))
    status, text = call(
        running,
        route=args.route,
        method=args.method.upper(),
        customer=customer["utilityCustomerId"],
        company=customer["utilityCode"],
        account=args.account or customer["accountNumbers"][0],
        body=args.body,
        access_key=stranger if args.as_stranger else "testing",
    )
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), indent=2)
    print(f"HTTP {status}\n{text}")
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
