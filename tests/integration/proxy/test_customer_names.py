"""No customer can be recognized in what the gateway writes: the outside review's
dictionary attack (hash every enumerable id as the gateway would without a key, look the
names up) finds nobody in the DynamoDB tables' keys or in the logs, once the customers'
names are keyed (gateway.customer_keys; the key is the stack's secret, and it is itself in
the session's leak scan, tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import boto3
import pytest

from gateway import wiring
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


def _unkeyed(parts: list[str], length: int) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()[:length]


def _dictionary(utility_code: str) -> set[str]:
    """Every name an unkeyed gateway would give the sample customers, in each encoding it
    used or would use (customer, binding, cache partition)."""
    names = set()
    for customer, (numbers, opower_id, _) in CUSTOMERS.items():
        for parts, length in (
            ([utility_code, customer], 20),
            (["customer", utility_code, customer], 20),
            ([utility_code, customer, numbers], 32),
            (["bind", utility_code, customer, *numbers], 32),
            (["cache", utility_code, str(opower_id), customer], 32),
        ):
            names.add(_unkeyed(parts, length))  # type: ignore[arg-type]
    return names


def test_a_dictionary_of_the_customers_ids_finds_nobody(
    cached: None,
    call: Call,
    sandbox: OpowerSandbox,
    aws_resources: AwsResources,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for customer in CUSTOMERS:
        for path in ("/v1/me/accounts", "/v1/me/bill-forecast"):
            call("GET", path, customer=customer)
    written = capsys.readouterr()
    ddb = boto3.client("dynamodb")
    keys = [
        json.dumps({k: v for k, v in item.items() if k in {"pk", "sk"}})
        for table in (aws_resources.table_name, aws_resources.cache_table_name)
        for item in ddb.scan(TableName=table)["Items"]
    ]
    text = "\n".join([*keys, written.out, written.err])

    assert any("bind#" in key for key in keys)  # the bindings were written
    found = [name for name in _dictionary(sandbox.config.utility_code) if name in text]
    assert found == []
