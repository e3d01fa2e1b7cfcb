"""Opower failing, slow, hanging, throttling or refusing the token: what the customer sees,
and how many calls reached Opower (no retry storms)."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from gateway import wiring
from gateway.auth.entry import AuthorizerUnavailable
from gateway.clock import SYSTEM_CLOCK
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from local.idp import DevIdentityProvider
from local.sandbox import OpowerSandbox
from tests.events import LambdaContext, authorizer_event, proxy_event
from tests.integration.proxy.conftest import Call, forwarded

pytestmark = pytest.mark.integration


def code(response: dict[str, Any]) -> str:
    return str(json.loads(response["body"])["error"]["code"])


def warm(call: Call) -> None:
    """Token, credentials and binding in place, so faults hit only the data call."""
    assert call("GET", "/v1/me/accounts")["statusCode"] == 200


def test_upstream_5xx_is_retried_then_502_without_upstream_details(
    call: Call, sandbox: OpowerSandbox
) -> None:
    warm(call)
    sandbox.set_faults(data_endpoints="5xx")

    response = call("GET", "/v1/me/bill-forecast")

    assert response["statusCode"] == 502
    assert code(response) == "upstream_error"
    assert "Opower" in response["body"]
    assert "serviceErrorCode" not in response["body"]
    assert len([r for r in forwarded(sandbox) if "bill_forecast" in r.path]) == 3


def test_a_transient_5xx_is_absorbed(call: Call, sandbox: OpowerSandbox) -> None:
    warm(call)
    sandbox.set_faults(data_endpoints="5xx", fault_count=1)

    assert call("GET", "/v1/me/bill-forecast")["statusCode"] == 200


def test_a_slow_upstream_gives_504_within_the_lambdas_deadline(
    call: Call, sandbox: OpowerSandbox
) -> None:
    warm(call)
    sandbox.set_faults(data_endpoints="slow", data_delay_s=30)
    started = time.monotonic()

    response = call("GET", "/v1/me/bill-forecast", timeout_s=3.0)

    assert response["statusCode"] == 504
    assert code(response) == "upstream_timeout"
    assert time.monotonic() - started < 3.0


def test_a_hanging_upstream_gives_504_within_the_deadline(
    call: Call, sandbox: OpowerSandbox
) -> None:
    warm(call)
    sandbox.set_faults(data_endpoints="hanging")
    started = time.monotonic()

    response = call("GET", "/v1/me/neighbor-comparison", timeout_s=2.5)

    assert response["statusCode"] == 504
    assert time.monotonic() - started < 2.5
    sandbox.set_faults(data_endpoints=None)


def test_upstream_429_is_retried_after_its_retry_after_then_passed_on(
    call: Call, sandbox: OpowerSandbox
) -> None:
    warm(call)
    sandbox.set_faults(data_endpoints="429", retry_after_s=1)
    started = time.monotonic()

    response = call("GET", "/v1/me/bill-forecast", timeout_s=10)

    assert response["statusCode"] == 429
    assert code(response) == "upstream_throttled"
    assert response["headers"]["Retry-After"] == "1"
    assert time.monotonic() - started >= 2.0  # two waits of Retry-After between 3 attempts
    assert len([r for r in forwarded(sandbox) if "bill_forecast" in r.path]) == 3


def test_retry_after_beyond_the_deadline_is_not_waited_for(
    call: Call, sandbox: OpowerSandbox
) -> None:
    warm(call)
    sandbox.set_faults(data_endpoints="429", retry_after_s=30)
    started = time.monotonic()

    response = call("GET", "/v1/me/bill-forecast", timeout_s=5)

    assert response["statusCode"] == 429
    assert time.monotonic() - started < 2
    assert len([r for r in forwarded(sandbox) if "bill_forecast" in r.path]) == 1


def test_revoked_token_is_replaced_and_the_request_replayed(
    call: Call, sandbox: OpowerSandbox
) -> None:
    warm(call)
    sandbox.set_faults(revoke_tokens=True)

    response = call("PUT", "/v1/me/threshold", body='{"threshold": 5, "percentage": 50}',
                    headers={"Content-Type": "application/json"})  # fmt: skip

    assert response["statusCode"] == 204
    assert sandbox.stats()["token_requests"] == 2


def test_a_second_401_is_502_and_no_loop(call: Call, sandbox: OpowerSandbox) -> None:
    warm(call)
    sandbox.set_faults(data_endpoints="401")

    response = call("GET", "/v1/me/bill-forecast")

    assert response["statusCode"] == 502
    assert code(response) == "upstream_unauthorized"
    assert len([r for r in forwarded(sandbox) if "bill_forecast" in r.path]) == 2


def new_container_call(context: dict[str, Any], path: str) -> dict[str, Any]:
    from handlers.proxy import handler
    from tests.events import LambdaContext, proxy_event

    wiring.reset()  # a new container: nothing in memory
    return handler(proxy_event("GET", path, authorizer=context), LambdaContext())  # type: ignore[arg-type]


def test_token_endpoint_down_is_invisible_while_the_shared_token_is_valid(
    sandbox: OpowerSandbox, session: Any
) -> None:
    context = session("UC-0001")  # the authorizer's container fetched and shared a token
    sandbox.set_faults(token_endpoint="down")

    response = new_container_call(context, "/v1/me/accounts")

    assert response["statusCode"] == 200
    assert sandbox.stats()["token_requests"] == 1


def test_token_endpoint_down_with_no_valid_token_is_503_with_retry_after(
    sandbox: OpowerSandbox, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A back-off long enough that the second container surely starts within it.
    monkeypatch.setenv("TOKEN_BACKOFF_BASE_S", "20")
    context = session("UC-0001")
    sandbox.set_faults(token_endpoint="5xx", revoke_tokens=True)

    response = new_container_call(context, "/v1/me/accounts")
    again = new_container_call(context, "/v1/me/accounts")

    assert response["statusCode"] == 503
    assert code(response) == "upstream_unavailable"
    assert int(response["headers"]["Retry-After"]) >= 1
    assert again["statusCode"] == 503
    # the first container tried twice; the second saw the fleet's back-off and did not
    assert sandbox.stats()["token_requests"] == 1 + 2


class _OneSecond:
    """A clock that stays in the middle of one second: however a loaded machine spreads
    the burst's threads, every call falls in the same second of the budget (a refused
    call still waits its real pause for the next second, up to the client's bound, and
    is shed)."""

    def __init__(self) -> None:
        self._at = float(int(time.time())) + 0.5

    def now(self) -> float:
        return self._at

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def test_budget_shedding_under_concurrent_load(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUDGET_PER_SECOND", "5")
    wiring.use_clock(_OneSecond())
    try:
        _burst(call, sandbox)
    finally:
        wiring.use_clock(SYSTEM_CLOCK)


def _burst(call: Call, sandbox: OpowerSandbox) -> None:
    warm(call)  # one call of the second's budget, and the lease, are taken

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: call("GET", "/v1/me/bill-forecast"), range(20)))

    statuses = [r["statusCode"] for r in responses]
    shed = [r for r in responses if r["statusCode"] == 429]
    assert set(statuses) <= {200, 429}
    assert shed
    assert all(r["headers"]["Retry-After"] == "1" for r in shed)
    assert all(code(r) == "too_many_requests" for r in shed)
    sent = [r for r in forwarded(sandbox) if "bill_forecast" in r.path]
    assert len(sent) == statuses.count(200)
    assert 1 <= len(sent) <= 5  # at most the one second's budget, less what warm took


def test_before_the_secret_is_filled_both_functions_answer_retryable_503s(
    gateway_env: RuntimeSettings,
    idp: DevIdentityProvider,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A new stack's secret exists without a value until `make fill-secret`.
    empty = f"opower/empty-{uuid.uuid4().hex[:6]}"
    boto3.client("secretsmanager").create_secret(Name=empty)
    monkeypatch.setenv("OPOWER_SECRET_ID", empty)
    wiring.reset()
    context = {
        "customerId": "1000001",
        "utilityCustomerId": "UC-0001",
        "accountIds": "2000001",
        "sessionExpiresAt": str(int(time.time()) + 600),
        "principalId": "p",
    }

    response = proxy_handler(
        proxy_event("GET", "/v1/me/accounts", authorizer=context),
        LambdaContext(),  # type: ignore[arg-type]
    )

    assert response["statusCode"] == 503
    assert code(response) == "credentials_unavailable"
    assert int(response["headers"]["Retry-After"]) >= 1
    assert "GatewayMisconfigured" in capsys.readouterr().out  # the alarm's metric
    # The authorizer cannot bind a new session: it raises (not "Unauthorized"), which API
    # Gateway answers with AUTHORIZER_CONFIGURATION_ERROR, 503 in the stack.
    with pytest.raises(AuthorizerUnavailable):
        authorizer_handler(
            authorizer_event(idp.mint("UC-0001", ["4100000001", "4100000002"])),
            LambdaContext(),  # type: ignore[arg-type]
        )
