"""Usage API: deterministic reads per service point, Opower's time format and the caps.

The answers follow Oracle's usage pages (URLs in ``gateway.schemas.PAGES``):

- Get Raw Interval Usage:
  https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-usage-v1-usage-raw-utilitycode-utilitycustomerid-fueltype-get.html
- Get Daily Interval Usage:
  https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-usage-v1-usage-day-utilitycode-utilitycustomerid-fueltype-get.html
- Get Billing Usage:
  https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/op-apis-usage-v1-usage-billing-utilitycode-utilitycustomerid-fueltype-get.html

Expected values are recomputed from the formula documented in `local.sandbox.consumption`,
independently of the sandbox's code, plus one fixed day as a visible anchor. Every time is
handled as an absolute instant (Unix seconds or UTC) and only printed in the service
point's zone, America/Chicago: arithmetic on two datetimes of one ZoneInfo is wall-clock
arithmetic in Python, which is wrong across a change of summer time.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from local.sandbox.data import UTILITY_ACCOUNTS
from local.sandbox.usage import usage_body
from tests.integration.sandbox.sandbox_client import SandboxClient, U, opower_response

pytestmark = pytest.mark.integration

CHICAGO = ZoneInfo("America/Chicago")  # the first company's service points
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# The seeded service points (Get Utility Account List's `utilityAccountId2`), with their
# utility account id and raw interval (its `resolution`): checked by the customer tests.
SP_7001 = ("SP-7001", 2000001, QUARTER)  # UC-0001 ELECTRICITY, QUARTER_HOUR
SP_7002 = ("SP-7002", 2000002, HOUR)  # UC-0001 ELECTRICITY, HOUR
SP_7003 = ("SP-7003", 2000003, QUARTER)  # UC-0002 ELECTRICITY, QUARTER_HOUR
SP_7004 = ("SP-7004", 2000004, HOUR)  # UC-0002 GAS, HOUR
SP_7005 = ("SP-7005", 2000005, QUARTER)  # UC-0003 ELECTRICITY, QUARTER_HOUR


def reading(account_id: int, fuel: str, start: int) -> int:
    """Thousandths of a unit of the 15-minute interval starting at `start` (Unix seconds),
    per the documented formula."""
    base, spread = {"ELECTRICITY": (50, 400), "GAS": (5, 40)}[fuel]
    key = f"{account_id}|{fuel}|{start}".encode()
    return base + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % spread


def expected_usage(account_id: int, fuel: str, start: datetime, end: datetime) -> float:
    """One service point's usage over [start, end): the sum of its 15-minute readings."""
    moments = range(int(start.timestamp()), int(end.timestamp()), int(QUARTER.total_seconds()))
    return sum(reading(account_id, fuel, t) for t in moments) / 1000


def local(moment: datetime) -> str:
    """How the sandbox prints an instant: in the service point's zone."""
    return moment.astimezone(CHICAGO).isoformat()


def midnight(day: date) -> datetime:
    """Midnight of a day in the service point's zone."""
    return datetime(day.year, day.month, day.day, tzinfo=CHICAGO)


def recent_day(days_ago: int = 10) -> date:
    return datetime.now(CHICAGO).date() - timedelta(days=days_ago)


def month_start(today: date, months_back: int) -> date:
    index = today.year * 12 + today.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def sent(value: datetime | date | str) -> str:
    """The query value of a time: an ISO date-time with its offset, a date, or as given."""
    return value if isinstance(value, str) else value.isoformat()


def usage(
    client: SandboxClient,
    token: str,
    resolution: str,
    start: datetime | date | str,
    end: datetime | date | str,
    customer: str = "UC-0002",
    fuel: str = "GAS",
) -> tuple[int, Any]:
    response = client.get(
        f"usage-v1/usage/{resolution}/{U}/{customer}/{fuel}",
        token,
        start=sent(start),
        end=sent(end),
    )
    return response.status, response.json()


def streams(body: Any) -> dict[str, list[dict[str, Any]]]:
    """The intervals of each service point of a usage answer, by `utilityServicePointId`."""
    found = opower_response(body)["streams"]
    assert isinstance(found, list)
    assert all(set(s) == {"utilityServicePointId", "intervals"} for s in found)
    by_point = {s["utilityServicePointId"]: s["intervals"] for s in found}
    assert len(by_point) == len(found), "one stream per service point"
    return by_point


