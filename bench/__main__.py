"""`make bench`: every benchmark, one JSON line each, then a readable table; with
``--write``, the results (with date and machine) go to docs/performance.md.

Each benchmark is a step run in this process after the others: a step that fails stops
the run with one line naming it and what failed (a child's last lines of stderr), and a
step that leaves the process changed (an environment variable) fails too, since the
next step would run on its leftovers. ``--smoke`` runs every step in its smallest
configuration (seconds each) and checks that every line carries the keys the report
reads (:data:`KEYS`): `make test` runs it (tests/integration/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.environment import changed_variables, restored

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "performance.md"
Results = list[dict[str, Any]]

_COLD_START = (
    "runs", "asset", "floor_total_ms", "floor_init_ms", "floor_peak_rss_mb", "warm_bytecode",
    "warm_source", "first_bytecode", "first_source", "ratio_vs_floor", "met",
)  # fmt: skip
# The keys of each benchmark's JSON line that docs/performance.md shows: the report reads
# them, and the smoke test checks that every line carries its own.
KEYS: dict[str, tuple[str, ...]] = {
    "first_run": (
        "total_s", "setup_s", "packages", "venv_mb", "start_s", "first_answer_s", "target_s",
        "met",
    ),
    "warm_overhead": ("added_p50_ms", "added_p99_ms", "ratio"),
    "cold_start_proxy": _COLD_START,
    "cold_start_authorizer": _COLD_START,
    "cost_per_million_requests": (
        "prices_as_of", "proxy_ms_p50", "authorizer_ms_p50", "per_proxy_request",
        "per_authorizer_call", "assumptions", "per_million_usd", "total_per_million_usd",
        "idle_monthly_usd", "idle_monthly_total_usd", "idle_per_company_usd", "idle_prices",
    ),
    "fleet_tokens": (
        "containers", "requests", "failed", "token_requests", "lifetimes",
        "token_requests_per_lifetime",
    ),
    "local_stack_throughput": ("requests_per_second", "concurrency", "errors", "p50_ms", "p99_ms"),
    "customer_limits": ("containers", "rows"),
    "capacity": (
        "profile", "customers_per_day", "modes", "ratio", "memory_hit_p50_ms", "met",
    ),
    "capacity_month": (
        "profile", "customers_per_month", "ratio_vs_off", "ratio_before_vs_off", "floor",
        "staleness_violations", "assembled", "assembled_mismatches", "target", "met",
    ),
    "capacity_worst_day": (
        "profile", "ratio_vs_off", "ratio_vs_before", "staleness_violations", "target", "met",
    ),
    "bill_day_overload": (
        "population_vs_fit", "logins_served", "bill_screens_served", "optional_shed",
        "max_retry_after_s", "first_come", "met",
    ),
    "token_faults": ("fleets", "scenarios", "constant_in_every_scenario"),
    "bench_run": ("mode", "steps_s", "total_s"),
}  # fmt: skip


class StepFailed(Exception):
    """A benchmark step failed: the message is the one line `make bench` ends with."""


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Results], Results]  # given the results so far (cost reads cold start's)


def steps(*, smoke: bool, requests: int, containers: int, faults: bool) -> list[Step]:
    """`make bench`'s steps, in order; with ``smoke``, each in its smallest configuration."""
    from bench import (
        bill_day,
        capacity,
        capacity_month,
        coldstart,
        cost,
        customer_limits,
        first_run,
        overhead,
        throughput,
        token_faults,
        tokens,
    )

    def cold(results: Results) -> float:
        found = next(r for r in results if r["benchmark"] == "cold_start_proxy")
        return float(found["warm_bytecode"]["total_ms"])

    def fleet(**knobs: Any) -> Results:
        return [{"benchmark": "fleet_tokens", **tokens.run(**knobs)}]

    # The overloaded bill day at its default population; the smoke run's few customers
    # make the same steps.
    small_day = dataclasses.replace(capacity_month.PROFILES["typical"], customers=20,
                                    warmup_days=1)  # fmt: skip
    if not smoke:
        chosen = [
            Step("first_run", lambda _: [first_run.run()]),
            Step("warm_overhead", lambda _: [overhead.run(requests=requests)]),
            Step("cold_start", lambda _: coldstart.run()),
            Step("cost", lambda r: [cost.run(cold_total_ms=cold(r))]),
            Step("fleet_tokens", lambda _: fleet(containers=containers, lifetimes=3,
                                                 token_lifetime_s=20, requests=3000)),
            Step("throughput", lambda _: [throughput.run()]),
            Step("customer_limits", lambda _: [customer_limits.run()]),
            Step("capacity", lambda _: capacity.run_profiles()),
            Step("capacity_month", lambda _: _with_worst_day(capacity_month.run_profiles())),
            Step("bill_day_overload", lambda _: [bill_day.run()]),
        ]  # fmt: skip
        if faults:
            chosen.append(Step("token_faults", lambda _: [token_faults.run()]))
        return chosen
    # The venv running this stands in for the fresh clone's (only `make dev`'s start is
    # timed); each other step with the fewest requests, containers and seconds that
    # still exercise every part of it.
    venv = Path(sys.prefix) if sys.prefix != sys.base_prefix else None
    day = capacity.Workload(customers=12, seed=3)
    month = capacity_month.MonthWorkload(
        customers=3, bill_look_p=1.0, usage_p=1.0, previous_month_p=1.0, raw_day_p=1.0,
        warmup_days=1, seed=5,
    )  # fmt: skip
    return [
        Step("first_run", lambda _: [first_run.run(venv=venv)]),
        Step("warm_overhead", lambda _: [overhead.run(requests=30)]),
        Step("cold_start", lambda _: coldstart.run(runs=1)),
        Step("cost", lambda r: [cost.run(cold_total_ms=cold(r), requests=30)]),
        Step("fleet_tokens", lambda _: fleet(containers=3, lifetimes=1, token_lifetime_s=4,
                                             requests=30)),
        Step("throughput", lambda _: [throughput.run(concurrency=4, seconds=2.0)]),
        Step("customer_limits", lambda _: [customer_limits.run(actives=(1, 10), minutes=1)]),
        Step("capacity", lambda _: [_quiet(capacity.run, day, containers=2, profile="typical")]),
        Step("capacity_month", lambda _: _with_worst_day(
            [capacity_month.run(month, containers=2, profile="typical")])),
        Step("bill_day_overload", lambda _: [bill_day.run(small_day)]),
        Step("token_faults", lambda _: [token_faults.smoke()]),
    ]  # fmt: skip


