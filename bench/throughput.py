"""Throughput of the whole local stack (`make dev`'s program, in a subprocess) under
concurrent load from a generator on loopback, bounded in time and count.

Opower's limits are lifted for the run (sandbox limits and the fleet budget): this
measures the emulator and the handlers, not the budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import urllib3

from bench.environment import percentile

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["/v1/me/accounts", "/v1/me/bill-forecast", "/v1/me/home-profile", "/v1/me/threshold"]


def run(
    *, concurrency: int = 16, seconds: float = 10.0, max_requests: int = 20_000
) -> dict[str, Any]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        "GATEWAY_PORT": "0", "SANDBOX_PORT": "0", "IDP_PORT": "0", "AWS_PORT": "0",
        "GATEWAY_CONFIG": json.dumps({"budget_per_second": 100_000, "log_level": "WARNING",
                                      "budget_per_customer_per_minute": 10**6,
                                      "budget_per_customer_per_day": 10**9}),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT / 'lambdas'}{os.pathsep}{ROOT}",
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dev", "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        summary = next(json.loads(line) for line in process.stdout if line.startswith("{"))
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
        http = urllib3.PoolManager(maxsize=concurrency)
        http.request("POST", f"{summary['sandbox']}/_sandbox/limits",
                     json={"per_second": 10**6, "per_day": 10**9})  # fmt: skip
        tokens = [c["token"] for c in summary["customers"]]
        gateway = summary["gateway"]
        for token in tokens:  # bindings and authorizer decisions in place, as in steady state
            http.request("GET", f"{gateway}/v1/me/accounts",
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip

        latencies: list[float] = []
        errors: dict[str, int] = {}
        lock = threading.Lock()
        sent = 0
        deadline = time.monotonic() + seconds

        def worker(n: int) -> None:
            nonlocal sent
            i = n
            while time.monotonic() < deadline:
                with lock:
                    if sent >= max_requests:
                        return
                    sent += 1
                token = tokens[i % len(tokens)]
                started = time.perf_counter()
                try:
                    response = http.request(
                        "GET", gateway + PATHS[i % len(PATHS)],
                        headers={"Authorization": f"Bearer {token}"}, retries=False, timeout=30,
                    )  # fmt: skip
                    status = str(response.status)
                except urllib3.exceptions.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    # 404 is an answer here: a customer without a threshold gets one
                    if status not in {"200", "404"}:
                        errors[status] = errors.get(status, 0) + 1
                i += concurrency

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        duration = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=15)
    return {
        "benchmark": "local_stack_throughput",
        "concurrency": concurrency,
        "requests": len(latencies),
        "seconds": round(duration, 2),
        "requests_per_second": round(len(latencies) / duration, 1),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }


if __name__ == "__main__":
    print(json.dumps(run()))