def raw_intervals(
    point: tuple[str, int, timedelta], fuel: str, start: datetime, count: int
) -> list[dict[str, object]]:
    """What Get Raw Interval Usage answers for `count` of the meter's own intervals."""
    _, account_id, step = point
    return [
        {
            "start": local(start + step * i),
            "end": local(start + step * (i + 1)),
            "usage": expected_usage(account_id, fuel, start + step * i, start + step * (i + 1)),
            "readType": "ACTUAL",
        }
        for i in range(count)
    ]


def test_raw_answer_shape_and_deterministic_hourly_reads(client: SandboxClient, token: str) -> None:
    """Get Raw Interval Usage (PAGES["usage/raw"]): `{"response": {utilityCode,
    utilityCustomerId, fuelType, start, end, unit, streams}}`, one stream per service point
    `{utilityServicePointId, intervals}`, each interval `{start, end, usage, readType}`.
    `timezone` is from the daily page's example (the raw page's field list is cut short in
    the stored copy). The request's offset (+01:00) is echoed in start/end; interval times
    are printed in the service point's zone (an assumption: Oracle's example has only one
    offset). UC-0002's gas meter is hourly, so its raw intervals are hours."""
    start = midnight(recent_day()).astimezone(UTC)
    start_sent = start.astimezone(ZoneInfo("Europe/Paris")).isoformat()
    end_sent = (start + HOUR * 4).astimezone(ZoneInfo("Europe/Paris")).isoformat()

    status, body = usage(client, token, "raw", start_sent, end_sent)

    assert status == 200
    assert body == {
        "response": {
            "utilityCode": U,
            "utilityCustomerId": "UC-0002",
            "fuelType": "GAS",
            "start": start_sent,
            "end": end_sent,
            "timezone": "America/Chicago",
            "unit": "THERM",
            "streams": [
                {
                    "utilityServicePointId": "SP-7004",
                    "intervals": raw_intervals(SP_7004, "GAS", start, 4),
                }
            ],
        }
    }
    # the first interval starts at midnight where the meter is, not in the request's offset
    first = body["response"]["streams"][0]["intervals"][0]["start"]
    assert first == local(start)
    assert first.startswith(f"{recent_day().isoformat()}T00:00:00")


def test_raw_electricity_has_a_stream_per_service_point(client: SandboxClient, token: str) -> None:
    """Get Raw Interval Usage (PAGES["usage/raw"]): "If the active utility account is
    associated with multiple service points of the same fuel type usage data per service
    point is returned". UC-0001's two meters are two streams, never summed, each with its
    own meter's values and interval length (SP-7001 15 minutes, SP-7002 an hour)."""
    start = midnight(recent_day(3)).astimezone(UTC)

    status, body = usage(client, token, "raw", start, start + HOUR, "UC-0001", "ELECTRICITY")

    assert status == 200
    assert opower_response(body)["unit"] == "KWH"
    assert [s["utilityServicePointId"] for s in opower_response(body)["streams"]] == [
        "SP-7001",
        "SP-7002",
    ]
    by_point = streams(body)
    assert by_point["SP-7001"] == raw_intervals(SP_7001, "ELECTRICITY", start, 4)
    assert by_point["SP-7002"] == raw_intervals(SP_7002, "ELECTRICITY", start, 1)
    # the hourly read is its own meter's four quarter hours, not the sum of both meters
    hour_of_both = expected_usage(2000001, "ELECTRICITY", start, start + HOUR) + expected_usage(
        2000002, "ELECTRICITY", start, start + HOUR
    )
    assert hour_of_both not in {i["usage"] for s in by_point.values() for i in s}


def test_raw_cap_is_100_intervals_of_the_finest_meter(client: SandboxClient, token: str) -> None:
    """Get Raw Interval Usage (PAGES["usage/raw"]): "Raw data can be returned for up to 100
    intervals". How several meters count is an assumption of the sandbox: intervals of the
    customer's finest meter of that fuel (UC-0001: 100 quarter hours; SP-7002, hourly,
    then has 25)."""
    start = midnight(recent_day(5)).astimezone(UTC)

    ok_status, ok_body = usage(
        client, token, "raw", start, start + QUARTER * 100, "UC-0001", "ELECTRICITY"
    )
    over_status, over_body = usage(
        client,
        token,
        "raw",
        start,
        start + QUARTER * 100 + timedelta(seconds=1),
        "UC-0001",
        "ELECTRICITY",
    )

    assert ok_status == 200
    by_point = streams(ok_body)
    assert {point: len(intervals) for point, intervals in by_point.items()} == {
        "SP-7001": 100,
        "SP-7002": 25,
    }
    assert by_point["SP-7001"][-1]["end"] == local(start + QUARTER * 100)
    assert by_point["SP-7002"][-1]["end"] == local(start + QUARTER * 100)
    assert over_status == 400
    assert over_body["httpStatus"] == 400
    assert "100 intervals" in over_body["details"]


