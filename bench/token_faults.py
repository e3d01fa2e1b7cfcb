"""`make bench-faults`: the token broker under token-endpoint faults, with real processes.

A fleet of N containers is N OS processes, each running the real proxy handler
(``handlers.proxy``, wired from its environment exactly as in Lambda) against the Opower
sandbox (its token endpoint, with fault switches) and moto server (DynamoDB, KMS, Secrets
Manager). Each container serves a customer request about every ``1 / rate`` seconds
(jittered). Tokens live 20 s (the broker's margins scaled to that as to Opower's hour),
long enough that scheduling noise on a busy machine does not decide the verdict.

Each scenario starts from an empty fleet: one warm-up request per container (one token),
then a timeline of faults from the moment that token was issued (t = 0; refresh due at
t = 15, usable until t = 18, expired at t = 20):

* ``steady``: no fault;
* ``endpoint_5xx``: the token endpoint answers 503 from t = 12 to t = 30;
* ``endpoint_hanging``: it answers nothing (until each request's read timeout) from 12 to 30;
* ``endpoint_slow``: every answer takes 3 s (longer than the first refresh-ahead bound);
* ``reissue``: the endpoint re-issues the current token until it expires;
* ``dynamodb_paused``: DynamoDB answers nothing from t = 13 to t = 17, across the
  refresh point;
* ``holder_killed``: the token endpoint takes 6 s from t = 12; at t = 16 the process
  holding the refresh lease is killed (kill -9) mid-request.

Reported per scenario and fleet size: token requests during the scenario (the warm-up's
one excluded), and caller outcomes (non-200 answers). The verdict: for every scenario, the
larger fleet's token requests are at most the smaller fleet's plus 2: a constant, not a
multiple of the fleet.

Prints one JSON line per fleet size and a table; ``--help`` for the knobs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from bench.environment import World, embedded_world

TOKEN_LIFETIME_S = 20
REFRESH_DUE_S = 15
SMALL, LARGE = 10, 30
Action = Callable[["Fleet"], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_s: float
    timeline: tuple[tuple[float, Action], ...] = ()
    setup: dict[str, Any] = field(default_factory=dict)  # sandbox switches from the start


def _faults(**switches: Any) -> Action:
    def action(fleet: Fleet) -> None:
        fleet.world.sandbox.set_faults(**switches)

    return action


def _dynamodb_paused(paused: bool) -> Action:
    return lambda fleet: fleet.world.aws.set_paused(["dynamodb"] if paused else [])


def _kill_lease_holder(fleet: Fleet) -> None:
    fleet.kill_lease_holder()


SCENARIOS = (
    Scenario("steady", 45),
    Scenario(
        "endpoint_5xx",
        40,
        ((12, _faults(token_endpoint="5xx")), (30, _faults(token_endpoint=None))),
    ),
    Scenario(
        "endpoint_hanging",
        40,
        ((12, _faults(token_endpoint="hanging")), (30, _faults(token_endpoint=None))),
    ),
    Scenario("endpoint_slow", 40, setup={"token_endpoint": "slow", "token_delay_s": 3}),
    Scenario("reissue", 45, setup={"reissue_same_token": True}),
    Scenario("dynamodb_paused", 30, ((13, _dynamodb_paused(True)), (17, _dynamodb_paused(False)))),
    Scenario(
        "holder_killed",
        35,
        (
            (12, _faults(token_endpoint="slow", token_delay_s=6)),
            (16, _kill_lease_holder),
            (30, _faults(token_endpoint=None)),
        ),
    ),
)


# -- a container: one process running the proxy handler -------------------------------------
def _container(conn: multiprocessing.connection.Connection, environment: dict[str, str]) -> None:
    # The handlers print a JSON log record and an EMF line per request: not to the terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.update(environment)
    sys.path[:0] = [os.path.join(os.getcwd(), "lambdas")]
    from gateway import wiring
    from handlers import observability, proxy
    from local.emulator import LambdaContext

    def owner() -> str:
        return wiring.broker(observability.metrics).owner

    conn.send(("ready", owner()))
    while True:
        command, argument = conn.recv()
        if command == "stop":
            return
        if command == "reset":
            wiring.reset()
            conn.send(("owner", owner()))
        elif command == "serve":
            until, rate, seed, event = argument
            rng = random.Random(seed)
            outcomes: Counter[str] = Counter()
            time.sleep(rng.uniform(0, 1 / rate))  # the containers do not start in step
            while time.time() < until:
                answer = proxy.handler(event, LambdaContext("proxy", 25.0))
                outcomes[str(answer["statusCode"])] += 1
                time.sleep(max(0.0, min(until - time.time(), rng.expovariate(rate))))
            conn.send(("served", dict(outcomes)))


class Fleet:
    def __init__(self, world: World, size: int, rate: float) -> None:
        self.world = world
        self.size = size
        self.rate = rate
        context = multiprocessing.get_context("spawn")
        self._pipes: list[multiprocessing.connection.Connection] = []
        self._processes: list[Any] = []
        self._owners: dict[str, int] = {}
        self._killed: set[int] = set()
        for _ in range(size):
            ours, theirs = context.Pipe()
            process = context.Process(target=_container, args=(theirs, world.environment))
            process.start()
            self._pipes.append(ours)
            self._processes.append(process)
        for index, pipe in enumerate(self._pipes):
            _, owner = pipe.recv()
            self._owners[owner] = index

    def reset(self) -> None:
        self._owners.clear()
        for index, pipe in enumerate(self._pipes):
            if index in self._killed:
                continue
            pipe.send(("reset", None))
            _, owner = pipe.recv()
            self._owners[owner] = index

    def serve(self, until: float, event: dict[str, Any]) -> Counter[str]:
        alive = [i for i in range(self.size) if i not in self._killed]
        for index in alive:
            self._pipes[index].send(("serve", (until, self.rate, index, event)))
        total: Counter[str] = Counter()
        for index in alive:
            if index in self._killed:
                continue
            try:
                _, outcomes = self._pipes[index].recv()
            except EOFError:  # killed during the run
                continue
            total.update(outcomes)
        return total

    def kill_lease_holder(self) -> None:
        table = self.world.environment["TABLE_NAME"]
        items = boto3.client("dynamodb").scan(TableName=table)["Items"]
        for item in items:
            if item["pk"]["S"].startswith("lease#"):
                index = self._owners.get(item["owner"]["S"])
                if index is not None:
                    os.kill(self._processes[index].pid, signal.SIGKILL)
                    self._killed.add(index)
                    return

    def stop(self) -> None:
        for index, pipe in enumerate(self._pipes):
            if index not in self._killed:
                pipe.send(("stop", None))
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


def _event(world: World) -> dict[str, Any]:
    customer = world.sandbox.customers()[0]
    return {
        "resource": "/v1/me/accounts",
        "path": "/v1/me/accounts",
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {
            "requestId": "bench",
            "authorizer": {
                "customerId": str(customer["customerId"]),
                "utilityCustomerId": str(customer["utilityCustomerId"]),
                "accountIds": "",
                "sessionExpiresAt": str(int(time.time()) + 86_400),
                "customerHash": "bench",
            },
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _clear_shared_token(world: World) -> None:
    table = world.environment["TABLE_NAME"]
    client = boto3.client("dynamodb")
    for item in client.scan(TableName=table)["Items"]:
        if item["pk"]["S"].startswith(("tok#", "lease#")):
            client.delete_item(TableName=table, Key={"pk": item["pk"]})


def run_scenario(fleet: Fleet, scenario: Scenario, event: dict[str, Any]) -> dict[str, Any]:
    world = fleet.world
    world.sandbox.reset()
    world.aws.set_paused([])
    world.sandbox.set_faults(token_lifetime_s=TOKEN_LIFETIME_S)
    _clear_shared_token(world)
    fleet.reset()
    # Warm-up: every container serves once; the fleet holds one token from t = 0.
    fleet.serve(time.time() + 0.5, event)
    warm_tokens = int(world.sandbox.stats()["token_requests"])
    start = time.time()
    if scenario.setup:
        world.sandbox.set_faults(**scenario.setup)

    def timeline() -> None:
        for offset, action in scenario.timeline:
            time.sleep(max(0.0, start + offset - time.time()))
            action(fleet)

    driver = threading.Thread(target=timeline, daemon=True)
    driver.start()
    outcomes = fleet.serve(start + scenario.duration_s, event)
    driver.join(timeout=5)
    world.aws.set_paused([])
    token_requests = int(world.sandbox.stats()["token_requests"]) - warm_tokens
    requests = sum(outcomes.values())
    return {
        "scenario": scenario.name,
        "token_requests": token_requests,
        "requests": requests,
        "failed": requests - outcomes.get("200", 0),
        "statuses": dict(sorted(outcomes.items())),
    }


def run_fleet(size: int, rate: float, scenarios: tuple[Scenario, ...]) -> list[dict[str, Any]]:
    # The broker's margins scaled to 20 s tokens as they are to Opower's 3599 s.
    settings = {"token_refresh_min_s": REFRESH_DUE_S / 3, "budget_per_second": 10**6}
    with embedded_world(**settings) as world:
        fleet = Fleet(world, size, rate)
        try:
            event = _event(world)
            return [run_scenario(fleet, s, event) for s in scenarios]
        finally:
            fleet.stop()


def verdict(
    small: list[dict[str, Any]], large: list[dict[str, Any]], fleets: tuple[int, int]
) -> list[dict[str, Any]]:
    n, m = fleets
    rows = []
    for a, b in zip(small, large, strict=True):
        rows.append(
            {
                "scenario": a["scenario"],
                f"token_requests_{n}": a["token_requests"],
                f"token_requests_{m}": b["token_requests"],
                f"failed_{n}": f"{a['failed']}/{a['requests']}",
                f"failed_{m}": f"{b['failed']}/{b['requests']}",
                f"statuses_{n}": a["statuses"],
                f"statuses_{m}": b["statuses"],
                "constant": b["token_requests"] <= a["token_requests"] + 2,
            }
        )
    return rows


def run(
    *,
    rate: float = 0.5,
    only: str | None = None,
    fleets: tuple[int, int] = (SMALL, LARGE),
    scenarios: tuple[Scenario, ...] = SCENARIOS,
) -> dict[str, Any]:
    chosen = tuple(s for s in scenarios if only in (None, s.name))
    if not chosen:
        known = ", ".join(s.name for s in scenarios)
        raise ValueError(f"no scenario named {only!r} (known: {known})")
    small = run_fleet(fleets[0], rate, chosen)
    large = run_fleet(fleets[1], rate, chosen)
    rows = verdict(small, large, fleets)
    return {
        "benchmark": "token_faults",
        "fleets": list(fleets),
        "token_lifetime_s": TOKEN_LIFETIME_S,
        "rate_per_container": rate,
        "scenarios": rows,
        "constant_in_every_scenario": all(r["constant"] for r in rows),
    }


def smoke() -> dict[str, Any]:
    """The smallest run (the smoke test of `make bench`): two and three containers, a
    few seconds without a fault."""
    return run(rate=2.0, fleets=(2, 3), scenarios=(Scenario("steady", 3),))


def table(result: dict[str, Any]) -> str:
    n, m = result["fleets"]
    lines = [
        f"| scenario | token requests, {n} containers | token requests, {m} "
        f"| callers failed, {n} | callers failed, {m} | constant |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["scenarios"]:
        lines.append(
            f"| {row['scenario']} | {row[f'token_requests_{n}']} "
            f"| {row[f'token_requests_{m}']} | {row[f'failed_{n}']} "
            f"| {row[f'failed_{m}']} | {'yes' if row['constant'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=0.5, help="requests/s per container")
    parser.add_argument("--only", help="one scenario by name")
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = run(rate=args.rate, only=args.only)
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result), flush=True)
    print(table(result))
    ok = result["constant_in_every_scenario"]
    print(f"{'PASS' if ok else 'MISS'}: token requests do not grow with the fleet", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
