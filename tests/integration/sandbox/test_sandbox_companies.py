"""Two operating companies on one Opower: their own clients, customers and limits, and a
token of one refused on the other's paths, as Opower answers."""

from __future__ import annotations

import pytest

from local.sandbox import OpowerSandbox
from local.sandbox.config import SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, SECOND_UTILITY_CODE
from tests.integration.sandbox.sandbox_client import SandboxClient, U, basic, opower_response

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
    """Get Customer List and Get Utility Account List (PAGES["customers"],
    PAGES["accounts"]): one customer or account is one object under `response`."""
    other = second_token(client)

    first = client.get(f"customer-data-v2/{U}/customers", token, accountNumber="4100000001")
    second = client.get(f"customer-data-v2/{V}/customers", other, accountNumber="4100000001")

    # The same account number and utilityCustomerId, two different people.
    found = [opower_response(r.json()) for r in (first, second)]
    assert [(c["id"], c["utilityCustomerId"], c["name"]) for c in found] == [
        (1000001, "UC-0001", "Ada Lovelace"),
        (3000001, "UC-0001", "Nikola Tesla"),
    ]
    accounts = client.get(f"customer-data-v2/{V}/customers/3000001/utility_accounts", other)
    assert opower_response(accounts.json())["id"] == 4000001


def test_each_company_counts_days_in_its_own_time_zone(client: SandboxClient, token: str) -> None:
    """Get Daily Interval Usage (PAGES["usage/day"]): `timezone` is the service point's
    ("America/New_York" in the page's example) and days run "from midnight to midnight in
    the local timezone of the site or service point": the second company's service points
    are in New York, the first's in Chicago (a sandbox assumption: one zone per company)."""
    other = second_token(client)
    window = {"start": "2026-01-01", "end": "2026-01-02"}

    first = client.get(f"usage-v1/usage/day/{U}/UC-0002/GAS", token, **window)
    second = client.get(f"usage-v1/usage/day/{V}/UC-2002/GAS", other, **window)

    assert (first.status, second.status) == (200, 200)
    answers = [opower_response(r.json()) for r in (first, second)]
    assert [a["timezone"] for a in answers] == ["America/Chicago", "America/New_York"]
    assert [
        [(s["utilityServicePointId"], s["intervals"][0]["start"]) for s in a["streams"]]
        for a in answers
    ] == [
        [("SP-7004", "2026-01-01T00:00:00-06:00")],
        [("NW-SP-2", "2026-01-01T00:00:00-05:00")],
    ]


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