def test_hourly_meter_raw_cap_is_100_hours(client: SandboxClient, token: str) -> None:
    """Get Raw Interval Usage (PAGES["usage/raw"]): 100 intervals, counted in the meter's
    own intervals (an assumption for several meters, see above): UC-0002's only gas meter is
    hourly, so 100 hours are allowed; the same window of its 15-minute electricity meter is
    400 intervals and refused. The start is a date (midnight where the meter is)."""
    day = recent_day(6)
    start = midnight(day).astimezone(UTC)

    ok_status, ok_body = usage(client, token, "raw", day, start + HOUR * 100)
    over_status, over_body = usage(
        client, token, "raw", day, start + HOUR * 100 + timedelta(seconds=1)
    )
    elec_status, _ = usage(client, token, "raw", day, start + HOUR * 100, "UC-0002", "ELECTRICITY")

    assert ok_status == 200
    intervals = streams(ok_body)["SP-7004"]
    assert len(intervals) == 100
    assert intervals[0] == raw_intervals(SP_7004, "GAS", start, 1)[0]
    assert intervals[-1] == raw_intervals(SP_7004, "GAS", start + HOUR * 99, 1)[0]
    assert all(i["readType"] == "ACTUAL" for i in intervals)
    assert over_status == 400
    assert "100 intervals" in over_body["details"]
    assert elec_status == 400


def test_raw_only_covers_the_last_730_days(client: SandboxClient, token: str) -> None:
    """Get Raw Interval Usage (PAGES["usage/raw"]): "Data is available for last two years
    (730 days)"."""
    start = midnight(recent_day(731)).astimezone(UTC)

    status, body = usage(client, token, "raw", start, start + HOUR)

    assert status == 400
    assert body["httpStatus"] == 400


@pytest.mark.parametrize(
    ("customer", "fuel", "point"),
    [("UC-0002", "ELECTRICITY", SP_7003), ("UC-0002", "GAS", SP_7004)],
    ids=["quarter-hour-meter", "hourly-meter"],
)
def test_future_intervals_are_not_returned(
    client: SandboxClient, token: str, customer: str, fuel: str, point: tuple[str, int, timedelta]
) -> None:
    """Sandbox assumption (the pages say nothing of it): only intervals that have ended by
    now, in the meter's own interval length."""
    step = point[2]
    now = datetime.now(UTC)
    seconds = int(step.total_seconds())
    boundary = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    if boundary + step - now < timedelta(seconds=1):  # the server's clock would cross it
        time.sleep(1)
        boundary += step

    status, body = usage(
        client, token, "raw", boundary - step * 4, boundary + step * 4, customer, fuel
    )

    assert status == 200
    intervals = streams(body)[point[0]]
    assert len(intervals) == 4
    assert intervals[-1]["end"] == local(boundary)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param("2026-01-01T00:00:00Z", "2026-01-01T01:00:00-00:00", id="Z-start"),
        pytest.param("2026-01-01T00:00:00-00:00", "2026-01-01T01:00:00Z", id="Z-end"),
        pytest.param("2026-01-01T00:00:00", "2026-01-01T01:00:00", id="no-offset"),
        pytest.param("2026-02-30", "2026-03-02", id="date-only-invalid-day"),
        pytest.param("2026-1-01", "2026-01-03", id="date-only-unpadded"),
        pytest.param("2026-01-01", "2026-01-01", id="date-only-empty-range"),
        pytest.param("2026-01-03", "2026-01-01", id="date-only-reversed"),
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
    """The usage pages: `start`/`end` are "YYYY-MM-DD ... or YYYY-MM-DDThh:mm:ssTZD ...
    Use -00:00 for UTC as Z is not currently supported"; anything else, and an empty or
    reversed window, is a flat ErrorResponse (the error body is a sandbox assumption: the
    usage pages' error sections are cut short in the stored copies)."""
    status, body = usage(client, token, "day", start, end)

    assert status == 400
    assert body["serviceErrorCode"] == "BAD_REQUEST"


