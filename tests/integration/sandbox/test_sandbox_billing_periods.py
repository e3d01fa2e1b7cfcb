"""Bill periods: Get Bill Period (billforecast-v2) and Get List of Neighbor Comparisons
(neighborComparison-v1/bill), tests/contracts/opower/NEW-OPERATIONS.md sections 4 and 5;
the examples are the fixtures get-bill-period.json and get-neighbor-comparison-history.json.

The sandbox's bills are calendar months where the service points are (America/Chicago),
as Get Bill Comparison's and Get Billing Usage's; Get Bill Period's fields are the
sandbox's (no schema is published), as `local.sandbox.insights` documents them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from local.sandbox import OpowerSandbox
from tests.integration.sandbox.documented_examples import assert_shape, documented
from tests.integration.sandbox.sandbox_client import SandboxClient, U, opower_response

pytestmark = pytest.mark.integration

BILL_PERIOD = f"billforecast-v2/{U}/accounts/{{}}/bill-period"
HISTORY = f"neighborComparison-v1/bill/{U}/{{}}/{{}}"
LATEST = f"neighborComparison-v1/{U}/customers/{{}}/neighbor_comparison"
ZONE = ZoneInfo("America/Chicago")
LATEST_KEYS = {"ELECTRICITY": "ELEC", "GAS": "GAS", "COMBINED": "COMBINED"}


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def this_month() -> date:
    return datetime.now(ZONE).date().replace(day=1)


def midnight(day: date) -> str:
    """Midnight where the service points are, as the answers print it."""
    return datetime.combine(day, time(), ZONE).isoformat()


# -- bill period -------------------------------------------------------------------------
def test_bill_period_is_the_month_of_as_of(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get Bill Period publishes neither schema nor example (the fixture holds only the
    `response` wrapper): the sandbox answers `{startDate, endDate}` (assumed), the bill of
    `asOf` as Get Bill Comparison bills it (its reference bill a month later is the same
    period)."""
    fixture = documented("get-bill-period")

    response = client.get(BILL_PERIOD.format(2000001), token, asOf="2026-03-10")
    comparison = client.get(
        f"billComparison-v2/{U}/bill-comparison/accounts/2000001", token, asOf="2026-04-10"
    )

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"], optional=("startDate", "endDate"))
    assert response.json() == {"response": {"startDate": "2026-03-01", "endDate": "2026-03-31"}}
    reference = opower_response(comparison.json())["reference"]
    assert (reference["startDate"], reference["endDate"]) == ("2026-03-01", "2026-03-31")
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1}


def test_bill_period_defaults_to_now(client: SandboxClient, token: str) -> None:
    """Get Bill Period: asOf "Defaults to now"."""
    answer = opower_response(client.get(BILL_PERIOD.format(2000003), token).json())

    assert answer["startDate"] == datetime.now(ZONE).date().replace(day=1).isoformat()


@pytest.mark.parametrize(
    ("as_of", "month"),
    [
        ("2026-02-28", "2026-02-01"),
        ("2026-02-28T23:59:59-05:00", "2026-02-01"),
        ("2026-02-28T23:59:59.999+03:00", "2026-02-01"),
        ("2026-02-28T23:59:59", "2026-02-01"),
        ("2026-02-28T23:59:59.5", "2026-02-01"),
        ("2026-03-01T00:00:00-00:00", "2026-03-01"),
    ],
)
def test_bill_period_reads_every_documented_as_of_form(
    client: SandboxClient, token: str, as_of: str, month: str
) -> None:
    """Get Bill Period: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ssTZD` or with fractions; "TZD can
    be empty (meaning UTC timezone)"; "Use -00:00 for UTC". A date-time's own date
    counts (as for every asOf of the sandbox)."""
    response = client.get(BILL_PERIOD.format(2000001), token, asOf=as_of)

    assert response.status == 200, response.data
    assert opower_response(response.json())["startDate"] == month


@pytest.mark.parametrize(
    "as_of", ["2026-02-28T23:59:59Z", "2026-02-30", "28/02/2026", "2026-02-28T23:59:59 05:00", ""]
)
def test_bill_period_refuses_other_as_of_forms(
    client: SandboxClient, token: str, as_of: str
) -> None:
    """Get Bill Period: "Z is not currently supported" and an unencoded `+` arrives as a
    space: 400 "Invalid request", as any malformed date."""
    response = client.get(BILL_PERIOD.format(2000001), token, asOf=as_of)

    assert response.status == 400
    assert response.json()["httpStatus"] == 400