def _with_worst_day(months: Results) -> Results:
    """Each month's result, then its worst day's line (capacity_worst_day)."""
    return [line for month in months for line in (month, month["worst_day"])]


def _quiet(run: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
    from bench.capacity import quiet

    with quiet():
        return run(*args, **kwargs)


def run_step(step: Step, results: Results) -> tuple[Results, float]:
    """One step, the process restored after it; its results and how long it took."""
    before = dict(os.environ)
    started = time.monotonic()
    try:
        with restored():
            found = step.run(results)
            left = changed_variables(before)
    except Exception as exc:
        said = " ".join(str(exc).split()) or "(no message)"
        raise StepFailed(
            f"step {step.name} failed after {time.monotonic() - started:.1f} s: "
            f"{type(exc).__name__}: {said[:1200]}"
        ) from exc
    if left:
        raise StepFailed(
            f"step {step.name} left the environment changed ({', '.join(left)}): every "
            "benchmark must leave the process as it found it (bench.environment.restored)"
        )
    return found, time.monotonic() - started


def collect(
    *,
    smoke: bool = False,
    requests: int = 2000,
    containers: int = 50,
    faults: bool = True,
    progress: Callable[[str], None] = lambda _: None,
    emit: Callable[[dict[str, Any]], None] = lambda _: None,
) -> Results:
    """Every step in order; ``progress`` is told of each as it starts and ends, ``emit``
    is given each result as its step ends (a later step's failure loses none)."""
    results: Results = []
    took: dict[str, float] = {}
    started = time.monotonic()
    for step in steps(smoke=smoke, requests=requests, containers=containers, faults=faults):
        progress(f"make bench: {step.name} ...")
        found, seconds = run_step(step, results)
        results += found
        for result in found:
            emit(result)
        took[step.name] = round(seconds, 1)
        progress(f"make bench: {step.name} done in {seconds:.1f} s")
    total = time.monotonic() - started
    run = {
        "benchmark": "bench_run",
        "mode": "smoke" if smoke else "full",
        "steps_s": took,
        "total_s": round(total, 1),
    }
    emit(run)
    return [*results, run]


def missing_keys(results: Results, *, faults: bool = True) -> list[str]:
    """What the report needs and the results lack: a benchmark's line, or keys of one."""
    problems = []
    found = {r.get("benchmark") for r in results}
    optional = {"bench_run"} | (set() if faults else {"token_faults"})
    for name in KEYS:
        if name not in found and name not in optional:
            problems.append(f"no {name} line")
    for result in results:
        absent = [k for k in KEYS.get(result.get("benchmark", ""), ()) if k not in result]
        if absent:
            problems.append(f"{result['benchmark']} lacks {', '.join(absent)}")
    return problems


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}"  # noqa: E501


