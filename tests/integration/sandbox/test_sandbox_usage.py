"""Usage API: deterministic reads, Opower's time format and per-request caps.

Expected values are recomputed from the formula documented in `local.sandbox.consumption`,
independently of the sandbox's code, plus one fixed day as a visible anchor.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.integration.sandbox.sandbox_client import SandboxClient, U

pytestmark = pytest.mark.integration

EST = timezone(timedelta(hours=-5))
QUARTER = timedelta(minutes=15)
DAY = timedelta(days=1)


def expected_interval(account_ids: list[int], fuel: str, start: datetime) -> int:
    """Thousandths of a unit, per the documented formula, summed over the accounts."""
    base, spread = {"ELECTRICITY": (50, 400), "GAS": (5, 40)}[fuel]
    total = 0
    for account_id in account_ids:
        key = f"{account_id}|{fuel}|{int(start.timestamp())}".encode()
        total += base + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % spread
    return total


def expected_period(account_ids: list[int], fuel: str, start: datetime, end: datetime) -> float:
    moments = [start + QUARTER * i for i in range(int((end - start) / QUARTER))]
    return sum(expected_interval(account_ids, fuel, t) for t in moments) / 1000


def usage(
    client: SandboxClient,
    token: str,
    resolution: str,
    start: datetime | str,
    end: datetime | str,
    customer: str = "UC-0002",
    fuel: str = "GAS",
) -> tuple[int, object]:
    fields = {
        "start": start if isinstance(start, str) else start.isoformat(),
        "end": end if isinstance(end, str) else end.isoformat(),
    }
    response = client.get(f"usage-v1/usage/{resolution}/{U}/{customer}/{fuel}", token, **fields)
    return response.status, response.json()


def recent_midnight(days_ago: int = 10, tz: timezone = EST) -> datetime:
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - DAY * days_ago


def first_of_month(moment: datetime, months_back: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months_back
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0,
                          second=0, microsecond=0)  # fmt: skip


def test_raw_reads_are_deterministic_and_in_the_requested_offset(
    client: SandboxClient, token: str
) -> None:
    start = recent_midnight()

    status, body = usage(client, token, "raw", start, start + QUARTER * 4)

    assert status == 200
    assert isinstance(body, dict)
    assert {k: body[k] for k in ("utilityCustomerId", "fuelType", "resolution", "unit")} == {
        "utilityCustomerId": "UC-0002",
        "fuelType": "GAS",
        "resolution": "raw",
        "unit": "THERM",
    }
    assert body["reads"] == [
        {
            "startTime": (start + QUARTER * i).isoformat(),
            "endTime": (start + QUARTER * (i + 1)).isoformat(),
            "value": expected_interval([2000004], "GAS", start + QUARTER * i) / 1000,
        }
        for i in range(4)
    ]
    assert body["reads"][0]["startTime"].endswith("-05:00")


def test_raw_electricity_sums_the_customers_two_meters(client: SandboxClient, token: str) -> None:
    start = recent_midnight(3)

    _, body = usage(client, token, "raw", start, start + QUARTER, "UC-0001", "ELECTRICITY")

    assert isinstance(body, dict)
    assert body["unit"] == "KWH"
    expected = expected_interval([2000001, 2000002], "ELECTRICITY", start) / 1000
    assert body["reads"][0]["value"] == expected


def test_raw_cap_is_100_intervals(client: SandboxClient, token: str) -> None:
    start = recent_midnight(5)

    ok_status, ok_body = usage(client, token, "raw", start, start + QUARTER * 100)
    over_status, over_body = usage(
        client, token, "raw", start, start + QUARTER * 100 + timedelta(seconds=1)
    )

    assert ok_status == 200
    assert isinstance(ok_body, dict)
    assert len(ok_body["reads"]) == 100
    assert over_status == 400
    assert isinstance(over_body, dict)
    assert "100 intervals" in over_body["details"]


def test_raw_only_covers_the_last_730_days(client: SandboxClient, token: str) -> None:
    start = recent_midnight(731)

    status, _ = usage(client, token, "raw", start, start + QUARTER)

    assert status == 400


def test_future_intervals_are_not_returned(client: SandboxClient, token: str) -> None:
    now = datetime.now(UTC)
    boundary = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    if boundary + QUARTER - now < timedelta(seconds=1):  # the server's clock would cross it
        time.sleep(1)
        boundary += QUARTER

    _, body = usage(client, token, "raw", boundary - QUARTER * 4, boundary + QUARTER * 4)

    assert isinstance(body, dict)
    assert len(body["reads"]) == 4
    assert body["reads"][-1]["endTime"] == boundary.isoformat()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param("2026-01-01T00:00:00Z", "2026-01-01T01:00:00-00:00", id="Z-start"),
        pytest.param("2026-01-01T00:00:00-00:00", "2026-01-01T01:00:00Z", id="Z-end"),
        pytest.param("2026-01-01T00:00:00", "2026-01-01T01:00:00", id="no-offset"),
        pytest.param("2026-01-01", "2026-01-02", id="date-only"),
        pytest.param("2026-13-01T00:00:00-05:00", "2026-12-02T00:00:00-05:00", id="month-13"),
        pytest.param("2026-01-01T00:00:00-05:07", "2026-01-01T01:00:00-05:07", id="odd-offset"),
        pytest.param("2026-01-01T01:00:00-05:00", "2026-01-01T01:00:00-05:00", id="empty-range"),
        pytest.param("2026-01-01T02:00:00-05:00", "2026-01-01T01:00:00-05:00", id="reversed"),
        pytest.param("yesterday", "2026-01-01T01:00:00-05:00", id="garbage"),
    ],
)
def test_invalid_time_parameters_are_400(
    client: SandboxClient, token: str, start: str, end: str
) -> None:
    status, body = usage(client, token, "day", start, end)

    assert status == 400
    assert isinstance(body, dict)
    assert body["serviceErrorCode"] == "BAD_REQUEST"


def test_unencoded_plus_offset_is_400_and_encoded_is_accepted(
    client: SandboxClient, token: str
) -> None:
    path = f"/apis/usage-v1/usage/day/{U}/UC-0002/GAS"
    query = "start=2026-01-01T00:00:00{0}01:00&end=2026-01-03T00:00:00{0}01:00"

    raw_plus = client.request("GET", f"{path}?{query.format('+')}", token=token)
    encoded = client.request("GET", f"{path}?{query.format('%2B')}", token=token)

    assert raw_plus.status == 400
    assert encoded.status == 200
    assert encoded.json()["reads"][0]["startTime"] == "2026-01-01T00:00:00+01:00"


def test_missing_start_or_end_is_400(client: SandboxClient, token: str) -> None:
    path = f"usage-v1/usage/day/{U}/UC-0002/GAS"

    only_start = client.get(path, token, start="2026-01-01T00:00:00-05:00")
    only_end = client.get(path, token, end="2026-01-02T00:00:00-05:00")

    assert (only_start.status, only_end.status) == (400, 400)


def test_day_reads_for_a_fixed_day(client: SandboxClient, token: str) -> None:
    start = datetime(2025, 3, 1, tzinfo=EST)

    status, body = usage(client, token, "day", start, start + 2 * DAY, "UC-0003", "ELECTRICITY")

    assert status == 200
    assert isinstance(body, dict)
    assert body["reads"] == [
        {
            "startTime": "2025-03-01T00:00:00-05:00",
            "endTime": "2025-03-02T00:00:00-05:00",
            "value": 25.653,
        },
        {
            "startTime": "2025-03-02T00:00:00-05:00",
            "endTime": "2025-03-03T00:00:00-05:00",
            "value": expected_period([2000005], "ELECTRICITY", start + DAY, start + 2 * DAY),
        },
    ]
    assert body["reads"][0]["value"] == expected_period(
        [2000005], "ELECTRICITY", start, start + DAY
    )


def test_a_day_is_the_sum_of_its_96_raw_intervals(client: SandboxClient, token: str) -> None:
    start = recent_midnight(2)

    _, day = usage(client, token, "day", start, start + DAY)
    _, raw = usage(client, token, "raw", start, start + DAY)

    assert isinstance(day, dict)
    assert isinstance(raw, dict)
    assert len(raw["reads"]) == 96
    assert day["reads"][0]["value"] == round(sum(r["value"] for r in raw["reads"]), 3)


def test_day_reads_start_at_the_next_midnight(client: SandboxClient, token: str) -> None:
    start = datetime(2025, 3, 1, 6, 0, tzinfo=EST)

    _, body = usage(client, token, "day", start, start + 3 * DAY)

    assert isinstance(body, dict)
    assert [r["startTime"] for r in body["reads"]] == [
        "2025-03-02T00:00:00-05:00",
        "2025-03-03T00:00:00-05:00",
    ]


def test_day_cap_is_45_days(client: SandboxClient, token: str) -> None:
    start = datetime(2025, 1, 1, tzinfo=EST)

    ok_status, ok_body = usage(client, token, "day", start, start + 45 * DAY)
    over_status, _ = usage(client, token, "day", start, start + 45 * DAY + timedelta(seconds=1))

    assert ok_status == 200
    assert isinstance(ok_body, dict)
    assert len(ok_body["reads"]) == 45
    assert over_status == 400


def test_billing_cap_is_25_bills(client: SandboxClient, token: str) -> None:
    now = datetime.now(UTC)
    start = first_of_month(now, 23)  # within the last 2 years
    end_25 = first_of_month(now, 23 - 25)  # 25 month starts later, in the future

    ok_status, ok_body = usage(client, token, "billing", start, end_25)
    over_status, over_body = usage(client, token, "billing", start, first_of_month(now, 23 - 26))

    assert ok_status == 200
    assert isinstance(ok_body, dict)
    assert len(ok_body["reads"]) == 23  # only bills that have ended
    assert ok_body["reads"][-1]["endTime"] == first_of_month(now, 0).isoformat()
    assert over_status == 400
    assert isinstance(over_body, dict)
    assert "25 bills" in over_body["details"]


def test_billing_only_covers_the_last_2_years(client: SandboxClient, token: str) -> None:
    start = first_of_month(datetime.now(UTC), 25)

    status, _ = usage(client, token, "billing", start, first_of_month(datetime.now(UTC), 23))

    assert status == 400


def test_a_bill_is_the_sum_of_its_days_in_the_requested_offset(
    client: SandboxClient, token: str
) -> None:
    month = first_of_month(datetime.now(EST), 2)
    following = first_of_month(datetime.now(EST), 1)

    _, bills = usage(client, token, "billing", month, following, "UC-0002", "ELECTRICITY")
    _, days = usage(client, token, "day", month, following, "UC-0002", "ELECTRICITY")

    assert isinstance(bills, dict)
    assert isinstance(days, dict)
    assert bills["reads"] == [
        {
            "startTime": month.isoformat(),
            "endTime": following.isoformat(),
            "value": round(sum(d["value"] for d in days["reads"]), 3),
        }
    ]


@pytest.mark.parametrize(
    ("customer", "fuel"),
    [("UC-0001", "GAS"), ("UC-0004", "ELECTRICITY"), ("UC-9999", "ELECTRICITY")],
)
def test_fuel_without_meter_or_unknown_customer_is_404(
    client: SandboxClient, token: str, customer: str, fuel: str
) -> None:
    start = recent_midnight()

    status, _ = usage(client, token, "raw", start, start + QUARTER, customer, fuel)

    assert status == 404


def test_unknown_utility_is_404(client: SandboxClient, token: str) -> None:
    response = client.get(
        "usage-v1/usage/day/XYZ/UC-0002/GAS",
        token,
        start="2025-01-01T00:00:00-05:00",
        end="2025-01-02T00:00:00-05:00",
    )

    assert response.status == 404


@pytest.mark.parametrize(("resolution", "fuel"), [("hourly", "GAS"), ("day", "WATER")])
def test_unknown_resolution_or_fuel_is_400(
    client: SandboxClient, token: str, resolution: str, fuel: str
) -> None:
    status, _ = usage(
        client,
        token,
        resolution,
        "2025-01-01T00:00:00-05:00",
        "2025-01-02T00:00:00-05:00",
        "UC-0002",
        fuel,
    )

    assert status == 400


@pytest.mark.parametrize(
    ("resolution", "start", "end"),
    [
        ("billing", "2025-01-01T00:00:00-00:00", "9999-12-31T00:00:00-00:00"),
        ("day", "9999-12-01T00:00:00-00:00", "9999-12-31T00:00:00-00:00"),
        ("raw", "0001-01-01T00:00:00-00:00", "0001-01-01T01:00:00-00:00"),
    ],
)
def test_dates_far_outside_the_served_window_are_an_error_response(
    client: SandboxClient, token: str, resolution: str, start: str, end: str
) -> None:
    status, body = usage(client, token, resolution, start, end)

    assert status == 400
    assert isinstance(body, dict)
    assert body["httpStatus"] == 400
    assert "available from" in body["details"]
