"""Bill comparison, bill forecast, neighbor comparison and the threshold service.

The answers follow Oracle's pages (URLs in ``gateway.schemas.PAGES``), where they publish a
shape; the rest is the sandbox's, documented in `local.sandbox.insights`. Usage and cost
are recomputed here from the formula documented in `local.sandbox.consumption`,
independently of the sandbox's code: insights count calendar months where the service
points are (America/Chicago, the first company's), as Get Billing Usage's bills do.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.sandbox.sandbox_client import SandboxClient, U, opower_response

pytestmark = pytest.mark.integration

COMPARISON = f"billComparison-v2/{U}/bill-comparison/accounts"
FORECAST = f"billforecast-v2/{U}/customers/{{}}/bill_forecast"
NEIGHBORS = f"neighborComparison-v1/{U}/customers/{{}}/neighbor_comparison"
THRESHOLD = f"threshold-v1/external/{U}/customers/{{}}/threshold"

KWH_PER_THERM = 29.3071
ZONE = ZoneInfo("America/Chicago")
NOT_ENOUGH_USAGE_DATA = "NOT_ENOUGH_USAGE_DATA"


def reading(account_id: int, fuel: str, start: int) -> int:
    """Thousandths of a unit of the 15-minute interval starting at `start` (Unix seconds)."""
    base, spread = {"ELECTRICITY": (50, 400), "GAS": (5, 40)}[fuel]
    key = f"{account_id}|{fuel}|{start}".encode()
    return base + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % spread


def milli(account_id: int, fuel: str, start: date, end: date) -> int:
    """Consumption over the service point's days [start, end), in thousandths."""
    first = int(datetime(start.year, start.month, start.day, tzinfo=ZONE).timestamp())
    last = int(datetime(end.year, end.month, end.day, tzinfo=ZONE).timestamp())
    return sum(reading(account_id, fuel, t) for t in range(first, last, 900))


def month_milli(account_id: int, fuel: str, first: date) -> int:
    return milli(account_id, fuel, first, next_month(first))


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def cost(fuel: str, thousandths: int) -> float:
    """The documented tariff, "rounded half up to the cent", in dollars."""
    fixed, rate = {"ELECTRICITY": ("10.00", "0.15"), "GAS": ("8.00", "1.20")}[fuel]
    amount = Decimal(fixed) + Decimal(thousandths) / 1000 * Decimal(rate)
    return float(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def last_day(first: date) -> str:
    return (next_month(first) - timedelta(days=1)).isoformat()


def bill(account_id: int, fuel: str, first: date, temperature: float) -> dict[str, object]:
    """A `reference` / `compared` bill of Get Bill Comparison for one UTC month."""
    used = month_milli(account_id, fuel, first)
    return {
        "charges": cost(fuel, used),
        "usage": used / 1000,
        "startDate": first.isoformat(),
        "endDate": last_day(first),
        "averageTemperature": temperature,
        "ratePlan": {"ELECTRICITY": "E-1 Residential", "GAS": "G-1 Residential"}[fuel],
    }


def cents(amount: object) -> int:
    assert isinstance(amount, float | int)
    return round(amount * 100)


def assert_causes_add_up(answer: dict[str, Any]) -> None:
    """Get Bill Comparison: WEATHER and OTHER explain the cost difference, to the cent."""
    results = answer["analysisResults"]
    assert [r["analysisName"] for r in results] == ["WEATHER", "OTHER"]
    assert all(set(r) == {"analysisName", "costDifferenceExplained"} for r in results)
    explained = sum(cents(r["costDifferenceExplained"]) for r in results)
    assert explained == cents(answer["reference"]["charges"]) - cents(answer["compared"]["charges"])


# -- bill comparison --------------------------------------------------------------------
def test_bill_comparison_year_ago(client: SandboxClient, token: str) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]):
    https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-billcomparison-v2-utilitycode-bill-comparison-accounts-utilityaccountid-get.html
    `{"response": {meterUnit, currencySymbol, temperatureUnit, analysisResults, reference,
    compared}}` as in the page's example. reference is the last month before asOf,
    compared the same month a year earlier. Both Februaries have the same (sandbox)
    average temperature, so the weather explains nothing of the difference."""
    response = client.get(
        f"{COMPARISON}/2000004", token, asOf="2026-03-10", comparisonBill="YEAR_AGO"
    )

    assert response.status == 200
    reference = bill(2000004, "GAS", date(2026, 2, 1), 28.9)
    compared = bill(2000004, "GAS", date(2025, 2, 1), 28.9)
    difference = cents(reference["charges"]) - cents(compared["charges"])
    assert response.json() == {
        "response": {
            "meterUnit": "THERM",
            "currencySymbol": "$",
            "temperatureUnit": "FAHRENHEIT",
            "analysisResults": [
                {"analysisName": "WEATHER", "costDifferenceExplained": 0.0},
                {"analysisName": "OTHER", "costDifferenceExplained": difference / 100},
            ],
            "reference": reference,
            "compared": compared,
        }
    }
    # visible anchors of the formula's numbers
    assert (reference["usage"], reference["charges"]) == (65.726, 86.87)
    assert (compared["usage"], compared["charges"]) == (66.297, 87.56)


def test_bill_comparison_defaults_to_previous_bill(client: SandboxClient, token: str) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]): `comparisonBill` "Default Value:
    PREVIOUS"; "WEATHER + OTHER" add up to the cost difference (as in the page's example,
    where they add up to reference.charges - compared.charges)."""
    answer = opower_response(client.get(f"{COMPARISON}/2000004", token, asOf="2026-03-10").json())

    assert answer["reference"] == bill(2000004, "GAS", date(2026, 2, 1), 28.9)
    assert answer["compared"] == bill(2000004, "GAS", date(2026, 1, 1), 24.8)
    assert_causes_add_up(answer)


