"""Cold start as Lambda loads the function: from the built asset, init plus first request.

The asset is built as the stack builds it (infra.bundling: the code of ``lambdas/`` and
the pinned closure of requirements.lock), but with the wheels of this machine, so that it
runs here; then made read-only. Each sample is a fresh process that sees only what a
Lambda sandbox has: the asset, then the runtime's own packages (boto3, botocore and their
dependencies, compiled, as Lambda's python runtime ships them), the standard library; no
site-packages (``-S``) and no bytecode writing. It reports:

- init: importing the handler module and everything it does at module level;
- first request: the handler's first call;
- their sum, and the process's peak RSS;

for both functions, in two worlds: a new container in a warm fleet (the Opower token and
the customer's binding already in DynamoDB) and the very first container (nothing there:
a token fetch and, for the authorizer, the binding's lookups). Each asset is measured
twice in the same run: without bytecode (compiled on every cold start, what the asset
shipped before) and with bytecode compiled beforehand (what the stack now ships, compiled
for the runtime's Python by infra/compile_bytecode.mjs; here compiled for this Python).

The floor, loaded the same way in the same run: a minimal handler that does the I/O of
the proxy's cold first request and nothing else (one Secrets Manager read, one DynamoDB
get, one KMS decrypt, one HTTP call with urllib3). Target: each function's cold total,
with bytecode, in a warm fleet, at most 1.3 x the floor's. Samples interleave the
variants (a busy machine slows all alike) and the median is reported.
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import re
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.environment import ChildFailed, World, child_environment, embedded_world

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3
# What Lambda's Python runtime provides beside the function: boto3 and its dependencies.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py", "jmespath", "urllib3")

_CHILD = """
import json, sys, time
started = time.perf_counter()
import {module} as handler_module
initialized = time.perf_counter()

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

def peak_rss_mb():
    # VmHWM: this process's own high-water mark (ru_maxrss keeps the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0

print(json.dumps({{"init_ms": (initialized - started) * 1000,
                  "first_request_ms": (done - before) * 1000,
                  "peak_rss_mb": peak_rss_mb(),
                  "outcome": outcome}}))
"""

_FLOOR = '''"""The I/O of the proxy's cold first request, and nothing else."""
import os

import boto3
import urllib3

_secrets = boto3.client("secretsmanager")
_dynamodb = boto3.client("dynamodb")
_kms = boto3.client("kms")
_http = urllib3.PoolManager()


def handler(event, context):
    _secrets.get_secret_value(SecretId=os.environ["FLOOR_SECRET"])
    _dynamodb.get_item(TableName=os.environ["FLOOR_TABLE"], Key={"pk": {"S": "floor"}})
    _kms.decrypt(CiphertextBlob=bytes.fromhex(os.environ["FLOOR_CIPHERTEXT"]))
    _http.request("GET", os.environ["FLOOR_URL"])
    return {"statusCode": 200}
