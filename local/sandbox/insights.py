"""Bill comparison, bill forecast, bill period and neighbor comparison answers.

All are derived from `consumption` over monthly bill periods where the service points
are (the directory's time zone, as Get Billing Usage's bills): calendar months, or, in
read-cycle billing (`SandboxConfig.billing`), periods from the account's cycle day of one
month to the day before it in the next (`UtilityAccount.bill_day`): "month" below is such
a period. A utility account has a bill for a period that overlaps its tenancy.
`asOf` is a date (`2026-01-15`) or an offset date-time (its own date is
used) and defaults to today in UTC. Dates in bodies are ISO dates; end dates are
inclusive, as on a printed bill. Shapes are Oracle's (docs.oracle.com/en/industries/
energy-water/digital-self-service/restapi/, the `op-apis-…` page of each):

- Get Bill Comparison: `{"response": {meterUnit, currencySymbol, temperatureUnit,
  analysisResults [{analysisName, costDifferenceExplained}], reference, compared}}`, each
  bill `{charges, usage, startDate, endDate, averageTemperature, ratePlan}`. `reference`
  is the last complete month before `asOf`; `compared` the month before it
  (`comparisonBill=PREVIOUS`, the default) or twelve months before (`YEAR_AGO`), falling
  back to the previous month when there is no bill a year ago unless
  `fallbackToPreviousPeriod=false` (the default is true). WEATHER and OTHER explain the
  cost difference and add up to it. Without a bill to compare: `failureExplanation:
  NOT_ENOUGH_USAGE_DATA` beside the response (what the response then holds is assumed).
- Get Bill Forecast: no schema is published; the sandbox's (assumed) answer is
  `{"response": {customerId, asOf, currencySymbol, forecasts [...]}}` with the cost fields
  left out for an account with no modeled rates, as the page says. 404 when no account
  is active.
- Get Latest Neighbor Comparison: `{"response": {"ELEC": {...}, "GAS": {...},
  "COMBINED": {...}}}`, each `{you, neighbors, efficientNeighbors, startDate, endDate,
  numNeighbors, numEfficientNeighbors}` for the last complete month before `asOf`; a fuel
  without a comparison has no key, COMBINED only with both. Neighbors use 85-124 % of
  yours (fixed per customer and month), efficient neighbors 65 % of that. 404 when the
  customer had no active account that month.
- Get List of Neighbor Comparisons: `{"response": {utilityCode, utilityCustomerId,
  fuelType, start, end, unit, neighborComparisons [{start, end, customerUsage,
  allNeighborsUsage, efficientNeighborsUsage}]}}`, one item per month of the past 12
  overlapping [start, end), the same numbers as the latest comparison of that month.
- Get Bill Period: no schema is published; the sandbox's (assumed) answer is
  `{"response": {startDate, endDate}}`, the calendar month of `asOf`, or `{"response":
  {}}` outside the account's tenancy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from local.sandbox.consumption import UNITS, consumption_milli, cost_cents, units
from local.sandbox.data import ELEC, FUEL_OF_METER, GAS, Customer, UtilityAccount
from local.sandbox.errors import bad_request, not_found
from local.sandbox.usage import parse_instant

_UTC = ZoneInfo("UTC")

COMPARISON_BILLS = ("PREVIOUS", "YEAR_AGO")
NOT_ENOUGH_USAGE_DATA = "NOT_ENOUGH_USAGE_DATA"
COMBINED = "COMBINED"
KWH_PER_THERM = 29.3071
RATE_PLANS = {"ELECTRICITY": "E-1 Residential", "GAS": "G-1 Residential"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


HISTORY_MONTHS = 12
HISTORY_MAX_BILLS = 13

AS_OF_HISTORY = timedelta(days=6 * 365)
AS_OF_AHEAD = timedelta(days=366)


def parse_as_of(raw: str | None, today: date, *, utc_without_offset: bool = False) -> date:
    """The `asOf` query parameter as a date; today when absent; an ErrorResponse outside
    the dates bills and forecasts are computed for (6 years back, a year ahead)."""
    return parse_day("asOf", raw, today, today, utc_without_offset=utc_without_offset)


def parse_day(
    name: str,
    raw: str | None,
    default: date,
    today: date,
    *,
    utc_without_offset: bool = False,
    history: timedelta = AS_OF_HISTORY,
) -> date:
    """A date query parameter: `YYYY-MM-DD`, or a date-time with an offset (its own
    date), or with ``utc_without_offset`` one without (UTC, as Get Bill Period's "TZD can
    be empty (meaning UTC timezone)"); `default` when absent; a 400 outside `history`
    (6 years) back to a year ahead."""
    day = _parse_day(name, raw, default, utc_without_offset)
    if not today - history <= day <= today + AS_OF_AHEAD:
        raise bad_request(
            f"'{name}' must be between {(today - history).isoformat()} and "
            f"{(today + AS_OF_AHEAD).isoformat()}"
        )
    return day


def _parse_day(name: str, raw: str | None, default: date, utc_without_offset: bool) -> date:
    if raw is None:
        return default
    if _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise bad_request(f"'{name}' is not a valid date") from exc
    if utc_without_offset and _LOCAL_TIME.fullmatch(raw):
        raw += "+00:00"
    return parse_instant(name, raw, _UTC).date()


def bill_comparison(
    account: UtilityAccount, as_of: date, comparison: str, fallback: bool, zone: ZoneInfo
) -> dict[str, object]:
    """Bill comparison of one utility account, as Get Bill Comparison documents it."""
    fuel = account.fuel
    body: dict[str, object] = {
        "meterUnit": UNITS[fuel],
        "currencySymbol": "$",
        "temperatureUnit": "FAHRENHEIT",
    }
    reference = add_months(period_start(account.bill_day, as_of), -1)
    if not has_bill(account, reference):
        # An assumption: the page documents failureExplanation for "unsuccessful
        # comparison" beside a required response, not what response then holds.
        return {"response": body, "failureExplanation": NOT_ENOUGH_USAGE_DATA}
    compared = add_months(reference, -1 if comparison == "PREVIOUS" else -12)
    if not has_bill(account, compared) and fallback and comparison == "YEAR_AGO":
        compared = add_months(reference, -1)
    reference_milli = period_usage([account], fuel, reference, add_months(reference, 1), zone)
    body["reference"] = _bill_json(account, reference, reference_milli)
    if not has_bill(account, compared):
        return {"response": body, "failureExplanation": NOT_ENOUGH_USAGE_DATA}
    compared_milli = period_usage([account], fuel, compared, add_months(compared, 1), zone)
    body["compared"] = _bill_json(account, compared, compared_milli)
    difference = cost_cents(fuel, reference_milli) - cost_cents(fuel, compared_milli)
    # The causes add up to the difference, to the cent (as in the page's example).
    swing = temperature(reference) - temperature(compared)
    weather = round(difference * min(1.0, abs(swing) / 40))
    body["analysisResults"] = [
        {"analysisName": "WEATHER", "costDifferenceExplained": weather / 100},
        {"analysisName": "OTHER", "costDifferenceExplained": (difference - weather) / 100},
    ]
    return {"response": body}


def bill_forecast(
    customer: Customer, accounts: Sequence[UtilityAccount], as_of: date, zone: ZoneInfo
) -> dict[str, object]:
    """Bill forecast of every account of the customer active in the month of `as_of`.

    Oracle publishes no answer schema for Get Bill Forecast: these fields are the
    sandbox's assumption. What the page does say is kept: an account without modeled
    rates gets a usage forecast only (no cost fields)."""
    forecasts: list[dict[str, object]] = []
    for account in accounts:
        first = period_start(account.bill_day, as_of)
        following = add_months(first, 1)
        days_in_month = (following - first).days
        elapsed = (as_of - first).days
        if not has_bill(account, first):
            continue
        fuel = account.fuel
        to_date = period_usage([account], fuel, first, as_of, zone) if elapsed else 0
        if elapsed:
            projected = to_date * days_in_month // elapsed
        else:
            projected = period_usage([account], fuel, add_months(first, -1), first, zone)
        forecast: dict[str, object] = {
            "accountId": account.id,
            "utilityAccountId": account.utility_account_id,
            "fuelType": fuel,
            "unit": UNITS[fuel],
            "billPeriodStart": first.isoformat(),
            "billPeriodEnd": (following - timedelta(days=1)).isoformat(),
            "usageToDate": units(to_date),
            "projectedUsage": units(projected),
        }
        if account.modeled_rates:
            forecast["costToDate"] = cost_cents(fuel, to_date) / 100
            forecast["projectedCost"] = cost_cents(fuel, projected) / 100
        forecasts.append(forecast)
    if not forecasts:
        raise not_found(f"No bill forecast available for customer {customer.id}")
    return {
        "response": {
            "customerId": customer.id,
            "asOf": as_of.isoformat(),
            "currencySymbol": "$",
            "forecasts": forecasts,
        }
    }


def neighbor_comparison(
    customer: Customer, accounts: Sequence[UtilityAccount], as_of: date, zone: ZoneInfo
) -> dict[str, object]:
    """The latest neighbor comparison, keyed by fuel (ELEC, GAS, and COMBINED for a
    customer with both), for the last complete month before `as_of`."""
    month = add_months(period_start(_bill_day(accounts), as_of), -1)
    following = add_months(month, 1)
    totals = _month_totals(accounts, month, zone)
    if not totals:
        raise not_found(f"No neighbor comparison available for customer {customer.id}")
    digest = hashlib.blake2b(f"{customer.id}|{month.isoformat()}".encode(), digest_size=8)
    number = 80 + int.from_bytes(digest.digest(), "big") % 40
    response: dict[str, object] = {}
    for key, you in totals.items():
        neighbors = _neighbors(customer, month, you)
        response[key] = {
            "you": round(you, 2),
            "neighbors": neighbors,
            "efficientNeighbors": round(neighbors * 0.65, 2),
            "startDate": month.isoformat(),
            "endDate": (following - timedelta(days=1)).isoformat(),
            "numNeighbors": number,
            "numEfficientNeighbors": number // 5,
        }
    return {"response": response}


def neighbor_comparison_history(
    utility_code: str,
    customer: Customer,
    accounts: Sequence[UtilityAccount],
    fuel: str,
    window: tuple[str | None, str | None],
    zone: ZoneInfo,
    now: datetime,
) -> dict[str, object]:
    """Get List of Neighbor Comparisons: one comparison per bill (calendar month) "partially
    or fully within the requested time span" [start, end), of the past 12 complete months,
    at most 13 ("Data is available for the past 12 months, for a maximum of 13 bills");
    without start and end, the most recent complete bill. Each bill's numbers are those of
    Get Latest Neighbor Comparison for the same month (COMBINED in kWh, assumed).

    Assumptions: a fuel the customer has no account for (COMBINED: both fuels) is a 404,
    and so is a span without any bill; start and end take the usage API's forms (a date
    is midnight where the service points are) and are echoed as date-times in that form."""
    key = {"ELECTRICITY": ELEC, "GAS": GAS, COMBINED: COMBINED}[fuel]
    meters = {a.meter_type for a in accounts}
    if not ({ELEC, GAS} <= meters if key == COMBINED else key in meters):
        raise not_found(
            f"Customer {customer.utility_customer_id} has no {fuel} neighbor comparison"
        )
    this_month = period_start(_bill_day(accounts), now.astimezone(zone).date())
    latest = add_months(this_month, -1)
    start = _instant("start", window[0], latest, zone)
    end = _instant("end", window[1], this_month, zone)
    if start >= end:
        raise bad_request("'start' must be earlier than 'end'")
    comparisons: list[dict[str, object]] = []
    for back in range(HISTORY_MONTHS, 0, -1):
        month = add_months(this_month, -back)
        first, following = _midnight(month, zone), _midnight(add_months(month, 1), zone)
        you = _month_totals(accounts, month, zone).get(key)
        if you is None or not (first < end and following > start):
            continue
        neighbors = _neighbors(customer, month, you)
        comparisons.append(
            {
                "start": first.isoformat(),
                "end": following.isoformat(),
                "customerUsage": round(you, 2),
                "allNeighborsUsage": neighbors,
                "efficientNeighborsUsage": round(neighbors * 0.65, 2),
            }
        )
    if not comparisons:
        raise not_found("No neighbor comparison available in the requested time span")
    return {
        "response": {
            "utilityCode": utility_code,
            "utilityCustomerId": customer.utility_customer_id,
            "fuelType": fuel,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "unit": "THERM" if key == GAS else "KWH",
            "neighborComparisons": comparisons[-HISTORY_MAX_BILLS:],
        }
    }


def bill_period(account: UtilityAccount, as_of: date) -> dict[str, object]:
    """Get Bill Period: the account's bill period holding `as_of`.

    Oracle publishes no answer schema for it: `{"response": {startDate, endDate}}` is the
    sandbox's assumption, a calendar month (the bills of Get Bill Comparison and Get
    Billing Usage), end date inclusive as on a printed bill. What the page does say is
    kept: "This does not guarantee a bill period is retrieved ... billing periods are not
    provided for accounts if the account or account history data cannot be found", so a
    month outside the account's tenancy is a 200 whose response is empty (assumed)."""
    first = period_start(account.bill_day, as_of)
    if not has_bill(account, first):
        return {"response": {}}
    last = add_months(first, 1) - timedelta(days=1)
    return {"response": {"startDate": first.isoformat(), "endDate": last.isoformat()}}