@pytest.mark.parametrize(
    ("account", "fields"),
    [
        (2000001, {"asOf": "2026-07-04"}),
        (2000002, {"asOf": "2025-12-31", "comparisonBill": "YEAR_AGO"}),
        (2000003, {"asOf": "2026-10-01"}),
        (2000002, {"asOf": "2022-11-15", "comparisonBill": "YEAR_AGO"}),
    ],
)
def test_bill_comparison_causes_add_up_to_the_cost_difference(
    client: SandboxClient, token: str, account: int, fields: dict[str, str]
) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]): `analysisResults` WEATHER and OTHER
    explain reference.charges - compared.charges between them, to the cent."""
    response = client.get(f"{COMPARISON}/{account}", token, **fields)

    assert response.status == 200
    answer = opower_response(response.json())
    assert "failureExplanation" not in response.json()
    assert_causes_add_up(answer)


def test_bill_comparison_falls_back_to_the_previous_bill_by_default(
    client: SandboxClient, token: str
) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]): `fallbackToPreviousPeriod` "Default
    Value: true": with no bill a year ago (account 2000002 moved in on 2022-09-15), a
    YEAR_AGO comparison falls back to the previous bill, as with `true` sent."""
    fields = {"asOf": "2022-11-15", "comparisonBill": "YEAR_AGO"}

    default = client.get(f"{COMPARISON}/2000002", token, **fields)
    explicit = client.get(f"{COMPARISON}/2000002", token, fallbackToPreviousPeriod="true", **fields)

    assert default.status == 200
    answer = opower_response(default.json())
    assert answer["reference"] == bill(2000002, "ELECTRICITY", date(2022, 10, 1), 54.0)
    assert answer["compared"] == bill(2000002, "ELECTRICITY", date(2022, 9, 1), 66.3)
    assert (answer["reference"]["usage"], answer["compared"]["usage"]) == (746.108, 717.658)
    assert_causes_add_up(answer)
    assert "failureExplanation" not in default.json()
    assert explicit.json() == default.json()


