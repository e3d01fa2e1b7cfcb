"""A service request's Opower-* headers must be covered by its SigV4 signature
(gateway.service.require_signed_customer_headers; issue #25, item 1).

The AWS behaviour encoded: a SigV4 signature covers only the headers its SignedHeaders
lists. "Create a signed AWS API request" (IAM User Guide,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
the canonical request holds the headers named in SignedHeaders, host at least, so a
header left out of that list can be changed without changing the signature. The list is
in the Authorization header (``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=host;
x-amz-date, Signature=...``) or, for a presigned request, in the ``X-Amz-SignedHeaders``
query parameter ("Authentication methods", IAM User Guide,
https://docs.aws.amazon.com/IAM/latest/UserGuide/aws-signing-authentication-methods.html;
"Common Parameters" of the AWS API references). Header names are compared without case
(the canonical request lowercases them), query parameter names with it.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api_responses import RequestError
from gateway.service import require_signed_customer_headers

NAMED = {
    "Opower-Utility-Customer-Id": "UC-0001",
    "Opower-Account-Number": "4100000001",
    "Opower-Utility-Code": "UTX",
}
ALL_SIGNED = "host;opower-account-number;opower-utility-code;opower-utility-customer-id;x-amz-date"


def _authorization(signed_headers: str) -> str:
    return (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/execute-api/"
        f"aws4_request, SignedHeaders={signed_headers}, Signature={'0' * 64}"
    )


def _event(
    headers: dict[str, str],
    *,
    multi: dict[str, list[str]] | None = None,
    query: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The parts of a REST API (v1) proxy event the check reads."""
    return {
        "headers": headers,
        "multiValueHeaders": multi if multi is not None else {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
    }


def _refusal(event: dict[str, Any]) -> RequestError:
    with pytest.raises(RequestError) as refused:
        require_signed_customer_headers(event)
    return refused.value


def test_a_signature_covering_every_customer_header_passes() -> None:
    event = _event({**NAMED, "Authorization": _authorization(ALL_SIGNED)})

    require_signed_customer_headers(event)  # no refusal


def test_requests_aws4auths_default_signed_headers_are_refused_naming_the_headers() -> None:
    # requests-aws4auth signs host, content-type, date and x-amz-* unless told otherwise
    event = _event(
        {**NAMED, "Authorization": _authorization("host;x-amz-content-sha256;x-amz-date")}
    )

    refused = _refusal(event)

    assert refused.status == 403
    assert refused.code == "unsigned_customer_header"
    for name in NAMED:
        assert name in refused.message
    assert "host;x-amz-content-sha256;x-amz-date" in refused.message


def test_one_header_left_out_is_the_one_named() -> None:
    signed = "host;opower-account-number;opower-utility-customer-id;x-amz-date"
    event = _event({**NAMED, "Authorization": _authorization(signed)})

    refused = _refusal(event)

    assert refused.message.startswith("Sign the Opower-Utility-Code header:")
    assert "Opower-Account-Number" not in refused.message.split(":")[0]


@pytest.mark.parametrize(
    ("header_names", "signed"),
    [
        # header names in any case; SignedHeaders as a signer wrote it
        ({"opower-utility-customer-id", "OPOWER-ACCOUNT-NUMBER"}, "host;opower-account-number;"
         "opower-utility-customer-id;x-amz-date"),
        ({"Opower-Utility-Customer-Id", "Opower-Account-Number"}, "host;Opower-Account-Number;"
         "OPOWER-UTILITY-CUSTOMER-ID;x-amz-date"),
    ],
)  # fmt: skip
def test_names_are_compared_without_case(header_names: set[str], signed: str) -> None:
    headers = {name: "x" for name in header_names}
    event = _event({**headers, "authorization": _authorization(signed)})

    require_signed_customer_headers(event)


def test_an_unsigned_header_in_another_case_is_still_refused() -> None:
    event = _event(
        {"OPOWER-UTILITY-CUSTOMER-ID": "UC-0002", "Opower-Account-Number": "4100000003",
         "Authorization": _authorization("host;opower-account-number;x-amz-date")}
    )  # fmt: skip

    refused = _refusal(event)

    assert "Opower-Utility-Customer-Id" in refused.message


def test_any_opower_header_counts_not_only_the_three_named() -> None:
    event = _event(
        {**NAMED, "Opower-Future-Header": "1", "Authorization": _authorization(ALL_SIGNED)}
    )

    assert "Opower-Future-Header" in _refusal(event).message


def test_a_header_only_in_multi_value_headers_is_checked_too() -> None:
    event = _event(
        {"Authorization": _authorization(ALL_SIGNED)},
        multi={
            "Authorization": [_authorization(ALL_SIGNED)],
            "Opower-Other": ["1"],
        },
    )

    assert _refusal(event).code == "unsigned_customer_header"


def test_a_presigned_request_is_checked_by_its_x_amz_signedheaders() -> None:
    covered = _event(dict(NAMED), query={"X-Amz-SignedHeaders": [ALL_SIGNED]})
    uncovered = _event(dict(NAMED), query={"X-Amz-SignedHeaders": ["host"]})

    require_signed_customer_headers(covered)
    assert _refusal(uncovered).code == "unsigned_customer_header"


def test_a_lowercase_query_parameter_is_not_a_presigned_signature() -> None:
    # SigV4's query parameters are X-Amz-*: another spelling is an ordinary (signed) one
    event = _event(dict(NAMED), query={"x-amz-signedheaders": [ALL_SIGNED]})

    assert _refusal(event).code == "unsigned_customer_header"


def test_no_authorization_at_all_is_refused() -> None:
    """Not an event API Gateway's AWS_IAM hands over (it refuses an unsigned request
    itself): with no signature to read, the headers cannot be shown to be signed."""
    refused = _refusal(_event(dict(NAMED)))

    assert refused.status == 403
    assert refused.code == "unsigned_customer_header"
    assert "one SigV4 signature" in refused.message


@pytest.mark.parametrize(
    "event",
    [
        # two Authorization values: which one API Gateway verified is unknown
        _event(
            {**NAMED, "Authorization": _authorization(ALL_SIGNED)},
            multi={
                **{k: [v] for k, v in NAMED.items()},
                "Authorization": [_authorization("host;x-amz-date"), _authorization(ALL_SIGNED)],
            },
        ),
        # a header signature and a presigned query
        _event(
            {**NAMED, "Authorization": _authorization(ALL_SIGNED)},
            query={"X-Amz-SignedHeaders": ["host"]},
        ),
        # two presigned lists
        _event(dict(NAMED), query={"X-Amz-SignedHeaders": [ALL_SIGNED, "host"]}),
    ],
)
def test_more_than_one_signature_is_refused(event: dict[str, Any]) -> None:
    assert _refusal(event).code == "unsigned_customer_header"


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/execute-api/"
        "aws4_request, Signature=" + "0" * 64,  # no SignedHeaders
        "AWS4-HMAC-SHA256 Credential=x/y, XSignedHeaders=" + ALL_SIGNED,  # not the component
        "Bearer " + "a" * 40,
    ],
)
def test_an_authorization_without_signed_headers_covers_nothing(authorization: str) -> None:
    assert _refusal(_event({**NAMED, "Authorization": authorization})).status == 403


def test_a_request_without_customer_headers_has_nothing_to_check() -> None:
    # named_customer answers its own 400 then: "Name the customer with ..."
    require_signed_customer_headers(_event({"Authorization": _authorization("host;x-amz-date")}))
    require_signed_customer_headers(_event({}))
