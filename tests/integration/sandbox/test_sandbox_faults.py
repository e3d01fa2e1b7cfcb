"""Fault switches: every misbehaviour the gateway must survive, and their release."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import urllib3
from urllib3.exceptions import ProtocolError

from local.sandbox import OpowerSandbox, SandboxConfig
from tests.integration.sandbox.sandbox_client import SandboxClient, U

pytestmark = pytest.mark.integration

ACCOUNTS = f"customer-data-v2/{U}/customers/1000002/utility_accounts"


class Background:
    """Runs one request on a thread and keeps its outcome (a response or an exception)."""

    def __init__(self, call: Callable[[], urllib3.BaseHTTPResponse]) -> None:
        self.outcome: urllib3.BaseHTTPResponse | Exception | None = None
        self._call = call
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        try:
            self.outcome = self._call()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            self.outcome = exc

    def join(self, timeout: float = 5.0) -> float:
        """Seconds from start until the request finished."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "request still pending"
        return time.monotonic() - self.started


@pytest.fixture
def pending(sandbox: OpowerSandbox) -> Iterator[list[Background]]:
    """Background requests of a test, released by a reset before the next test runs."""
    started: list[Background] = []
    yield started
    sandbox.reset()
    for request in started:
        request.join()


def test_token_endpoint_down_closes_the_connection(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    sandbox.set_faults(token_endpoint="down")

    with pytest.raises(ProtocolError):
        client.token_request()

    assert sandbox.stats()["requests"] == {"token": {"0": 1}}
    sandbox.set_faults(token_endpoint=None)
    assert client.token_request().status == 200


def test_token_endpoint_5xx(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    sandbox.set_faults(token_endpoint="5xx")

    response = client.token_request()

    assert response.status == 503
    assert response.json()["serviceErrorCode"] == "SERVICE_UNAVAILABLE"


def test_token_endpoint_malformed(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    sandbox.set_faults(token_endpoint="malformed")

    response = client.token_request()

    assert response.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.data)


def test_token_endpoint_slow(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    sandbox.set_faults(token_endpoint="slow", token_delay_s=0.3)
    started = time.monotonic()

    response = client.token_request()

    assert response.status == 200
    assert time.monotonic() - started >= 0.3


def test_a_hanging_token_endpoint_answers_nothing_until_the_switch_is_cleared(
    client: SandboxClient, sandbox: OpowerSandbox, pending: list[Background]
) -> None:
    sandbox.set_faults(token_endpoint="hanging")
    hanging = Background(client.token_request)
    pending.append(hanging)
    time.sleep(0.3)
    assert hanging.outcome is None

    sandbox.set_faults(token_endpoint=None)

    assert hanging.join() < 2
    assert isinstance(hanging.outcome, urllib3.BaseHTTPResponse)
    assert hanging.outcome.status == 200


def test_token_fault_count_fails_then_recovers(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    sandbox.set_faults(token_endpoint="5xx", fault_count=2)

    statuses = [client.token_request().status for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert sandbox.faults()["token_endpoint"] is None
    assert sandbox.faults()["fault_count"] is None


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("5xx", 503, "SERVICE_UNAVAILABLE"), ("401", 401, "UNAUTHORIZED"), ("429", 429, None)],
)
def test_data_endpoint_error_faults(
    client: SandboxClient,
    sandbox: OpowerSandbox,
    token: str,
    fault: str,
    status: int,
    code: str | None,
) -> None:
    sandbox.set_faults(data_endpoints=fault)

    response = client.get(ACCOUNTS, token)

    assert response.status == status
    assert response.json()["serviceErrorCode"] == (code or "TOO_MANY_REQUESTS")
    assert client.token_request().status == 200  # the token endpoint is not affected


def test_data_429_carries_the_configured_retry_after(
    client: SandboxClient, sandbox: OpowerSandbox, token: str
) -> None:
    sandbox.set_faults(data_endpoints="429", retry_after_s=7)

    response = client.get(ACCOUNTS, token)

    assert response.headers["Retry-After"] == "7"


def test_data_faults_apply_before_the_token_check(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    sandbox.set_faults(data_endpoints="5xx")

    assert client.api("GET", ACCOUNTS).status == 503


def test_data_fault_count_fails_twice_then_recovers(
    client: SandboxClient, sandbox: OpowerSandbox, token: str
) -> None:
    sandbox.set_faults(data_endpoints="5xx", fault_count=2)

    statuses = [client.get(ACCOUNTS, token).status for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert sandbox.stats()["requests"]["utility_accounts"] == {"200": 1, "503": 2}


def test_data_endpoint_slow(client: SandboxClient, sandbox: OpowerSandbox, token: str) -> None:
    sandbox.set_faults(data_endpoints="slow", data_delay_s=0.3)
    started = time.monotonic()

    response = client.get(ACCOUNTS, token)

    assert response.status == 200
    assert time.monotonic() - started >= 0.3


def test_hanging_request_answers_once_the_switch_is_cleared(
    client: SandboxClient, sandbox: OpowerSandbox, token: str, pending: list[Background]
) -> None:
    sandbox.set_faults(data_endpoints="hanging")
    hanging = Background(lambda: client.get(ACCOUNTS, token))
    pending.append(hanging)
    time.sleep(0.3)
    assert hanging.outcome is None

    sandbox.set_faults(data_endpoints=None)

    assert hanging.join() < 2
    assert isinstance(hanging.outcome, urllib3.BaseHTTPResponse)
    assert hanging.outcome.status == 200


def test_reset_releases_slow_requests_promptly(
    client: SandboxClient, sandbox: OpowerSandbox, pending: list[Background]
) -> None:
    sandbox.set_faults(token_endpoint="slow", token_delay_s=30)
    slow = Background(client.token_request)
    pending.append(slow)
    time.sleep(0.2)

    sandbox.reset()

    assert slow.join() < 2
    assert isinstance(slow.outcome, urllib3.BaseHTTPResponse)
    assert slow.outcome.status == 200


def test_stop_returns_promptly_with_a_hanging_request() -> None:
    sandbox = OpowerSandbox(SandboxConfig(port=0)).start()
    client = SandboxClient(sandbox.base_url)
    token = client.token()
    sandbox.set_faults(data_endpoints="hanging")
    hanging = Background(lambda: client.api("GET", ACCOUNTS, token=token, timeout=10))
    time.sleep(0.3)

    started = time.monotonic()
    sandbox.stop()

    assert time.monotonic() - started < 2
    hanging.join(2)
    assert isinstance(hanging.outcome, ProtocolError)  # closed without an answer
    with pytest.raises(RuntimeError):
        _ = sandbox.port


def test_invalid_switches_are_rejected_and_change_nothing(sandbox: OpowerSandbox) -> None:
    before = sandbox.faults()

    for switches in (
        {"token_endpoint": "sometimes"},
        {"data_endpoints": "hanging", "fault_count": 0},
        {"token_lifetime_s": "10"},
        {"reissue_same_token": 1},
        {"rotate_client_secret": ""},
        {"no_such_switch": True},
    ):
        with pytest.raises(ValueError, match=r"\w"):
            sandbox.set_faults(**switches)

    assert sandbox.faults() == before


def test_held_requests_are_counted_on_arrival_and_by_status_once_answered(
    client: SandboxClient, sandbox: OpowerSandbox, pending: list[Background]
) -> None:
    sandbox.set_faults(token_endpoint="slow", token_delay_s=30)
    pending.append(Background(client.token_request))
    time.sleep(0.2)

    stats = sandbox.stats()

    assert stats["token_requests"] == 1
    assert stats["requests"] == {}
