"""The service API's caller and named customer (gateway.service): every form of caller
API Gateway hands over, and hostile header values, end in a caller or a 4xx."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api_responses import RequestError
from gateway.service import caller_from_context, named_customer


@pytest.mark.parametrize(
    ("user_arn", "principal", "metric"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/high-bill-alerts/execution-1",
            "arn:aws:iam::123456789012:role/high-bill-alerts",
            "ServiceCalls_high-bill-alerts",
        ),
        (
            "arn:aws:iam::123456789012:user/ops/batch-runner",
            "arn:aws:iam::123456789012:user/ops/batch-runner",
            "ServiceCalls_batch-runner",
        ),
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root", "ServiceCalls_root"),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/sync@cis/job+1",
            "arn:aws-us-gov:iam::123456789012:role/sync@cis",
            "ServiceCalls_sync_cis",
        ),
        (
            "arn:aws:sts::123456789012:federated-user/alice",
            "arn:aws:sts::123456789012:federated-user/alice",
            "ServiceCalls_alice",
        ),
    ],
)
def test_each_kind_of_caller_is_named_by_its_role_or_user(
    user_arn: str, principal: str, metric: str
) -> None:
    caller = caller_from_context({"identity": {"userArn": user_arn}})

    assert caller.arn == user_arn
    assert caller.principal == principal
    assert caller.metric == metric


@pytest.mark.parametrize(
    "identity",
    [
        None,
        {},
        {"userArn": None},
        {"userArn": ""},
        {"userArn": 42},
        {"userArn": "arn:aws:iam::123456789012:userX"},
        {"userArn": "arn:aws:iam::123456789012:root/extra"},
        {"userArn": "arn:aws:iam::123456789012:user"},
        {"userArn": "arn:aws:iam::12345:user/short-account"},
        {"userArn": "arn:aws:iam::123456789012:user/" + "a" * 3000},
        {"userArn": "arn:aws:iam::123456789012:user/evil\nline"},
    ],
)
def test_anything_but_a_signed_caller_is_refused(identity: Any) -> None:
    with pytest.raises(RequestError) as refused:
        caller_from_context({"identity": identity})

    assert refused.value.status == 403


CUSTOMER, ACCOUNT = "Opower-Utility-Customer-Id", "Opower-Account-Number"


@pytest.mark.parametrize(
    "value",
    ["", "   ", "UC\u20280001", "UC\x7f01", "\x00", "x" * 129, "UC-0001\r\nX-Injected: 1"],
)
def test_a_hostile_customer_header_is_a_400(value: str) -> None:
    with pytest.raises(RequestError) as refused:
        named_customer({CUSTOMER: value, ACCOUNT: "4100000001"}, None, ("UTX",))

    assert refused.value.status == 400
    assert CUSTOMER in refused.value.message


def test_values_are_trimmed_and_header_names_are_case_insensitive() -> None:
    named = named_customer(
        {"opower-utility-customer-id": " UC-0001 ", "OPOWER-ACCOUNT-NUMBER": "4100000001"},
        None,
        ("UTX",),
    )

    assert (named.utility_code, named.utility_customer_id, named.account_number) == (
        "UTX",
        "UC-0001",
        "4100000001",
    )


def test_a_non_string_header_value_is_read_as_text_or_refused() -> None:
    with pytest.raises(RequestError):
        named_customer({CUSTOMER: ["UC-0001", "UC-0002"], ACCOUNT: "1"}, None, ("UTX",))