def test_bill_comparison_without_fallback_explains_the_failure(
    client: SandboxClient, token: str
) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]): `failureExplanation`
    (NOT_ENOUGH_USAGE_DATA) sits at the root beside the required `response`, "in case of
    unsuccessful comparison". What `response` then holds is a sandbox assumption: the
    units and the reference bill, without `compared` or `analysisResults`."""
    response = client.get(
        f"{COMPARISON}/2000002",
        token,
        asOf="2022-11-15",
        comparisonBill="YEAR_AGO",
        fallbackToPreviousPeriod="false",
    )

    assert response.status == 200
    assert response.json() == {
        "response": {
            "meterUnit": "KWH",
            "currencySymbol": "$",
            "temperatureUnit": "FAHRENHEIT",
            "reference": bill(2000002, "ELECTRICITY", date(2022, 10, 1), 54.0),
        },
        "failureExplanation": NOT_ENOUGH_USAGE_DATA,
    }


@pytest.mark.parametrize(
    ("account", "as_of", "reference"),
    [
        pytest.param(2000002, "2022-09-10", None, id="before-move-in"),
        pytest.param(2000002, "2022-10-15", date(2022, 9, 1), id="first-bill-no-previous"),
        pytest.param(2000006, "2026-03-10", None, id="after-move-out"),
    ],
)
def test_bill_comparison_without_bills_explains_the_failure(
    client: SandboxClient, token: str, account: int, as_of: str, reference: date | None
) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]): no bill to compare is a 200 with
    `failureExplanation: NOT_ENOUGH_USAGE_DATA` at the root (the content of `response` is a
    sandbox assumption: the units, and the reference bill when there is one)."""
    response = client.get(f"{COMPARISON}/{account}", token, asOf=as_of)

    assert response.status == 200
    body = response.json()
    assert body["failureExplanation"] == NOT_ENOUGH_USAGE_DATA
    expected: dict[str, object] = {
        "meterUnit": "KWH",
        "currencySymbol": "$",
        "temperatureUnit": "FAHRENHEIT",
    }
    if reference is not None:
        expected["reference"] = bill(account, "ELECTRICITY", reference, 66.3)
    assert opower_response(body) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"comparisonBill": "LAST_WEEK"},
        {"fallbackToPreviousPeriod": "yes"},
        {"fallbackToPreviousPeriod": "TRUE"},
        {"asOf": "2026-02-30"},
        {"asOf": "March"},
        # outside the dates bills are computed for: an ErrorResponse, never a crash
        {"asOf": "0001-01-01"},
        {"asOf": "9999-12-31"},
        {"asOf": "0001-01-01T00:00:00-05:00"},
        {"asOf": "0001-01-01T00:00:00+14:00"},
        {"asOf": "9999-12-31T23:59:59-12:00"},
    ],
)
def test_bill_comparison_rejects_invalid_parameters(
    client: SandboxClient, token: str, fields: dict[str, str]
) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]): comparisonBill PREVIOUS or
    YEAR_AGO, fallbackToPreviousPeriod true or false ("Allowed Values: [ true, false ]"),
    asOf a date; the flat ErrorResponse is a sandbox assumption (the page's errors are cut
    short)."""
    response = client.get(f"{COMPARISON}/2000001", token, **fields)

    assert response.status == 400
    assert response.json()["serviceErrorCode"] == "BAD_REQUEST"


@pytest.mark.parametrize("account", ["1000001", "2999999", "abc"])
def test_bill_comparison_unknown_account_is_404(
    client: SandboxClient, token: str, account: str
) -> None:
    """Get Bill Comparison (PAGES["bill_comparison"]): the path id is the utility account
    `id` of Get Utility Account List; a customer id is not one."""
    assert client.get(f"{COMPARISON}/{account}", token).status == 404


# -- bill forecast ----------------------------------------------------------------------
# The utility's account number (`utilityAccountId`) of each seeded utility account.
ACCOUNT_NUMBERS = {2000003: "4100000003", 2000004: "4100000003", 2000005: "4100000004"}


def forecast(
    account_id: int,
    fuel: str,
    as_of: date,
    *,
    with_cost: bool = True,
) -> dict[str, object]:
    """The sandbox's (assumed) forecast of one account: usage to date over the UTC days of
    the month before asOf, projected over the whole month (the previous month's usage on
    the first); cost only with modeled rates."""
    first = as_of.replace(day=1)
    elapsed = (as_of - first).days
    days_in_month = (next_month(first) - first).days
    if elapsed:
        to_date = milli(account_id, fuel, first, as_of)
        projected = to_date * days_in_month // elapsed
    else:
        previous = (first - timedelta(days=1)).replace(day=1)
        to_date, projected = 0, month_milli(account_id, fuel, previous)
    item: dict[str, object] = {
        "accountId": account_id,
        "utilityAccountId": ACCOUNT_NUMBERS[account_id],
        "fuelType": fuel,
        "unit": {"ELECTRICITY": "KWH", "GAS": "THERM"}[fuel],
        "billPeriodStart": first.isoformat(),
        "billPeriodEnd": last_day(first),
        "usageToDate": to_date / 1000,
        "projectedUsage": projected / 1000,
    }
    if with_cost:
        item["costToDate"] = cost(fuel, to_date)
        item["projectedCost"] = cost(fuel, projected)
    return item


def test_bill_forecast(client: SandboxClient, token: str) -> None:
    """Get Bill Forecast (PAGES["bill_forecast"]):
    https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-billforecast-v2-utilitycode-customers-id-bill_forecast-get.html
    publishes no answer schema: `{"response": {customerId, asOf, currencySymbol,
    forecasts}}` and each forecast's fields are a sandbox assumption. "When a Utility
    Account has no modeled rates only a usage forecast is returned": 2000004 has none."""
    response = client.get(FORECAST.format(1000002), token, asOf="2026-03-10")

    assert response.status == 200
    as_of = date(2026, 3, 10)
    assert response.json() == {
        "response": {
            "customerId": 1000002,
            "asOf": "2026-03-10",
            "currencySymbol": "$",
            "forecasts": [
                forecast(2000003, "ELECTRICITY", as_of),
                forecast(2000004, "GAS", as_of, with_cost=False),
            ],
        }
    }
    # visible anchors of the formula's numbers
    forecasts = response.json()["response"]["forecasts"]
    assert [(f["usageToDate"], f["projectedUsage"]) for f in forecasts] == [
        (210.509, 725.086),
        (20.679, 71.227),
    ]
    assert (forecasts[0]["costToDate"], forecasts[0]["projectedCost"]) == (41.58, 118.76)


