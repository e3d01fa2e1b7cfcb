"""Bill comparison, bill forecast and neighbor comparison bodies.

All three are derived from `consumption` over calendar-month bill periods in UTC, so they
agree with the usage API (`billing` reads requested with offset `-00:00`). A utility
account has a bill for a month when that month lies between its move-in and move-out
months. `asOf` is a date (`2026-01-15`) or an offset date-time (its own date is used) and
defaults to today in UTC. Dates in bodies are ISO dates; `billPeriodEnd` / `endDate` are
inclusive, as on a printed bill.

- bill comparison: `currentBill` is the last complete month before `asOf`; `comparedBill`
  the month before it (`PREVIOUS`, the default) or twelve months before it (`YEAR_AGO`).
  When the compared bill does not exist, `fallbackToPreviousPeriod=true` compares with the
  previous month instead (`fallbackApplied: true`); otherwise 404.
- bill forecast: per account active in the month of `asOf`: usage and cost from the first
  of the month up to (excluding) `asOf`, and that rate projected over the whole month (on
  the first of the month, the previous bill). 404 when no account is active.
- neighbor comparison: per fuel, for the last complete month before `asOf`: your usage,
  the average neighbors' (85-124 % of yours, fixed per customer and month) and efficient
  neighbors' (65 % of the average), with rating GREAT (<= efficient), GOOD (<= average)
  or ABOVE_AVERAGE. 404 when the customer had no active account that month.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Sequence
from datetime import date, timedelta

from local.sandbox.consumption import UNITS, consumption_milli, cost_cents, units
from local.sandbox.data import Customer, UtilityAccount
from local.sandbox.errors import bad_request, not_found
from local.sandbox.usage import parse_instant

COMPARISON_BILLS = ("PREVIOUS", "YEAR_AGO")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


AS_OF_HISTORY = timedelta(days=6 * 365)
AS_OF_AHEAD = timedelta(days=366)


def parse_as_of(raw: str | None, today: date) -> date:
    """The `asOf` query parameter as a date; today when absent; an ErrorResponse outside
    the dates bills and forecasts are computed for (6 years back, a year ahead)."""
    as_of = _parse_as_of(raw, today)
    if not today - AS_OF_HISTORY <= as_of <= today + AS_OF_AHEAD:
        raise bad_request(
            f"'asOf' must be between {(today - AS_OF_HISTORY).isoformat()} and "
            f"{(today + AS_OF_AHEAD).isoformat()}"
        )
    return as_of


def _parse_as_of(raw: str | None, today: date) -> date:
    if raw is None:
        return today
    if _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise bad_request("'asOf' is not a valid date") from exc
    return parse_instant("asOf", raw).date()


def bill_comparison(
    account: UtilityAccount, as_of: date, comparison: str, fallback: bool
) -> dict[str, object]:
    """Bill comparison of one utility account."""
    current = _add_months(as_of.replace(day=1), -1)
    if not _has_bill(account, current):
        raise not_found(f"No bill before {as_of.isoformat()} for account {account.id}")
    compared = _add_months(current, -1 if comparison == "PREVIOUS" else -12)
    fallback_applied = False
    if not _has_bill(account, compared):
        compared = _add_months(current, -1)
        fallback_applied = True
        if not fallback or not _has_bill(account, compared):
            raise not_found(f"No {comparison} bill to compare with for account {account.id}")
    current_milli = _usage([account], account.fuel, current, _add_months(current, 1))
    compared_milli = _usage([account], account.fuel, compared, _add_months(compared, 1))
    current_cost = cost_cents(account.fuel, current_milli)
    compared_cost = cost_cents(account.fuel, compared_milli)
    return {
        "accountId": account.id,
        "utilityAccountId": account.utility_account_id,
        "fuelType": account.fuel,
        "unit": UNITS[account.fuel],
        "currency": "USD",
        "asOf": as_of.isoformat(),
        "comparisonBill": "PREVIOUS" if fallback_applied else comparison,
        "fallbackApplied": fallback_applied,
        "currentBill": _bill_json(current, current_milli, current_cost),
        "comparedBill": _bill_json(compared, compared_milli, compared_cost),
        "usageDifference": units(current_milli - compared_milli),
        "costDifference": (current_cost - compared_cost) / 100,
    }


def bill_forecast(
    customer: Customer, accounts: Sequence[UtilityAccount], as_of: date
) -> dict[str, object]:
    """Bill forecast of every account of the customer active in the month of `as_of`."""
    first = as_of.replace(day=1)
    following = _add_months(first, 1)
    days_in_month = (following - first).days
    elapsed = (as_of - first).days
    forecasts: list[dict[str, object]] = []
    for account in accounts:
        if not _has_bill(account, first):
            continue
        fuel = account.fuel
        to_date = _usage([account], fuel, first, as_of) if elapsed else 0
        if elapsed:
            projected = to_date * days_in_month // elapsed
        else:
            projected = _usage([account], fuel, _add_months(first, -1), first)
        forecasts.append(
            {
                "accountId": account.id,
                "utilityAccountId": account.utility_account_id,
                "fuelType": fuel,
                "unit": UNITS[fuel],
                "billPeriodStart": first.isoformat(),
                "billPeriodEnd": (following - timedelta(days=1)).isoformat(),
                "usageToDate": units(to_date),
                "costToDate": cost_cents(fuel, to_date) / 100,
                "projectedUsage": units(projected),
                "projectedCost": cost_cents(fuel, projected) / 100,
            }
        )
    if not forecasts:
        raise not_found(f"No bill forecast available for customer {customer.id}")
    return {
        "customerId": customer.id,
        "asOf": as_of.isoformat(),
        "currency": "USD",
        "forecasts": forecasts,
    }


def neighbor_comparison(
    customer: Customer, accounts: Sequence[UtilityAccount], as_of: date
) -> dict[str, object]:
    """Neighbor comparison per fuel for the last complete month before `as_of`."""
    month = _add_months(as_of.replace(day=1), -1)
    following = _add_months(month, 1)
    comparisons: list[dict[str, object]] = []
    active = [a for a in accounts if _has_bill(a, month)]
    for fuel in dict.fromkeys(a.fuel for a in active):
        you = _usage([a for a in active if a.fuel == fuel], fuel, month, following)
        average = you * _neighbor_percent(customer.id, month) // 100
        efficient = average * 65 // 100
        rating = "GREAT" if you <= efficient else "GOOD" if you <= average else "ABOVE_AVERAGE"
        comparisons.append(
            {
                "fuelType": fuel,
                "unit": UNITS[fuel],
                "billPeriodStart": month.isoformat(),
                "billPeriodEnd": (following - timedelta(days=1)).isoformat(),
                "you": units(you),
                "averageNeighbors": units(average),
                "efficientNeighbors": units(efficient),
                "rating": rating,
            }
        )
    if not comparisons:
        raise not_found(f"No neighbor comparison available for customer {customer.id}")
    return {"customerId": customer.id, "asOf": as_of.isoformat(), "comparisons": comparisons}


def _usage(accounts: list[UtilityAccount], fuel: str, start: date, end: date) -> int:
    return consumption_milli([a.id for a in accounts], fuel, _utc_epoch(start), _utc_epoch(end))


def _bill_json(first: date, milli: int, cost: int) -> dict[str, object]:
    last = _add_months(first, 1) - timedelta(days=1)
    return {
        "startDate": first.isoformat(),
        "endDate": last.isoformat(),
        "usage": units(milli),
        "cost": cost / 100,
    }


def _has_bill(account: UtilityAccount, first: date) -> bool:
    """Whether the account was occupied during (part of) the month starting at `first`."""
    if first < account.move_in.replace(day=1):
        return False
    return account.move_out is None or first <= account.move_out


def _neighbor_percent(customer_id: int, month: date) -> int:
    digest = hashlib.blake2b(f"{customer_id}|{month.isoformat()}".encode(), digest_size=8)
    return 85 + int.from_bytes(digest.digest(), "big") % 40


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _utc_epoch(day: date) -> int:
    return calendar.timegm(day.timetuple())
