"""The designated-customer cap (gateway.designated) against moto server's DynamoDB, as
several Lambda containers would share it, and through the real authorizer and proxy.

Oracle's Limitations page: "The number of designated customers to whom your utility can
expose data is limited" (docs.oracle.com/…/digital-self-service/restapi/Limitations.html).
The exactness rests on DynamoDB applying a condition and its update as one ("Condition
expressions": a conditional write succeeds only if the condition holds when it is
applied, atomically per item), which moto server shares.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from gateway import wiring
from gateway.designated import NOT_DESIGNATED_MESSAGE, DesignatedCustomers, DesignatedStore
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from local.idp import DevIdentityProvider
from local.sandbox import OpowerSandbox
from tests.conftest import AwsResources
from tests.events import ACCOUNT, LambdaContext, authorizer_event, proxy_event, service_event

pytestmark = pytest.mark.integration


def container(table: str, cap: int, company: str = "UTX") -> DesignatedCustomers:
    """A Lambda container's view of the cap: its own client and memory."""
    return DesignatedCustomers(
        DesignatedStore(table, dynamodb=boto3.client("dynamodb")), utility_code=company, cap=cap
    )


def members(table: str, company: str = "UTX") -> int:
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return sum(1 for i in items if i["pk"]["S"].startswith(f"designated#{company}#"))


def test_customers_counted_continue_and_a_new_one_past_the_cap_is_refused(
    aws_resources: AwsResources,
) -> None:
    table = aws_resources.table_name
    first = container(table, cap=2)

    assert first.admit("customer-a", at=0)
    assert first.admit("customer-b", at=0)
    assert not first.admit("customer-c", at=0)
    # Another container, no memory of them: the fleet's count decides.
    other = container(table, cap=2)
    assert other.admit("customer-b", at=0)
    assert other.admit("customer-a", at=0)
    assert not other.admit("customer-c", at=0)
    store = DesignatedStore(table)
    assert (store.count("UTX"), members(table)) == (2, 2)
    # Another company's cap is its own.
    assert container(table, cap=1, company="UTY").admit("customer-c", at=0)


@pytest.mark.parametrize("cap", [1, 5, 9])
def test_the_count_is_exact_under_ten_concurrent_first_visits_from_as_many_containers(
    aws_resources: AwsResources, cap: int
) -> None:
    table = aws_resources.table_name
    containers = [container(table, cap) for _ in range(10)]
    customers = [f"customer-{uuid.uuid4().hex[:8]}" for _ in range(10)]
    start = threading.Barrier(10)

    def first_visit(index: int) -> bool:
        start.wait()
        return containers[index].admit(customers[index], at=0)

    with ThreadPoolExecutor(10) as pool:
        admitted = list(pool.map(first_visit, range(10)))

    assert sum(admitted) == cap
    assert DesignatedStore(table).count("UTX") == cap
    assert members(table) == cap
    # Those admitted continue from any container; the others stay refused.
    later = container(table, cap)
    assert [later.admit(c, at=0) for c in customers] == admitted


def test_one_customer_visiting_first_from_ten_containers_takes_one_place(
    aws_resources: AwsResources,
) -> None:
    table = aws_resources.table_name
    containers = [container(table, cap=2) for _ in range(10)]
    start = threading.Barrier(10)

    def first_visit(index: int) -> bool:
        start.wait()
        return containers[index].admit("the-same-customer", at=0)

    with ThreadPoolExecutor(10) as pool:
        assert all(pool.map(first_visit, range(10)))

    assert DesignatedStore(table).count("UTX") == 1
    assert container(table, cap=2).admit("another-customer", at=0)


# -- through the handlers ------------------------------------------------------------------

Call = Callable[[str], dict[str, Any]]