def test_date_only_start_and_end_are_midnights_where_the_meter_is(
    client: SandboxClient, token: str
) -> None:
    """The usage pages accept a date ("YYYY-MM-DD (example 2001-12-31)"); the sandbox reads
    it as midnight in the service point's zone (an assumption: the pages do not say in
    which zone). start and end are echoed as sent ("The start date in the request"); the
    answer is the one for explicit Chicago midnights."""
    status, body = usage(client, token, "day", "2025-03-01", "2025-03-03", "UC-0003", "ELECTRICITY")
    _, explicit = usage(
        client,
        token,
        "day",
        "2025-03-01T00:00:00-06:00",
        "2025-03-03T00:00:00-06:00",
        "UC-0003",
        "ELECTRICITY",
    )

    assert status == 200
    answer = opower_response(body)
    assert (answer["start"], answer["end"]) == ("2025-03-01", "2025-03-03")
    assert [(i["start"], i["end"]) for i in streams(body)["SP-7005"]] == [
        ("2025-03-01T00:00:00-06:00", "2025-03-02T00:00:00-06:00"),
        ("2025-03-02T00:00:00-06:00", "2025-03-03T00:00:00-06:00"),
    ]
    assert streams(body) == streams(explicit)


def test_unencoded_plus_offset_is_400_and_encoded_is_accepted(
    client: SandboxClient, token: str
) -> None:
    """The usage pages: "The + character is a reserved character in URIs, use its encoding
    %2B" (an unencoded + arrives as a space). Days are counted in the service point's zone
    whatever the request's offset: 2026-01-01T00:00+01:00 is 17:00 on 31 December in
    Chicago, so the first whole day is 1 January there."""
    path = f"/apis/usage-v1/usage/day/{U}/UC-0002/GAS"
    query = "start=2026-01-01T00:00:00{0}01:00&end=2026-01-03T00:00:00{0}01:00"

    raw_plus = client.request("GET", f"{path}?{query.format('+')}", token=token)
    encoded = client.request("GET", f"{path}?{query.format('%2B')}", token=token)

    assert raw_plus.status == 400
    assert encoded.status == 200
    answer = opower_response(encoded.json())
    assert (answer["start"], answer["end"]) == (
        "2026-01-01T00:00:00+01:00",
        "2026-01-03T00:00:00+01:00",
    )
    assert [(i["start"], i["end"]) for i in streams(encoded.json())["SP-7004"]] == [
        ("2026-01-01T00:00:00-06:00", "2026-01-02T00:00:00-06:00"),
    ]


def test_missing_start_or_end_is_400(client: SandboxClient, token: str) -> None:
    """The usage pages: `start` and `end` are both required."""
    path = f"usage-v1/usage/day/{U}/UC-0002/GAS"

    only_start = client.get(path, token, start="2026-01-01T00:00:00-05:00")
    only_end = client.get(path, token, end="2026-01-02T00:00:00-05:00")

    assert (only_start.status, only_end.status) == (400, 400)


def test_day_reads_for_a_fixed_day(client: SandboxClient, token: str) -> None:
    """Get Daily Interval Usage (PAGES["usage/day"]): the example's day interval
    `{start, end, usage, actualReadsCount, estimatedReadsCount}` (no readType), days "from
    midnight to midnight in the local timezone of the site or service point"."""
    first, second = midnight(date(2025, 3, 1)), midnight(date(2025, 3, 2))
    third = midnight(date(2025, 3, 3))

    status, body = usage(client, token, "day", first, third, "UC-0003", "ELECTRICITY")

    assert status == 200
    assert opower_response(body)["timezone"] == "America/Chicago"
    assert streams(body) == {
        "SP-7005": [
            {
                "start": "2025-03-01T00:00:00-06:00",
                "end": "2025-03-02T00:00:00-06:00",
                "usage": 25.886,
                "actualReadsCount": 96,
                "estimatedReadsCount": 0,
            },
            {
                "start": "2025-03-02T00:00:00-06:00",
                "end": "2025-03-03T00:00:00-06:00",
                "usage": expected_usage(2000005, "ELECTRICITY", second, third),
                "actualReadsCount": 96,
                "estimatedReadsCount": 0,
            },
        ]
    }
    assert expected_usage(2000005, "ELECTRICITY", first, second) == 25.886  # the anchor


