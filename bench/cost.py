"""What a million customer requests cost at the default settings, from what this run
measures and AWS's list prices (us-east-1, written down with their date below).

Measured here, with the handlers in-process against the sandbox and moto server:
- the AWS calls each request causes, counted on the clients themselves (botocore's
  `before-call` events): DynamoDB reads and writes and KMS calls per proxy request in
  a warm container, and per authorizer invocation for a new session of a customer whose
  binding the fleet already holds;
- the handlers' own time per request (p50), to which Opower's answer time is added
  (an assumption: Opower is not here).

Assumed, and stated in the report: Opower answers in OPOWER_MS; API Gateway's
authorizer cache (`authorizer_cache_ttl_s`, 300 s) serves all but one request per
session, with REQUESTS_PER_SESSION requests per session; one cold start per
REQUESTS_PER_COLD_START requests (init is billed like duration); log bytes per request
from the lines the stack writes. The idle month (WAF web ACL and rules, KMS keys, secrets,
alarm metrics, the dashboard) is computed from the synthesized template apart: it does not
grow with requests; `python -m bench.cost --idle` prints it alone.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from typing import Any

from bench.environment import embedded_world

PRICES_AS_OF = "2026-11 (AWS list prices, us-east-1)"
PRICES = {
    "lambda_arm_gb_s": 0.0000133334,  # AWS Lambda pricing, Arm, first 7.5 billion GB-s
    "lambda_request": 0.20 / 1e6,
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand WRU (1 KB)
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand RRU (4 KB strongly consistent)
    "kms_request": 0.03 / 1e4,
    "waf_request": 0.60 / 1e6,
    "logs_ingested_gb": 0.50,  # CloudWatch Logs, standard class
    "xray_trace": 5.00 / 1e6,  # traces recorded, after the free tier
}
# What a deployed stack costs a month with no request at all, by resource type, and the
# pricing page each price is from. Every other resource of the template costs nothing
# while idle (Lambda, API Gateway, on-demand DynamoDB but for its storage, SNS, IAM, a
# layer, logs until written). CloudWatch's free tier (10 alarm metrics, 3 dashboards of
# up to 50 metrics) is left out: an account's other alarms use it first.
IDLE_PRICES: dict[str, tuple[float, str, str]] = {
    "AWS::WAFv2::WebACL": (5.00, "a web ACL", "https://aws.amazon.com/waf/pricing/"),
    "WAF rule": (1.00, "a rule of a web ACL", "https://aws.amazon.com/waf/pricing/"),
    "AWS::KMS::Key": (1.00, "a customer managed key", "https://aws.amazon.com/kms/pricing/"),
    "AWS::SecretsManager::Secret": (
        0.40, "a secret", "https://aws.amazon.com/secrets-manager/pricing/",
    ),
    "AWS::CloudWatch::Alarm": (
        0.10, "a standard-resolution alarm metric", "https://aws.amazon.com/cloudwatch/pricing/",
    ),
    "AWS::CloudWatch::Dashboard": (
        3.00, "a dashboard", "https://aws.amazon.com/cloudwatch/pricing/",
    ),
}  # fmt: skip
MEMORY_GB = 0.5  # lambda_memory_mb default, 512
OPOWER_MS = 250.0
REQUESTS_PER_SESSION = 5
REQUESTS_PER_COLD_START = 2000
LOG_BYTES_PER_REQUEST = 2400  # access log ~600, proxy request line ~700, EMF ~800, authorizer share
XRAY_SAMPLED = 0.05  # X-Ray's default rule: 1 request a second, then 5 %
CUSTOMERS = ("UC-0001", "UC-0002", "UC-0003", "UC-0005")
ACCOUNTS = {
    "UC-0001": ["4100000001", "4100000002"],
    "UC-0002": ["4100000003"],
    "UC-0003": ["4100000004"],
    "UC-0005": ["4100000004"],
}


class _CallCounter:
    """AWS calls by service and operation, from the clients' own events."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def attach(self) -> None:
        from gateway import aws_clients

        for client in (aws_clients.dynamodb(), aws_clients.kms(), aws_clients.secretsmanager()):
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def per(self, n: int, service: str, operations: tuple[str, ...] = ()) -> float:
        found = sum(
            count
            for name, count in self.calls.items()
            if name.startswith(f"{service}.")
            and (not operations or name.split(".", 1)[1] in operations)
        )
        return found / n


