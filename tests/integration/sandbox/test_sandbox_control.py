"""Rate limits, statistics, the request log, concurrency and the control plane."""

from __future__ import annotations

import http.client
import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from local.sandbox import OpowerSandbox, SandboxConfig, fingerprint
from tests.integration.sandbox.sandbox_client import SandboxClient, U, basic

pytestmark = pytest.mark.integration

ACCOUNTS = f"customer-data-v2/{U}/customers/1000001/utility_accounts"


def start_of_next_second() -> None:
    """Sleep into a fresh second so a short burst stays within one rate window."""
    time.sleep(math.ceil(time.time()) - time.time() + 0.01)


def test_requests_beyond_the_per_second_rate_are_429(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    token = client.token()
    sandbox.set_limits(per_second=3)
    start_of_next_second()

    statuses = [client.token_request().status] + [
        client.get(ACCOUNTS, token).status for _ in range(3)
    ]
    refused = client.get(ACCOUNTS, token)

    assert statuses == [200, 200, 200, 429]
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["serviceErrorCode"] == "TOO_MANY_REQUESTS"
    time.sleep(1.0)
    assert client.get(ACCOUNTS, token).status == 200


def test_requests_beyond_the_daily_rate_are_429_until_midnight_utc(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    sandbox.set_limits(per_day=2)
    token = client.token()
    client.get(ACCOUNTS, token)

    refused = client.get(ACCOUNTS, token)

    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    assert refused.status == 429
    assert abs(int(refused.headers["Retry-After"]) - (midnight - now).total_seconds()) < 3


def test_reset_restores_the_configured_limits(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    sandbox.set_limits(per_second=1, per_day=1)
    client.token_request()

    sandbox.reset()

    configured = sandbox.config
    assert client.control("GET", "limits").json() == {
        "per_second": configured.rate_per_second,
        "per_day": configured.rate_per_day,
    }
    assert [client.token_request().status for _ in range(3)] == [200, 200, 200]


def test_stats_count_requests_by_route_and_status(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    token = client.token()
    client.token_request(authorization=basic(secret="wrong"))
    client.get(ACCOUNTS, token)
    client.get(f"customer-data-v2/{U}/customers/1000004/home_profile", token)
    client.api("GET", "no/such/service", token=token)
    client.control("GET", "customers")  # the control plane is not counted

    stats = client.control("GET", "stats").json()

    assert stats == {
        "requests": {
            "home_profile": {"404": 1},
            "token": {"200": 1, "401": 1},
            "unknown": {"404": 1},
            "utility_accounts": {"200": 1},
        },
        "token_requests": 2,
        "tokens_issued": 1,
        "tokens_valid": 1,
        "data_requests": 3,
        "sms_opt_in_started": 0,
        "sms_opt_in_awaiting": 0,
        # per utility (a refused client counts against the first)
        "utilities": {
            "UTX": {"token_requests": 2, "tokens_issued": 1},
            "UTY": {"token_requests": 0, "tokens_issued": 0},
        },
    }
    assert sandbox.stats() == stats


def test_concurrent_clients_all_succeed_and_are_counted_exactly(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    token = client.token()

    def ten_requests(_: int) -> list[int]:
        return [client.get(ACCOUNTS, token).status for _ in range(10)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = [s for batch in pool.map(ten_requests, range(20)) for s in batch]

    assert statuses == [200] * 200
    stats = sandbox.stats()
    assert stats["requests"] == {"token": {"200": 1}, "utility_accounts": {"200": 200}}
    assert stats["data_requests"] == 200


def test_received_log_fingerprints_authorization_and_keeps_no_secret(
    client: SandboxClient, sandbox: OpowerSandbox
) -> None:
    token = client.token()
    profile = {"customerId": 1000001, "squareFeet": 1200}
    client.api(
        "PUT", f"customer-data-v2/{U}/customers/1000001/home_profile", token=token,
        json_body=profile,
    )  # fmt: skip
    client.get(ACCOUNTS, token, view="full")

    token_entry, put_entry, get_entry = sandbox.received()

    assert token_entry.path == "/apis/authorization-v1/oauth2/token"
    assert token_entry.body == b""
    assert token_entry.headers["authorization"] == "Basic " + fingerprint(basic()[6:])
    assert token_entry.status == 200
    assert put_entry.method == "PUT"
    assert put_entry.status == 204
    assert put_entry.headers["authorization"] == "Bearer " + fingerprint(token)
    assert put_entry.body == b'{"customerId": 1000001, "squareFeet": 1200}'
    assert get_entry.path == f"/apis/{ACCOUNTS}"
    assert get_entry.query == {"view": ["full"]}
    assert "authorization" in get_entry.header_names
    assert fingerprint(token).startswith("sha256:")
    assert len(fingerprint(token)) == len("sha256:") + 16
    assert token not in repr(sandbox.received())
    assert sandbox.current_client_secret not in repr(sandbox.received())


def test_received_log_keeps_the_last_1000(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    for _ in range(1001):
        client.api("GET", "unknown/path")

    received = sandbox.received()

    assert len(received) == 1000
    assert sandbox.stats()["requests"]["unknown"] == {"401": 1001}


def test_control_plane_lists_the_customers(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    customers = client.control("GET", "customers").json()

    assert customers == sandbox.customers()
    keys = ("utilityCode", "customerId", "utilityCustomerId", "accountNumbers",
            "utilityAccountIds", "fuels")  # fmt: skip
    assert [tuple(c[k] for k in keys) for c in customers] == [
        ("UTX", 1000001, "UC-0001", ["4100000001", "4100000002"], [2000001, 2000002],
         ["ELECTRICITY"]),
        ("UTX", 1000002, "UC-0002", ["4100000003"], [2000003, 2000004], ["ELECTRICITY", "GAS"]),
        ("UTX", 1000003, "UC-0003", ["4100000004"], [2000005], ["ELECTRICITY"]),
        ("UTX", 1000004, "UC-0004", ["4100000005"], [], []),
        ("UTX", 1000005, "UC-0005", ["4100000004"], [2000006], ["ELECTRICITY"]),
        # the session sandbox serves a second operating company
        ("UTY", 3000001, "UC-0001", ["4100000001"], [4000001], ["ELECTRICITY"]),
        ("UTY", 3000002, "UC-2002", ["5200000002"], [4000002, 4000003], ["GAS", "ELECTRICITY"]),
    ]  # fmt: skip
    assert customers[0]["name"] == "Ada Lovelace"


def test_control_plane_faults_merge_and_reset(client: SandboxClient) -> None:
    first = client.control("POST", "faults", {"data_endpoints": "5xx"}).json()
    second = client.control("POST", "faults", {"omit_expires_in": True}).json()

    assert first["data_endpoints"] == "5xx"
    assert (second["data_endpoints"], second["omit_expires_in"]) == ("5xx", True)
    assert client.control("GET", "faults").json() == second
    assert client.control("POST", "reset").status == 204
    assert client.control("GET", "faults").json()["data_endpoints"] is None


@pytest.mark.parametrize(
    ("method", "name", "body", "status"),
    [
        ("POST", "faults", {"token_endpoint": "flaky"}, 400),
        ("POST", "faults", ["not", "an", "object"], 400),
        ("POST", "limits", {"per_second": 0}, 400),
        ("POST", "limits", {"per_minute": 5}, 400),
        ("POST", "limits", {"per_day": "5"}, 400),
        ("GET", "reset", None, 405),
        ("GET", "nothing-here", None, 404),
    ],
)
def test_control_plane_rejects_invalid_requests(
    client: SandboxClient, method: str, name: str, body: object, status: int
) -> None:
    response = client.control(method, name, body)

    assert response.status == status
    assert response.json()["httpStatus"] == status


def test_control_plane_limits(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    response = client.control("POST", "limits", {"per_second": 50})

    assert response.json() == {"per_second": 50, "per_day": sandbox.config.rate_per_day}


def test_paths_outside_apis_are_404(client: SandboxClient) -> None:
    response = client.request("GET", "/customer-data-v2/UTX/customers")

    assert response.status == 404
    assert response.json()["httpStatus"] == 404


def test_control_plane_can_be_disabled() -> None:
    with OpowerSandbox(SandboxConfig(port=0, control_plane=False)) as sandbox:
        client = SandboxClient(sandbox.base_url)

        assert client.control("GET", "stats").status == 404
        assert client.control("POST", "reset").status == 404
        assert client.token_request().status == 200


def test_control_plane_defaults_to_loopback_hosts_only() -> None:
    assert SandboxConfig().control_plane_enabled
    assert SandboxConfig(host="localhost").control_plane_enabled
    assert not SandboxConfig(host="0.0.0.0").control_plane_enabled
    assert not SandboxConfig(host="10.1.2.3").control_plane_enabled
    assert SandboxConfig(host="10.1.2.3", control_plane=True).control_plane_enabled


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [("Content-Length", "abc", 400), ("Transfer-Encoding", "chunked", 411)],
)
def test_unreadable_bodies_are_refused(
    sandbox: OpowerSandbox, header: str, value: str, status: int
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    connection.putrequest("POST", "/apis/authorization-v1/oauth2/token")
    connection.putheader(header, value)
    connection.endheaders()

    response = connection.getresponse()

    assert response.status == status
    assert response.getheader("Connection") == "close"
    connection.close()