def _cold_start_row(c: dict[str, Any], name: str) -> tuple[str, str, str, bool]:
    warm, source, first = c["warm_bytecode"], c["warm_source"], c["first_bytecode"]
    return (
        f"Cold start, {name} (built asset, read-only)",
        f"init {warm['init_ms']} + first request {warm['first_request_ms']} = "
        f"{warm['total_ms']} ms, {c['ratio_vs_floor']} x the floor's {c['floor_total_ms']} ms "
        f"(without bytecode {source['total_ms']} ms; first container of the fleet "
        f"{first['total_ms']} ms); peak RSS {warm['peak_rss_mb']} MB",
        "total <= 1.3 x floor",
        c["met"],
    )


def table(results: list[dict[str, Any]]) -> str:
    by = {r["benchmark"]: r for r in results}
    o = by["warm_overhead"]
    f, t = by["fleet_tokens"], by["local_stack_throughput"]
    r = by["first_run"]
    rows = [
        ("First run: fresh clone to the first request answered",
         f"{r['total_s']} s (setup {r['setup_s']} s: {r['packages']} packages, "
         f"{r['venv_mb']} MB on disk; start {r['start_s']} s; "
         f"first answer {r['first_answer_s']} s"
         + (f"; measured {r['measured_at']})" if "measured_at" in r else ")"),
         f"< {r['target_s']:.0f} s", r["met"]),
        ("Warm overhead (proxy vs direct)",
         f"added p50 {o['added_p50_ms']} ms, p99 {o['added_p99_ms']} ms, ratio {o['ratio']}",
         "p50 <= 1 ms, p99 <= 5 ms", o["added_p50_ms"] <= 1 and o["added_p99_ms"] <= 5),
        *(_cold_start_row(by[f"cold_start_{name}"], name) for name in ("proxy", "authorizer")),
        ("Fleet tokens",
         f"{f['containers']} containers, {f['requests']} requests, {f['failed']} failed, "
         f"{f['token_requests']} token requests in {f['lifetimes']} lifetimes",
         "failed 0, <= 1.1 per lifetime",
         f["failed"] == 0 and f["token_requests_per_lifetime"] <= 1.1),
        ("Local stack throughput",
         f"{t['requests_per_second']} req/s at concurrency {t['concurrency']}, "
         f"{t['errors']} errors, p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms",
         "no errors", t["errors"] == 0),
    ]  # fmt: skip
    if "customer_limits" in by:
        c = by["customer_limits"]
        light = [r for r in c["rows"] if not r["hot_customer"]]
        hot = next(r for r in c["rows"] if r["hot_customer"])
        per = " / ".join(str(r["dynamodb_calls_per_request"]) for r in light)
        rows.append(
            (
                "Per-customer limits, DynamoDB calls per request",
                f"{per} at {' / '.join(str(r['active_customers']) for r in light)} active "
                f"customers ({c['containers']} containers); {hot['dynamodb_calls_per_request']}"
                " with a customer at its limit",
                "<= 0.1 for customers under their limits",
                all(r["dynamodb_calls_per_request"] <= 0.1 for r in light),
            )
        )
    for k in (r for r in results if r["benchmark"] == "capacity"):
        on, off = k["customers_per_day"]["on"], k["customers_per_day"]["off"]
        modes = {m["mode"]: m for m in k["modes"]}
        rows.append(
            (
                f"Capacity, {k['profile']} customers: active customers a day in 99,000 calls",
                f"{on:,} with the cache, {off:,} without ({k['ratio']} x); Opower calls per "
                f"customer {modes['on']['calls_per_customer']} / "
                f"{modes['off']['calls_per_customer']}; hit p50 "
                f"{k['memory_hit_p50_ms']} ms (memory), "
                f"{modes['on']['dynamodb_gets_per_shared_hit']} DynamoDB read (shared)",
                ">= 3 x; hit p50 <= 1 ms; <= 1 read",
                k["met"],
            )
        )
    for k in (r for r in results if r["benchmark"] == "capacity_month"):
        month, f = k["customers_per_month"], k["floor"]
        rows.append(
            (
                f"Capacity across a month, {k['profile']} customers: customers a month in "
                "30 x 99,000 calls",
                f"{month['new']:,} with the cache, {month['before']:,} with the cache before "
                f"#38, {month['off']:,} without ({k['ratio_vs_off']} x; before "
                f"{k['ratio_before_vs_off']} x; the floor bounds it at {f['ratio_bound']} x); "
                f"{k['staleness_violations']} answers past their bound; "
                f"{k['assembled_mismatches']} of {k['assembled']} assembled usage answers "
                "not as Opower's",
                f">= {k['target']:g} x; none past its bound; every assembled answer Opower's",
                k["met"],
            )
        )
    for k in (r for r in results if r["benchmark"] == "capacity_worst_day"):
        c = k["customers"]
        rows.append(
            (
                f"Capacity on the worst day, {k['profile']} customers, bills in read cycles: "
                "customers whose busiest day fits in 99,000 calls",
                f"{c['new']:,} with the cache, {c['before']:,} with the cache before #38, "
                f"{c['off']:,} without ({k['ratio_vs_off']} x; {k['ratio_vs_before']} x the "
                f"cache before); {k['staleness_violations']} answers past their bound",
                f">= {k['target']:g} x; none past its bound",
                k["met"],
            )
        )
    if "bill_day_overload" in by:
        k = by["bill_day_overload"]
        fc = k["first_come"]
        rows.append(
            (
                f"The bill day overloaded ({k['population_vs_fit']} x the customers that fit, "
                "every bill on one day)",
                f"logins served {k['logins_served']:.1%}, bill screens "
                f"{k['bill_screens_served']:.1%}, optional screens shed "
                f"{k['optional_shed']:.1%}, longest Retry-After {k['max_retry_after_s']:,} s "
                f"(first come, first served: logins {fc['logins_served']:.1%}, bill screens "
                f"{fc['bill_screens_served']:.1%}, optional shed {fc['optional_shed']:.1%})",
                "every login; >= 99 % of bill screens; optional shed first; Retry-After <= 3,600 s",
                k["met"],
            )
        )
    if "token_faults" in by:
        k = by["token_faults"]
        small, large = (f"token_requests_{n}" for n in k["fleets"])
        worst = max(k["scenarios"], key=lambda r: r[large] - r[small])
        rows.append(
            (
                "Token broker under faults",
                f"{len(k['scenarios'])} scenarios at {k['fleets'][0]} and {k['fleets'][1]} "
                f"processes; most growth: {worst['scenario']} {worst[small]} -> {worst[large]}",
                "3x the fleet: at most +2 token requests, every scenario",
                k["constant_in_every_scenario"],
            )
        )
    if "cost_per_million_requests" in by:
        k = by["cost_per_million_requests"]
        rows.append(
            (
                "Cost per million customer requests to Opower (defaults, cache off)",
                f"${k['total_per_million_usd']} ({k['prices_as_of']}; the Cost section)",
                "reported",
                True,
            )
        )
        rows.append(
            (
                "Idle cost a month (the synthesized stack at cdk.json's settings, list prices)",
                f"${k['idle_monthly_total_usd']:.2f}, and ${k['idle_per_company_usd']:.2f} for "
                "each further company",
                "reported",
                True,
            )
        )
    lines = ["| benchmark | measured | target | met |", "|---|---|---|---|"]
    lines += [f"| {n} | {m} | {g} | {'yes' if ok else 'NO'} |" for n, m, g, ok in rows]
    return "\n".join(lines)