_READS = ("GetItem", "Query", "BatchGetItem")
_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def _measure(requests: int = 400) -> dict[str, Any]:
    from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event

    # The sandbox has a handful of customers, so each makes many requests here: their
    # per-customer limits are lifted, and the per-customer counts are shared every
    # `budget_customer_share_every` calls, an upper bound for real sessions of a few.
    with embedded_world(
        budget_per_second=19,
        budget_per_customer_per_minute=100_000,
        budget_per_customer_per_day=10_000_000,
    ) as world:
        from gateway import wiring
        from handlers.authorizer import handler as authorizer
        from handlers.proxy import handler as proxy

        contexts = {
            c: api_gateway_context(
                authorizer(authorizer_event(world.idp.mint(c, ACCOUNTS[c])), LambdaContext())
            )
            for c in CUSTOMERS
        }
        paths = ["/v1/me/accounts", "/v1/me/bill-forecast", "/v1/me/threshold"]
        for c in CUSTOMERS:  # warm: token, budget lease, clients
            proxy(proxy_event("GET", paths[0], authorizer=contexts[c]), LambdaContext())
        counter = _CallCounter()
        counter.attach()
        durations = []
        for i in range(requests):
            customer = CUSTOMERS[i % len(CUSTOMERS)]
            event = proxy_event("GET", paths[i % len(paths)], authorizer=contexts[customer])
            started = time.perf_counter()
            proxy(event, LambdaContext())
            durations.append((time.perf_counter() - started) * 1000)
            time.sleep(0.06)  # about 16 requests a second, under the fleet budget (19)
        proxy_calls = counter.calls.copy()
        per_proxy = {
            "dynamodb_reads": counter.per(requests, "dynamodb", _READS),
            "dynamodb_writes": counter.per(requests, "dynamodb", _WRITES),
            "kms": counter.per(requests, "kms"),
            "secretsmanager": counter.per(requests, "secretsmanager"),
        }
        # A new session of a customer this authorizer container has not seen (the fleet
        # has: the binding is in DynamoDB), the common case in a large fleet.
        wiring.reset()
        counter = _CallCounter()
        counter.attach()
        tokens = [world.idp.mint(c, ACCOUNTS[c]) for c in CUSTOMERS]
        sessions = len(tokens)
        auth_ms = []
        for token in tokens:
            started = time.perf_counter()
            authorizer(authorizer_event(token), LambdaContext())
            auth_ms.append((time.perf_counter() - started) * 1000)
        per_authorizer = {
            "dynamodb_reads": counter.per(sessions, "dynamodb", _READS),
            "dynamodb_writes": counter.per(sessions, "dynamodb", _WRITES),
            "kms": counter.per(sessions, "kms"),
        }
    return {
        "proxy_ms_p50": round(statistics.median(durations), 2),
        "authorizer_ms_p50": round(statistics.median(auth_ms), 2),
        "per_proxy_request": {k: round(v, 4) for k, v in per_proxy.items()},
        "per_authorizer_call": {k: round(v, 4) for k, v in per_authorizer.items()},
        "proxy_calls": dict(proxy_calls),
    }


def idle_cost(template: dict[str, Any]) -> dict[str, float]:
    """A month of the template's resources with no request, by line (USD, list prices)."""
    counts: Counter[str] = Counter()
    for resource in template.get("Resources", {}).values():
        kind, props = resource.get("Type", ""), resource.get("Properties", {})
        if kind == "AWS::WAFv2::WebACL":
            counts[kind] += 1
            counts["WAF rule"] += len(props.get("Rules", []))
        elif kind == "AWS::CloudWatch::Alarm":
            # a metric math alarm is billed for each metric it reads
            metrics = [m for m in props.get("Metrics", []) if "MetricStat" in m]
            counts[kind] += len(metrics) or 1
        elif kind in IDLE_PRICES:
            counts[kind] += 1
    return {
        f"{IDLE_PRICES[kind][1]} x {n}": round(n * IDLE_PRICES[kind][0], 2)
        for kind, n in sorted(counts.items())
    }


