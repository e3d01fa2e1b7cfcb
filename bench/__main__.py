"""`make bench`: every benchmark, one JSON line each, then a readable table; with
``--write``, the results (with date and machine) go to docs/performance.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "performance.md"


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


def collect(requests: int, containers: int, faults: bool) -> list[dict[str, Any]]:
    from bench import coldstart, customer_limits, overhead, throughput, token_faults, tokens

    results = [overhead.run(requests=requests)]
    results += coldstart.run()
    fleet = tokens.run(containers=containers, lifetimes=3, token_lifetime_s=20, requests=3000)
    results.append({"benchmark": "fleet_tokens", **fleet})
    results.append(throughput.run())
    results.append(customer_limits.run())
    if faults:
        results.append(token_faults.run())
    return results


def table(results: list[dict[str, Any]]) -> str:
    by = {r["benchmark"]: r for r in results}
    o, p, a = by["warm_overhead"], by["cold_start_proxy"], by["cold_start_authorizer"]
    f, t = by["fleet_tokens"], by["local_stack_throughput"]
    rows = [
        ("Warm overhead (proxy vs direct)",
         f"added p50 {o['added_p50_ms']} ms, p99 {o['added_p99_ms']} ms, ratio {o['ratio']}",
         "p50 <= 1 ms, p99 <= 5 ms", o["added_p50_ms"] <= 1 and o["added_p99_ms"] <= 5),
        ("Cold start, proxy",
         f"import {p['import_ms']} ms ({p['import_ratio_vs_boto3']} x boto3 "
         f"{p['boto3_import_ms']} ms), first request {p['first_request_ms']} ms",
         "import <= 1.5 x boto3", p["import_ratio_vs_boto3"] <= 1.5),
        ("Cold start, authorizer",
         f"import {a['import_ms']} ms ({a['import_ratio_vs_boto3']} x boto3), "
         f"first request {a['first_request_ms']} ms",
         "import <= 1.5 x boto3", a["import_ratio_vs_boto3"] <= 1.5),
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


def report(results: list[dict[str, Any]]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    raw = "\n".join(json.dumps(r) for r in results)
    return f"""# Performance

Measured with `make bench` on {when}, on {machine()}. Everything runs on one machine
(the sandbox, moto server and the load generator share its CPUs with the gateway), so
absolute figures are pessimistic; the ratios and counts are what to compare.

{table(results)}
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
    args = parser.parse_args(argv)
    results = collect(args.requests, args.containers, faults=not args.no_faults)
    stdout = getattr(sys.stdout, "_stream", sys.stdout)  # past the EMF filter, if any
    for result in results:
        stdout.write(json.dumps(result) + "\n")
    stdout.write("\n" + table(results) + "\n")
    if args.write:
        REPORT.write_text(report(results))
        stdout.write(f"\nwritten to {REPORT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
