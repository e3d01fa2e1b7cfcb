"""The month simulation (bench/capacity_month.py), small: the three modes run the same
plan against the gateway's code as make bench does, the cache changes no answer's status,
saves Opower calls, serves nothing past its bound and assembles usage as Opower answers
it. Counts only; the figures of record come from `make bench`."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from bench.capacity_month import MonthWorkload, month_plan, run, simulate

pytestmark = pytest.mark.integration


def test_a_small_month_off_before_and_now(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a few customers who all look at the usage tab, last month's and a day's
    # intervals, and a setting an earlier benchmark of the process may leave behind
    monkeypatch.setenv("CACHE_ENABLED", "false")
    workload = MonthWorkload(
        customers=4, bill_look_p=1.0, usage_p=1.0, previous_month_p=1.0, raw_day_p=1.0,
        neighbors_p=1.0, warmup_days=2, seed=5,
    )  # fmt: skip

    # When the month runs in the three modes, bills in read cycles
    result = run(workload, containers=2, profile="test")

    # Then every mode answered the same requests alike, the cache saved calls, and what
    # it served was Opower's answer within its bound
    off, before, new = result["modes"]
    assert (off["mode"], before["mode"], new["mode"]) == ("off", "before", "new")
    assert off["requests"] == before["requests"] == new["requests"] > 0
    assert off["answers"] == before["answers"] == new["answers"]
    assert new["opower_calls"] < off["opower_calls"]
    assert before["opower_calls"] < off["opower_calls"]
    # the neighbor comparison kept to its period's end (#38) asks no more than before
    neighbors = "neighbor_comparison"
    assert (
        new["screens"][neighbors]["calls_per_customer"]
        <= (before["screens"][neighbors]["calls_per_customer"])
    )
    assert not any(m["unknown_settings"] for m in result["modes"])
    assert result["staleness_violations"] == 0
    assert sum(r["checked"] for r in new["staleness"].values()) > 0
    assert result["assembled"] > 0
    assert result["assembled_mismatches"] == 0
    assert 0 < result["floor"]["calls_per_customer"] <= new["calls_per_customer"]
    # and the worst day is reported per mode, against the cache off and before #38
    worst = result["worst_day"]
    assert worst["benchmark"] == "capacity_worst_day"
    assert worst["billing"] == "cycles"
    assert worst["customers"]["new"] >= worst["customers"]["off"] > 0
    assert os.environ["CACHE_ENABLED"] == "false"  # the simulation left the environment


def test_a_wrong_lifetime_is_counted_against_the_restated_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check can fail: with the sandbox restating its data (local/sandbox/restatements),
    a cache planted to keep settled answers and held days for 60 days while the settings
    state 7 serves corrections late, and the month counts it (issue #36: before it, only
    3 of 1,872 checks could fail)."""
    from gateway.cache.answers import ResponseCache
    from gateway.cache.days import Days

    stored = ResponseCache.store

    def planted(self: ResponseCache, key: Any, body: str, *, fresh_s: float,
                asked_at: float | None = None) -> bool:  # fmt: skip
        longer = 60 * 86_400 if fresh_s >= 7 * 86_400 else fresh_s
        return stored(self, key, body, fresh_s=longer, asked_at=asked_at)

    monkeypatch.setattr(ResponseCache, "store", planted)
    monkeypatch.setattr(Days, "trusted", lambda self, since: self)
    workload = MonthWorkload(
        customers=12, bill_look_p=1.0, usage_p=1.0, previous_month_p=1.0, raw_day_p=1.0,
        weekly_p=1.0, warmup_days=2, seed=5,
    )  # fmt: skip
    plan = month_plan(workload, end=time.time() - 120)

    result = simulate("new", plan, workload, containers=2)  # in process: the plant holds

    assert result["staleness_violations"] + result["assembled_mismatches"] > 0