'''


def _pins() -> list[str]:
    """name==version of every package of the lock (its hashes are for Lambda's platform)."""
    lock = (ROOT / "lambdas" / "requirements.lock").read_text()
    return re.findall(r"^([A-Za-z0-9_.\-]+==[^\s\\]+)", lock, flags=re.MULTILINE)


def _compile(directory: Path) -> int:
    compileall.compile_dir(
        str(directory),
        quiet=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    return sum(1 for _ in directory.rglob("*.pyc"))


def _read_only(directory: Path) -> None:
    for path in [directory, *directory.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable(directory: Path) -> None:
    for path in [directory, *directory.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def build_asset(target: Path, *, bytecode: bool) -> dict[str, Any]:
    from infra.bundling import ASSET_EXCLUDES, LAMBDA_ROOT

    shutil.copytree(LAMBDA_ROOT, target, ignore=shutil.ignore_patterns(*ASSET_EXCLUDES))
    pip = subprocess.run(  # noqa: S603 - this interpreter's pip, the lock's pins
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "--no-deps", "--only-binary=:all:", "--target", str(target),
         *_pins()],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if pip.returncode:
        raise ChildFailed(f"pip could not build the asset's packages (exit {pip.returncode})",
                          pip.stderr)  # fmt: skip
    pycs = _compile(target) if bytecode else 0
    _read_only(target)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    return {"pycs": pycs, "mb": round(size / 1e6, 1)}


def _runtime(target: Path) -> Path:
    """Lambda's runtime packages: this environment's boto3 and its dependencies, compiled."""
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    target.mkdir()
    for name in RUNTIME_PACKAGES:
        (target / name).symlink_to(site / name)
    return target


@contextmanager
def _workspace() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="coldstart-"))
    try:
        yield root
    finally:
        _writable(root)
        shutil.rmtree(root, ignore_errors=True)


def _child(module: str, event: dict[str, Any], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-S", "-c", _CHILD.format(module=module)],
        input=json.dumps(event), capture_output=True, text=True, env=env, cwd=cwd,
        timeout=60, check=False,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    if result.returncode or not lines or not lines[-1].startswith("{"):
        raise ChildFailed(
            f"a cold {module} (in {cwd.name}) exited {result.returncode} without its timings",
            result.stderr,
        )
    return dict(json.loads(lines[-1]))


def _empty(world: World) -> None:
    """The very first container: nothing in the table."""
    import boto3

    table = world.environment["TABLE_NAME"]
    dynamodb = boto3.client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=table, Key={"pk": item["pk"]})


def run(runs: int = 7) -> list[dict[str, Any]]:
    from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event

    with _workspace() as root, embedded_world() as world:
        import boto3

        from handlers.authorizer import handler as authorizer

        assets = {
            "source": build_asset(root / "asset-source", bytecode=False),
            "bytecode": build_asset(root / "asset-bytecode", bytecode=True),
        }
        runtime = _runtime(root / "runtime")
        floor = root / "floor"
        floor.mkdir()
        (floor / "floor_handler.py").write_text(_FLOOR)
        _compile(floor)
        _read_only(floor)

        token = world.idp.mint("UC-0001", ["4100000001", "4100000002"])
        context = api_gateway_context(authorizer(authorizer_event(token), LambdaContext()))
        key = world.environment["KMS_KEY_ID"]
        ciphertext = boto3.client("kms").encrypt(KeyId=key, Plaintext=b"x" * 40)
        # A Lambda's environment: the function's settings, none of this process's Python's.
        base = {
            k: v
            for k, v in child_environment().items()
            if not k.startswith(("PYTHON", "VIRTUAL_ENV"))
        }
        base.update(
            world.environment,
            PYTHONDONTWRITEBYTECODE="1",
            POWERTOOLS_LOG_LEVEL="WARNING",
            FLOOR_SECRET=world.environment["OPOWER_SECRET_ID"],
            FLOOR_TABLE=world.environment["TABLE_NAME"],
            FLOOR_CIPHERTEXT=ciphertext["CiphertextBlob"].hex(),
            FLOOR_URL=f"{world.sandbox.base_url}/_sandbox/stats",
        )
        events = {
            "proxy": ("handlers.proxy", proxy_event("GET", "/v1/me/accounts", authorizer=context)),
            "authorizer": ("handlers.authorizer", authorizer_event(token)),
        }
        # the warm fleet's state, kept to restore after each "first container" sample
        samples: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for _ in range(runs):
            env = {**base, "PYTHONPATH": f"{floor}{os.pathsep}{runtime}"}
            samples.setdefault(("floor", "warm", "bytecode"), []).append(
                _child("floor_handler", {}, env, floor)
            )
            for fleet in ("warm", "first"):
                for name, (module, event) in events.items():
                    for variant in assets:
                        asset = root / f"asset-{variant}"
                        if fleet == "first":
                            _empty(world)
                        else:
                            _warm(world, authorizer, token)
                        env = {**base, "PYTHONPATH": f"{asset}{os.pathsep}{runtime}"}
                        samples.setdefault((name, fleet, variant), []).append(
                            _child(module, event, env, asset)
                        )
        return _results(samples, assets, runs)


def _warm(world: World, authorizer: Any, token: str) -> None:
    """A warm fleet: the token and this customer's binding in DynamoDB (an in-process
    authorizer call puts back whatever an earlier "first container" sample removed)."""
    from tests.events import LambdaContext, authorizer_event

    authorizer(authorizer_event(token), LambdaContext())


def _median(values: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(float(v[key]) for v in values), 1)


def _results(
    samples: dict[tuple[str, str, str], list[dict[str, Any]]],
    assets: dict[str, dict[str, Any]],
    runs: int,
) -> list[dict[str, Any]]:
    floor = samples[("floor", "warm", "bytecode")]
    floor_total = _median([{"t": s["init_ms"] + s["first_request_ms"]} for s in floor], "t")
    results = []
    for name in ("proxy", "authorizer"):
        row: dict[str, Any] = {
            "benchmark": f"cold_start_{name}",
            "runs": runs,
            "asset": {v: {"pycs": a["pycs"], "mb": a["mb"]} for v, a in assets.items()},
            "floor_total_ms": floor_total,
            "floor_init_ms": _median(floor, "init_ms"),
            "floor_peak_rss_mb": _median(floor, "peak_rss_mb"),
            "target": f"total (bytecode, warm fleet) <= {TARGET_RATIO} x floor",
        }
        for fleet in ("warm", "first"):
            for variant in assets:
                found = samples[(name, fleet, variant)]
                totals = [{"t": s["init_ms"] + s["first_request_ms"]} for s in found]
                row[f"{fleet}_{variant}"] = {
                    "init_ms": _median(found, "init_ms"),
                    "first_request_ms": _median(found, "first_request_ms"),
                    "total_ms": _median(totals, "t"),
                    "peak_rss_mb": _median(found, "peak_rss_mb"),
                    "outcomes": sorted({str(s["outcome"]) for s in found}),
                }
        total = row["warm_bytecode"]["total_ms"]
        row["ratio_vs_floor"] = round(total / floor_total, 2)
        row["met"] = row["ratio_vs_floor"] <= TARGET_RATIO
        results.append(row)
    return results


if __name__ == "__main__":
    for line in run():
        print(json.dumps(line))
