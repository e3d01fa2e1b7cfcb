"""Identical requests share one Opower call only within one budget pool.

The service API spends a pool of its own, carved out of each company's budget; customer
sessions spend the rest. Single flight (the response cache's collapsing of identical
requests in a container) must not cross them: a customer's request must not ride on a
service call (and so on the service's budget), nor receive the service pool's refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gateway import wiring
from gateway.settings import RuntimeSettings
from handlers.observability import metrics
from local.sandbox import OpowerSandbox
from tests.events import ACCOUNT, proxy_event, service_event
from tests.integration.proxy.conftest import CUSTOMERS

pytestmark = pytest.mark.integration


@pytest.fixture
def pooled(gateway_env: RuntimeSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service API on (its own pool), the response cache on (single flight)."""
    changed = dataclasses.replace(
        gateway_env,
        service_principals=(f"arn:aws:iam::{ACCOUNT}:role/high-bill-alerts",),
        cache_enabled=True,
    )
    for name, value in changed.to_env().items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    yield
    wiring.reset()


def _cache_status(answer: dict[str, Any]) -> str:
    return str(answer["headers"].get("Cache-Status", ""))


def test_identical_requests_collapse_within_a_pool_never_across(
    pooled: None, sandbox: OpowerSandbox, session: Any
) -> None:
    customer = session("UC-0001")
    by_session = proxy_event("GET", "/v1/me/bill-forecast", authorizer=customer)
    named = {"Opower-Utility-Customer-Id": "UC-0001",
             "Opower-Account-Number": CUSTOMERS["UC-0001"][0][0]}  # fmt: skip
    by_service = service_event("GET", "/v1/service/bill-forecast", headers=named)
    proxy = wiring.proxy(metrics)
    # Token and both bindings in place; then Opower slows, so that the requests overlap.
    priming = [
        proxy_event("GET", "/v1/me/accounts", authorizer=customer),
        service_event("GET", "/v1/service/accounts", headers=named),
    ]
    for event in priming:
        assert proxy.handle(event, remaining_ms=10_000)["statusCode"] == 200
    sandbox.set_faults(data_endpoints="slow", data_delay_s=0.6)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(lambda e: proxy.handle(e, remaining_ms=10_000), [by_session, by_service] * 3)
        )

    assert [a["statusCode"] for a in answers] == [200] * 6
    calls = [r for r in sandbox.received() if r.path.endswith("/bill_forecast")]
    # One call per pool, each spent from its own pool's budget; so a pool's refusal (its
    # 429 with Retry-After) can only ever reach that pool's requests.
    assert len(calls) == 2
    assert sum("collapsed" in _cache_status(a) for a in answers) == 4
    assert len({a["body"] for a in answers}) == 1