def faults_section(results: list[dict[str, Any]]) -> str:
    from bench.token_faults import table as faults_table

    found = [r for r in results if r["benchmark"] == "token_faults"]
    if not found:
        return ""
    return f"""
## Token broker under faults

`make bench-faults`: fleets of {found[0]["fleets"][0]} and {found[0]["fleets"][1]} \
containers as separate processes running the proxy handler, one request every 2 s each,
20 s tokens; the scenarios are described in `bench/token_faults.py` and
[token-broker.md](token-broker.md#what-happens-in-each-fault-measured). Callers failed
= answers other than 200 (503 with Retry-After) over all requests of the scenario.

{faults_table(found[0])}
"""


def capacity_section(results: list[dict[str, Any]]) -> str:
    from bench.capacity import explain

    found = [r for r in results if r["benchmark"] == "capacity"]
    return explain(found) if found else ""


def bill_day_section(results: list[dict[str, Any]]) -> str:
    from bench.bill_day import explain

    found = [r for r in results if r["benchmark"] == "bill_day_overload"]
    return explain(found[0]) if found else ""


def capacity_month_section(results: list[dict[str, Any]]) -> str:
    from bench.capacity_month import explain

    found = [r for r in results if r["benchmark"] == "capacity_month"]
    return explain(found) if found else ""


