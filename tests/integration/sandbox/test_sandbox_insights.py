"""Bill comparison, bill forecast, neighbor comparison and the threshold service."""

from __future__ import annotations

import pytest

from tests.integration.sandbox.sandbox_client import SandboxClient, U

pytestmark = pytest.mark.integration

COMPARISON = f"billComparison-v2/{U}/bill-comparison/accounts"
FORECAST = f"billforecast-v2/{U}/customers/{{}}/bill_forecast"
NEIGHBORS = f"neighborComparison-v1/{U}/customers/{{}}/neighbor_comparison"
THRESHOLD = f"threshold-v1/external/{U}/customers/{{}}/threshold"


def test_bill_comparison_year_ago(client: SandboxClient, token: str) -> None:
    response = client.get(
        f"{COMPARISON}/2000004", token, asOf="2026-03-10", comparisonBill="YEAR_AGO"
    )

    assert response.status == 200
    assert response.json() == {
        "accountId": 2000004,
        "utilityAccountId": "4100000003",
        "fuelType": "GAS",
        "unit": "THERM",
        "currency": "USD",
        "asOf": "2026-03-10",
        "comparisonBill": "YEAR_AGO",
        "fallbackApplied": False,
        "currentBill": {
            "startDate": "2026-02-01",
            "endDate": "2026-02-28",
            "usage": 65.785,
            "cost": 86.94,
        },
        "comparedBill": {
            "startDate": "2025-02-01",
            "endDate": "2025-02-28",
            "usage": 66.208,
            "cost": 87.45,
        },
        "usageDifference": -0.423,
        "costDifference": -0.51,
    }


def test_bill_comparison_defaults_to_previous_bill(client: SandboxClient, token: str) -> None:
    body = client.get(f"{COMPARISON}/2000004", token, asOf="2026-03-10").json()

    assert body["comparisonBill"] == "PREVIOUS"
    assert body["comparedBill"]["startDate"] == "2026-01-01"


def test_bill_comparison_agrees_with_billing_usage(client: SandboxClient, token: str) -> None:
    comparison = client.get(f"{COMPARISON}/2000004", token, asOf="2026-03-10").json()
    billing = client.get(
        f"usage-v1/usage/billing/{U}/UC-0002/GAS",
        token,
        start="2026-02-01T00:00:00-00:00",
        end="2026-03-01T00:00:00-00:00",
    ).json()

    assert billing["reads"][0]["value"] == comparison["currentBill"]["usage"]


def test_bill_comparison_fallback_to_previous_period(client: SandboxClient, token: str) -> None:
    # Account 2000005 moved in on 2021-06-01: no bill a year before July 2021.
    fields = {"asOf": "2021-08-15", "comparisonBill": "YEAR_AGO"}

    without = client.get(f"{COMPARISON}/2000005", token, **fields)
    with_fallback = client.get(
        f"{COMPARISON}/2000005", token, fallbackToPreviousPeriod="true", **fields
    )

    assert without.status == 404
    body = with_fallback.json()
    assert (body["comparisonBill"], body["fallbackApplied"]) == ("PREVIOUS", True)
    assert body["currentBill"]["usage"] == 741.911
    assert body["comparedBill"] == {
        "startDate": "2021-06-01",
        "endDate": "2021-06-30",
        "usage": 731.193,
        "cost": 119.68,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"comparisonBill": "LAST_WEEK"},
        {"fallbackToPreviousPeriod": "yes"},
        {"asOf": "2026-02-30"},
        {"asOf": "March"},
        # outside the dates bills are computed for: an ErrorResponse, never a crash
        {"asOf": "0001-01-01"},
        {"asOf": "9999-12-31"},
        {"asOf": "0001-01-01T00:00:00-05:00"},
    ],
)
def test_bill_comparison_rejects_invalid_parameters(
    client: SandboxClient, token: str, fields: dict[str, str]
) -> None:
    assert client.get(f"{COMPARISON}/2000001", token, **fields).status == 400


@pytest.mark.parametrize("account", ["1000001", "2999999", "abc"])
def test_bill_comparison_unknown_account_is_404(
    client: SandboxClient, token: str, account: str
) -> None:
    # A customer id is not a utility-account id.
    assert client.get(f"{COMPARISON}/{account}", token).status == 404


def test_bill_forecast(client: SandboxClient, token: str) -> None:
    response = client.get(FORECAST.format(1000002), token, asOf="2026-03-10")

    assert response.status == 200
    body = response.json()
    assert (body["customerId"], body["asOf"], body["currency"]) == (1000002, "2026-03-10", "USD")
    assert body["forecasts"] == [
        {
            "accountId": 2000003,
            "utilityAccountId": "4100000003",
            "fuelType": "ELECTRICITY",
            "unit": "KWH",
            "billPeriodStart": "2026-03-01",
            "billPeriodEnd": "2026-03-31",
            "usageToDate": 211.448,
            "costToDate": 41.72,
            "projectedUsage": 728.32,
            "projectedCost": 119.25,
        },
        {
            "accountId": 2000004,
            "utilityAccountId": "4100000003",
            "fuelType": "GAS",
            "unit": "THERM",
            "billPeriodStart": "2026-03-01",
            "billPeriodEnd": "2026-03-31",
            "usageToDate": 20.679,
            "costToDate": 32.81,
            "projectedUsage": 71.227,
            "projectedCost": 93.47,
        },
    ]