@pytest.mark.parametrize(
    ("first", "short_or_long"),
    [
        pytest.param(date(2026, 3, 7), (92, 23), id="spring-forward-23-hours"),
        pytest.param(date(2025, 11, 1), (100, 25), id="fall-back-25-hours"),
    ],
)
def test_day_read_counts_are_the_meters_intervals_of_that_day(
    client: SandboxClient, token: str, first: date, short_or_long: tuple[int, int]
) -> None:
    """Get Daily Interval Usage (PAGES["usage/day"]): `actualReadsCount` (the example:
    91) and `estimatedReadsCount` (3). The sandbox's meters read every interval, so a day
    has its meter's interval count of actual reads and none estimated: 96 or 24 on a
    normal day, one hour less or more on the days summer time starts or ends in Chicago."""
    days = [first + timedelta(days=i) for i in range(4)]

    status, body = usage(client, token, "day", days[0], days[3], "UC-0001", "ELECTRICITY")

    assert status == 200
    quarter, hourly = short_or_long
    for point, account_id, counts in (
        ("SP-7001", 2000001, [96, quarter, 96]),
        ("SP-7002", 2000002, [24, hourly, 24]),
    ):
        assert streams(body)[point] == [
            {
                "start": local(midnight(a)),
                "end": local(midnight(b)),
                "usage": expected_usage(account_id, "ELECTRICITY", midnight(a), midnight(b)),
                "actualReadsCount": count,
                "estimatedReadsCount": 0,
            }
            for a, b, count in zip(days[:-1], days[1:], counts, strict=True)
        ]


@pytest.mark.parametrize(
    ("fuel", "point"),
    [("ELECTRICITY", SP_7003), ("GAS", SP_7004)],
    ids=["96-quarter-hours", "24-hours"],
)
def test_a_day_is_the_sum_of_its_raw_intervals(
    client: SandboxClient, token: str, fuel: str, point: tuple[str, int, timedelta]
) -> None:
    """Get Daily Interval Usage vs Get Raw Interval Usage (PAGES["usage/day"],
    PAGES["usage/raw"]): a day's usage is the sum of that meter's raw intervals of the day,
    and its actualReadsCount their number (sandbox consistency, not documented)."""
    day = recent_day(2)
    start, end = midnight(day), midnight(day + DAY)

    _, day_body = usage(client, token, "day", start, end, "UC-0002", fuel)
    _, raw_body = usage(client, token, "raw", start, end, "UC-0002", fuel)

    [day_read] = streams(day_body)[point[0]]
    raw_reads = streams(raw_body)[point[0]]
    assert len(raw_reads) == day_read["actualReadsCount"]
    assert len(raw_reads) == (end.timestamp() - start.timestamp()) // point[2].total_seconds()
    assert day_read["usage"] == round(sum(r["usage"] for r in raw_reads), 3)


def test_day_reads_start_at_the_next_midnight(client: SandboxClient, token: str) -> None:
    """Get Daily Interval Usage (PAGES["usage/day"]): only whole days, midnight to midnight
    where the meter is, inside [start, end)."""
    start = datetime(2025, 3, 1, 6, 0, tzinfo=CHICAGO)

    _, body = usage(client, token, "day", start, start + 3 * DAY)

    assert [r["start"] for r in streams(body)["SP-7004"]] == [
        "2025-03-02T00:00:00-06:00",
        "2025-03-03T00:00:00-06:00",
    ]


def test_day_cap_is_45_days(client: SandboxClient, token: str) -> None:
    """Get Daily Interval Usage (PAGES["usage/day"]): "Daily data can be returned for up to
    45 days in a single request". Days are the service point's wall-clock days, so 45 of
    them across the end of summer time (45 days and an hour) are allowed."""
    ok_status, ok_body = usage(client, token, "day", "2025-01-01", "2025-02-15")
    over_status, over_body = usage(client, token, "day", "2025-01-01", "2025-02-15T00:00:01-06:00")
    dst_status, dst_body = usage(client, token, "day", "2025-10-01", "2025-11-15")

    assert ok_status == 200
    assert len(streams(ok_body)["SP-7004"]) == 45
    assert over_status == 400
    assert "45 days" in over_body["details"]
    assert dst_status == 200
    assert len(streams(dst_body)["SP-7004"]) == 45


def test_billing_cap_is_25_bills(client: SandboxClient, token: str) -> None:
    """Get Billing Usage (PAGES["usage/billing"]): "Billing data can be returned for up to
    25 bills in a single request". A bill is a calendar month where the meter is (a sandbox
    assumption: the page's bill schema is not published); only ended bills are returned."""
    today = datetime.now(CHICAGO).date()
    start = month_start(today, 22)  # within the last 2 years

    ok_status, ok_body = usage(client, token, "billing", start, month_start(today, 22 - 25))
    over_status, over_body = usage(client, token, "billing", start, month_start(today, 22 - 26))

    assert ok_status == 200
    bills = streams(ok_body)["SP-7004"]
    assert len(bills) == 22  # only bills that have ended
    assert bills[0]["start"] == local(midnight(start))
    assert bills[-1]["end"] == local(midnight(month_start(today, 0)))
    assert over_status == 400
    assert "25 bills" in over_body["details"]