def cold_start_section(results: list[dict[str, Any]]) -> str:
    found = {r["benchmark"]: r for r in results if r["benchmark"].startswith("cold_start_")}
    if not found:
        return ""
    rows = []
    for name, c in found.items():
        for key, label in (
            ("warm_bytecode", "warm fleet, with bytecode (shipped)"),
            ("warm_source", "warm fleet, without bytecode"),
            ("first_bytecode", "first container, with bytecode"),
            ("first_source", "first container, without bytecode"),
        ):
            v = c[key]
            rows.append(
                f"| {name.removeprefix('cold_start_')} | {label} | {v['init_ms']} | "
                f"{v['first_request_ms']} | {v['total_ms']} | {v['peak_rss_mb']} |"
            )
    any_row = next(iter(found.values()))
    asset = any_row["asset"]
    return f"""
## Cold start, as Lambda loads the function

`python -m bench.coldstart`: the asset built as the stack builds it (this machine's
wheels of the same pins), read-only, in fresh processes that see only the asset, the
runtime's boto3 and botocore and the standard library, no bytecode writing; median of
{any_row["runs"]} interleaved samples. The asset holds {asset["bytecode"]["pycs"]} pyc
files ({asset["bytecode"]["mb"]} MB; without them {asset["source"]["mb"]} MB). The floor
is a handler doing only the proxy's cold I/O (a secret, a DynamoDB get, a KMS decrypt,
one urllib3 call): {any_row["floor_total_ms"]} ms ({any_row["floor_init_ms"]} ms of it
init), peak RSS {any_row["floor_peak_rss_mb"]} MB.

| function | world | init ms | first request ms | total ms | peak RSS MB |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Lambda gives a function CPU in proportion to its memory (a full vCPU at 1,769 MB): at
the default 512 MB, about 0.29 vCPU, so the CPU-bound part of these figures (most of
init: loading code) stretches by up to 3.5x there, 7x at 256 MB, and 1.7x at 1,024 MB.
The functions' peak RSS (about 50-65 MB) would fit in 128 MB; 512 MB is the default
for CPU, not memory, and `lambda_memory_mb` changes it.
"""


