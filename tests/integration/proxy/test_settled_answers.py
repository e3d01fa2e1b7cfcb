"""Answers of a settled past are kept long (gateway.proxy.settled): usage of a window that
ended before the meter-read settlement window, unless Opower says a read was estimated
(Get Daily Interval Usage's intervals carry actualReadsCount and estimatedReadsCount; Get
Raw Interval Usage's a readType), which a later actual read replaces."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.settings import RuntimeSettings
from local.sandbox import OpowerSandbox
from tests.integration.proxy.conftest import Call

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
SETTLED_S = RuntimeSettings().cache_settled_fresh_s


@pytest.fixture
def gateway_settings(gateway_settings: RuntimeSettings) -> RuntimeSettings:
    return dataclasses.replace(gateway_settings, cache_enabled=True)


def ttl(answer: dict[str, Any]) -> int:
    status = answer["headers"]["Cache-Status"]
    return int(next(p for p in status.split("; ") if p.startswith("ttl="))[4:])


def day_usage(call: Call, days_ago: int, length: int = 7) -> dict[str, Any]:
    end = TODAY - timedelta(days=days_ago)
    query = {"start": [(end - timedelta(days=length)).isoformat()], "end": [end.isoformat()]}
    first = call("GET", "/v1/me/usage/day/ELECTRICITY", query=query)
    assert first["statusCode"] == 200, first["body"]
    return call("GET", "/v1/me/usage/day/ELECTRICITY", query=query)


def test_a_window_that_ended_before_the_settlement_window_is_kept_for_the_settled_bound(
    call: Call,
) -> None:
    assert ttl(day_usage(call, days_ago=10)) > SETTLED_S - 60


def test_a_window_ending_within_the_settlement_window_keeps_its_routes_lifetime(
    call: Call,
) -> None:
    assert ttl(day_usage(call, days_ago=1)) <= 3600


def test_an_answer_with_an_estimated_read_keeps_its_routes_lifetime(
    call: Call, sandbox: OpowerSandbox
) -> None:
    end = TODAY - timedelta(days=10)
    estimated = {"response": {"unit": "KWH", "streams": [{"intervals": [
        {"start": f"{end - timedelta(days=1)}T00:00:00-06:00", "end": f"{end}T00:00:00-06:00",
         "usage": 12.5, "actualReadsCount": 90, "estimatedReadsCount": 6}]}]}}  # fmt: skip
    sandbox.set_answers(usage={"status": 200, "body": estimated})

    assert json.loads(day_usage(call, days_ago=10)["body"]) == estimated
    assert ttl(day_usage(call, days_ago=10)) <= 3600


def test_a_bills_breakdown_is_settled_once_the_bill_is(call: Call) -> None:
    end = TODAY.replace(day=1) - timedelta(days=1)  # last month's last day
    query = {"billStartDate": [end.replace(day=1).isoformat()], "billEndDate": [end.isoformat()]}
    call("GET", "/v1/me/energy-breakdown/bill", query=query)
    again = call("GET", "/v1/me/energy-breakdown/bill", query=query)
    settled = (datetime.now(UTC).date() - end).days >= 3
    assert (ttl(again) > SETTLED_S - 60) is settled
