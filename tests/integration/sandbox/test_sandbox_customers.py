"""Customer data: lookup by account number, utility accounts, home profile."""

from __future__ import annotations

import pytest

from tests.integration.sandbox.sandbox_client import SandboxClient, U

pytestmark = pytest.mark.integration

CUSTOMERS = f"customer-data-v2/{U}/customers"


def test_lookup_by_account_number(client: SandboxClient, token: str) -> None:
    response = client.get(CUSTOMERS, token, accountNumber="4100000001")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == [
        {
            "id": 1000001,
            "name": "Ada Lovelace",
            "recipient": "ADA LOVELACE",
            "utilityCustomerId": "UC-0001",
            "utilityInternalId": "CIS-55501",
            "utilityInternalId2": "PREM-9101",
        }
    ]


def test_shared_account_number_returns_current_and_previous_occupant(
    client: SandboxClient, token: str
) -> None:
    found = client.get(CUSTOMERS, token, accountNumber="4100000004").json()

    assert [(c["id"], c["utilityCustomerId"]) for c in found] == [
        (1000003, "UC-0003"),
        (1000005, "UC-0005"),
    ]


def test_lookup_filters_by_name_case_insensitively(client: SandboxClient, token: str) -> None:
    found = client.get(CUSTOMERS, token, accountNumber="4100000004", name="edsger dijkstra").json()

    assert [c["id"] for c in found] == [1000005]


def test_unknown_account_number_is_an_empty_list(client: SandboxClient, token: str) -> None:
    response = client.get(CUSTOMERS, token, accountNumber="9999999999")

    assert response.status == 200
    assert response.json() == []


def test_missing_account_number_is_400(client: SandboxClient, token: str) -> None:
    response = client.get(CUSTOMERS, token)

    assert response.status == 400
    assert response.json()["serviceErrorCode"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("customer_id", "expected"),
    [
        (1000001, [(2000001, "4100000001", "ELEC"), (2000002, "4100000002", "ELEC")]),
        (1000002, [(2000003, "4100000003", "ELEC"), (2000004, "4100000003", "GAS")]),
        (1000003, [(2000005, "4100000004", "ELEC")]),
        (1000004, []),
        (1000005, [(2000006, "4100000004", "ELEC")]),
    ],
)
def test_utility_accounts_of_each_customer(
    client: SandboxClient, token: str, customer_id: int, expected: list[tuple[int, str, str]]
) -> None:
    accounts = client.get(f"{CUSTOMERS}/{customer_id}/utility_accounts", token).json()

    assert [(a["id"], a["utilityAccountId"], a["meterType"]) for a in accounts] == expected


def test_utility_account_shape(client: SandboxClient, token: str) -> None:
    accounts = client.get(f"{CUSTOMERS}/1000005/utility_accounts", token).json()

    assert accounts == [
        {
            "id": 2000006,
            "utilityAccountId": "4100000004",
            "utilityAccountId2": "SP-7005",
            "meterType": "ELEC",
            "resolution": "QUARTER_HOUR",
            "moveInDate": "2016-03-01",
            "moveOutDate": "2021-05-31",
        }
    ]


def test_seeded_home_profile(client: SandboxClient, token: str) -> None:
    response = client.get(f"{CUSTOMERS}/1000002/home_profile", token)

    assert response.status == 200
    assert response.json() == {
        "customerId": 1000002,
        "dwellingType": "APARTMENT",
        "heatType": "GAS",
        "numberOfAdults": 1,
        "numberOfChildren": 0,
        "squareFeet": 900,
    }


def test_home_profile_put_then_get_and_reset_restores(client: SandboxClient, token: str) -> None:
    profile = {
        "customerId": 1000004,
        "dwellingType": "TOWNHOUSE",
        "heatType": "ELECTRIC",
        "numberOfAdults": 3,
        "numberOfChildren": 0,
        "squareFeet": 1400,
    }
    path = f"{CUSTOMERS}/1000004/home_profile"
    assert client.get(path, token).status == 404

    put = client.api("PUT", path, token=token, json_body=profile)

    assert put.status == 204
    assert put.data == b""
    assert client.get(path, token).json() == profile
    client.control("POST", "reset")
    assert client.get(path, client.token()).status == 404