@pytest.mark.parametrize(
    ("account", "as_of"),
    [
        pytest.param(2000006, None, id="moved-out"),
        pytest.param(2000002, "2022-08-20", id="before-move-in"),
    ],
)
def test_bill_period_outside_the_tenancy_is_an_empty_200(
    client: SandboxClient, token: str, account: int, as_of: str | None
) -> None:
    """Get Bill Period: "This does not guarantee a bill period is retrieved. For example,
    billing periods are not provided for accounts if the account or account history data
    cannot be found." (an empty response: assumed)."""
    fields = {} if as_of is None else {"asOf": as_of}

    response = client.get(BILL_PERIOD.format(account), token, **fields)

    assert (response.status, response.json()) == (200, {"response": {}})


@pytest.mark.parametrize(
    "path",
    [
        BILL_PERIOD.format(9999999),
        BILL_PERIOD.format("abc"),
        BILL_PERIOD.format(4000001),  # the other company's account
        "billforecast-v2/util/accounts/2000001/bill-period",
    ],
)
def test_bill_period_of_an_unknown_account_is_404(
    client: SandboxClient, token: str, path: str
) -> None:
    """Get Bill Period: 404 "Not found"; the utility code is the sandbox's own."""
    response = client.get(path, token)

    assert response.status == 404
    assert response.json()["httpStatus"] == 404


# -- neighbor comparison history ---------------------------------------------------------
def history(
    client: SandboxClient, token: str, customer: str, fuel: str, **window: str
) -> tuple[int, Any]:
    response = client.get(HISTORY.format(customer, fuel), token, **window)
    return response.status, response.json()


def test_without_dates_the_most_recent_comparison(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get List of Neighbor Comparisons: the example's shape (its utilityCustomerId is a
    number, the path's a string: either is read); "If start and end dates are not
    provided the most recent neighbor comparison for the customer is returned": start
    and end default to the most recent complete bill's."""
    fixture = documented("get-neighbor-comparison-history")
    last = add_months(this_month(), -1)

    status, body = history(client, token, "UC-0002", "ELECTRICITY")

    assert status == fixture["status"]
    assert_shape(body, fixture["example"], any_type=("utilityCustomerId",))
    answer = opower_response(body)
    assert {k: answer[k] for k in ("utilityCode", "utilityCustomerId", "fuelType", "unit")} == {
        "utilityCode": U,
        "utilityCustomerId": "UC-0002",
        "fuelType": "ELECTRICITY",
        "unit": "KWH",
    }
    assert (answer["start"], answer["end"]) == (midnight(last), midnight(this_month()))
    (comparison,) = answer["neighborComparisons"]
    assert (comparison["start"], comparison["end"]) == (midnight(last), midnight(this_month()))
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1}


@pytest.mark.parametrize(
    ("fuel", "unit"), [("ELECTRICITY", "KWH"), ("GAS", "THERM"), ("COMBINED", "KWH")]
)
def test_each_bill_is_the_latest_comparison_of_its_month(
    client: SandboxClient, token: str, fuel: str, unit: str
) -> None:
    """A bill's numbers are those Get Latest Neighbor Comparison gives for the same month:
    customerUsage is `you`, allNeighborsUsage `neighbors`, efficientNeighborsUsage
    `efficientNeighbors` (COMBINED in kWh, assumed)."""
    first = add_months(this_month(), -3)
    window = {"start": first.isoformat(), "end": add_months(first, 1).isoformat()}

    status, body = history(client, token, "UC-0002", fuel, **window)
    latest = client.get(LATEST.format(1000002), token, asOf=add_months(first, 1).isoformat())

    assert status == 200
    answer = opower_response(body)
    assert answer["unit"] == unit
    (comparison,) = answer["neighborComparisons"]
    expected = opower_response(latest.json())[LATEST_KEYS[fuel]]
    assert expected["startDate"] == first.isoformat()
    assert (
        comparison["customerUsage"],
        comparison["allNeighborsUsage"],
        comparison["efficientNeighborsUsage"],
    ) == (expected["you"], expected["neighbors"], expected["efficientNeighbors"])