def test_billing_only_covers_the_last_2_years(client: SandboxClient, token: str) -> None:
    """Get Billing Usage (PAGES["usage/billing"]): "Data is available for the last two
    years"."""
    today = datetime.now(CHICAGO).date()

    status, _ = usage(client, token, "billing", month_start(today, 25), month_start(today, 23))

    assert status == 400


def test_a_bill_is_the_sum_of_its_days_per_service_point(client: SandboxClient, token: str) -> None:
    """Get Billing Usage (PAGES["usage/billing"]): billed usage "per service point"; each
    bill `{start, end, usage}` (an assumption: the page's bill schema is not published) is a
    calendar month in the service point's zone, the sum of that service point's days."""
    today = datetime.now(CHICAGO).date()
    month, following = month_start(today, 2), month_start(today, 1)

    _, bills = usage(client, token, "billing", month, following, "UC-0001", "ELECTRICITY")
    _, days = usage(client, token, "day", month, following, "UC-0001", "ELECTRICITY")

    day_reads = streams(days)
    assert streams(bills) == {
        point: [
            {
                "start": local(midnight(month)),
                "end": local(midnight(following)),
                "usage": round(sum(d["usage"] for d in day_reads[point]), 3),
            }
        ]
        for point in ("SP-7001", "SP-7002")
    }
    assert streams(bills)["SP-7001"][0]["usage"] == expected_usage(
        2000001, "ELECTRICITY", midnight(month), midnight(following)
    )


@pytest.mark.parametrize(
    ("customer", "fuel"),
    [("UC-0001", "GAS"), ("UC-0004", "ELECTRICITY"), ("UC-9999", "ELECTRICITY")],
)
def test_fuel_without_meter_or_unknown_customer_is_404(
    client: SandboxClient, token: str, customer: str, fuel: str
) -> None:
    """Sandbox assumption (the usage pages' errors are cut short): a flat 404."""
    start = midnight(recent_day()).astimezone(UTC)

    status, body = usage(client, token, "raw", start, start + QUARTER, customer, fuel)

    assert status == 404
    assert body["httpStatus"] == 404


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
    """The usage pages: `fuelType` is "ELECTRICITY or GAS"; the resolutions are raw, day
    and billing (one page each)."""
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
        ("day", "0001-01-01", "0001-01-02"),
        ("day", "2026-01-01", "9999-12-31"),
        ("raw", "0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00+14:00"),
        ("day", "9999-12-30T00:00:00-12:00", "9999-12-31T00:00:00-12:00"),
    ],
)
def test_dates_far_outside_the_served_window_are_an_error_response(
    client: SandboxClient, token: str, resolution: str, start: str, end: str
) -> None:
    """Sandbox rule (its served window): a flat 400 ErrorResponse, never a crash, also for
    dates and offsets at the ends of the calendar."""
    status, body = usage(client, token, resolution, start, end)

    assert status == 400
    assert body["httpStatus"] == 400
    assert "available from" in body["details"]


def test_no_reads_outside_the_accounts_tenancy(client: SandboxClient, token: str) -> None:
    """Usage is of the customer's active utility account (the usage pages): UC-0005 moved
    out of 2000006 on 2021-05-31, so a later window has no stream, and a window across
    the move has the days before it only."""
    status, body = usage(client, token, "day", "2026-11-01", "2026-11-08", "UC-0005",
                         "ELECTRICITY")  # fmt: skip
    assert status == 200
    assert opower_response(body)["streams"] == []

    # Across the move (the rule itself, at a fixed "now": the seeded dates are fixed).
    (account,) = [a for a in UTILITY_ACCOUNTS if a.id == 2000006]
    answer = usage_body("day", U, "UC-0005", "ELECTRICITY", [account],
                        ("2021-05-29", "2021-06-03"), ZoneInfo("America/Chicago"),
                        datetime(2021, 7, 1, tzinfo=UTC))  # fmt: skip
    (stream,) = opower_response(answer)["streams"]
    assert stream["utilityServicePointId"] == "SP-7005"
    assert [i["start"][:10] for i in stream["intervals"]] == ["2021-05-29", "2021-05-30",
                                                              "2021-05-31"]  # fmt: skip
