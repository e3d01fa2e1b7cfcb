"""DynamoDbCustomerStore against moto server: the (day, minute) totals it answers.

Found by schemathesis: the first call of a new minute adding as many calls as the last
minute's total made `update_item` with `ReturnValues="UPDATED_NEW"` answer without `mc`.
DynamoDB documents UPDATED_NEW as "only the updated attributes" (UpdateItem,
ReturnValues), and whether an attribute set to the value it had counts as updated is not
said (moto leaves it out). The store asks for ALL_NEW, which has no such corner: a
returned value costs no capacity either way (ReturnValues: "There is no additional cost
associated with requesting a return value").
"""

from __future__ import annotations

import uuid

import pytest

from gateway.budgets.customer import DynamoDbCustomerStore
from tests.conftest import AwsResources

pytestmark = pytest.mark.integration

DAY = "20261129"
EXPIRES = 2_000_000_000


@pytest.fixture
def store(aws_resources: AwsResources) -> DynamoDbCustomerStore:
    return DynamoDbCustomerStore(aws_resources.table_name)


def customer() -> str:
    return uuid.uuid4().hex[:20]


def test_totals_over_minutes_and_days(store: DynamoDbCustomerStore) -> None:
    who = customer()
    add = store.add

    assert add(who, day=DAY, minute=100, calls=1, expires_at=EXPIRES) == (1, 1)
    assert add(who, day=DAY, minute=100, calls=2, expires_at=EXPIRES) == (3, 3)
    # a new minute adding exactly what the last one held: mc is set to the value it had
    assert add(who, day=DAY, minute=101, calls=3, expires_at=EXPIRES) == (6, 3)
    assert add(who, day=DAY, minute=102, calls=3, expires_at=EXPIRES) == (9, 3)
    assert add(who, day="20261130", minute=1500, calls=1, expires_at=EXPIRES) == (1, 1)


# Not tested here: concurrent adds. DynamoDB applies a conditional update atomically per
# item ("Condition expressions"); moto server does not (two first-of-the-minute updates
# can both pass `attribute_not_exists(m)`), so a concurrency test here tests moto. The
# counting under concurrency is tested with fakes in tests/unit/test_customer_budget.py.
