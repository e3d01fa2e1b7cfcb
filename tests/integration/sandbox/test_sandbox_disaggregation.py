"""Energy breakdown (disaggregation-v1): Get Annual Disaggregation and Get Bill
Disaggregation (tests/contracts/opower/NEW-OPERATIONS.md, section 2; the examples are the
fixtures get-consumption-categories*.json and get-bill-consumption-categories.json).

What the pages leave open (categories, TOTAL, how a share is made, dates) is the
sandbox's, as `local.sandbox.disaggregation` documents it. A bill's usage and cost are
checked against Get Billing Usage and the tariff of `local.sandbox.consumption`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from local.sandbox import OpowerSandbox
from tests.integration.sandbox.documented_examples import assert_shape, documented
from tests.integration.sandbox.sandbox_client import SandboxClient, U, opower_response

pytestmark = pytest.mark.integration

ANNUAL = f"disaggregation-v1/utilities/{U}/customers/{{}}/consumption/categories"
BILL = f"disaggregation-v1/utilities/{U}/customers/{{}}/bills/consumption/categories"
# DisaggregationResultV2External's fields the cut examples do not reach.
RESULT_FIELDS = ("billStartDate", "billEndDate", "usageUnits")
# "APPLIANCES is an aggregate category for" these: not listed beside it.
APPLIANCE_PARTS = {
    "CLOTHES_WASHER",
    "DISHWASHER",
    "DRYER",
    "OVEN",
    "REFRIGERATOR",
    "GAS_APPLIANCES_OTHER",
}
ZONE = ZoneInfo("America/Chicago")


def today() -> date:
    return datetime.now(ZONE).date()


def hundredths(categories: list[dict[str, Any]]) -> list[int]:
    return [round(c["ratio"] * 100) for c in categories]


def assert_categories(categories: list[dict[str, Any]]) -> None:
    """The sandbox's reading of the pages: top-level categories, alphabetical (as the
    examples begin), no TOTAL, ratios of two decimals in [0, 1] adding up to 1."""
    names = [c["name"] for c in categories]
    assert names == sorted(names)
    assert "TOTAL" not in names
    assert not APPLIANCE_PARTS & set(names)
    assert all(0 <= c["ratio"] <= 1 for c in categories)
    assert [c["ratio"] * 100 for c in categories] == pytest.approx(hundredths(categories))
    assert sum(hundredths(categories)) == 100


def assert_no_model(body: Any) -> None:
    """The fixture's 404 ErrorResponse: its shape, status, code and details."""
    example = documented("get-consumption-categories-no-model")["example"]
    assert_shape(body, example)
    for key in ("httpStatus", "serviceErrorCode", "details"):
        assert body[key] == example[key], key


def billing_usage(
    client: SandboxClient, token: str, customer: str, fuel: str, first: date, following: date
) -> list[float]:
    """Each service point's Get Billing Usage for the month."""
    response = client.get(
        f"usage-v1/usage/billing/{U}/{customer}/{fuel}",
        token,
        start=first.isoformat(),
        end=following.isoformat(),
    )
    streams = opower_response(response.json())["streams"]
    return [sum(i["usage"] for i in s["intervals"]) for s in streams]


