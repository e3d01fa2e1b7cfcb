"""Capacity: how many customers a day fit Opower's quota, with the response cache on and off.

A utility's day, simulated against the gateway's own code in process: the authorizer and
proxy (several warm containers of each, as Lambda spreads requests), the sandbox as Opower
(with a synthetic population of customers), DynamoDB on moto server. Time is simulated: a
clock the gateway reads (gateway.wiring's) walks through the day, request by request, so
lifetimes, stale windows and binding refreshes play out over 24 hours in a few minutes.
The simulated day ends at the real present, so that the session JWTs the dev identity
provider signs now are valid throughout.

The workload (``Workload``, all parameters printed with the results):

* each active customer opens the app once; ``return_p`` of them come back later the same
  day, and ``third_p`` of those once more, 1 to 6 hours apart; first visits follow a daily
  curve (``HOURLY``: a morning and an evening peak);
* a visit has a new session (API Gateway runs the authorizer once per session) and
  shows the home screen: accounts, the bill comparison of the first account, the bill
  forecast; then with ``usage_p`` the usage tab (usage by day, the last 30 whole days),
  with ``home_again_p`` the home screen again (an app refetches on return to a screen:
  the same customer asking twice), with ``neighbors_p`` the neighbor comparison, with
  ``threshold_p`` the threshold screen (GET, PUT a new threshold, GET again).

Reported per mode ("off": no response cache and the binding cached 15 minutes, as before
the cache; "on": the defaults): Opower calls per active customer per day (the binding's
share apart), the largest number of active customers a day that fits 99,000 calls
without a 429 (the day's budget, and the busiest second of the day's curve against 19/s),
and the customer-visible latency of the proxy for hits (memory tier, shared tier) and
misses. DynamoDB reads per shared-tier hit are counted at the client.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.environment import (
    CountingDynamoDb,
    SimulatedClock,
    clear_gateway_variables,
    restored,
)

DAY_S = 86_400
DAILY_BUDGET = 99_000
PER_SECOND_BUDGET = 19
# Before the response cache: none, and the binding cached 15 minutes (looked up again
# once expired: refreshing ahead needs refresh_after_s <= ttl_s).
OFF = {"CACHE_ENABLED": "false", "BINDING_TTL_S": "900", "BINDING_REFRESH_AFTER_S": "900"}
# Share of the day's first visits starting in each hour (UTC here; a utility's local day).
HOURLY = (1, 0.5, 0.5, 0.5, 0.5, 1, 3, 7, 8, 6, 5, 5, 5, 5, 5, 5, 6, 7, 8, 8, 7, 4, 2, 1)


@dataclass(frozen=True)
class Workload:
    customers: int = 600
    return_p: float = 0.35
    third_p: float = 0.15
    usage_p: float = 0.6
    home_again_p: float = 0.5
    neighbors_p: float = 0.3
    threshold_p: float = 0.05
    seed: int = 17


# Two ways customers use the app: "typical" (most open it once a day, a third come back)
# and "engaged" (they come back more, and every return to the home screen refetches it).
PROFILES = {
    "typical": Workload(),
    "engaged": Workload(return_p=0.7, third_p=0.5, home_again_p=1.0, usage_p=0.8),
}


class CountingMetrics:
    """A metrics sink per function: counts what the gateway reports (OpowerCall ...)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: dict[str, float] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        if name != "OpowerCallsToday":
            self.counts[name] = self.counts.get(name, 0) + value

    def __hash__(self) -> int:
        return hash(self.name)


@dataclass
class Request:
    at: float
    customer: int
    visit: int
    method: str
    path: str
    query: dict[str, list[str]] | None = None
    body: str | None = None


