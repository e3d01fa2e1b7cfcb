"""The month simulation (bench/capacity_month.py), small: the three modes run the same
plan against the gateway's code as make bench does, the cache changes no answer's status,
saves Opower calls, serves nothing past its bound and assembles usage as Opower answers
it. Counts only; the figures of record come from `make bench`."""

from __future__ import annotations

import os

import pytest

from bench.capacity_month import MonthWorkload, run

pytestmark = pytest.mark.integration


def test_a_small_month_off_today_and_now(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a few customers who all look at the usage tab, last month's and a day's
    # intervals, and a setting an earlier benchmark of the process may leave behind
    monkeypatch.setenv("CACHE_ENABLED", "false")
    workload = MonthWorkload(
        customers=4, bill_look_p=1.0, usage_p=1.0, previous_month_p=1.0, raw_day_p=1.0,
        warmup_days=2, seed=5,
    )  # fmt: skip

    # When the month runs in the three modes
    result = run(workload, containers=2, profile="test")

    # Then every mode answered the same requests alike, the cache saved calls, and what
    # it served was Opower's answer within its bound
    off, today, new = result["modes"]
    assert (off["mode"], today["mode"], new["mode"]) == ("off", "today", "new")
    assert off["requests"] == today["requests"] == new["requests"] > 0
    assert off["answers"] == today["answers"] == new["answers"]
    assert new["opower_calls"] < off["opower_calls"]
    assert today["opower_calls"] < off["opower_calls"]
    assert not any(m["unknown_settings"] for m in result["modes"])
    assert result["staleness_violations"] == 0
    assert sum(r["checked"] for r in new["staleness"].values()) > 0
    assert result["assembled"] > 0
    assert result["assembled_mismatches"] == 0
    assert 0 < result["floor"]["calls_per_customer"] <= new["calls_per_customer"]
    assert os.environ["CACHE_ENABLED"] == "false"  # the simulation left the environment