def cents(fuel: str, usage: float) -> int:
    """The sandbox tariff (local.sandbox.consumption), "rounded half up to the cent"."""
    fixed, rate = {"ELECTRICITY": ("10.00", "0.15"), "GAS": ("8.00", "1.20")}[fuel]
    amount = Decimal(fixed) + Decimal(str(usage)) * Decimal(rate)
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def test_annual_disaggregation_has_the_documented_shape(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get Annual Disaggregation: `{"response": {categories: [{name, ratio}]}}` ("Results
    only include the ratio field"), with the schema's billStartDate, billEndDate and
    usageUnits beside them: the year ending on endDate (default today), in KWH for an
    electric customer."""
    fixture = documented("get-consumption-categories")

    response = client.get(ANNUAL.format(1000001), token)

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"], optional=RESULT_FIELDS)
    answer = opower_response(response.json())
    end = today()
    assert (answer["billStartDate"], answer["billEndDate"]) == (
        (end.replace(year=end.year - 1) + timedelta(days=1)).isoformat(),
        end.isoformat(),
    )
    assert answer["usageUnits"] == "KWH"
    assert_categories(answer["categories"])
    # A year has both seasons: heating (electric, no gas) and cooling.
    assert {"APPLIANCES", "COOLING", "HEATING"} <= {c["name"] for c in answer["categories"]}
    assert sandbox.stats()["requests"] == {
        "token": {"200": 1},
        fixture["sandbox_route"]: {"200": 1},
    }


def test_bill_disaggregation_adds_up_to_the_bill(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get Bill Disaggregation: "Results include the ratio and cost fields" (the example:
    `{name, ratio, cost, usage}`). The usages add up to Get Billing Usage of the month for
    both of UC-0001's meters, the costs to their two bills (a fixed charge each); July
    has cooling and no heating."""
    fixture = documented("get-bill-consumption-categories")

    response = client.get(
        BILL.format(1000001), token, billStartDate="2026-07-01", billEndDate="2026-07-31"
    )

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"], optional=RESULT_FIELDS)
    answer = opower_response(response.json())
    assert (answer["billStartDate"], answer["billEndDate"]) == ("2026-07-01", "2026-07-31")
    assert answer["usageUnits"] == "KWH"
    categories = answer["categories"]
    assert_categories(categories)
    names = {c["name"] for c in categories}
    assert "COOLING" in names
    assert "HEATING" not in names
    meters = billing_usage(
        client, token, "UC-0001", "ELECTRICITY", date(2026, 7, 1), date(2026, 8, 1)
    )
    assert len(meters) == 2
    assert round(sum(c["usage"] for c in categories), 3) == round(sum(meters), 3)
    assert sum(round(c["cost"] * 100) for c in categories) == sum(
        cents("ELECTRICITY", m) for m in meters
    )
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1}


def test_a_winter_bill_has_heating_and_no_cooling(client: SandboxClient, token: str) -> None:
    """Sandbox model: shares follow the month's temperature."""
    response = client.get(
        BILL.format(1000001), token, billStartDate="2026-01-01", billEndDate="2026-01-31"
    )

    names = {c["name"] for c in opower_response(response.json())["categories"]}
    assert "HEATING" in names
    assert "COOLING" not in names


def test_without_dates_a_bill_is_the_last_complete_month(client: SandboxClient, token: str) -> None:
    """Sandbox assumption (the page marks neither date required): no dates, the last
    complete calendar month; the same answer as when it is named."""
    first = (today().replace(day=1) - timedelta(days=1)).replace(day=1)
    last = today().replace(day=1) - timedelta(days=1)

    default = client.get(BILL.format(1000002), token)
    named = client.get(
        BILL.format(1000002), token, billStartDate=first.isoformat(), billEndDate=last.isoformat()
    )

    assert default.status == 200
    assert default.json() == named.json()
    answer = opower_response(default.json())
    assert (answer["billStartDate"], answer["billEndDate"]) == (first.isoformat(), last.isoformat())


@pytest.mark.parametrize(
    ("fields", "units"),
    [
        ({}, "KWH"),
        ({"fuelType": "ELEC"}, "KWH"),
        ({"fuelType": "GAS"}, "THERM"),
        # The utility's account number (UC-0002's 4100000003 holds both meters).
        ({"utilityAccountId": "4100000003", "fuelType": "GAS"}, "THERM"),
        ({"utilityAccountId": "4100000003", "fuelType": "ELEC"}, "KWH"),
    ],
)
def test_fuel_and_account_select_what_is_broken_down(
    client: SandboxClient, token: str, fields: dict[str, str], units: str
) -> None:
    """Both pages: "If utilityAccountId or fuelType is specified then returns
    disaggregation only for the appropriate account"; `usageUnits` "(KWH, THERM)". UC-0002
    has electricity (2000003) and gas (2000004); both together count gas in kWh (assumed,
    as the neighbor comparison's COMBINED). Gas has no cooling, lighting or electronics."""
    response = client.get(
        BILL.format(1000002),
        token,
        billStartDate="2026-02-01",
        billEndDate="2026-02-28",
        **fields,
    )

    assert response.status == 200
    answer = opower_response(response.json())
    assert answer["usageUnits"] == units
    assert_categories(answer["categories"])
    names = {c["name"] for c in answer["categories"]}
    if units == "THERM":
        assert names == {"APPLIANCES", "HEATING", "OTHER", "WATER_HEATING"}
        gas = billing_usage(client, token, "UC-0002", "GAS", date(2026, 2, 1), date(2026, 3, 1))
        assert round(sum(c["usage"] for c in answer["categories"]), 3) == round(sum(gas), 3)
    elif fields:
        assert "WATER_HEATING" not in names  # the gas heats the water


@pytest.mark.parametrize("customer", [1000003, 1000004])
@pytest.mark.parametrize("path", [ANNUAL, BILL])
def test_a_customer_without_a_model_is_the_documented_404(
    client: SandboxClient, token: str, sandbox: OpowerSandbox, customer: int, path: str
) -> None:
    """Both pages: "If heating or cooling model insights are not available, the
    disaggregation insights are not calculated, and a response status code 404 is
    returned." The body is the fixture's assumed ErrorResponse (its errorMessage is the
    sandbox's own for every 404). UC-0003 exists and has an account (its usage answers),
    but no model; UC-0004 has no account."""
    fixture = documented("get-consumption-categories-no-model")

    response = client.get(path.format(customer), token)

    assert response.status == fixture["status"]
    assert_no_model(response.json())
    usage = client.get(
        f"usage-v1/usage/day/{U}/UC-0003/ELECTRICITY", token, start="2026-01-01", end="2026-01-02"
    )
    assert usage.status == 200
    route = fixture["sandbox_route"] if path == ANNUAL else "bill_disaggregation"
    assert sandbox.stats()["requests"][route] == {"404": 1}


def test_a_model_needs_usage_in_the_period(client: SandboxClient, token: str) -> None:
    """UC-0005 (moved out 2021-05-31) has a model: its last year there has a breakdown,
    the year to today has no usage to break down: the same 404 (assumed)."""
    moved_out = client.get(ANNUAL.format(1000005), token, endDate="2021-05-31")
    now = client.get(ANNUAL.format(1000005), token)

    assert moved_out.status == 200
    assert opower_response(moved_out.json())["billStartDate"] == "2020-06-01"
    assert now.status == 404
    assert_no_model(now.json())


@pytest.mark.parametrize(
    ("customer", "fields"),
    [
        pytest.param(1000002, {"utilityAccountId": "4100000001"}, id="another-customers-account"),
        pytest.param(1000002, {"utilityAccountId": "5200000002"}, id="the-other-companys-account"),
        pytest.param(1000002, {"utilityAccountId": "2000003"}, id="opowers-own-id"),
        pytest.param(1000002, {"utilityAccountId": "abc"}, id="not-an-id"),
        pytest.param(1000003, {"utilityAccountId": "4100000004", "fuelType": "GAS"},
                     id="account-of-another-fuel"),
        pytest.param(1000001, {"fuelType": "GAS"}, id="a-fuel-the-customer-lacks"),
        pytest.param(9999999, {}, id="unknown-customer"),
        pytest.param("abc", {}, id="non-integer-customer"),
    ],
)  # fmt: skip
def test_what_is_not_the_customers_is_404(
    client: SandboxClient, token: str, customer: object, fields: dict[str, str]
) -> None:
    """`utilityAccountId` is the "Utility customer account ID" of the disaggregation pages,
    the utility's account number (Get Utility Account List's utilityAccountId); one that is
    not this customer's, or Opower's own account id, is a 404 (an assumption: the pages
    give no error for it), as is a fuel it has no account for."""
    for path in (ANNUAL, BILL):
        response = client.get(path.format(customer), token, **fields)

        assert response.status == 404, path
        assert response.json()["httpStatus"] == 404


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (ANNUAL, {"fuelType": "ELECTRICITY"}),
        (ANNUAL, {"fuelType": "elec"}),
        (ANNUAL, {"endDate": "2026-13-01"}),
        (ANNUAL, {"endDate": "31/12/2025"}),
        (ANNUAL, {"endDate": "2026-01-01T00:00:00Z"}),
        (ANNUAL, {"endDate": (date.today() + timedelta(days=30)).isoformat()}),
        (ANNUAL, {"endDate": "1999-01-01"}),
        (ANNUAL, {"endDate": "0001-01-01"}),
        (BILL, {"billStartDate": "2026-01-01"}),
        (BILL, {"billEndDate": "2026-01-31"}),
        (BILL, {"billStartDate": "2026-02-01", "billEndDate": "2026-01-31"}),
        (BILL, {"billStartDate": "2026-01-01", "billEndDate": "2026-04-30"}),
        (BILL, {"billStartDate": "2026-02-30", "billEndDate": "2026-03-31"}),
        (BILL, {"billStartDate": "2026-01-01", "billEndDate": "2026-01-31", "fuelType": "WATER"}),
    ],
)
def test_invalid_dates_or_fuel_are_400(
    client: SandboxClient, token: str, path: str, fields: dict[str, str]
) -> None:
    """`fuelType` is ELEC or GAS on both pages; dates are YYYY-MM-DD (a date-time with an
    offset also reads as its date, `Z` is refused as everywhere on Opower). Sandbox
    limits: no end later than today, nothing older than 20 years, both bill dates or
    neither, start no later than end, a bill of at most 93 days."""
    response = client.get(path.format(1000002), token, **fields)

    assert response.status == 400, fields
    assert response.json()["httpStatus"] == 400


def test_a_breakdown_is_deterministic(client: SandboxClient, token: str) -> None:
    """The same request, the same answer (as every sandbox answer)."""
    first = client.get(ANNUAL.format(1000002), token, endDate="2026-06-30")
    second = client.get(ANNUAL.format(1000002), token, endDate="2026-06-30T12:00:00-05:00")

    assert first.status == 200
    assert first.json() == second.json()