@pytest.fixture
def capped(
    gateway_settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch, idp: DevIdentityProvider
) -> Call:
    """The authorizer and the proxy with designated_customers_max 2; a customer's GET
    /v1/me/accounts, as API Gateway would pass the authorizer's decision."""
    env = {**gateway_settings.to_env(), "DESIGNATED_CUSTOMERS_MAX": "2"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    accounts = {"UC-0001": ["4100000001"], "UC-0002": ["4100000003"], "UC-0003": ["4100000004"]}

    def call(customer: str) -> dict[str, Any]:
        token = idp.mint(customer, accounts[customer])
        decision = authorizer_handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]
        assert decision["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        event = proxy_event("GET", "/v1/me/accounts", authorizer=decision["context"])
        return proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    return call


def test_with_a_cap_of_two_the_third_customer_is_refused_and_the_first_two_are_not(
    capped: Call, aws_resources: AwsResources
) -> None:
    assert capped("UC-0001")["statusCode"] == 200
    assert capped("UC-0002")["statusCode"] == 200

    refused = capped("UC-0003")

    assert refused["statusCode"] == 403
    assert '"code": "not_designated"' in refused["body"]
    assert NOT_DESIGNATED_MESSAGE in refused["body"]
    assert capped("UC-0001")["statusCode"] == 200
    assert DesignatedStore(aws_resources.table_name).count("UTX") == 2


def test_the_service_api_counts_toward_the_same_cap(
    gateway_settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch, capped: Call
) -> None:
    """A workload acting for customers shows them their data too: the same count, by the
    same keyed name, whichever door the customer came through first."""
    role = f"arn:aws:iam::{ACCOUNT}:role/high-bill-alerts"
    monkeypatch.setenv("SERVICE_PRINCIPALS", role)
    wiring.reset()

    def service(customer: str, account: str) -> dict[str, Any]:
        headers = {"Opower-Utility-Customer-Id": customer, "Opower-Account-Number": account}
        event = service_event("GET", "/v1/service/accounts", headers=headers)
        return proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    assert service("UC-0001", "4100000001")["statusCode"] == 200
    assert capped("UC-0001")["statusCode"] == 200  # the same customer: one place
    assert capped("UC-0002")["statusCode"] == 200
    refused = service("UC-0003", "4100000004")
    assert refused["statusCode"] == 403
    assert json.loads(refused["body"])["error"]["code"] == "not_designated"


def test_a_designated_claim_admits_only_the_customers_the_utility_listed(
    gateway_settings: RuntimeSettings,
    monkeypatch: pytest.MonkeyPatch,
    idp: DevIdentityProvider,
    sandbox: OpowerSandbox,
) -> None:
    for name, value in {**gateway_settings.to_env(), "DESIGNATED_CLAIM": "opowerPilot"}.items():
        monkeypatch.setenv(name, value)
    wiring.reset()

    def call(pilot: object) -> dict[str, Any]:
        token = idp.mint("UC-0002", ["4100000003"], overrides={"opowerPilot": pilot})
        decision = authorizer_handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]
        event = proxy_event("GET", "/v1/me/accounts", authorizer=decision["context"])
        return proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    lookups = sandbox.stats()["requests"].get("customers", {})
    for not_listed in (False, "false", "yes", None, 1):
        answer = call(not_listed)
        assert answer["statusCode"] == 403
        assert json.loads(answer["body"])["error"]["code"] == "not_designated"
    # Nobody was looked up at Opower for them.
    assert sandbox.stats()["requests"].get("customers", {}) == lookups
    assert call(True)["statusCode"] == 200
    assert call("TRUE")["statusCode"] == 200


def test_a_released_customer_stops_being_admitted_from_memory_within_its_bound(
    aws_resources: AwsResources,
) -> None:
    """docs/opower-limits.md's release (their item deleted, the count lowered) reaches warm
    containers within KNOWN_FOR_S: a customer remembered is read again after it, so the
    place given back is not also used by the released customer's old memory."""
    from gateway.designated import KNOWN_FOR_S

    table = aws_resources.table_name
    warm = container(table, cap=1)
    assert warm.admit("moved-away", at=0)
    ddb = boto3.client("dynamodb")
    ddb.delete_item(TableName=table, Key={"pk": {"S": "designated#UTX#moved-away"}})
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "designated#UTX"}},
        UpdateExpression="ADD n :minus",
        ExpressionAttributeValues={":minus": {"N": "-1"}},
    )
    assert container(table, cap=1).admit("new-neighbour", at=1)

    assert warm.admit("moved-away", at=KNOWN_FOR_S - 1)  # still remembered
    assert not warm.admit("moved-away", at=KNOWN_FOR_S + 1)  # read again: the place is taken