@pytest.mark.parametrize("as_of", ["2026-03-10", "2026-03-01", "2026-06-30"])
def test_bill_forecast_without_modeled_rates_has_no_cost(
    client: SandboxClient, token: str, as_of: str
) -> None:
    """Get Bill Forecast (PAGES["bill_forecast"]): "When a Utility Account has no modeled
    rates only a usage forecast is returned" (account 2000004, UC-0002's gas): its forecast
    has usage and no cost field; the electricity account beside it has both."""
    answer = opower_response(client.get(FORECAST.format(1000002), token, asOf=as_of).json())

    by_account = {f["accountId"]: f for f in answer["forecasts"]}
    assert set(by_account) == {2000003, 2000004}
    assert {"costToDate", "projectedCost"} <= set(by_account[2000003])
    assert not {"costToDate", "projectedCost"} & set(by_account[2000004])
    assert {"usageToDate", "projectedUsage"} <= set(by_account[2000004])
    assert by_account[2000004] == forecast(
        2000004, "GAS", date.fromisoformat(as_of), with_cost=False
    )


def test_bill_forecast_on_the_first_projects_the_previous_bill(
    client: SandboxClient, token: str
) -> None:
    """Sandbox assumption (Get Bill Forecast publishes no schema): on the first of a month
    nothing is used yet (cost: the fixed charge) and the projection is last month's bill."""
    answer = opower_response(client.get(FORECAST.format(1000003), token, asOf="2026-03-01").json())

    assert answer["forecasts"] == [forecast(2000005, "ELECTRICITY", date(2026, 3, 1))]
    assert answer["forecasts"][0]["usageToDate"] == 0.0
    assert answer["forecasts"][0]["costToDate"] == 10.0
    assert (
        answer["forecasts"][0]["projectedUsage"]
        == month_milli(2000005, "ELECTRICITY", date(2026, 2, 1)) / 1000
    )


