"""Usage API rules: time parameters, Opower's per-request caps, and the streams returned.

As Oracle's pages document them (Get Raw Interval Usage, Get Daily Interval Usage, Get
Billing Usage under docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/):

- `start` / `end` are required: a date (`2026-01-01`, midnight in the service point's time
  zone) or an ISO-8601 date-time with an explicit numeric offset
  (`2026-01-01T00:00:00-05:00`). Opower rejects `Z` (send `-00:00`) and an unencoded `+`
  arrives as a space, so both answer 400; so do a missing or invalid value, an offset
  that is not a whole number of quarter hours, and `start >= end`.
- The answer is `{"response": {utilityCode, utilityCustomerId, fuelType, start, end,
  timezone, unit, streams}}`: one stream per service point of that fuel ("if the active
  utility account is associated with multiple service points of the same fuel type usage
  data per service point is returned"), each `{utilityServicePointId, intervals}`, for
  the accounts occupied during the window (none: no stream).
- `raw`: the meter's own intervals (its utility account's `resolution`: 15 minutes,
  hourly, ...), each `{start, end, usage, readType}`; at most 100 intervals per request
  ("Raw data can be returned for up to 100 intervals"), counted in the intervals of the
  customer's finest meter of that fuel (an assumption: the page does not say how several
  meters count); `start` no older than 730 days.
- `day`: days from midnight to midnight in the service point's time zone, each
  `{start, end, usage, actualReadsCount, estimatedReadsCount}` (the daily page's example);
  at most 45 per request.
- `billing`: one bill per bill period (a calendar month, or from the account's read-cycle
  day: `UtilityAccount.bill_day`) in the service point's time zone (an assumption: the
  page's interval schema and example are not published), each `{start, end, usage}`;
  at most 25 bill periods wholly inside [start, end); `start` no older than 2 years.

Only periods wholly inside [start, end) that have ended by now, and within the utility
account's tenancy (move-in to move-out), are returned, `end` exclusive. Values come from
`consumption`; `timezone` is the directory's (an IANA name, as the daily page's example
shows it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from local.sandbox.consumption import UNITS, consumption_milli, units
from local.sandbox.data import UtilityAccount
from local.sandbox.errors import bad_request
from local.sandbox.restatements import Restatements

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
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_QUARTER_HOUR = timedelta(minutes=15)
_DAY = timedelta(days=1)

Period = tuple[datetime, datetime]


def parse_instant(name: str, raw: str | None, zone: ZoneInfo) -> datetime:
    """An aware date-time in a form Opower accepts (a date is midnight in `zone`), or a
    400 naming the parameter."""
    if raw is None:
        raise bad_request(f"Missing required parameter '{name}'")
    if _DATE.fullmatch(raw):
        try:
            return datetime.combine(date.fromisoformat(raw), time(), zone)
        except ValueError as exc:
            raise bad_request(f"'{name}' is not a valid date") from exc
    if not _INSTANT.fullmatch(raw):
        raise bad_request(
            f"'{name}' must be a date (YYYY-MM-DD) or an ISO-8601 date-time with an explicit "
            "offset such as 2026-01-01T00:00:00-05:00 ('Z' is not accepted, use -00:00; "
            "encode '+' as %2B)"
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
    utility_code: str,
    utility_customer_id: str,
    fuel: str,
    accounts: Sequence[UtilityAccount],
    window: tuple[str, str],
    zone: ZoneInfo,
    now: datetime,
    restatements: Restatements | None = None,
) -> dict[str, object]:
    """The usage answer for validated path parts, enforcing the caps on [start, end);
    with ``restatements``, as Opower restates them at ``now`` (local/sandbox/restatements)."""
    start = parse_instant("start", window[0], zone)
    end = parse_instant("end", window[1], zone)
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
    # Within the served window: no calendar edge is near, the zone's clock is safe.
    start, end = start.astimezone(zone), end.astimezone(zone)
    _CAPS[resolution](start, end, now, accounts)
    streams = []
    # The service points of the customer's active accounts: those occupied in the window.
    for account in (a for a in accounts if _occupied(a, start, end, zone, overlap=True)):
        periods = _PERIODS[resolution](start, end, account)
        streams.append(
            {
                "utilityServicePointId": account.service_point,
                "intervals": [
                    _interval(
                        resolution,
                        account,
                        fuel,
                        (a, b),
                        restatements.usage_delta(account.id, a, b, now, zone)
                        if restatements is not None
                        else (0, 0),
                    )
                    for a, b in periods
                    if b <= now and _occupied(account, a, b, zone)
                ],
            }
        )
    return {
        "response": {
            "utilityCode": utility_code,
            "utilityCustomerId": utility_customer_id,
            "fuelType": fuel,
            "start": window[0],
            "end": window[1],
            "timezone": zone.key,
            "unit": UNITS[fuel],
            "streams": streams,
        }
    }


def _occupied(
    account: UtilityAccount, a: datetime, b: datetime, zone: ZoneInfo, *, overlap: bool = False
) -> bool:
    """Whether the period lies within the account's tenancy (move-in to move-out, both
    whole days where the meter is), or with ``overlap`` meets it at all: no reads are
    served for before or after it."""
    moved_in = datetime.combine(account.move_in, time(), zone)
    moved_out = (
        datetime.combine(account.move_out + _DAY, time(), zone) if account.move_out else None
    )
    if overlap:
        return b > moved_in and (moved_out is None or a < moved_out)
    return a >= moved_in and (moved_out is None or b <= moved_out)


def _interval(
    resolution: str,
    account: UtilityAccount,
    fuel: str,
    period: Period,
    restated: tuple[int, int] = (0, 0),
) -> dict[str, object]:
    """One interval; ``restated``: thousandths to add and the 15-minute reads estimated."""
    a, b = period
    delta, estimated = restated
    interval: dict[str, object] = {
        "start": a.isoformat(),
        "end": b.isoformat(),
        "usage": units(consumption_milli([account.id], fuel, _epoch(a), _epoch(b)) + delta),
    }
    if resolution == "raw":
        interval["readType"] = "ESTIMATED" if estimated else "ACTUAL"
    elif resolution == "day":
        reads = (_epoch(b) - _epoch(a)) // account.interval_s
        estimated_reads = min(reads, -(-estimated * 900 // account.interval_s))
        interval["actualReadsCount"] = reads - estimated_reads
        interval["estimatedReadsCount"] = estimated_reads
    return interval


# -- caps ------------------------------------------------------------------------------
def _raw_cap(
    start: datetime, end: datetime, now: datetime, accounts: Sequence[UtilityAccount]
) -> None:
    finest = min((a.interval_s for a in accounts), default=900)
    if math.ceil((end - start).total_seconds() / finest) > RAW_MAX_INTERVALS:
        raise bad_request(f"raw usage is limited to {RAW_MAX_INTERVALS} intervals per request")
    if start < now - RAW_HISTORY:
        raise bad_request("raw usage is only available for the last 730 days")


def _day_cap(
    start: datetime, end: datetime, now: datetime, accounts: Sequence[UtilityAccount]
) -> None:
    # Wall-clock days where the meter is: a day of a change of summer time is one day.
    wall = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    if math.ceil(wall / _DAY) > DAY_MAX_DAYS:
        raise bad_request(f"daily usage is limited to {DAY_MAX_DAYS} days per request")


def _billing_cap(
    start: datetime, end: datetime, now: datetime, accounts: Sequence[UtilityAccount]
) -> None:
    if len(_billing_periods(start, end, None)) > BILLING_MAX_BILLS:
        raise bad_request(f"billing usage is limited to {BILLING_MAX_BILLS} bills per request")
    if start < _years_before(now, BILLING_HISTORY_YEARS):
        raise bad_request("billing usage is only available for the last 2 years")


_CAPS: dict[str, Callable[[datetime, datetime, datetime, Sequence[UtilityAccount]], None]] = {
    "raw": _raw_cap,
    "day": _day_cap,
    "billing": _billing_cap,
}


# -- periods (in the service point's zone: start and end are already in it) -----------
def _raw_periods(start: datetime, end: datetime, account: UtilityAccount | None) -> list[Period]:
    step = account.interval_s if account is not None else 900
    first = -(-math.ceil(start.timestamp()) // step) * step
    last = math.floor(end.timestamp()) - step
    zone = start.tzinfo
    return [
        (datetime.fromtimestamp(t, zone), datetime.fromtimestamp(t + step, zone))
        for t in range(first, last + 1, step)
    ]


def _day_periods(start: datetime, end: datetime, account: UtilityAccount | None) -> list[Period]:
    zone = start.tzinfo
    day = start.date() if start.timetz().replace(tzinfo=None) == time() else start.date() + _DAY
    periods: list[Period] = []
    while True:
        a = datetime.combine(day, time(), zone)
        b = datetime.combine(day + _DAY, time(), zone)
        if b > end:
            return periods
        periods.append((a, b))
        day += _DAY


def _billing_periods(
    start: datetime, end: datetime, account: UtilityAccount | None
) -> list[Period]:
    zone = start.tzinfo
    month = date(start.year, start.month, account.bill_day if account is not None else 1)
    if datetime.combine(month, time(), zone) < start:
        month = _next_month(month)
    periods: list[Period] = []
    while datetime.combine(_next_month(month), time(), zone) <= end:
        periods.append(
            (
                datetime.combine(month, time(), zone),
                datetime.combine(_next_month(month), time(), zone),
            )
        )
        if len(periods) > BILLING_MAX_BILLS:
            break  # enough to refuse the window
        month = _next_month(month)
    return periods


_PERIODS: dict[str, Callable[[datetime, datetime, UtilityAccount | None], list[Period]]] = {
    "raw": _raw_periods,
    "day": _day_periods,
    "billing": _billing_periods,
}


def _next_month(month: date) -> date:
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
