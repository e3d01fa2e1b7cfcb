"""The fault matrix: every upstream and AWS failure the gateway must absorb, as one table.

Each row sets up one failure (sandbox switches, an AWS outage, a secret rotation), sends
one or two customer requests, and asserts what the customer saw (status, error code,
Retry-After, time taken) and what Opower saw (token and data requests, counted by the
sandbox), which bounds every retry: no row may cause a retry storm.

Rows are independent: each starts from a reset sandbox and a warm gateway (authorizer
decision cached, a valid Opower token in the broker's memory), and its cleanup resets
the sandbox, clears AWS outages, restores the secret and waits out any fleet back-off.

The forwarding rows ask for the accounts, which the e2e stack does not cache; the cache
rows warm the response cache with another route first, and show what it answers while
Opower fails: a fresh answer with no call, a stale one (stale-if-error) with Age and
Cache-Status saying why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import E2E_CONFIG, RunningStack

pytestmark = pytest.mark.e2e

CUSTOMER = "UC-0001"
PATH = "/v1/me/accounts"  # upstream route `utility_accounts`
ROUTE = "utility_accounts"
ROTATED_SECRET = "e2e-rotated-client-secret-0001"
# The proxy's own deadline: its Lambda timeout minus the margin it keeps for answering.
PROXY_DEADLINE_S = E2E_CONFIG["proxy_timeout_s"] - 0.5
# A token this short-lived is due for refresh after 2.5 s and usable until 4.5 s.
SHORT_LIFETIME_S = 5
REFRESH_DUE_AFTER_S = 2.7
SLOW_S = 10  # longer than every deadline and than the token endpoint's read timeout (8 s)
FORECAST = "/v1/me/bill-forecast"  # cached for 1 s in the e2e stack (E2E_CONFIG)
NEIGHBORS = "/v1/me/neighbor-comparison"  # cached for its default 12 h
STALE_AFTER_S = 1.3  # the forecast warmed before the faults is stale by then


@dataclass(frozen=True)
class Expect:
    """One customer request and what it must produce."""

    status: int
    code: str | None = None  # the error envelope's code
    retry_after: bool = False  # a Retry-After header must be present (and only then)
    max_s: float = 2.0  # elapsed time bound, client side
    min_s: float = 0.0
    token_requests: tuple[int, int] = (0, 0)  # this request's token requests: min, max
    data_requests: int = 1  # this request's data requests (counted on arrival)
    pause_before_s: float = 0.0
    cache: str | None = None  # a parameter the answer's Cache-Status must carry


@dataclass(frozen=True)
class Row:
    name: str
    requests: tuple[Expect, ...]
    faults: dict[str, Any] = field(default_factory=dict)  # sandbox switches, after warming
    aws_unavailable: tuple[str, ...] = ()
    rotate_secret: bool = False
    short_lived_token: bool = False  # warm with a token that is due for refresh soon
    # The sandbox's answers per route and status over all the row's requests (exact);
    # None where a request is still held by the sandbox when the row ends.
    answered: dict[str, dict[str, int]] | None = None
    metric: str | None = None  # an EMF metric the stack must print during the row
    xfail: str | None = None
    path: str = PATH  # what the row's requests ask for
    warm_path: str | None = None  # asked once before the faults: in the response cache


def _ok(**overrides: Any) -> Expect:
    return Expect(status=200, **overrides)


def _no_token(**overrides: Any) -> tuple[Expect, Expect]:
    """None cached: a 401 from Opower, a refresh that fails, then a request in the back-off."""
    first = Expect(
        status=503,
        code="upstream_unavailable",
        retry_after=True,
        max_s=PROXY_DEADLINE_S,
        token_requests=(1, 2),
        data_requests=1,
        **overrides,
    )
    during_backoff = Expect(
        status=503,
        code="upstream_unavailable",
        retry_after=True,
        max_s=1.0,
        token_requests=(0, 0),
        data_requests=0,
    )
    return first, during_backoff


def _cached_refresh_fails() -> tuple[Expect, Expect]:
    """A valid token due for refresh: the refresh fails, the valid token is served."""
    return (
        _ok(max_s=PROXY_DEADLINE_S, token_requests=(1, 2), pause_before_s=REFRESH_DUE_AFTER_S),
        _ok(max_s=1.0, token_requests=(0, 0)),  # the fleet backs off: no token request
    )


ROWS = [
    # -- the token endpoint fails while a valid token is cached: invisible -------------
    Row(
        name="token-down-fresh-token-cached",
        faults={"token_endpoint": "down"},
        requests=(_ok(), _ok()),
        answered={ROUTE: {"200": 2}},
    ),
    Row(
        name="token-down-cached-refresh-due",
        faults={"token_endpoint": "down"},
        short_lived_token=True,
        requests=_cached_refresh_fails(),
        # One or two attempts (the expectations bound them): whether a second fits the
        # refresh-ahead bound (half the 2.3 s of life left) with the least time a request
        # is given (1 s) depends on the jittered pause between them.
        answered=None,
    ),
    Row(
        name="token-malformed-cached-refresh-due",
        faults={"token_endpoint": "malformed"},
        short_lived_token=True,
        requests=_cached_refresh_fails(),
        answered=None,  # as above
    ),
    # A slow token endpoint costs the refreshing request at most the broker's refresh-ahead
    # bound (2 s, all attempts together); its answers come after the row (answered: None).
    Row(
        name="token-slow-cached-refresh-due",
        faults={"token_endpoint": "slow", "token_delay_s": SLOW_S},
        short_lived_token=True,
        requests=_cached_refresh_fails(),
    ),
    # -- ... and while none is: 503 with Retry-After, bounded, then a fleet back-off ---
    Row(
        name="token-down-none-cached",
        faults={"token_endpoint": "down", "revoke_tokens": True},
        requests=_no_token(),
        answered={ROUTE: {"401": 1}, "token": {"0": 2}},
    ),
    Row(
        name="token-malformed-none-cached",
        faults={"token_endpoint": "malformed", "revoke_tokens": True},
        requests=_no_token(),
        answered={ROUTE: {"401": 1}, "token": {"200": 2}},
    ),
    Row(
        name="token-5xx-none-cached",
        faults={"token_endpoint": "5xx", "revoke_tokens": True},
        requests=_no_token(),
        answered={ROUTE: {"401": 1}, "token": {"503": 2}},
    ),
    # With none cached, the token requests stay within the request's deadline: 503 in time.
    Row(
        name="token-slow-none-cached",
        faults={"token_endpoint": "slow", "token_delay_s": SLOW_S, "revoke_tokens": True},
        requests=_no_token(),
    ),
    # -- the data endpoints fail -------------------------------------------------------
    Row(
        name="data-5xx",
        faults={"data_endpoints": "5xx"},
        requests=(Expect(502, "upstream_error", max_s=PROXY_DEADLINE_S, data_requests=3),),
        answered={ROUTE: {"503": 3}},
    ),
    Row(
        name="data-slow",
        faults={"data_endpoints": "slow", "data_delay_s": SLOW_S},
        requests=(
            Expect(
                504,
                "upstream_timeout",
                min_s=PROXY_DEADLINE_S - 0.6,
                max_s=E2E_CONFIG["proxy_timeout_s"],
            ),
        ),
    ),
    Row(
        name="data-hanging",
        faults={"data_endpoints": "hanging"},
        requests=(
            Expect(
                504,
                "upstream_timeout",
                min_s=PROXY_DEADLINE_S - 0.6,
                max_s=E2E_CONFIG["proxy_timeout_s"],
            ),
        ),
    ),
    Row(
        name="data-429",
        faults={"data_endpoints": "429", "retry_after_s": 1},
        requests=(
            Expect(
                429,
                "upstream_throttled",
                retry_after=True,
                min_s=1.9,  # Retry-After: 1 honoured between the 3 attempts
                max_s=PROXY_DEADLINE_S,
                data_requests=3,
            ),
        ),
        answered={ROUTE: {"429": 3}},
    ),
    Row(
        name="data-401-twice",
        faults={"data_endpoints": "401"},
        requests=(Expect(502, "upstream_unauthorized", token_requests=(1, 1), data_requests=2),),
        answered={ROUTE: {"401": 2}, "token": {"200": 1}},
    ),
    # -- the gateway's credentials change ------------------------------------------------
    Row(
        name="every-token-revoked",
        faults={"revoke_tokens": True},
        requests=(_ok(token_requests=(1, 1), data_requests=2), _ok()),
        answered={ROUTE: {"401": 1, "200": 2}, "token": {"200": 1}},
    ),
    Row(
        name="client-secret-rotated",
        faults={"rotate_client_secret": ROTATED_SECRET, "revoke_tokens": True},
        rotate_secret=True,
        # the old secret is refused once (invalid_client), the re-read one accepted
        requests=(_ok(token_requests=(2, 2), data_requests=2), _ok()),
        answered={ROUTE: {"401": 1, "200": 2}, "token": {"401": 1, "200": 1}},
    ),
    # -- AWS fails ------------------------------------------------------------------------
    Row(
        name="dynamodb-unavailable",
        aws_unavailable=("dynamodb",),
        # A refresh makes the broker touch its store: served from memory and direct fetch.
        faults={"revoke_tokens": True},
        requests=(_ok(token_requests=(1, 1), data_requests=2), _ok()),
        answered={ROUTE: {"401": 1, "200": 2}, "token": {"200": 1}},
        metric="TokenStoreDegraded",
    ),
    # -- the response cache while Opower fails ------------------------------------------
    Row(
        name="cache-fresh-data-5xx",
        warm_path=NEIGHBORS,
        path=NEIGHBORS,
        faults={"data_endpoints": "5xx"},
        requests=(_ok(data_requests=0, cache="hit"),),
        answered={},
    ),
    Row(
        name="cache-stale-data-5xx",
        warm_path=FORECAST,
        path=FORECAST,
        faults={"data_endpoints": "5xx"},
        requests=(
            _ok(
                data_requests=3,
                max_s=PROXY_DEADLINE_S,
                pause_before_s=STALE_AFTER_S,
                cache='detail="upstream-error"',
            ),
        ),
        answered={"bill_forecast": {"503": 3}},
        metric="CacheStale",
    ),
    Row(
        name="cache-stale-data-hanging",
        warm_path=FORECAST,
        path=FORECAST,
        faults={"data_endpoints": "hanging"},
        requests=(
            _ok(
                min_s=PROXY_DEADLINE_S - 0.6,
                max_s=E2E_CONFIG["proxy_timeout_s"],
                pause_before_s=STALE_AFTER_S,
                cache='detail="upstream-timeout"',
            ),
        ),
    ),
    Row(
        name="cache-stale-data-429",
        warm_path=FORECAST,
        path=FORECAST,
        faults={"data_endpoints": "429", "retry_after_s": 1},
        requests=(
            _ok(
                data_requests=3,
                min_s=1.9,
                max_s=PROXY_DEADLINE_S,
                pause_before_s=STALE_AFTER_S,
                cache='detail="upstream-throttled"',
            ),
        ),
        answered={"bill_forecast": {"429": 3}},
    ),
    Row(
        name="cache-stale-token-down-none-cached",
        warm_path=FORECAST,
        path=FORECAST,
        faults={"token_endpoint": "down", "revoke_tokens": True},
        requests=(
            _ok(
                max_s=PROXY_DEADLINE_S,
                token_requests=(1, 2),
                pause_before_s=STALE_AFTER_S,
                cache='detail="token-unavailable"',
            ),
            # the fleet backs off: no token request, no data request, still the stale answer
            _ok(max_s=1.0, data_requests=0, cache='detail="token-unavailable"'),
        ),
    ),
    Row(
        name="secretsmanager-unavailable-credentials-cached",
        aws_unavailable=("secretsmanager",),
        faults={"revoke_tokens": True},
        requests=(_ok(token_requests=(1, 1), data_requests=2), _ok()),
        answered={ROUTE: {"401": 1, "200": 2}, "token": {"200": 1}},
    ),
]


def _params() -> Iterator[Any]:
    for row in ROWS:
        marks = [pytest.mark.xfail(strict=True, reason=row.xfail)] if row.xfail else []
        yield pytest.param(row, id=row.name, marks=marks)


# -- helpers --------------------------------------------------------------------------------
def _secrets(stack: RunningStack) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=stack.summary["aws"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _aws_unavailable(stack: RunningStack, services: list[str]) -> None:
    response = stack.http.request(
        "POST", f"{stack.gateway}/_local/faults", json={"aws_unavailable": services}, timeout=10
    )
    assert response.status == 200, response.data
    assert response.json()["aws_unavailable"] == sorted(services)


def _stats(stack: RunningStack) -> dict[str, Any]:
    return dict(stack.sandbox_control("GET", "stats"))


def _answered_since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, int]]:
    delta: dict[str, dict[str, int]] = {}
    for route, by_status in after["requests"].items():
        for status, count in by_status.items():
            n = count - before["requests"].get(route, {}).get(status, 0)
            if n:
                delta.setdefault(route, {})[status] = n
    return delta


def _served(stack: RunningStack, *, within_s: float = 12.0) -> None:
    """Call until the gateway serves again (waiting out any fleet back-off)."""
    deadline = time.monotonic() + within_s
    while True:
        response = stack.call("GET", PATH, customer=CUSTOMER)
        if response.status == 200:
            return
        assert time.monotonic() < deadline, (response.status, response.data)
        time.sleep(min(1.0, float(response.headers.get("Retry-After", "0.5"))))


def _metric_printed(stack: RunningStack, since: int, name: str, *, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while True:
        for line in stack.output[since:]:
            if line.startswith("{") and '"_aws"' in line:
                document = json.loads(line)
                if document.get(name):
                    return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


@pytest.fixture
def original_secret(e2e: RunningStack) -> Iterator[str]:
    client = _secrets(e2e)
    value = str(client.get_secret_value(SecretId=e2e.summary["opower_secret"])["SecretString"])
    yield value
    if client.get_secret_value(SecretId=e2e.summary["opower_secret"])["SecretString"] != value:
        client.put_secret_value(SecretId=e2e.summary["opower_secret"], SecretString=value)


# -- the matrix ------------------------------------------------------------------------------
@pytest.mark.parametrize("row", list(_params()))
def test_fault_matrix(e2e: RunningStack, original_secret: str, row: Row) -> None:
    # Warm: authorizer decision cached, a valid token in the broker (the reset revoked
    # the previous one), optionally a short-lived one.
    if row.short_lived_token:
        e2e.sandbox_control("POST", "faults", {"token_lifetime_s": SHORT_LIFETIME_S})
    _served(e2e, within_s=5.0)
    if row.warm_path is not None:
        assert e2e.call("GET", row.warm_path, customer=CUSTOMER).status == 200
    warmed_at = time.monotonic()  # the warm token was issued before this
    try:
        if row.rotate_secret:
            secret = json.loads(original_secret)
            _secrets(e2e).put_secret_value(
                SecretId=e2e.summary["opower_secret"],
                SecretString=json.dumps({**secret, "client_secret": ROTATED_SECRET}),
            )
        if row.aws_unavailable:
            _aws_unavailable(e2e, list(row.aws_unavailable))
        if row.faults:
            e2e.sandbox_control("POST", "faults", row.faults)
        output_mark = len(e2e.output)
        first = _stats(e2e)
        for expect in row.requests:
            if expect.pause_before_s:
                time.sleep(max(0.0, warmed_at + expect.pause_before_s - time.monotonic()))
            before = _stats(e2e)
            started = time.monotonic()
            response = e2e.call("GET", row.path, customer=CUSTOMER)
            elapsed = time.monotonic() - started
            after = _stats(e2e)

            seen = (response.status, response.data[:300])
            assert response.status == expect.status, seen
            if expect.code is not None:
                assert response.json()["error"]["code"] == expect.code, seen
                assert response.json()["error"]["requestId"]
            if expect.retry_after:
                assert int(response.headers["Retry-After"]) >= 1
            else:
                assert "Retry-After" not in response.headers
            assert expect.min_s <= elapsed < expect.max_s, elapsed
            if expect.cache is not None:
                status = response.headers["Cache-Status"]
                assert expect.cache in status.split("; "), status
                assert int(response.headers["Age"]) >= 0
            token_requests = after["token_requests"] - before["token_requests"]
            low, high = expect.token_requests
            assert low <= token_requests <= high, after
            assert after["data_requests"] - before["data_requests"] == expect.data_requests
        if row.answered is not None:
            assert _answered_since(first, _stats(e2e)) == row.answered
        if row.metric is not None:
            assert _metric_printed(e2e, output_mark, row.metric)
    finally:
        _aws_unavailable(e2e, [])
        e2e.sandbox_control("POST", "reset")  # also releases slow and hanging requests
        if row.rotate_secret:
            _secrets(e2e).put_secret_value(
                SecretId=e2e.summary["opower_secret"], SecretString=original_secret
            )
        # Back to serving: any fleet back-off over, the original secret re-read.
        _served(e2e)