@pytest.mark.parametrize("customer", [1000004, 1000005])
def test_bill_forecast_without_active_account_is_404(
    client: SandboxClient, token: str, customer: int
) -> None:
    """Get Bill Forecast (PAGES["bill_forecast"]): 404 "Customer not found"; the sandbox
    also answers 404 when no account is active (an assumption)."""
    assert client.get(FORECAST.format(customer), token, asOf="2026-03-10").status == 404


# -- neighbor comparison ----------------------------------------------------------------
def assert_neighbors(comparison: dict[str, Any], you: float, first: date) -> None:
    """One fuel's comparison: `you` as computed (to 2 decimals), the month's dates, and
    neighbors 85-124 % of you, efficient neighbors 65 % of that (the sandbox's model)."""
    assert set(comparison) == {
        "you",
        "neighbors",
        "efficientNeighbors",
        "startDate",
        "endDate",
        "numNeighbors",
        "numEfficientNeighbors",
    }
    assert comparison["you"] == round(you, 2)
    assert (comparison["startDate"], comparison["endDate"]) == (first.isoformat(), last_day(first))
    assert 0.85 * you - 0.006 <= comparison["neighbors"] <= 1.24 * you + 0.006
    assert comparison["efficientNeighbors"] == round(comparison["neighbors"] * 0.65, 2)
    assert isinstance(comparison["numNeighbors"], int)
    assert isinstance(comparison["numEfficientNeighbors"], int)


def test_neighbor_comparison_of_a_dual_fuel_customer(client: SandboxClient, token: str) -> None:
    """Get Latest Neighbor Comparison (PAGES["neighbor_comparison"]):
    https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-neighborcomparison-v1-utilitycode-customers-id-neighbor_comparison-get.html
    `{"response": {"ELEC": {...}, "GAS": {...}, "COMBINED": {...}}}`, each `{you,
    neighbors, efficientNeighbors, startDate, endDate, numNeighbors,
    numEfficientNeighbors}`. `you` is the fuel's usage over the last whole UTC month before
    asOf; COMBINED (the page: gas "pro-rated and normalized" onto the electric bill) adds
    the gas in kWh, 1 therm = 29.3071 kWh (a sandbox assumption). Neighbors use one
    percentage per customer and month for every fuel."""
    response = client.get(NEIGHBORS.format(1000002), token, asOf="2026-03-10")

    assert response.status == 200
    answer = opower_response(response.json())
    assert set(answer) == {"ELEC", "GAS", "COMBINED"}
    february = date(2026, 2, 1)
    elec = month_milli(2000003, "ELECTRICITY", february) / 1000
    gas = month_milli(2000004, "GAS", february) / 1000
    combined = elec + gas * KWH_PER_THERM
    for key, you in (("ELEC", elec), ("GAS", gas), ("COMBINED", combined)):
        assert_neighbors(answer[key], you, february)
    percent = round(answer["ELEC"]["neighbors"] / elec * 100)
    for key, you in (("ELEC", elec), ("GAS", gas), ("COMBINED", combined)):
        assert answer[key]["neighbors"] == pytest.approx(you * percent / 100, abs=0.006)
    assert len({(c["numNeighbors"], c["numEfficientNeighbors"]) for c in answer.values()}) == 1
    # visible anchors
    assert [answer[k]["you"] for k in ("ELEC", "GAS", "COMBINED")] == [668.37, 65.73, 2594.61]
    assert (answer["ELEC"]["numNeighbors"], answer["ELEC"]["numEfficientNeighbors"]) == (111, 22)


def test_neighbor_comparison_sums_a_fuels_accounts_without_combined(
    client: SandboxClient, token: str
) -> None:
    """Get Latest Neighbor Comparison (PAGES["neighbor_comparison"]): "If a particular fuel
    is not defined there will be no key for it": UC-0001 has electricity only (two
    accounts, summed: the comparison is the customer's), so no GAS and no COMBINED."""
    answer = opower_response(client.get(NEIGHBORS.format(1000001), token, asOf="2026-03-10").json())

    february = date(2026, 2, 1)
    assert set(answer) == {"ELEC"}
    you = (
        month_milli(2000001, "ELECTRICITY", february)
        + month_milli(2000002, "ELECTRICITY", february)
    ) / 1000
    assert_neighbors(answer["ELEC"], you, february)