def _synthesized(gateway: dict[str, Any] | None) -> dict[str, Any]:
    """The stack's template as `make synth` makes it (bundling skipped: no asset is built)."""
    import tempfile
    from pathlib import Path

    from infra.app import create_app

    context: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
    if gateway is not None:
        context["gateway"] = gateway
    with tempfile.TemporaryDirectory() as outdir:
        app, stack = create_app(context=context, outdir=outdir)
        app.synth()
        return dict(json.loads((Path(outdir) / stack.template_file).read_text()))


def idle(companies: int = 3) -> dict[str, Any]:
    """The idle month of the stack at cdk.json's settings (one company, WAF on, no alarm
    e-mail), and what each further company adds (a group of ``companies`` against one)."""
    from infra.app import cdk_json_context

    base = cdk_json_context()["gateway"]
    single = idle_cost(_synthesized(None))
    group = {k: v for k, v in base.items() if k != "utility_code"}
    group["companies"] = [{"utility_code": f"C{i:02d}"} for i in range(companies)]
    grouped = idle_cost(_synthesized(group))
    per_company = (sum(grouped.values()) - sum(single.values())) / (companies - 1)
    return {
        "idle_monthly_usd": single,
        "idle_monthly_total_usd": round(sum(single.values()), 2),
        "idle_per_company_usd": round(per_company, 2),
        "idle_prices": {name: page for _, name, page in IDLE_PRICES.values()},
    }


def run(cold_total_ms: float = 500.0, requests: int = 400) -> dict[str, Any]:
    measured = _measure(requests)
    p, a = measured["per_proxy_request"], measured["per_authorizer_call"]
    authorizer_share = 1 / REQUESTS_PER_SESSION
    proxy_s = (measured["proxy_ms_p50"] + OPOWER_MS) / 1000
    authorizer_s = measured["authorizer_ms_p50"] / 1000
    cold_s = cold_total_ms / 1000 / REQUESTS_PER_COLD_START
    million = 1e6
    lines = {
        "API Gateway (REST)": PRICES["api_gateway_rest_request"],
        "Lambda proxy (requests + GB-s)": PRICES["lambda_request"]
        + MEMORY_GB * proxy_s * PRICES["lambda_arm_gb_s"],
        "Lambda authorizer (cache misses)": authorizer_share
        * (PRICES["lambda_request"] + MEMORY_GB * authorizer_s * PRICES["lambda_arm_gb_s"]),
        "Lambda cold starts (init billed)": MEMORY_GB * cold_s * PRICES["lambda_arm_gb_s"],
        "DynamoDB on-demand": (p["dynamodb_writes"] + authorizer_share * a["dynamodb_writes"])
        * PRICES["dynamodb_write_unit"]
        + (p["dynamodb_reads"] + authorizer_share * a["dynamodb_reads"])
        * PRICES["dynamodb_read_unit"],
        "KMS": (p["kms"] + authorizer_share * a["kms"]) * PRICES["kms_request"],
        "WAF (requests)": PRICES["waf_request"],
        "CloudWatch Logs": LOG_BYTES_PER_REQUEST / 1e9 * PRICES["logs_ingested_gb"],
        "X-Ray (sampled traces)": XRAY_SAMPLED * PRICES["xray_trace"],
    }
    per_million = {name: round(cost * million, 3) for name, cost in lines.items()}
    return {
        "benchmark": "cost_per_million_requests",
        "prices_as_of": PRICES_AS_OF,
        "assumptions": {
            "memory_mb": int(MEMORY_GB * 1024),
            "opower_ms": OPOWER_MS,
            "requests_per_session": REQUESTS_PER_SESSION,
            "authorizer_cache_hit_rate": round(1 - authorizer_share, 2),
            "requests_per_cold_start": REQUESTS_PER_COLD_START,
            "cold_total_ms": cold_total_ms,
            "log_bytes_per_request": LOG_BYTES_PER_REQUEST,
            "xray_sampled": XRAY_SAMPLED,
        },
        **{k: v for k, v in measured.items() if k != "proxy_calls"},
        "per_million_usd": per_million,
        "total_per_million_usd": round(sum(per_million.values()), 2),
        # fixed: what the stack costs a month before its first request
        **idle(),
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(idle() if "--idle" in sys.argv else run()))
