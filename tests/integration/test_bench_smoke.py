"""`make bench`, smallest: every benchmark runs to its end in one process, one after the
other as `make bench` runs them, and prints its JSON line with the keys
docs/performance.md shows (bench.__main__.KEYS), so that no benchmark breaks silently
between full runs (#34: the throughput step died on a setting an earlier step left).

The figures are not checked (one sample, a busy machine): `make bench` gives those."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from bench.__main__ import KEYS
from bench.environment import child_environment
from tests.local_dev import ROOT

pytestmark = pytest.mark.integration

# A session token (a JWT) or an Opower bearer token printed anywhere is a leak.
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.|Bearer\s+[A-Za-z0-9._~+/-]{16,}")


@pytest.mark.timeout(600)
def test_every_benchmark_runs_to_its_end_and_prints_what_the_report_reads() -> None:
    # Given a user's shell that talks to a real Opower with `make dev` (what the
    # benchmarks' children must not inherit) and a setting of the gateway's own
    env = child_environment(
        UTILITY_CODE="ABC",
        OPOWER_URL="https://opower.invalid",
        GATEWAY_CONFIG='{"cache_enabled": false}',
        CACHE_ENABLED="false",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )

    # When `make bench` runs in its smoke configuration
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=580, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip

    # Then it ends well, each step named as it ran
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    by_name = {line["benchmark"]: line for line in lines if "benchmark" in line}
    assert set(KEYS) <= set(by_name), sorted(set(KEYS) - set(by_name))
    for name, keys in KEYS.items():
        missing = [key for key in keys if key not in by_name[name]]
        assert not missing, f"{name} lacks {missing}"
    run = by_name["bench_run"]
    assert run["mode"] == "smoke"
    assert list(run["steps_s"]) == [
        "first_run", "warm_overhead", "cold_start", "cost", "fleet_tokens", "throughput",
        "customer_limits", "capacity", "capacity_month", "bill_day_overload", "token_faults",
    ]  # fmt: skip
    for step in run["steps_s"]:
        assert f"make bench: {step} done in" in result.stderr
    # and the table the report opens with was rendered from those lines
    assert "| Local stack throughput |" in result.stdout
    # and the idle cost the docs state is the one computed from today's template
    cost = by_name["cost_per_million_requests"]
    total, per_company = cost["idle_monthly_total_usd"], cost["idle_per_company_usd"]
    deploying = (ROOT / "docs" / "deploying.md").read_text()
    assert f"${total:.2f} a month" in deploying
    assert f"${per_company:.2f} a month for each further company" in deploying
    assert f"${total:.2f} a month" in (ROOT / "docs" / "testing.md").read_text()
    # and no step printed a token
    assert not _TOKEN.search(result.stdout + result.stderr)