def test_neighbor_comparison_reads_the_own_date_of_an_offset_date_time(
    client: SandboxClient, token: str
) -> None:
    """Get Latest Neighbor Comparison (PAGES["neighbor_comparison"]) documents asOf as
    YYYY-MM-DD; a date-time with an offset is a sandbox extension, read as its own date
    (1 April at 00:30+05:00 is still 31 March in UTC)."""
    date_time = client.get(NEIGHBORS.format(1000002), token, asOf="2026-04-01T00:30:00+05:00")
    plain = client.get(NEIGHBORS.format(1000002), token, asOf="2026-04-01")

    assert date_time.status == 200
    assert opower_response(date_time.json())["ELEC"]["startDate"] == "2026-03-01"
    assert date_time.json() == plain.json()


@pytest.mark.parametrize("customer", ["1000004", "9999999"])
def test_neighbor_comparison_without_data_or_customer_is_404(
    client: SandboxClient, token: str, customer: str
) -> None:
    """Sandbox assumption (the page's errors are cut short): a flat 404."""
    response = client.get(NEIGHBORS.format(customer), token, asOf="2026-03-10")

    assert response.status == 404
    assert response.json()["httpStatus"] == 404


# -- threshold --------------------------------------------------------------------------
def threshold_of(client: SandboxClient, token: str, customer: str) -> Any:
    response = client.get(THRESHOLD.format(customer), token)
    assert response.status == 200, response.data
    return opower_response(response.json())


def test_seeded_threshold(client: SandboxClient, token: str) -> None:
    """Get Threshold Value for a Customer (PAGES["threshold"]):
    https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-threshold-v1-external-utilitycode-customers-utilitycustomerid-threshold-get.html
    `{"response": {threshold, percentage, utilityCode, utilityCustomerId}}`, threshold
    and percentage numbers (float): UC-0002's percentage is not whole."""
    response = client.get(THRESHOLD.format("UC-0002"), token)

    assert response.status == 200
    assert response.json() == {
        "response": {
            "threshold": 150.0,
            "percentage": 82.5,
            "utilityCode": U,
            "utilityCustomerId": "UC-0002",
        }
    }
    assert isinstance(response.json()["response"]["threshold"], float)


def test_threshold_put_get_delete(client: SandboxClient, token: str) -> None:
    """Set or Update a Customer's Threshold (PAGES["threshold PUT"]) answers 204; the GET
    (PAGES["threshold"]) then shows the values as floats (a whole percentage sent as 120
    comes back 120.0); Delete Threshold (PAGES["threshold DELETE"]) answers 204, after
    which GET is the 404 "No threshold set for the requested customer."."""
    path = THRESHOLD.format("UC-0001")

    put = client.api("PUT", path, token=token, json_body={"threshold": 99.5, "percentage": 120})
    stored = threshold_of(client, token, "UC-0001")
    deleted = client.api("DELETE", path, token=token)
    after = client.get(path, token)

    assert (put.status, put.data) == (204, b"")
    assert stored == {
        "threshold": 99.5,
        "percentage": 120.0,
        "utilityCode": U,
        "utilityCustomerId": "UC-0001",
    }
    assert isinstance(stored["percentage"], float)
    assert (deleted.status, deleted.data) == (204, b"")
    assert after.status == 404


def test_threshold_put_fields_are_optional_and_merged(client: SandboxClient, token: str) -> None:
    """Set or Update a Customer's Threshold (PAGES["threshold PUT"]): `threshold` and
    `percentage` are each optional; what one PUT leaves out keeps its held value (merging
    is a sandbox assumption: the page says "sets or updates"). A fractional percentage
    is a number(float) as documented."""
    path = THRESHOLD.format("UC-0002")

    only_percentage = client.api("PUT", path, token=token, json_body={"percentage": 90.25})
    after_percentage = threshold_of(client, token, "UC-0002")
    only_threshold = client.api("PUT", path, token=token, json_body={"threshold": 200})
    after_threshold = threshold_of(client, token, "UC-0002")

    assert (only_percentage.status, only_threshold.status) == (204, 204)
    assert (after_percentage["threshold"], after_percentage["percentage"]) == (150.0, 90.25)
    assert (after_threshold["threshold"], after_threshold["percentage"]) == (200.0, 90.25)
    assert isinstance(after_threshold["threshold"], float)


