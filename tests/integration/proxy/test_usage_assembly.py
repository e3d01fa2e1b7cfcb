"""Usage windows answered from the customer's settled days (gateway.proxy.assembly): Opower is
asked only for the days not held, and the answer is byte for byte Opower's own to the
whole window (Get Daily Interval Usage and Get Raw Interval Usage, Oracle's pages: the
sandbox answers as they document; the property over random windows, zones and DST is
tests/unit/test_usage_days.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway import wiring
from gateway.settings import RuntimeSettings
from local.sandbox import OpowerSandbox
from tests.integration.proxy.conftest import Call, forwarded

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
DAY = "/v1/me/usage/day/ELECTRICITY"
RAW = "/v1/me/usage/raw/ELECTRICITY"


@pytest.fixture
def gateway_settings(gateway_settings: RuntimeSettings) -> RuntimeSettings:
    return dataclasses.replace(gateway_settings, cache_enabled=True)


def window(days_back: int, length: int) -> dict[str, list[str]]:
    end = TODAY - timedelta(days=days_back)
    return {"start": [(end - timedelta(days=length)).isoformat()], "end": [end.isoformat()]}


def usage_calls(sandbox: OpowerSandbox) -> list[dict[str, list[str]]]:
    return [r.query for r in forwarded(sandbox) if "/usage/" in r.path]


def opowers_own(call: Call, monkeypatch: pytest.MonkeyPatch, path: str, query: Any) -> str:
    """The whole window asked of Opower in one call (the cache off)."""
    monkeypatch.setenv("CACHE_ENABLED", "false")
    wiring.reset()
    try:
        answer = call("GET", path, query=query)
    finally:
        monkeypatch.setenv("CACHE_ENABLED", "true")
        wiring.reset()
    assert answer["statusCode"] == 200, answer["body"]
    return str(answer["body"])


def test_tomorrows_window_asks_only_the_days_not_held(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = call("GET", DAY, query=window(days_back=3, length=30))
    assert held["statusCode"] == 200

    today = window(days_back=0, length=30)
    answer = call("GET", DAY, query=today)

    status = answer["headers"]["Cache-Status"]
    assert "fwd=partial" in status
    assert 'detail="assembled"' in status
    # Opower was asked from the first day not settled when the first answer came.
    rest = usage_calls(sandbox)[-1]
    assert rest["end"] == today["end"]
    assert TODAY - timedelta(days=5) <= datetime.fromisoformat(rest["start"][0]).date()
    assert answer["body"] == opowers_own(call, monkeypatch, DAY, today)


def test_a_window_of_held_days_asks_nothing(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    call("GET", DAY, query=window(days_back=3, length=30))
    asked = len(usage_calls(sandbox))

    inside = window(days_back=10, length=7)
    answer = call("GET", DAY, query=inside)

    assert len(usage_calls(sandbox)) == asked
    status = answer["headers"]["Cache-Status"]
    assert status.startswith("OpowerGateway; hit")
    assert 'detail="assembled"' in status
    assert answer["body"] == opowers_own(call, monkeypatch, DAY, inside)


def test_raw_usage_of_a_held_day_and_the_next_hour(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = TODAY - timedelta(days=6)
    call("GET", RAW, query={"start": [day.isoformat()], "end": [(day + timedelta(1)).isoformat()]})
    later = {
        "start": [f"{day.isoformat()}T06:00:00-06:00"],
        "end": [f"{(day + timedelta(1)).isoformat()}T01:00:00-06:00"],
    }
    answer = call("GET", RAW, query=later)

    assert "assembled" in answer["headers"]["Cache-Status"]
    assert answer["body"] == opowers_own(call, monkeypatch, RAW, later)


def test_another_customer_is_never_answered_from_these_days(
    call: Call, sandbox: OpowerSandbox
) -> None:
    call("GET", DAY, query=window(days_back=3, length=30))
    other = call("GET", DAY, customer="UC-0002", query=window(days_back=10, length=7))

    assert "assembled" not in other["headers"]["Cache-Status"]
    assert usage_calls(sandbox)[-1] == window(days_back=10, length=7)


def test_turned_off_every_window_is_asked_whole(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_ASSEMBLE_USAGE", "false")
    wiring.reset()
    call("GET", DAY, query=window(days_back=3, length=30))
    today = window(days_back=0, length=30)
    answer = call("GET", DAY, query=today)

    assert "assembled" not in answer["headers"]["Cache-Status"]
    assert usage_calls(sandbox)[-1] == today
