from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.settings import RuntimeSettings
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from local.idp import DevIdentityProvider
from local.sandbox import OpowerSandbox, ReceivedRequest
from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event

Call = Callable[..., dict[str, Any]]


def forwarded(sandbox: OpowerSandbox) -> list[ReceivedRequest]:
    """What the proxy sent to Opower: not the token requests nor the authorizer's lookups."""
    return [
        r
        for r in sandbox.received()
        if not r.path.endswith(("/oauth2/token", "/customers"))
        and not (r.path.endswith("/utility_accounts") and r.headers.get("x-request-id") is None)
    ]


# (utilityCustomerId, account numbers, Opower id, utility-account ids) of the sandbox
CUSTOMERS = {
    "UC-0001": (["4100000001", "4100000002"], 1000001, [2000001, 2000002]),
    "UC-0002": (["4100000003"], 1000002, [2000003, 2000004]),
    "UC-0003": (["4100000004"], 1000003, [2000005]),
    "UC-0004": (["4100000005"], 1000004, []),
    "UC-0005": (["4100000004"], 1000005, [2000006]),
}


@pytest.fixture
def session(
    gateway_env: RuntimeSettings, idp: DevIdentityProvider
) -> Callable[[str], dict[str, Any]]:
    """The authorizer context API Gateway would pass for a customer's fresh session."""

    def context_for(customer: str) -> dict[str, Any]:
        accounts = CUSTOMERS[customer][0]
        answer = authorizer_handler(
            authorizer_event(idp.mint(customer, accounts)),
            LambdaContext(),  # type: ignore[arg-type]
        )
        return api_gateway_context(answer)

    return context_for


@pytest.fixture
def call(gateway_env: RuntimeSettings, session: Callable[[str], dict[str, Any]]) -> Call:
    """Invoke the proxy handler as API Gateway would, for a customer (or none)."""

    def invoke(
        method: str,
        path: str,
        *,
        customer: str | None = "UC-0001",
        timeout_s: float = 10.0,
        **options: Any,
    ) -> dict[str, Any]:
        authorizer = session(customer) if customer else None
        event = proxy_event(method, path, authorizer=authorizer, **options)
        return proxy_handler(event, LambdaContext(timeout_s=timeout_s))  # type: ignore[arg-type]

    return invoke