def test_a_percentage_alone_is_a_threshold(client: SandboxClient, token: str) -> None:
    """Get Threshold Value for a Customer (PAGES["threshold"]): only utilityCode and
    utilityCustomerId are required; a customer given only a percentage has no `threshold`."""
    put = client.api(
        "PUT", THRESHOLD.format("UC-0003"), token=token, json_body={"percentage": 33.3}
    )

    assert put.status == 204
    assert threshold_of(client, token, "UC-0003") == {
        "percentage": 33.3,
        "utilityCode": U,
        "utilityCustomerId": "UC-0003",
    }


def test_missing_threshold_uses_the_nested_error_form(client: SandboxClient, token: str) -> None:
    """Get Threshold Value for a Customer (PAGES["threshold"]): 404 "No threshold set for
    the requested customer.", in the nested ErrorDetails form `{"error": {details,
    httpStatus, serviceErrorCode}}` (the code's value is a sandbox assumption)."""
    response = client.get(THRESHOLD.format("UC-0001"), token)

    assert response.status == 404
    assert response.json() == {
        "error": {
            "details": "No threshold set for the requested customer.",
            "httpStatus": 404,
            "serviceErrorCode": "NOT_FOUND",
        }
    }


@pytest.mark.parametrize(("customer", "deleted_before"), [("UC-0001", 0), ("UC-0002", 1)])
def test_deleting_a_missing_threshold_is_a_nested_400(
    client: SandboxClient, token: str, customer: str, deleted_before: int
) -> None:
    """Delete Threshold for a Customer (PAGES["threshold DELETE"]): "400 No threshold found
    for the requested customer." (the page's status description; as `details` it is a
    sandbox assumption), nested. UC-0001 never had one; UC-0002's seeded one is deleted
    once and then missing."""
    path = THRESHOLD.format(customer)
    for _ in range(deleted_before):
        assert client.api("DELETE", path, token=token).status == 204

    response = client.api("DELETE", path, token=token)

    assert response.status == 400
    assert response.json() == {
        "error": {
            "details": "No threshold found for the requested customer.",
            "httpStatus": 400,
            "serviceErrorCode": "BAD_REQUEST",
        }
    }


TOO_HIGH = "Threshold is either negative or too high."


@pytest.mark.parametrize(
    ("body", "details"),
    [
        pytest.param({"threshold": -1, "percentage": 50}, TOO_HIGH, id="negative-threshold"),
        pytest.param({"threshold": -0.01}, TOO_HIGH, id="negative-fraction"),
        pytest.param({"threshold": 1_000_000.01}, TOO_HIGH, id="threshold-too-high"),
        pytest.param({"percentage": 1001}, TOO_HIGH, id="percentage-too-high"),
        pytest.param({"percentage": 1000.5}, TOO_HIGH, id="percentage-fraction-too-high"),
        pytest.param({"threshold": 10, "percentage": -1}, TOO_HIGH, id="negative-percentage"),
        pytest.param({"threshold": "10", "percentage": 50}, None, id="string"),
        pytest.param({"threshold": True}, None, id="boolean"),
        pytest.param({"percentage": None}, None, id="null"),
        pytest.param({}, None, id="empty"),
        pytest.param({"threshold": 10, "percentage": 50, "currency": "USD"}, None, id="extra"),
        pytest.param([10, 50], None, id="not-an-object"),
    ],
)
def test_invalid_threshold_is_a_nested_400(
    client: SandboxClient, token: str, body: object, details: str | None
) -> None:
    """Set or Update a Customer's Threshold (PAGES["threshold PUT"]): 400 "Threshold is
    either negative or too high." (percentage "from 0 to 1000"; the amount's ceiling,
    1,000,000, is a sandbox assumption); a body that is not numbers is a 400 too. Nested
    errors; nothing is stored."""
    before = threshold_of(client, token, "UC-0002")

    response = client.api("PUT", THRESHOLD.format("UC-0002"), token=token, json_body=body)

    assert response.status == 400
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["httpStatus"] == 400
    if details is not None:
        assert response.json()["error"]["details"] == details
    assert threshold_of(client, token, "UC-0002") == before


