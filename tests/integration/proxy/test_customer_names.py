"""No customer can be recognized in what the gateway writes: the outside review's
dictionary attack (hash every enumerable id as the gateway would without a key, look the
names up) finds nobody in the DynamoDB tables' keys or in the logs, once the customers'
names are keyed (gateway.customer_keys; the key is the stack's secret, and it is itself in
the session's leak scan, tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest

from gateway import wiring
from gateway.routes import ROUTES, upstream_path
from gateway.settings import RuntimeSettings
from local.sandbox import OpowerSandbox
from tests.conftest import AwsResources
from tests.integration.proxy.conftest import CUSTOMERS, Call

pytestmark = pytest.mark.integration


@pytest.fixture
def cached(gateway_env: RuntimeSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CACHE_ENABLED", "true")
    wiring.reset()
    yield
    wiring.reset()


_LENGTHS = (12, 16, 20, 32, 64)  # every length the gateway cuts a name to


def _unkeyed(parts: list[str], length: int) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()[:length]


def _paths(utility_code: str) -> list[str]:
    """Every upstream path the route templates make of the sample customers' ids: what the
    outside review hashed (440,000 paths for its population) to reverse the sort keys."""
    paths = []
    for route in ROUTES:
        for customer, (_, opower_id, account_ids) in CUSTOMERS.items():
            choices: list[list[tuple[str, str]]] = [
                [("U", utility_code), ("customerId", str(opower_id)),
                 ("utilityCustomerId", customer)]
            ]  # fmt: skip
            for name, param in route.path_params.items():
                values = {"enum": list(param.values), "bound_account": account_ids}.get(
                    param.kind, ["1"]
                )
                choices = [[*c, (name, str(v))] for c in choices for v in values]
            paths += [upstream_path(route, dict(c)) for c in choices]
    return paths


def _dictionary(utility_code: str) -> set[str]:
    """Every name an unkeyed gateway would give the sample customers, in each encoding it
    used or would use (customer, binding, cache partition, the request's hash of its path,
    the route's tag), at every length a name is cut to."""
    materials: list[list[str]] = [["route", route.name] for route in ROUTES]
    for customer, (numbers, opower_id, _) in CUSTOMERS.items():
        materials += [
            [utility_code, customer],
            ["customer", utility_code, customer],
            [utility_code, customer, numbers],  # type: ignore[list-item]
            ["bind", utility_code, customer, *numbers],
            ["cache", utility_code, str(opower_id), customer],
            ["cache", utility_code, customer],
        ]
    digests = {_unkeyed(parts, 64) for parts in materials}
    today = datetime.now(UTC).date().isoformat()
    for path in _paths(utility_code):
        for query in ([], [["asOf~today", today]], [["asOf~latest", ""]]):
            material = json.dumps([path, query], separators=(",", ":"))
            digests.add(hashlib.sha256(material.encode()).hexdigest())  # the old sort key's
            digests |= {_unkeyed(["request", "", r.name, material], 64) for r in ROUTES}
    return {name[:length] for name in digests for length in _LENGTHS}


# The words of the tables' keys that name a kind of item, never a customer.
KINDS = {"bind", "bindings", "forgotten", "claims", "budget", "cust", "day", "sec", "rate",
         "~svc", "designated", "tok", "lease", "c", "!"}  # fmt: skip
WINDOW = {"start": ["2026-10-01"], "end": ["2026-10-08"]}


def test_a_dictionary_of_the_customers_ids_finds_nobody(
    cached: None,
    call: Call,
    sandbox: OpowerSandbox,
    aws_resources: AwsResources,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every part of every key of both tables (and the markers' attribute names) is a kind
    word, a date, the company's code, or a keyed name no dictionary finds; so are the
    logs."""
    for customer, (_, _, account_ids) in CUSTOMERS.items():
        for path in ("/v1/me/accounts", "/v1/me/bill-forecast", "/v1/me/usage/day/ELECTRICITY"):
            call("GET", path, customer=customer, query=WINDOW if "usage" in path else None)
        for account in account_ids:
            call("GET", f"/v1/me/accounts/{account}/bill-comparison", customer=customer)
        threshold = json.dumps({"threshold": 90, "percentage": 90})
        call("PUT", "/v1/me/threshold", customer=customer, body=threshold,
             headers={"Content-Type": "application/json"})  # fmt: skip
    written = capsys.readouterr()
    ddb = boto3.client("dynamodb")
    items = [
        item
        for table in (aws_resources.table_name, aws_resources.cache_table_name)
        for item in ddb.scan(TableName=table)["Items"]
    ]
    parts = [
        part
        for item in items
        for key in ("pk", "sk")
        if key in item
        for part in item[key]["S"].split("#")
    ] + [name.removeprefix("m_") for item in items for name in item if name.startswith("m_")]
    code = sandbox.config.utility_code
    dictionary = _dictionary(code)
    assert any(item["pk"]["S"].startswith("bind#") for item in items)  # bindings written
    for part in parts:
        if part in KINDS or part == code or re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", part):
            continue  # a kind, the company, a day
        if part.isdigit() and abs(int(part) - time.time()) < 86_400:
            continue  # the fleet budget's second (budget#sec#<epoch second>)
        assert re.fullmatch(r"[0-9a-f]{12,64}", part), part  # a name, nothing else
        assert part not in dictionary, part
    assert any(item.get("sk", {}).get("S") == "!" for item in items)  # markers written
    text = "\n".join([*parts, written.out, written.err])
    found = [name for name in dictionary if name in text]
    assert found == []
