"""Usage API rules: time parameters, Opower's per-request caps, and the reads returned.

- `start` / `end`: ISO-8601 date-times with an explicit numeric offset, such as
  `2026-01-01T00:00:00-05:00`. Opower rejects `Z` (send `-00:00`) and an unencoded `+`
  arrives as a space, so both answer 400; so do a missing or invalid value, an offset
  that is not a whole number of quarter hours, and `start >= end`.
- `raw`: 15-minute intervals; at most 100 per request, counted as
  ceil((end - start) / 15 min); `start` no older than 730 days.
- `day`: days from midnight in the offset of `start`; at most 45 per request, counted as
  ceil((end - start) / 1 day).
- `billing`: one bill per calendar month in the offset of `start`; at most 25 bill periods
  wholly inside [start, end); `start` no older than 2 years.

Only periods wholly inside [start, end) that have ended by now are returned; times are in
the offset of `start`, `endTime` exclusive. Values come from `consumption`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from local.sandbox.consumption import DAY_S, INTERVAL_S, UNITS, consumption_milli, units
from local.sandbox.errors import bad_request

RESOLUTIONS = ("raw", "day", "billing")
RAW_MAX_INTERVALS = 100
RAW_HISTORY = timedelta(days=730)
DAY_MAX_DAYS = 45
BILLING_MAX_BILLS = 25
BILLING_HISTORY_YEARS = 2
# What this Opower serves beyond the documented history: daily usage 6 years back,
# nothing more than a year ahead (an ErrorResponse, as Opower answers a bad window).
DAY_HISTORY = timedelta(days=6 * 365)
AHEAD = timedelta(days=366)

_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?[+-]\d{2}:\d{2}")
_QUARTER_HOUR = timedelta(minutes=15)

Period = tuple[datetime, datetime]


def parse_instant(name: str, raw: str | None) -> datetime:
    """An aware date-time in Opower's accepted form, or a 400 naming the parameter."""
    if raw is None:
        raise bad_request(f"Missing required parameter '{name}'")
    if not _INSTANT.fullmatch(raw):
        raise bad_request(
            f"'{name}' must be an ISO-8601 date-time with an explicit offset such as "
            "2026-01-01T00:00:00-05:00 ('Z' is not accepted, use -00:00; encode '+' as %2B)"
        )
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise bad_request(f"'{name}' is not a valid date-time") from exc
    offset = value.utcoffset()
    if offset is None or offset % _QUARTER_HOUR:
        raise bad_request(f"'{name}' must have an offset in whole quarter hours")
    return value


def usage_body(
    resolution: str,
    utility_customer_id: str,
    fuel: str,
    account_ids: Sequence[int],
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[str, object]:
    """The usage response for validated path parts, enforcing the caps on [start, end)."""
    if start >= end:
        raise bad_request("'start' must be before 'end'")
    earliest = now - {"raw": RAW_HISTORY, "billing": timedelta(days=730)}.get(
        resolution, DAY_HISTORY
    )
    if start < earliest or end > now + AHEAD:
        raise bad_request(
            f"{resolution} usage is available from {earliest.date().isoformat()} to "
            f"{(now + AHEAD).date().isoformat()}"
        )
    periods = _PERIODS[resolution](start, end, now)
    reads = [
        {
            "startTime": a.isoformat(),
            "endTime": b.isoformat(),
            "value": units(consumption_milli(account_ids, fuel, _epoch(a), _epoch(b))),
        }
        for a, b in periods
        if b <= now
    ]
    return {
        "utilityCustomerId": utility_customer_id,
        "fuelType": fuel,
        "resolution": resolution,
        "unit": UNITS[fuel],
        "reads": reads,
    }


def _raw_periods(start: datetime, end: datetime, now: datetime) -> list[Period]:
    if math.ceil((end - start) / _QUARTER_HOUR) > RAW_MAX_INTERVALS:
        raise bad_request(f"raw usage is limited to {RAW_MAX_INTERVALS} intervals per request")
    if start < now - RAW_HISTORY:
        raise bad_request("raw usage is only available for the last 730 days")
    first = -(-math.ceil(start.timestamp()) // INTERVAL_S) * INTERVAL_S
    last = math.floor(end.timestamp()) - INTERVAL_S
    return [
        (
            datetime.fromtimestamp(t, start.tzinfo),
            datetime.fromtimestamp(t + INTERVAL_S, start.tzinfo),
        )
        for t in range(first, last + 1, INTERVAL_S)
    ]


def _day_periods(start: datetime, end: datetime, now: datetime) -> list[Period]:
    day = timedelta(seconds=DAY_S)
    if math.ceil((end - start) / day) > DAY_MAX_DAYS:
        raise bad_request(f"daily usage is limited to {DAY_MAX_DAYS} days per request")
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += day
    periods: list[Period] = []
    while first + day <= end:
        periods.append((first, first + day))
        first += day
    return periods


def _billing_periods(start: datetime, end: datetime, now: datetime) -> list[Period]:
    month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if month < start:
        month = _next_month(month)
    periods: list[Period] = []
    while _next_month(month) <= end:
        if len(periods) == BILLING_MAX_BILLS:
            raise bad_request(f"billing usage is limited to {BILLING_MAX_BILLS} bills per request")
        periods.append((month, _next_month(month)))
        month = _next_month(month)
    if start < _years_before(now, BILLING_HISTORY_YEARS):
        raise bad_request("billing usage is only available for the last 2 years")
    return periods


_PERIODS = {"raw": _raw_periods, "day": _day_periods, "billing": _billing_periods}


def _next_month(month: datetime) -> datetime:
    if month.month == 12:
        return month.replace(year=month.year + 1, month=1)
    return month.replace(month=month.month + 1)


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
