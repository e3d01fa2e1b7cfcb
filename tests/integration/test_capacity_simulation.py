"""The capacity benchmark's simulation (bench/capacity.py), small: it runs against the
gateway's code as make bench does, the cache changes no customer's answers, and it saves
Opower calls. Counts only; the figures of record come from `make bench`."""

from __future__ import annotations

import os

import pytest

from bench.capacity import Workload, run

pytestmark = pytest.mark.integration


def test_a_small_day_with_and_without_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # What an earlier benchmark of the same process may leave behind must not matter.
    monkeypatch.setenv("CACHE_ENABLED", "false")
    result = run(Workload(customers=12, seed=3), containers=2, profile="test")

    off, on = result["modes"]
    assert (off["mode"], on["mode"]) == ("off", "on")
    assert off["requests"] == on["requests"] > 0
    assert off["answers"] == on["answers"]  # the same answers, cached or not
    assert on["opower_calls"] < off["opower_calls"]
    assert on["latency_ms"]["memory"]["n"] + on["latency_ms"]["shared"]["n"] > 0
    assert on["dynamodb_gets_per_shared_hit"] in (None, 1)
    assert os.environ["CACHE_ENABLED"] == "false"  # the simulation restored the environment