def cost_section(results: list[dict[str, Any]]) -> str:
    found = [r for r in results if r["benchmark"] == "cost_per_million_requests"]
    if not found:
        return ""
    k = found[0]
    a, p, z = k["assumptions"], k["per_proxy_request"], k["per_authorizer_call"]
    items = "\n".join(f"| {name} | ${usd} |" for name, usd in k["per_million_usd"].items())
    fixed = "\n".join(f"| {name} | ${usd:.2f} |" for name, usd in k["idle_monthly_usd"].items())
    return f"""
## Cost

Per million customer requests at the default settings, with {k["prices_as_of"]}
(bench/cost.py holds each price; check them against the AWS Pricing Calculator for your
region). Measured in this run: the proxy's own time per request ({k["proxy_ms_p50"]} ms
p50), the authorizer's per invocation ({k["authorizer_ms_p50"]} ms), and the AWS calls
counted on the clients: per proxy request {p["dynamodb_reads"]} DynamoDB reads,
{p["dynamodb_writes"]} writes (the fleet and per-customer budgets; an upper bound, the
sandbox's few customers each make many requests), {p["kms"]} KMS calls,
{p["secretsmanager"]} Secrets Manager reads; per authorizer invocation for a customer new
to the container {z["dynamodb_reads"]} DynamoDB reads (the binding), {z["kms"]} KMS calls.
Assumed: Opower answers in {a["opower_ms"]:.0f} ms (billed as the proxy's duration),
{a["requests_per_session"]} requests per session so API Gateway's authorizer cache
answers {a["authorizer_cache_hit_rate"]:.0%} of them, one cold start per
{a["requests_per_cold_start"]} requests ({a["cold_total_ms"]} ms, init billed),
{a["log_bytes_per_request"]} bytes of logs per request, X-Ray sampling
{a["xray_sampled"]:.0%}; {a["memory_mb"]} MB arm64.

| per million requests | USD |
|---|---|
{items}
| **total** | **${k["total_per_million_usd"]}** |

The stack also costs **${k["idle_monthly_total_usd"]:.2f} a month before its first
request** (`python -m bench.cost --idle`: the template synthesized at cdk.json's
settings, each billed resource counted; CloudWatch's free tier left out, an account's
other alarms use it first), and **${k["idle_per_company_usd"]:.2f} a month for each further
company** of a group (its secret and alarms, from a group of three against one):

| idle, per month | USD |
|---|---|
{fixed}
| **total** | **${k["idle_monthly_total_usd"]:.2f}** |

Prices: {", ".join(f"[{name}]({page})" for name, page in k["idle_prices"].items())}.

API Gateway is almost half of it; the proxy's duration is mostly waiting for Opower. What
the gateway adds of its own (DynamoDB, KMS, its own milliseconds) is a few cents.

These figures are for requests that all go to Opower (the response cache off, every
other setting at its default, as the benchmarks of the forwarding path run). With the
cache (the default), a miss adds one read (eventually consistent, 0.5 RRU; a consistent
Query, 1 RRU, for the threshold and home profile) and one write of the compressed answer
to the cache table (1 to 3 WRU: about $0.70 to $1.90 per million misses); a hit costs one
read from the shared tier ($0.06 to $0.13 per million) or nothing from memory, and saves
the wait for Opower, about $1.67 per million hits of Lambda duration at the assumed
Opower latency.
"""


def report(results: list[dict[str, Any]]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    raw = "\n".join(json.dumps(r) for r in results)
    return f"""# Performance

Measured with `make bench` on {when}, on {machine()}. Everything runs on one machine
(the sandbox, moto server and the load generator share its CPUs with the gateway), so
absolute figures are pessimistic; the ratios and counts are what to compare.

{table(results)}
{capacity_section(results)}{capacity_month_section(results)}{bill_day_section(results)}\
{cold_start_section(results)}{cost_section(results)}\
{faults_section(results)}
What each benchmark does is in its module's docstring (`bench/`). Raw results (one JSON
line per benchmark):

```json
{raw}
```
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="write docs/performance.md")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument(
        "--no-faults", action="store_true", help="skip the fault benchmark (~11 minutes)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="every benchmark in its smallest configuration, its keys checked (make test)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="render the table (and with --write the report) from a run's JSON lines",
    )
    args = parser.parse_args(argv)
    if args.smoke and args.write:
        parser.error("--smoke results are not figures of record: no --write")
    out = sys.stdout

    def line(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    def progress(text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    faults = not args.no_faults
    if args.results:
        lines = args.results.read_text().splitlines()
        results = [json.loads(text) for text in lines if text.startswith('{"benchmark"')]
        for result in results:
            line(json.dumps(result))
    else:
        try:
            results = collect(
                smoke=args.smoke, requests=args.requests, containers=args.containers,
                faults=faults, progress=progress, emit=lambda r: line(json.dumps(r)),
            )  # fmt: skip
        except StepFailed as exc:
            progress(f"make bench: {exc}")
            return 1
    problems = missing_keys(results, faults=faults)
    if problems:
        progress(f"make bench: the results lack what the report shows: {'; '.join(problems)}")
        return 1
    line("\n" + table(results))
    text = report(results)  # rendered in every mode: a key it reads and lacks fails here
    if args.write:
        REPORT.write_text(text)
        line(f"\nwritten to {REPORT.relative_to(ROOT)}")
    run = next((r for r in results if r["benchmark"] == "bench_run"), None)
    if run:
        progress(f"make bench: {len(run['steps_s'])} steps in {run['total_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