def test_home_profile_omitted_fields_become_null(client: SandboxClient, token: str) -> None:
    path = f"{CUSTOMERS}/1000001/home_profile"

    client.api("PUT", path, token=token, json_body={"customerId": 1000001, "squareFeet": 2000})

    assert client.get(path, token).json() == {
        "customerId": 1000001,
        "dwellingType": None,
        "heatType": None,
        "numberOfAdults": None,
        "numberOfChildren": None,
        "squareFeet": 2000,
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"customerId": 1000002, "squareFeet": 10}, id="other-customer"),
        pytest.param({"squareFeet": 10}, id="no-customer-id"),
        pytest.param({"customerId": "1000001"}, id="customer-id-string"),
        pytest.param({"customerId": 1000001, "numberOfAdults": -1}, id="negative-adults"),
        pytest.param({"customerId": 1000001, "numberOfChildren": 1.5}, id="fractional-children"),
        pytest.param({"customerId": 1000001, "squareFeet": 0}, id="zero-square-feet"),
        pytest.param({"customerId": 1000001, "numberOfAdults": True}, id="boolean-adults"),
        pytest.param({"customerId": 1000001, "heatType": 3}, id="heat-type-number"),
        pytest.param({"customerId": 1000001, "pool": True}, id="unknown-field"),
        pytest.param([1000001], id="not-an-object"),
    ],
)
def test_invalid_home_profile_is_400_and_not_stored(
    client: SandboxClient, token: str, body: object
) -> None:
    path = f"{CUSTOMERS}/1000001/home_profile"
    before = client.get(path, token).json()

    response = client.api("PUT", path, token=token, json_body=body)

    assert response.status == 400
    assert response.json()["httpStatus"] == 400
    assert client.get(path, token).json() == before


def test_home_profile_needs_json(client: SandboxClient, token: str) -> None:
    path = f"{CUSTOMERS}/1000001/home_profile"
    headers = {"Content-Type": "text/plain"}

    wrong_type = client.api("PUT", path, token=token, headers=headers, body='{"customerId": 1}')
    not_json = client.api(
        "PUT", path, token=token, headers={"Content-Type": "application/json"}, body="{"
    )

    assert (wrong_type.status, not_json.status) == (400, 400)


@pytest.mark.parametrize(
    "path",
    [
        "customer-data-v2/XYZ/customers?accountNumber=4100000001",
        "customer-data-v2/XYZ/customers/1000001/utility_accounts",
        f"{CUSTOMERS}/9999999/utility_accounts",
        f"{CUSTOMERS}/not-a-number/utility_accounts",
        f"{CUSTOMERS}/9999999/home_profile",
        f"{CUSTOMERS}/1000001/no_such_thing",
        "customer-data-v9/UTX/customers",
        "",
    ],
)
def test_unknown_utility_customer_or_path_is_404_error_response(
    client: SandboxClient, token: str, path: str
) -> None:
    response = client.api("GET", path, token=token)

    assert response.status == 404
    body = response.json()
    assert set(body) == {"httpStatus", "serviceErrorCode", "errorMessage", "details"}
    assert body["httpStatus"] == 404
    assert body["serviceErrorCode"] == "NOT_FOUND"


def test_wrong_method_is_405(client: SandboxClient, token: str) -> None:
    response = client.api("DELETE", f"{CUSTOMERS}/1000001/home_profile", token=token)

    assert response.status == 405
    assert response.headers["Allow"] == "GET, PUT"
    assert response.json()["httpStatus"] == 405


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer 00000000-0000-4000-8000-000000000000", "Basic abc"],
)
def test_data_calls_need_a_valid_bearer_token(
    client: SandboxClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = client.api("GET", f"{CUSTOMERS}/1000001/utility_accounts", headers=headers)

    assert response.status == 401
    assert response.json()["serviceErrorCode"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_population_adds_customers_with_their_own_accounts_and_data() -> None:
    """The capacity benchmark's customers: each bound like any other, with data."""
    from local.sandbox import OpowerSandbox, SandboxConfig
    from local.sandbox.data import population_customer

    with OpowerSandbox(SandboxConfig(port=0, population=3)) as sandbox:
        client = SandboxClient(sandbox.base_url)
        token = client.token()
        utility_customer_id, number = population_customer(2)
        found = client.get(CUSTOMERS, token, accountNumber=number).json()
        assert [(c["id"], c["utilityCustomerId"]) for c in found] == [
            (1100002, utility_customer_id)
        ]
        accounts = client.get(f"{CUSTOMERS}/1100002/utility_accounts", token).json()
        assert [a["id"] for a in accounts] == [2100002]
        forecast = client.get(f"billforecast-v2/{U}/customers/1100002/bill_forecast", token)
        assert forecast.status == 200
        assert client.get(CUSTOMERS, token, accountNumber="4100000001").json()[0]["id"] == 1000001