def test_bill_forecast_on_the_first_projects_the_previous_bill(
    client: SandboxClient, token: str
) -> None:
    forecast = client.get(FORECAST.format(1000003), token, asOf="2026-03-01").json()["forecasts"]

    assert [(f["usageToDate"], f["projectedUsage"]) for f in forecast] == [(0.0, 671.556)]


@pytest.mark.parametrize("customer", [1000004, 1000005])
def test_bill_forecast_without_active_account_is_404(
    client: SandboxClient, token: str, customer: int
) -> None:
    assert client.get(FORECAST.format(customer), token, asOf="2026-03-10").status == 404


def test_neighbor_comparison(client: SandboxClient, token: str) -> None:
    response = client.get(NEIGHBORS.format(1000002), token, asOf="2026-03-10")

    assert response.status == 200
    assert response.json() == {
        "customerId": 1000002,
        "asOf": "2026-03-10",
        "comparisons": [
            {
                "fuelType": "ELECTRICITY",
                "unit": "KWH",
                "billPeriodStart": "2026-02-01",
                "billPeriodEnd": "2026-02-28",
                "you": 669.053,
                "averageNeighbors": 776.101,
                "efficientNeighbors": 504.465,
                "rating": "GOOD",
            },
            {
                "fuelType": "GAS",
                "unit": "THERM",
                "billPeriodStart": "2026-02-01",
                "billPeriodEnd": "2026-02-28",
                "you": 65.785,
                "averageNeighbors": 76.31,
                "efficientNeighbors": 49.601,
                "rating": "GOOD",
            },
        ],
    }


def test_neighbor_comparison_accepts_an_offset_date_time(client: SandboxClient, token: str) -> None:
    body = client.get(NEIGHBORS.format(1000002), token, asOf="2026-03-10T08:00:00-05:00").json()

    assert body["asOf"] == "2026-03-10"


@pytest.mark.parametrize("customer", ["1000004", "9999999"])
def test_neighbor_comparison_without_data_or_customer_is_404(
    client: SandboxClient, token: str, customer: str
) -> None:
    assert client.get(NEIGHBORS.format(customer), token, asOf="2026-03-10").status == 404


def test_seeded_threshold(client: SandboxClient, token: str) -> None:
    response = client.get(THRESHOLD.format("UC-0002"), token)

    assert response.status == 200
    assert response.json() == {"threshold": 150.0, "percentage": 80}


def test_threshold_put_get_delete(client: SandboxClient, token: str) -> None:
    path = THRESHOLD.format("UC-0001")

    put = client.api("PUT", path, token=token, json_body={"threshold": 99.5, "percentage": 120})
    stored = client.get(path, token)
    deleted = client.api("DELETE", path, token=token)
    after = client.get(path, token)

    assert (put.status, put.data) == (204, b"")
    assert stored.json() == {"threshold": 99.5, "percentage": 120}
    assert deleted.status == 204
    assert after.status == 404


def test_missing_threshold_uses_the_nested_error_form(client: SandboxClient, token: str) -> None:
    response = client.get(THRESHOLD.format("UC-0001"), token)

    assert response.status == 404
    assert response.json() == {
        "error": {
            "details": "No threshold for customer UC-0001",
            "httpStatus": 404,
            "serviceErrorCode": "NOT_FOUND",
        }
    }


@pytest.mark.parametrize(
    "body",
    [
        {"threshold": -1, "percentage": 50},
        {"threshold": 10, "percentage": 1001},
        {"threshold": 10, "percentage": -1},
        {"threshold": 10, "percentage": 50.5},
        {"threshold": "10", "percentage": 50},
        {"threshold": True, "percentage": 50},
        {"threshold": 10},
        {"threshold": 10, "percentage": 50, "currency": "USD"},
        [10, 50],
    ],
)
def test_invalid_threshold_is_a_nested_400(client: SandboxClient, token: str, body: object) -> None:
    response = client.api("PUT", THRESHOLD.format("UC-0002"), token=token, json_body=body)

    assert response.status == 400
    assert response.json()["error"]["httpStatus"] == 400
    assert client.get(THRESHOLD.format("UC-0002"), token).json()["percentage"] == 80


def test_threshold_boundaries_are_accepted(client: SandboxClient, token: str) -> None:
    path = THRESHOLD.format("UC-0003")

    low = client.api("PUT", path, token=token, json_body={"threshold": 0, "percentage": 0})
    high = client.api("PUT", path, token=token, json_body={"threshold": 1, "percentage": 1000})

    assert (low.status, high.status) == (204, 204)


@pytest.mark.parametrize(
    ("method", "path", "use_token", "status"),
    [
        ("GET", THRESHOLD.format("UC-9999"), True, 404),
        ("GET", "threshold-v1/external/XYZ/customers/UC-0002/threshold", True, 404),
        ("POST", THRESHOLD.format("UC-0002"), True, 405),
        ("GET", THRESHOLD.format("UC-0002"), False, 401),
    ],
)
def test_threshold_errors_are_nested(
    client: SandboxClient, token: str, method: str, path: str, use_token: bool, status: int
) -> None:
    response = client.api(method, path, token=token if use_token else None)

    assert response.status == status
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["httpStatus"] == status