def _month_totals(
    accounts: Sequence[UtilityAccount], month: date, zone: ZoneInfo
) -> dict[str, float]:
    """A month's usage by meter type (ELEC kWh, GAS therms) over the accounts active that
    month, and COMBINED when both are there."""
    following = add_months(month, 1)
    active = [a for a in accounts if has_bill(a, month)]
    totals: dict[str, float] = {}
    for meter in dict.fromkeys(a.meter_type for a in active):
        fuel = FUEL_OF_METER[meter]
        of_fuel = [a for a in active if a.fuel == fuel]
        totals[meter] = units(period_usage(of_fuel, fuel, month, following, zone))
    if set(totals) == {ELEC, GAS}:
        # An assumption: the page pro-rates gas onto the electric bill without saying
        # the unit; the sandbox adds the gas in kWh (1 therm = 29.3071 kWh).
        totals[COMBINED] = round(totals[ELEC] + totals[GAS] * KWH_PER_THERM, 3)
    return totals


def _neighbors(customer: Customer, month: date, you: float) -> float:
    """All neighbors' usage: 85-124 % of the customer's, fixed per customer and month."""
    return round(you * _neighbor_percent(customer.id, month) / 100, 2)


def _instant(name: str, raw: str | None, default: date, zone: ZoneInfo) -> datetime:
    return _midnight(default, zone) if raw is None else parse_instant(name, raw, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


def period_usage(
    accounts: list[UtilityAccount], fuel: str, start: date, end: date, zone: ZoneInfo
) -> int:
    """Usage from midnight of `start` to midnight of `end` where the service points are:
    the bills of Get Billing Usage, so that both agree."""
    first, last = (int(datetime.combine(d, time(), zone).timestamp()) for d in (start, end))
    return consumption_milli([a.id for a in accounts], fuel, first, last)


def _bill_json(account: UtilityAccount, first: date, milli: int) -> dict[str, object]:
    last = add_months(first, 1) - timedelta(days=1)
    return {
        "charges": cost_cents(account.fuel, milli) / 100,
        "usage": units(milli),
        "startDate": first.isoformat(),
        "endDate": last.isoformat(),
        "averageTemperature": temperature(first),
        "ratePlan": RATE_PLANS[account.fuel],
    }


# Average outdoor temperature of each month (°F), a fixed climate for every year.
_MONTHLY_NORMALS_F = (24.8, 28.9, 39.0, 49.5, 60.1, 70.0, 75.4, 73.7, 66.3, 54.0, 41.3, 29.9)


def temperature(first: date) -> float:
    return _MONTHLY_NORMALS_F[first.month - 1]


def has_bill(account: UtilityAccount, first: date) -> bool:
    """Whether the account was occupied during (part of) the period starting at `first`."""
    if first < period_start(account.bill_day, account.move_in):
        return False
    return account.move_out is None or first <= account.move_out


def _neighbor_percent(customer_id: int, month: date) -> int:
    digest = hashlib.blake2b(f"{customer_id}|{month.isoformat()}".encode(), digest_size=8)
    return 85 + int.from_bytes(digest.digest(), "big") % 40


def add_months(first: date, months: int) -> date:
    """The period start ``months`` periods from ``first`` (its day kept: at most 28)."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, first.day)


def period_start(bill_day: int, day: date) -> date:
    """The first day of the bill period holding ``day``, for periods starting on
    ``bill_day`` of each month (1: calendar months)."""
    start = day.replace(day=bill_day)
    return start if day >= start else add_months(start, -1)


def _bill_day(accounts: Sequence[UtilityAccount]) -> int:
    """A customer's bill day: their accounts share one (data.read_cycle_day)."""
    return accounts[0].bill_day if accounts else 1
