"""Two operating companies on one Opower: their own clients, customers and limits, and a
token of one refused on the other's paths, as Opower answers."""

from __future__ import annotations

import pytest

from local.sandbox import OpowerSandbox
from local.sandbox.config import SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, SECOND_UTILITY_CODE
from tests.integration.sandbox.sandbox_client import SandboxClient, U, basic

pytestmark = pytest.mark.integration

V = SECOND_UTILITY_CODE


def second_token(client: SandboxClient) -> str:
    response = client.token_request(authorization=basic(SECOND_CLIENT_ID, SECOND_CLIENT_SECRET))
    assert response.status == 200
    assert response.json()["client_id"] == SECOND_CLIENT_ID
    return str(response.json()["access_token"])


def test_each_company_has_its_own_customers_under_the_same_ids(
    client: SandboxClient, token: str
) -> None:
    other = second_token(client)

    first = client.get(f"customer-data-v2/{U}/customers", token, accountNumber="4100000001")
    second = client.get(f"customer-data-v2/{V}/customers", other, accountNumber="4100000001")

    # The same account number and utilityCustomerId, two different people.
    assert [(c["id"], c["utilityCustomerId"]) for c in first.json()] == [(1000001, "UC-0001")]
    assert [(c["id"], c["utilityCustomerId"]) for c in second.json()] == [(3000001, "UC-0001")]
    accounts = client.get(f"customer-data-v2/{V}/customers/3000001/utility_accounts", other)
    assert [a["id"] for a in accounts.json()] == [4000001]


def test_a_token_of_one_company_is_refused_on_the_others_paths(
    client: SandboxClient, token: str
) -> None:
    other = second_token(client)

    assert (
        client.get(f"customer-data-v2/{V}/customers/3000001/utility_accounts", token).status == 401
    )
    assert (
        client.get(f"customer-data-v2/{U}/customers/1000001/utility_accounts", other).status == 401
    )
    # and ids of one company are not the other's (404 with the right token)
    assert (
        client.get(f"customer-data-v2/{V}/customers/1000001/utility_accounts", other).status == 404
    )


def test_each_company_has_its_own_limits(client: SandboxClient, sandbox: OpowerSandbox) -> None:
    token, other = client.token(), second_token(client)
    sandbox.set_limits(per_second=3)

    first = [client.get(f"customer-data-v2/{U}/customers/1000001/utility_accounts", token).status
             for _ in range(3)]  # fmt: skip
    second = [client.get(f"customer-data-v2/{V}/customers/3000001/utility_accounts", other).status
              for _ in range(3)]  # fmt: skip

    # 3 a second each: the first company's calls do not spend the second's
    assert 200 in first
    assert 200 in second
    assert sandbox.stats()["utilities"][V]["token_requests"] == 1
