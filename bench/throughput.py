"""Throughput of the whole local stack (`make dev`'s program, in a subprocess) under
concurrent load from a generator on loopback, bounded in time and count.

Opower's limits are lifted for the run (sandbox limits and the fleet budget): this
measures the emulator and the handlers, not the budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

import urllib3

from bench.environment import ChildFailed, child_environment, percentile, spawn, stderr_tail

PATHS = ["/v1/me/accounts", "/v1/me/bill-forecast", "/v1/me/home-profile", "/v1/me/threshold"]


def run(
    *, concurrency: int = 16, seconds: float = 10.0, max_requests: int = 20_000
) -> dict[str, Any]:
    env = child_environment(
        GATEWAY_PORT="0", SANDBOX_PORT="0", IDP_PORT="0", AWS_PORT="0", PORTAL_PORT="0",
        GATEWAY_CONFIG=json.dumps({"budget_per_second": 100_000, "log_level": "WARNING",
                                   "budget_per_customer_per_minute": 10**6,
                                   "budget_per_customer_per_day": 10**9}),
        POWERTOOLS_LOG_LEVEL="WARNING",
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as state, \
            tempfile.TemporaryFile() as stderr:  # fmt: skip
        env["LOCAL_STATE_DIR"] = state
        process = spawn([sys.executable, "-m", "local.dev", "--json"], env, stderr)
        try:
            return _load(process, stderr, concurrency=concurrency, seconds=seconds,
                         max_requests=max_requests)  # fmt: skip
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _summary(process: subprocess.Popen[str], stderr: IO[bytes]) -> dict[str, Any]:
    """`make dev --json`'s one-line summary (its first JSON line), or why there is none."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    code = process.wait(timeout=15)
    raise ChildFailed(
        f"`python -m local.dev --json` exited {code} before printing its summary",
        stderr_tail(stderr),
    )


def _load(
    process: subprocess.Popen[str],
    stderr: IO[bytes],
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
) -> dict[str, Any]:
    summary = _summary(process, stderr)
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
