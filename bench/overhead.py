"""Warm overhead: what the proxy adds to a call to Opower.

The same N requests (mixed routes) are sent in one run, alternating: (a) straight to the
sandbox with a valid Opower token, (b) through the proxy handler invoked in-process with
real API Gateway events (authorizer context from the real authorizer), so the HTTP
emulator is not counted. Added latency = (b) - (a), per percentile.
"""

from __future__ import annotations

import time
from typing import Any

import urllib3

from bench.environment import embedded_world, percentile

CUSTOMERS = [("UC-0001", ["4100000001", "4100000002"]), ("UC-0002", ["4100000003"])]


def run(requests: int = 2000) -> dict[str, Any]:
    from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event

    with embedded_world() as world:
        from handlers.authorizer import handler as authorizer
        from handlers.proxy import handler as proxy

        contexts = {
            customer: api_gateway_context(
                authorizer(authorizer_event(world.idp.mint(customer, accounts)), LambdaContext())
            )
            for customer, accounts in CUSTOMERS
        }
        u = world.sandbox.config.utility_code
        # (customer, gateway path, query, Opower path)
        week = {"start": ["2026-11-01T00:00:00-05:00"], "end": ["2026-11-08T00:00:00-05:00"]}
        customers = f"customer-data-v2/{u}/customers"
        mix = [
            ("UC-0001", "/v1/me/accounts", None, f"{customers}/1000001/utility_accounts"),
            ("UC-0001", "/v1/me/home-profile", None, f"{customers}/1000001/home_profile"),
            (
                "UC-0002",
                "/v1/me/bill-forecast",
                None,
                f"billforecast-v2/{u}/customers/1000002/bill_forecast",
            ),
            ("UC-0002", "/v1/me/usage/day/GAS", week, f"usage-v1/usage/day/{u}/UC-0002/GAS"),
            (
                "UC-0002",
                "/v1/me/accounts/2000004/bill-comparison",
                None,
                f"billComparison-v2/{u}/bill-comparison/accounts/2000004",
            ),
        ]
        pool = urllib3.PoolManager(maxsize=4)
        from gateway import wiring
        from handlers.observability import metrics

        token = wiring.opower_client(metrics)._broker.get_token().authorization

        def direct(entry: tuple[Any, ...]) -> float:
            _, _, query, upstream = entry
            fields = {k: v[0] for k, v in query.items()} if query else None
            started = time.perf_counter()
            response = pool.request(
                "GET",
                f"{world.sandbox.base_url}/apis/{upstream}",
                fields=fields,
                headers={"Authorization": token, "Accept": "application/json"},
            )
            elapsed = time.perf_counter() - started
            assert response.status == 200, response.status
            return elapsed

        def proxied(entry: tuple[Any, ...]) -> float:
            customer, path, query, _ = entry
            event = proxy_event("GET", path, authorizer=contexts[customer], query=query)
            started = time.perf_counter()
            response = proxy(event, LambdaContext(timeout_s=25))
            elapsed = time.perf_counter() - started
            assert response["statusCode"] == 200, response
            return elapsed

        for entry in mix * 20:  # warm both paths: connections, caches, code
            direct(entry)
            proxied(entry)
        a: list[float] = []
        b: list[float] = []
        for n in range(requests):
            entry = mix[n % len(mix)]
            if n % 2:
                b.append(proxied(entry))
                a.append(direct(entry))
            else:
                a.append(direct(entry))
                b.append(proxied(entry))
    ms = 1000.0
    direct_p50, direct_p99 = percentile(a, 50) * ms, percentile(a, 99) * ms
    proxy_p50, proxy_p99 = percentile(b, 50) * ms, percentile(b, 99) * ms
    return {
        "benchmark": "warm_overhead",
        "requests": requests,
        "direct_p50_ms": round(direct_p50, 3),
        "direct_p99_ms": round(direct_p99, 3),
        "proxy_p50_ms": round(proxy_p50, 3),
        "proxy_p99_ms": round(proxy_p99, 3),
        "added_p50_ms": round(proxy_p50 - direct_p50, 3),
        "added_p99_ms": round(proxy_p99 - direct_p99, 3),
        "ratio": round(proxy_p50 / direct_p50, 3),
        "target": "added_p50_ms <= 1 and added_p99_ms <= 5",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run()))
