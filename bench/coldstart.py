"""Cold start: fresh Python processes import a handler module and serve one request, with
the Opower token (and, for the authorizer, the customer's binding) already in DynamoDB,
as for a new container of a warm fleet. Beside them, `import boto3` in a fresh process,
measured in the same run: the handlers' import should stay under 1.5 x that."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.environment import embedded_world

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys, time
started = time.perf_counter()
import {module} as handler_module
imported = time.perf_counter()

class Context:
    function_name = "cold"; memory_limit_in_mb = 512; aws_request_id = "cold-start"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:cold"
    def get_remaining_time_in_millis(self): return 10_000

event = json.loads(sys.stdin.read())
before = time.perf_counter()
try:
    answer = handler_module.handler(event, Context())
    outcome = answer.get("statusCode") or answer["policyDocument"]["Statement"][0]["Effect"]
except Exception as exc:
    outcome = type(exc).__name__
done = time.perf_counter()
print(json.dumps({{"import_ms": (imported - started) * 1000,
                  "first_request_ms": (done - before) * 1000, "outcome": outcome}}))
"""

_BOTO3 = (
    "import time; t = time.perf_counter(); import boto3; print((time.perf_counter() - t) * 1000)"
)


def _child(module: str, event: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", _CHILD.format(module=module)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _boto3_ms(env: dict[str, str]) -> float:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _BOTO3], capture_output=True, text=True, env=env, check=True
    )
    return float(result.stdout.strip())


def run(runs: int = 7) -> list[dict[str, Any]]:
    from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event

    with embedded_world() as world:
        from handlers.authorizer import handler as authorizer

        token = world.idp.mint("UC-0001", ["4100000001", "4100000002"])
        # A warm container before us put the token and the binding into DynamoDB.
        context = api_gateway_context(authorizer(authorizer_event(token), LambdaContext()))
        env = {
            **os.environ,
            **world.environment,
            "PYTHONPATH": f"{ROOT / 'lambdas'}{os.pathsep}{ROOT}",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        events = {
            "handlers.proxy": proxy_event("GET", "/v1/me/accounts", authorizer=context),
            "handlers.authorizer": authorizer_event(token),
        }
        boto3 = [_boto3_ms(env) for _ in range(runs)]
        results = []
        for module, event in events.items():
            samples = [_child(module, event, env) for _ in range(runs)]
            outcomes = {s["outcome"] for s in samples}
            import_ms = statistics.median(s["import_ms"] for s in samples)
            boto3_ms = statistics.median(boto3)
            results.append(
                {
                    "benchmark": f"cold_start_{module.split('.')[-1]}",
                    "runs": runs,
                    "import_ms": round(import_ms, 1),
                    "first_request_ms": round(
                        statistics.median(s["first_request_ms"] for s in samples), 1
                    ),
                    "boto3_import_ms": round(boto3_ms, 1),
                    "import_ratio_vs_boto3": round(import_ms / boto3_ms, 3),
                    "outcomes": sorted(map(str, outcomes)),
                    "target": "import_ratio_vs_boto3 <= 1.5",
                }
            )
    return results


if __name__ == "__main__":
    for line in run():
        print(json.dumps(line))