def test_non_finite_threshold_is_a_nested_400(client: SandboxClient, token: str) -> None:
    """NaN and Infinity (which Python's JSON parser accepts) are not numbers a threshold
    can hold (sandbox rule)."""
    for raw in ('{"threshold": NaN}', '{"percentage": Infinity}', '{"threshold": -Infinity}'):
        response = client.api(
            "PUT",
            THRESHOLD.format("UC-0002"),
            token=token,
            headers={"Content-Type": "application/json"},
            body=raw,
        )
        assert response.status == 400, raw
        assert response.json()["error"]["httpStatus"] == 400


def test_threshold_boundaries_are_accepted(client: SandboxClient, token: str) -> None:
    """Set or Update a Customer's Threshold (PAGES["threshold PUT"]): the percentage "can
    range from 0 to 1000", both ends included; 0 and 1,000,000 for the amount."""
    path = THRESHOLD.format("UC-0003")

    low = client.api("PUT", path, token=token, json_body={"threshold": 0, "percentage": 0})
    low_stored = threshold_of(client, token, "UC-0003")
    high = client.api(
        "PUT", path, token=token, json_body={"threshold": 1_000_000, "percentage": 1000}
    )
    high_stored = threshold_of(client, token, "UC-0003")

    assert (low.status, high.status) == (204, 204)
    assert (low_stored["threshold"], low_stored["percentage"]) == (0.0, 0.0)
    assert (high_stored["threshold"], high_stored["percentage"]) == (1_000_000.0, 1000.0)


@pytest.mark.parametrize(
    ("method", "path", "use_token", "status"),
    [
        ("GET", THRESHOLD.format("UC-9999"), True, 404),
        ("PUT", THRESHOLD.format("UC-9999"), True, 404),
        ("DELETE", THRESHOLD.format("UC-9999"), True, 404),
        ("GET", "threshold-v1/external/XYZ/customers/UC-0002/threshold", True, 404),
        ("POST", THRESHOLD.format("UC-0002"), True, 405),
        ("GET", THRESHOLD.format("UC-0002"), False, 401),
    ],
)
def test_threshold_errors_are_nested(
    client: SandboxClient, token: str, method: str, path: str, use_token: bool, status: int
) -> None:
    """The threshold pages' ErrorDetails: `{"error": {details, httpStatus,
    serviceErrorCode}}`, all three required, no `errorMessage`."""
    body = {"threshold": 1} if method == "PUT" else None

    response = client.api(method, path, token=token if use_token else None, json_body=body)

    assert response.status == status
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == {"details", "httpStatus", "serviceErrorCode"}
    assert response.json()["error"]["httpStatus"] == status


def test_a_compared_bill_is_the_billing_usage_of_its_month(
    client: SandboxClient, token: str
) -> None:
    """The bill comparison's reference bill and Get Billing Usage's bill of the same month
    are one bill: both count the month where the service point is."""
    comparison = client.get(f"{COMPARISON}/2000005", token, asOf="2026-03-10")
    billing = client.get(
        f"usage-v1/usage/billing/{U}/UC-0003/ELECTRICITY", token, start="2026-02-01",
        end="2026-03-01",
    )  # fmt: skip

    (bill_period,) = opower_response(billing.json())["streams"][0]["intervals"]
    reference = opower_response(comparison.json())["reference"]
    assert (reference["startDate"], reference["endDate"]) == ("2026-02-01", "2026-02-28")
    assert bill_period["start"] == "2026-02-01T00:00:00-06:00"
    assert reference["usage"] == bill_period["usage"]