def plan(workload: Workload, day_start: float) -> list[Request]:
    """Every request of the day, in time order."""
    rng = random.Random(workload.seed)
    hours = rng.choices(range(24), weights=HOURLY, k=workload.customers)
    requests: list[Request] = []
    day_end = day_start + DAY_S
    visit_id = 0
    for customer, hour in enumerate(hours):
        at = day_start + hour * 3600 + rng.uniform(0, 3600)
        visits = [at]
        if rng.random() < workload.return_p:
            visits.append(visits[-1] + rng.uniform(3600, 6 * 3600))
            if rng.random() < workload.third_p:
                visits.append(visits[-1] + rng.uniform(3600, 6 * 3600))
        for start in (v for v in visits if v < day_end - 600):
            visit_id += 1
            requests += visit_requests(rng, workload, customer, visit_id, start)
    requests.sort(key=lambda r: r.at)
    return requests


def visit_requests(
    rng: random.Random, w: Workload, customer: int, visit: int, start: float
) -> list[Request]:
    """The screens of one visit starting at ``start`` (the module's docstring lists them)."""
    day = datetime.fromtimestamp(start, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {
        "start": [(day - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S-00:00")],
        "end": [day.strftime("%Y-%m-%dT%H:%M:%S-00:00")],
    }
    account = 2_100_000 + customer
    Step = tuple[str, str, dict[str, list[str]] | None, str | None]
    home: list[Step] = [
        ("GET", "/v1/me/accounts", None, None),
        ("GET", f"/v1/me/accounts/{account}/bill-comparison", None, None),
        ("GET", "/v1/me/bill-forecast", None, None),
    ]
    steps = list(home)
    if rng.random() < w.usage_p:
        steps.append(("GET", "/v1/me/usage/day/ELECTRICITY", window, None))
    if rng.random() < w.home_again_p:
        steps += home
    if rng.random() < w.neighbors_p:
        steps.append(("GET", "/v1/me/neighbor-comparison", None, None))
    if rng.random() < w.threshold_p:
        threshold = json.dumps({"threshold": rng.randint(50, 300), "percentage": 90})
        steps += [
            ("GET", "/v1/me/threshold", None, None),
            ("PUT", "/v1/me/threshold", None, threshold),
            ("GET", "/v1/me/threshold", None, None),
        ]
    # A screen every 5-40 s.
    at, out = start, []
    for method, path, query, sent in steps:
        out.append(Request(at, customer, visit, method, path, query, sent))
        at += rng.uniform(5, 40)
    return out


@dataclass
class Container:
    """One warm container of each function, as Lambda keeps several: its proxy and
    authorizer, their metrics, and the count of its cache's shared-tier reads."""

    proxy: Any
    proxy_metrics: CountingMetrics
    authorizer: Any
    auth_metrics: CountingMetrics
    cache_reads: CountingDynamoDb | None
    cache: Any  # the proxy's response cache (None with the cache off)


@dataclass
class Gateway:
    """The gateway's fleet on the simulated clock, with the identity provider whose
    sessions it trusts and the sandbox (Opower) it calls."""

    fleet: list[Container]
    idp: Any
    sandbox: Any
    clock: SimulatedClock

    def authorize(self, container: Container, token: str) -> dict[str, Any]:
        """A new session: the authorizer's decision as API Gateway passes it on."""
        from gateway.auth.entry import handle_event
        from tests.events import api_gateway_context, authorizer_event

        answer = handle_event(
            authorizer_event(token),
            remaining_ms=10_000,
            authorizer=container.authorizer,
            metrics=container.auth_metrics,
            clock=self.clock,
        )
        return api_gateway_context(answer)

    def ask(self, container: Container, request: Request, session: dict[str, Any]) -> Any:
        """One customer request through the proxy of ``container``."""
        from tests.events import proxy_event

        event = proxy_event(
            request.method,
            request.path,
            authorizer=session,
            query=request.query,
            body=request.body,
            headers={"Content-Type": "application/json"} if request.body else None,
        )
        return container.proxy.handle(event, remaining_ms=10_000)


@contextlib.contextmanager
def gateway(
    mode_settings: dict[str, str],
    *,
    population: int,
    clock: SimulatedClock,
    containers: int,
    sandbox_on_clock: bool = False,
    token_lifetime_s: int = 3599,
    restatements_pivot: date | None = None,
    billing: str = "calendar",
) -> Iterator[Gateway]:
    """A fresh sandbox (``population`` customers; answering as of ``clock`` with
    ``sandbox_on_clock``, else as of now; its tokens living ``token_lifetime_s``;
    restating what it answered around ``restatements_pivot`` when given), moto
    and tables, and ``containers`` warm containers built on ``clock`` with every setting
    at its default but ``mode_settings``; the environment and the gateway's clock
    restored after."""
    from gateway import wiring
    from local.aws import EmbeddedAws
    from local.idp import DevIdentityProvider
    from local.provision import create_cache_table, create_key, create_table, put_secret
    from local.sandbox import OpowerSandbox, SandboxConfig

    config = SandboxConfig(
        port=0, rate_per_second=10**6, rate_per_day=10**9, population=population,
        token_lifetime_s=token_lifetime_s,
        # Opower restating what it answered (local/sandbox/restatements): the month's
        restatements=restatements_pivot is not None,
        restatements_pivot=restatements_pivot.isoformat() if restatements_pivot else "",
        billing=billing,  # how bills post: calendar months, or read cycles
    )  # fmt: skip
    now = (lambda: datetime.fromtimestamp(clock.t, UTC)) if sandbox_on_clock else None
    with (
        restored(),
        OpowerSandbox(config, now=now) as sandbox,
        EmbeddedAws() as aws,
        DevIdentityProvider() as idp,
    ):
        os.environ.update(aws.environment())
        suffix = uuid.uuid4().hex[:6]
        table, cache_table = f"cap-{suffix}", f"cap-{suffix}-cache"
        create_table(table)
        create_cache_table(cache_table)
        secret = put_secret(
            f"cap/{suffix}",
            {"client_id": config.client_id, "client_secret": config.client_secret},
        )
        settings: dict[str, Any] = {
            "OPOWER_BASE_URL": sandbox.base_url,
            "UTILITY_CODE": config.utility_code,
            "OPOWER_SECRET_ID": secret,
            "TABLE_NAME": table,
            "KMS_KEY_ID": create_key("capacity"),
            "CACHE_TABLE_NAME": cache_table,
            "AUTH_ISSUER": idp.issuer,
            "AUTH_AUDIENCE": idp.audience,
            "AUTH_JWKS_URL": idp.jwks_url,
            # Opower's limits are what is computed, not enforced, here: every call of
            # the day is counted; the per-customer limits stay as deployed.
            "BUDGET_PER_SECOND": "1000000",
            "BUDGET_PER_DAY": "1000000000",
            "POWERTOOLS_METRICS_NAMESPACE": "Capacity",
            **mode_settings,
        }
        # Every other setting at its default, whatever the process's environment held.
        clear_gateway_variables(keep_aws=True)
        os.environ.update(settings)
        fleet = []
        for index in range(containers):
            wiring.use_clock(clock)  # forgets the edges built: a new container
            proxy_metrics, auth_metrics = (
                CountingMetrics(f"proxy{index}"),
                CountingMetrics(f"auth{index}"),
            )
            proxy = wiring.proxy(proxy_metrics)
            authorizer = wiring.authorizer(auth_metrics)
            counter = None
            cache = proxy._cache
            if cache is not None and cache._store is not None:
                # Its reads: GetItem, and the Query of a route that writes change.
                counter = CountingDynamoDb(cache._store._ddb(), "get_item", "query")
                cache._store._dynamodb = counter  # type: ignore[assignment]
            fleet.append(Container(proxy, proxy_metrics, authorizer, auth_metrics, counter, cache))
        yield Gateway(fleet, idp, sandbox, clock)


def simulate(mode: str, workload: Workload, containers: int) -> dict[str, Any]:
    """One day in one mode on a fresh sandbox, moto and tables."""
    from local.sandbox.data import population_customer

    day_end = time.time() - 60
    clock = SimulatedClock(day_end - DAY_S)
    requests = plan(workload, clock.t)
    with gateway(
        OFF if mode == "off" else {},
        population=workload.customers,
        clock=clock,
        containers=containers,
    ) as world:
        fleet = world.fleet
        rng = random.Random(workload.seed + 1)
        sessions: dict[int, dict[str, Any]] = {}
        statuses: Counter[int] = Counter()
        latency: dict[str, list[float]] = {"memory": [], "shared": [], "miss": []}
        gets_per_shared_hit: list[int] = []
        for request in requests:
            clock.t = request.at
            utility_customer_id, number = population_customer(request.customer)
            if request.visit not in sessions:
                sessions.clear()  # one visit at a time per customer is enough here
                token = world.idp.mint(utility_customer_id, [number], lifetime_s=3600)
                sessions[request.visit] = world.authorize(rng.choice(fleet), token)
            container = rng.choice(fleet)
            counter = container.cache_reads
            gets_before = counter.calls if counter else 0
            started = time.perf_counter()
            response = world.ask(container, request, sessions[request.visit])
            elapsed_ms = (time.perf_counter() - started) * 1000
            statuses[response["statusCode"]] += 1
            status = response["headers"].get("Cache-Status", "")
            if "; hit" in status and "detail" not in status:
                tier = "memory" if counter is None or counter.calls == gets_before else "shared"
                latency[tier].append(elapsed_ms)
                if tier == "shared" and counter is not None:
                    gets_per_shared_hit.append(counter.calls - gets_before)
            elif request.method == "GET":
                latency["miss"].append(elapsed_ms)
        proxy_calls = sum(c.proxy_metrics.counts.get("OpowerCall", 0) for c in fleet)
        binding_calls = sum(c.auth_metrics.counts.get("OpowerCall", 0) for c in fleet)
    visits = len({r.visit for r in requests})
    calls = proxy_calls + binding_calls
    per_customer = calls / workload.customers
    # The busiest second: the day's share of the busiest hour, spread over its seconds
    # (visits are a few minutes long, so an hour's calls spread; x3 for bursts within it).
    peak_hour_share = max(HOURLY) / sum(HOURLY)
    peak_rate_per_customer = per_customer * peak_hour_share / 3600 * 3
    return {
        "mode": mode,
        "customers": workload.customers,
        "visits": visits,
        "requests": len(requests),
        "answers": dict(sorted(statuses.items())),
        "opower_calls": int(calls),
        "binding_calls": int(binding_calls),
        "calls_per_customer": round(per_customer, 2),
        "binding_calls_per_customer": round(binding_calls / workload.customers, 2),
        "customers_per_day_by_day_budget": math.floor(DAILY_BUDGET / per_customer),
        "customers_per_day_by_peak_second": math.floor(PER_SECOND_BUDGET / peak_rate_per_customer),
        "latency_ms": {
            tier: {
                "n": len(values),
                "p50": round(statistics.median(values), 2) if values else None,
                "p99": round(_p99(values), 2) if values else None,
            }
            for tier, values in latency.items()
        },
        "dynamodb_gets_per_shared_hit": (
            round(statistics.mean(gets_per_shared_hit), 2) if gets_per_shared_hit else None
        ),
    }


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def run_profiles(customers: int = 200, containers: int = 4) -> list[dict[str, Any]]:
    """Both profiles (make bench): about 2 and 4 minutes."""
    with quiet():
        return [
            run(dataclasses.replace(workload, customers=customers), containers, profile=name)
            for name, workload in PROFILES.items()
        ]


def run(
    workload: Workload | None = None, containers: int = 4, *, profile: str = "custom"
) -> dict[str, Any]:
    workload = workload or Workload()
    modes = [simulate(mode, workload, containers) for mode in ("off", "on")]
    on = modes[1]
    if not (on["latency_ms"]["memory"]["n"] or on["latency_ms"]["shared"]["n"]):
        raise RuntimeError("the cache was on, yet nothing was a hit: the settings did not take")
    fits = {
        m["mode"]: min(m["customers_per_day_by_day_budget"], m["customers_per_day_by_peak_second"])
        for m in modes
    }
    ratio = fits["on"] / fits["off"]
    memory_p50 = on["latency_ms"]["memory"]["p50"]
    return {
        "benchmark": "capacity",
        "profile": profile,
        "workload": asdict(workload),
        "containers": containers,
        "modes": modes,
        "customers_per_day": fits,
        "ratio": round(ratio, 2),
        "memory_hit_p50_ms": memory_p50,
        "met": ratio >= 3
        and memory_p50 is not None
        and memory_p50 <= 1
        and (on["dynamodb_gets_per_shared_hit"] or 0) <= 1,
    }


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The handlers' log lines would drown the result."""
    import logging

    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=Workload.customers)
    parser.add_argument("--containers", type=int, default=4)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="typical")
    args = parser.parse_args()
    workload = dataclasses.replace(PROFILES[args.profile], customers=args.customers)
    with quiet():
        result = run(workload, containers=args.containers, profile=args.profile)
    print(json.dumps(result), flush=True)
    sys.stdout.write(table(result) + "\n")


def explain(results: list[dict[str, Any]]) -> str:
    """The capacity section of docs/performance.md."""
    blocks = []
    for result in results:
        w = result["workload"]
        blocks.append(
            f"**{result['profile']}** ({w['customers']} customers; a second visit "
            f"{w['return_p']:.0%}, a third {w['third_p']:.0%} of those; usage tab "
            f"{w['usage_p']:.0%}, home screen again {w['home_again_p']:.0%}, neighbors "
            f"{w['neighbors_p']:.0%}, a threshold change {w['threshold_p']:.0%} of visits):"
            f"\n\n{table(result)}\n"
        )
    return (
        "\n## Capacity: customers a day within Opower's quota\n\n"
        "`python -m bench.capacity`: a utility's day simulated against the gateway's code "
        "(bench/capacity.py says how), with the response cache off (and the binding "
        "cached 15 minutes, as before the cache) and on (the defaults). Customers per day "
        "= 99,000 / Opower calls per customer, checked against the busiest second of the "
        "day's curve at 19/s. Hit and miss latencies are the proxy's own time in process "
        "against moto and the sandbox on this machine (a shared-tier hit is one DynamoDB "
        "read: a GetItem, or for the threshold and home profile one consistent Query; a "
        "miss adds that read, the Opower call and the cache write).\n\n"
        + "\n".join(blocks)
        + "\nThe cache saves what customers ask again; the first time a customer asks for "
        "each answer in a day (and the binding, two calls a day) it cannot save. That "
        "floor, about 5 calls for a first visit, bounds the gain: the gain is the calls "
        "per customer without the cache divided by that floor.\n"
    )


def table(result: dict[str, Any]) -> str:
    lines = [
        "| mode | Opower calls per customer per day (binding) | customers per day in 99,000 "
        "calls | hit p50 ms memory / shared | miss p50 ms | answers |",
        "|---|---|---|---|---|---|",
    ]
    for m in result["modes"]:
        lat = {
            tier: v["p50"] if v["p50"] is not None else "-" for tier, v in m["latency_ms"].items()
        }
        answers = ", ".join(f"{n} x {status}" for status, n in m["answers"].items())
        lines.append(
            f"| cache {m['mode']} | {m['calls_per_customer']} "
            f"({m['binding_calls_per_customer']}) | "
            f"{result['customers_per_day'][m['mode']]:,} | "
            f"{lat['memory']} / {lat['shared']} | {lat['miss']} | {answers} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
