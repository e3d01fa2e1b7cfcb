"""Forgetting one customer (gateway.forget, `make forget`): a privacy deletion request and
the release of a designated place, against the real handlers, moto server and the sandbox.
Before issue #36 the only way was an operator's table edit, on keys an operator could not
compute."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from gateway.auth_context import customer_hash
from gateway.cache.keys import customer_scope
from gateway.clock import SYSTEM_CLOCK
from gateway.forget import Forgetter
from gateway.settings import RuntimeSettings
from tests.conftest import AwsResources
from tests.integration.proxy.conftest import Call

pytestmark = pytest.mark.integration

WINDOW = {"start": ["2026-10-01"], "end": ["2026-10-08"]}
SCREENS: list[tuple[str, dict[str, list[str]] | None]] = [
    ("/v1/me/accounts", None),
    ("/v1/me/bill-forecast", None),
    ("/v1/me/usage/day/ELECTRICITY", WINDOW),
]


@pytest.fixture
def gateway_settings(gateway_settings: RuntimeSettings) -> RuntimeSettings:
    """The cache on, and a designated-customer cap: places to release."""
    return dataclasses.replace(gateway_settings, cache_enabled=True, designated_customers_max=10)


def forgetter(aws_resources: AwsResources) -> Forgetter:
    return Forgetter(
        table_name=aws_resources.table_name,
        cache_table_name=aws_resources.cache_table_name,
        clock=SYSTEM_CLOCK,
        marker_keep_s=86_400,
    )


def items(table: str) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName=table)["Items"])


def keys_of(table: str, prefix: str) -> set[str]:
    return {i["pk"]["S"] for i in items(table) if i["pk"]["S"].startswith(prefix)}


def test_forgetting_a_customer_removes_what_is_theirs_and_only_that(
    call: Call, aws_resources: AwsResources, caplog: pytest.LogCaptureFixture
) -> None:
    for customer in ("UC-0001", "UC-0002"):
        for path, query in SCREENS:
            assert call("GET", path, query=query, customer=customer)["statusCode"] == 200
    ada, bob = customer_hash("UTX", "UC-0001"), customer_hash("UTX", "UC-0002")
    table, cache = aws_resources.table_name, aws_resources.cache_table_name
    # The customer's budget of today, as the store shares it (gateway.budgets.customer).
    day = datetime.now(UTC).strftime("%Y%m%d")
    boto3.client("dynamodb").put_item(
        TableName=table, Item={"pk": {"S": f"budget#cust#{ada}#{day}"}, "d": {"N": "3"}}
    )
    assert f"designated#UTX#{ada}" in keys_of(table, "designated#")
    bindings_before = keys_of(table, "bind#")

    with caplog.at_level("INFO", logger="gateway.forget"):
        forgotten = forgetter(aws_resources).forget("UTX", "UC-0001", release_designated=True)

    assert forgotten.customer == ada
    assert forgotten.cached_answers >= 3  # accounts, forecast, usage (and the days held)
    assert forgotten.bindings == 1
    assert forgotten.budget_days >= 1
    assert forgotten.designated_place == "released"
    theirs = f"c#{customer_scope('UTX', 'UC-0001')}"
    left = [i["sk"]["S"] for i in items(cache) if i["pk"]["S"] == theirs]
    assert left == ["!"]  # only the mark that makes anything older no answer
    assert not keys_of(table, f"budget#cust#{ada}#")
    assert not keys_of(table, f"bindings#{ada}")
    assert len(keys_of(table, "bind#")) == len(bindings_before) - 1
    assert keys_of(table, "designated#UTX#") == {f"designated#UTX#{bob}"}
    count = next(i for i in items(table) if i["pk"]["S"] == "designated#UTX")
    assert count["n"]["N"] == "1"
    # The other customer is untouched: still answered from the cache.
    again = call("GET", "/v1/me/bill-forecast", customer="UC-0002")
    assert "hit" in again["headers"]["Cache-Status"]
    # Audited: a record of when and what, and a log line, naming no one but by the key.
    (record,) = [i for i in items(table) if i["pk"]["S"].startswith(f"forgotten#{ada}#")]
    assert json.loads(record["record"]["S"])["bindings"] == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "customer forgotten"]
    assert logged.__dict__["customer"] == ada
    assert "UC-0001" not in caplog.text


def test_what_a_warm_container_holds_is_not_served_after_it(
    call: Call, aws_resources: AwsResources
) -> None:
    call("GET", "/v1/me/bill-forecast")
    assert "hit" in call("GET", "/v1/me/bill-forecast")["headers"]["Cache-Status"]  # memory

    forgetter(aws_resources).forget("UTX", "UC-0001")

    after = call("GET", "/v1/me/bill-forecast")  # the same container, its memory as it was
    assert after["statusCode"] == 200
    assert "fwd=miss" in after["headers"]["Cache-Status"]


def test_forgetting_again_removes_nothing_more_and_says_so(
    call: Call, aws_resources: AwsResources
) -> None:
    call("GET", "/v1/me/accounts")
    first = forgetter(aws_resources).forget("UTX", "UC-0001", release_designated=True)
    time.sleep(0.001)
    second = forgetter(aws_resources).forget("UTX", "UC-0001", release_designated=True)

    assert first.designated_place == "released"
    assert (second.cached_answers, second.bindings, second.budget_days) == (0, 0, 0)
    assert second.designated_place == "not counted"
    never = forgetter(aws_resources).forget("UTX", "UC-9999")
    assert (never.cached_answers, never.bindings, never.designated_place) == (0, 0, "kept")


def test_a_customer_must_be_named(aws_resources: AwsResources) -> None:
    with pytest.raises(ValueError, match="name the customer"):
        forgetter(aws_resources).forget("UTX", "")