def test_a_long_span_is_the_past_12_months(client: SandboxClient, token: str) -> None:
    """Get List of Neighbor Comparisons: "Data is available for the past 12 months, for a
    maximum of 13 bills": a span reaching further back gives the last 12 complete months,
    oldest first. start and end are echoed as date-times (a date: midnight where the
    service points are)."""
    start = midnight(add_months(this_month(), -20))

    status, body = history(
        client, token, "UC-0001", "ELECTRICITY", start=start, end=this_month().isoformat()
    )

    assert status == 200
    answer = opower_response(body)
    assert (answer["start"], answer["end"]) == (start, midnight(this_month()))
    months = [add_months(this_month(), -back) for back in range(12, 0, -1)]
    assert [(c["start"], c["end"]) for c in answer["neighborComparisons"]] == [
        (midnight(m), midnight(add_months(m, 1))) for m in months
    ]
    assert len(answer["neighborComparisons"]) <= 13


def test_a_bill_partly_in_the_span_is_included(client: SandboxClient, token: str) -> None:
    """Get List of Neighbor Comparisons: "Any billing period partially or fully within the
    requested time span is included"; `end` is exclusive: a span from the 15th of one
    month to the 1st of the second month after has two bills, not three."""
    first = add_months(this_month(), -4)
    start = first.replace(day=15).isoformat()

    status, body = history(
        client, token, "UC-0003", "ELECTRICITY", start=start, end=add_months(first, 2).isoformat()
    )

    assert status == 200
    starts = [c["start"] for c in opower_response(body)["neighborComparisons"]]
    assert starts == [midnight(first), midnight(add_months(first, 1))]


def test_a_start_alone_ends_with_the_most_recent_bill(client: SandboxClient, token: str) -> None:
    """The page: end defaults to the end of the most recent complete billing period."""
    status, body = history(
        client, token, "UC-0002", "GAS", start=add_months(this_month(), -3).isoformat()
    )

    assert status == 200
    answer = opower_response(body)
    assert answer["end"] == midnight(this_month())
    assert len(answer["neighborComparisons"]) == 3


@pytest.mark.parametrize(
    ("fuel", "window"),
    [
        pytest.param("ELECTRICITY", {"start": "2026-06-01", "end": "2026-06-01"}, id="empty-span"),
        pytest.param("ELECTRICITY", {"start": "2026-07-01", "end": "2026-06-01"}, id="reversed"),
        pytest.param("ELECTRICITY", {"end": add_months(this_month(), -3).isoformat()},
                     id="end-before-the-default-start"),
        pytest.param("ELECTRICITY", {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01"},
                     id="Z"),
        pytest.param("ELECTRICITY", {"start": "June", "end": "2026-07-01"}, id="not-a-date"),
        pytest.param("ELEC", {}, id="the-disaggregation-fuel-name"),
        pytest.param("electricity", {}, id="lower-case-fuel"),
    ],
)  # fmt: skip
def test_invalid_spans_and_fuels_are_400(
    client: SandboxClient, token: str, fuel: str, window: dict[str, str]
) -> None:
    """start "must be earlier than the end value"; dates in the usage API's forms (no
    `Z`); the fuel is ELECTRICITY, GAS or COMBINED (as the usage API: another is 400)."""
    status, body = history(client, token, "UC-0002", fuel, **window)

    assert status == 400
    assert body["httpStatus"] == 400


@pytest.mark.parametrize(
    ("customer", "fuel", "window"),
    [
        pytest.param("UC-0001", "GAS", {}, id="a-fuel-the-customer-lacks"),
        pytest.param("UC-0001", "COMBINED", {}, id="combined-needs-both"),
        pytest.param("UC-0005", "ELECTRICITY", {}, id="moved-out"),
        pytest.param("UC-0002", "ELECTRICITY", {"start": "2022-01-01", "end": "2022-06-01"},
                     id="older-than-12-months"),
        pytest.param("UC-9999", "ELECTRICITY", {}, id="unknown-customer"),
        pytest.param("UC-2002", "GAS", {}, id="the-other-companys-customer"),
    ],
)  # fmt: skip
def test_no_comparison_is_404(
    client: SandboxClient, token: str, customer: str, fuel: str, window: dict[str, str]
) -> None:
    """Sandbox assumptions (the page's errors are cut): a fuel the customer has no account
    for, or a span without any of the past 12 months' bills, is a 404."""
    status, body = history(client, token, customer, fuel, **window)

    assert status == 404
    assert body["httpStatus"] == 404
