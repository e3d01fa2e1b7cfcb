"""Customer data: lookup by account number, utility accounts, home profile.

The answers follow Oracle's customer-data-v2 pages (URLs in ``gateway.schemas.PAGES``):

- Get Customer List:
  https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-customer-data-v2-utilitycode-customers-get.html
- Get Utility Account List:
  https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-customer-data-v2-utilitycode-customers-id-utility_accounts-get.html
- Get Home Profile / Update Home Profile:
  https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-customer-data-v2-utilitycode-customers-id-home_profile-get.html
  https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-customer-data-v2-utilitycode-customers-id-home_profile-put.html

Both list pages declare `response` an array while their examples show one object. The
sandbox serves both (an assumption about which one Opower sends): one object when there is
exactly one item, an array for several, `[]` for none.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.sandbox.sandbox_client import SandboxClient, U, opower_response

pytestmark = pytest.mark.integration

CUSTOMERS = f"customer-data-v2/{U}/customers"
DWELLING_TYPES = ("MULTI_FAMILY", "NON_RESIDENTIAL", "SINGLE_FAMILY")
HEAT_TYPES = (
    "ELEC", "GAS", "NONE", "OTHER", "LPG", "OIL", "WOOD", "DISTRICT_HEATING", "GEOTHERMAL",
)  # fmt: skip


def listed(body: Any, count: int) -> list[Any]:
    """The items of a list operation's answer, checking its documented form for `count`
    items: one object for one, an array otherwise."""
    items = opower_response(body)
    if count == 1:
        assert isinstance(items, dict), body
        return [items]
    assert isinstance(items, list), body
    assert len(items) == count, body
    return items


def test_lookup_by_account_number_is_one_wrapped_object(client: SandboxClient, token: str) -> None:
    """Get Customer List (PAGES["customers"]): the example's `{"response": {id, name,
    recipient, utilityCustomerId, utilityInternalId, utilityInternalId2}}`, one object for
    one customer; `recipient` RECIPIENT (the allowed values are RECIPIENT and CONTROL)."""
    response = client.get(CUSTOMERS, token, accountNumber="4100000001")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "response": {
            "id": 1000001,
            "name": "Ada Lovelace",
            "recipient": "RECIPIENT",
            "utilityCustomerId": "UC-0001",
            "utilityInternalId": "CIS-55501",
            "utilityInternalId2": "PREM-9101",
        }
    }


def test_an_absent_second_internal_id_is_left_out(client: SandboxClient, token: str) -> None:
    """Get Customer List (PAGES["customers"]): `utilityInternalId2` "This field is
    optional": UC-0004 has none, so the key is absent (not null)."""
    response = client.get(CUSTOMERS, token, accountNumber="4100000005")

    assert response.json() == {
        "response": {
            "id": 1000004,
            "name": "Katherine Johnson",
            "recipient": "RECIPIENT",
            "utilityCustomerId": "UC-0004",
            "utilityInternalId": "CIS-55504",
        }
    }


def test_shared_account_number_returns_current_and_previous_occupant(
    client: SandboxClient, token: str
) -> None:
    """Get Customer List (PAGES["customers"]): "Returns the list of customers": two
    customers are an array under `response`."""
    found = listed(client.get(CUSTOMERS, token, accountNumber="4100000004").json(), 2)

    assert [(c["id"], c["utilityCustomerId"], c["recipient"]) for c in found] == [
        (1000003, "UC-0003", "RECIPIENT"),
        (1000005, "UC-0005", "RECIPIENT"),
    ]


def test_lookup_filters_by_name_case_insensitively(client: SandboxClient, token: str) -> None:
    """Get Customer List (PAGES["customers"]): `name` narrows the list (case-insensitive
    matching is a sandbox assumption); one match is one object."""
    body = client.get(CUSTOMERS, token, accountNumber="4100000004", name="edsger dijkstra").json()

    assert [c["id"] for c in listed(body, 1)] == [1000005]


def test_unknown_account_number_is_an_empty_list(client: SandboxClient, token: str) -> None:
    """Get Customer List (PAGES["customers"]): no customer is `{"response": []}` (a sandbox
    assumption: the page does not say)."""
    response = client.get(CUSTOMERS, token, accountNumber="9999999999")

    assert response.status == 200
    assert response.json() == {"response": []}


def test_missing_account_number_is_400(client: SandboxClient, token: str) -> None:
    """Get Customer List (PAGES["customers"]): `accountNumber` is required; "400 Invalid
    request", an ErrorResponse."""
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
    """Get Utility Account List (PAGES["accounts"]): `{"response": ...}`, one object for
    one account (as the page's example), an array for several, `[]` for none."""
    response = client.get(f"{CUSTOMERS}/{customer_id}/utility_accounts", token)

    assert response.status == 200
    accounts = listed(response.json(), len(expected))
    assert [(a["id"], a["utilityAccountId"], a["meterType"]) for a in accounts] == expected


def test_utility_account_shape(client: SandboxClient, token: str) -> None:
    """Get Utility Account List (PAGES["accounts"]): `{id, utilityAccountId,
    utilityAccountId2, meterType, resolution, moveInDate, moveOutDate}`; `moveOutDate` is
    "optional": present for the previous occupant, absent (not null) otherwise."""
    moved_out = client.get(f"{CUSTOMERS}/1000005/utility_accounts", token).json()
    living = client.get(f"{CUSTOMERS}/1000003/utility_accounts", token).json()

    assert moved_out == {
        "response": {
            "id": 2000006,
            "utilityAccountId": "4100000004",
            "utilityAccountId2": "SP-7005",
            "meterType": "ELEC",
            "resolution": "QUARTER_HOUR",
            "moveInDate": "2016-03-01",
            "moveOutDate": "2021-05-31",
        }
    }
    assert living == {
        "response": {
            "id": 2000005,
            "utilityAccountId": "4100000004",
            "utilityAccountId2": "SP-7005",
            "meterType": "ELEC",
            "resolution": "QUARTER_HOUR",
            "moveInDate": "2021-06-01",
        }
    }


@pytest.mark.parametrize(
    ("customer_id", "resolutions"),
    [
        (1000001, {"SP-7001": "QUARTER_HOUR", "SP-7002": "HOUR"}),
        (1000002, {"SP-7003": "QUARTER_HOUR", "SP-7004": "HOUR"}),
    ],
)
def test_each_meter_has_its_own_resolution(
    client: SandboxClient, token: str, customer_id: int, resolutions: dict[str, str]
) -> None:
    """Get Utility Account List (PAGES["accounts"]): `resolution`, "the read resolution of
    the meter" (one of MINUTE ... BILLING). The usage tests rely on these service points
    (`utilityAccountId2`) and their raw interval lengths."""
    accounts = listed(client.get(f"{CUSTOMERS}/{customer_id}/utility_accounts", token).json(), 2)

    assert {a["utilityAccountId2"]: a["resolution"] for a in accounts} == resolutions
    assert all("moveOutDate" not in a for a in accounts)


def test_seeded_home_profile(client: SandboxClient, token: str) -> None:
    """Get Home Profile (PAGES["home_profile"]): the example's `{"response": {customerId,
    dwellingType, squareFeet, heatType, numberOfAdults, numberOfChildren}}`."""
    response = client.get(f"{CUSTOMERS}/1000002/home_profile", token)

    assert response.status == 200
    assert response.json() == {
        "response": {
            "customerId": 1000002,
            "dwellingType": "MULTI_FAMILY",
            "heatType": "GAS",
            "numberOfAdults": 1,
            "numberOfChildren": 0,
            "squareFeet": 900,
        }
    }


def test_home_profile_put_then_get_and_reset_restores(client: SandboxClient, token: str) -> None:
    """Update Home Profile (PAGES["home_profile PUT"]): a bare HomeProfile body (no
    wrapper), 204 without a body; Get Home Profile (PAGES["home_profile"]) then answers it
    wrapped. A customer without a profile is a 404 first (a sandbox assumption: the GET
    page's errors are cut short after 401)."""
    profile = {
        "customerId": 1000004,
        "dwellingType": "NON_RESIDENTIAL",
        "heatType": "DISTRICT_HEATING",
        "numberOfAdults": 3,
        "numberOfChildren": 0,
        "squareFeet": 1400,
    }
    path = f"{CUSTOMERS}/1000004/home_profile"
    assert client.get(path, token).status == 404

    put = client.api("PUT", path, token=token, json_body=profile)

    assert put.status == 204
    assert put.data == b""
    assert client.get(path, token).json() == {"response": profile}
    client.control("POST", "reset")
    assert client.get(path, client.token()).status == 404


def test_home_profile_fields_not_sent_are_left_out(client: SandboxClient, token: str) -> None:
    """Update Home Profile (PAGES["home_profile PUT"]): no field is marked required, so a
    profile may omit any, `customerId` included. What was not sent is absent (not null) in
    Get Home Profile's answer: the PUT replaces the profile (a sandbox assumption, the page
    does not say replace or merge); a null is as if not sent."""
    path = f"{CUSTOMERS}/1000001/home_profile"

    partial = client.api("PUT", path, token=token, json_body={"squareFeet": 2000, "heatType": None})
    after_partial = client.get(path, token).json()
    empty = client.api("PUT", path, token=token, json_body={})
    after_empty = client.get(path, token).json()

    assert (partial.status, empty.status) == (204, 204)
    assert after_partial == {"response": {"customerId": 1000001, "squareFeet": 2000}}
    assert after_empty == {"response": {"customerId": 1000001}}


@pytest.mark.parametrize(
    ("field", "value"),
    [("dwellingType", v) for v in DWELLING_TYPES] + [("heatType", v) for v in HEAT_TYPES],
)
def test_every_documented_enum_value_is_accepted(
    client: SandboxClient, token: str, field: str, value: str
) -> None:
    """Update Home Profile (PAGES["home_profile PUT"]): dwellingType "Allowed Values:
    [ MULTI_FAMILY, NON_RESIDENTIAL, SINGLE_FAMILY ]"; heatType "[ ELEC, GAS, NONE, OTHER,
    LPG, OIL, WOOD, DISTRICT_HEATING, GEOTHERMAL ]"."""
    path = f"{CUSTOMERS}/1000003/home_profile"

    response = client.api("PUT", path, token=token, json_body={"customerId": 1000003, field: value})

    assert response.status == 204
    assert opower_response(client.get(path, token).json())[field] == value


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"customerId": 1000002, "squareFeet": 10}, id="other-customer"),
        pytest.param({"customerId": "1000001"}, id="customer-id-string"),
        pytest.param({"customerId": None}, id="customer-id-null"),
        pytest.param({"customerId": 1000001, "numberOfAdults": -1}, id="negative-adults"),
        pytest.param({"customerId": 1000001, "numberOfChildren": 1.5}, id="fractional-children"),
        pytest.param({"customerId": 1000001, "squareFeet": 0}, id="zero-square-feet"),
        pytest.param({"customerId": 1000001, "numberOfAdults": True}, id="boolean-adults"),
        pytest.param({"customerId": 1000001, "heatType": 3}, id="heat-type-number"),
        pytest.param({"dwellingType": "APARTMENT"}, id="dwelling-apartment"),
        pytest.param({"dwellingType": "TOWNHOUSE"}, id="dwelling-townhouse"),
        pytest.param({"dwellingType": "single_family"}, id="dwelling-lower-case"),
        pytest.param({"heatType": "ELECTRIC"}, id="heat-electric"),
        pytest.param({"heatType": "HEAT_PUMP"}, id="heat-pump"),
        pytest.param({"heatType": "gas"}, id="heat-lower-case"),
        pytest.param({"heatType": ""}, id="heat-empty"),
        pytest.param({"customerId": 1000001, "pool": True}, id="unknown-field"),
        pytest.param([1000001], id="not-an-object"),
    ],
)
def test_invalid_home_profile_is_400_and_not_stored(
    client: SandboxClient, token: str, body: object
) -> None:
    """Update Home Profile (PAGES["home_profile PUT"]): "400 Invalid request"
    (ErrorResponse) for a value outside the documented types and enumerations, or a
    customerId other than the path's; the held profile is kept."""
    path = f"{CUSTOMERS}/1000001/home_profile"
    before = client.get(path, token).json()

    response = client.api("PUT", path, token=token, json_body=body)

    assert response.status == 400
    assert set(response.json()) == {"httpStatus", "serviceErrorCode", "errorMessage", "details"}
    assert response.json()["httpStatus"] == 400
    assert client.get(path, token).json() == before


def test_update_home_profile_of_an_unknown_customer_is_404(
    client: SandboxClient, token: str
) -> None:
    """Update Home Profile (PAGES["home_profile PUT"]): "404 Customer or site not found"."""
    response = client.api(
        "PUT", f"{CUSTOMERS}/9999999/home_profile", token=token, json_body={"squareFeet": 3}
    )

    assert response.status == 404
    assert response.json()["httpStatus"] == 404


def test_home_profile_needs_json(client: SandboxClient, token: str) -> None:
    """Update Home Profile (PAGES["home_profile PUT"]): the request media type is
    application/json; anything else, or a body that is not JSON, is a 400."""
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
    """The customer-data-v2 pages' ErrorResponse `{httpStatus, serviceErrorCode,
    errorMessage, details}` (Get Utility Account List, PAGES["accounts"]: "404 Utility
    Account not found"); the same flat form for an unknown path is a sandbox assumption."""
    response = client.api("GET", path, token=token)

    assert response.status == 404
    body = response.json()
    assert set(body) == {"httpStatus", "serviceErrorCode", "errorMessage", "details"}
    assert body["httpStatus"] == 404
    assert body["serviceErrorCode"] == "NOT_FOUND"


def test_wrong_method_is_405(client: SandboxClient, token: str) -> None:
    """Sandbox rule (no page lists 405): the methods of Get/Update Home Profile
    (PAGES["home_profile"], PAGES["home_profile PUT"]) in `Allow`, an ErrorResponse."""
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
    """Get Utility Account List (PAGES["accounts"]): "401 Authorization failure", an
    ErrorResponse; the `WWW-Authenticate` challenge is a sandbox assumption."""
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
        found = listed(client.get(CUSTOMERS, token, accountNumber=number).json(), 1)
        assert [(c["id"], c["utilityCustomerId"]) for c in found] == [
            (1100002, utility_customer_id)
        ]
        accounts = listed(client.get(f"{CUSTOMERS}/1100002/utility_accounts", token).json(), 1)
        assert [a["id"] for a in accounts] == [2100002]
        forecast = client.get(f"billforecast-v2/{U}/customers/1100002/bill_forecast", token)
        assert forecast.status == 200
        assert [f["accountId"] for f in opower_response(forecast.json())["forecasts"]] == [2100002]
        first = client.get(CUSTOMERS, token, accountNumber="4100000001").json()
        assert opower_response(first)["id"] == 1000001
