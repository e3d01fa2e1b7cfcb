"""Energy breakdown (`disaggregation-v1`): a customer's usage split into categories.

As Oracle's pages document them (docs.oracle.com/en/industries/energy-water/
digital-self-service/restapi/, the `op-apis-disaggregation-v1-…` page of each), below
`disaggregation-v1/utilities/{U}/customers/{customerId}`:

- `disaggregation`, GET `/consumption/categories?endDate&fuelType&utilityAccountId`, Get
  Annual Disaggregation: "annual usage disaggregation combined across all utility accounts
  associated with the customer. If utilityAccountId or fuelType is specified then returns
  disaggregation only for the appropriate account"; "Results only include the ratio
  field". `endDate` (YYYY-MM-DD) ends the annual period and defaults to today.
- `bill_disaggregation`, GET `/bills/consumption/categories?billStartDate&billEndDate&
  fuelType&utilityAccountId`, Get Bill Disaggregation: the same for one bill; "Results
  include the ratio and cost fields" (the example has `usage` too).
- Both answer `{"response": {billStartDate, billEndDate, usageUnits (KWH, THERM),
  categories: [{name, ratio, cost, usage}]}}`, ratio in [0, 1]; `fuelType` is ELEC or GAS
  here. "If heating or cooling model insights are not available, the disaggregation
  insights are not calculated, and a response status code 404 is returned."

Assumptions (the pages' examples and errors are cut short):
- Categories are the top-level ones, in alphabetical order as the examples begin
  (APPLIANCES, COOLING): APPLIANCES is "an aggregate category for CLOTHES_WASHER,
  DISHWASHER, DRYER, OVEN, REFRIGERATOR, GAS_APPLIANCES_OTHER", so those are not listed
  beside it, and TOTAL is left out (the example's first two ratios, 0.09 and 0.02, read
  as shares of the total, which listing TOTAL as 1 would double). Ratios have two
  decimals and add up to exactly 1; costs (cents) and usages (thousandths) add up to the
  period's own, as Get Billing Usage and the sandbox's tariff have them.
- A category's share comes from the month's temperature (heating below 65 °F, cooling
  above; electric heating only for a customer without gas) and fixed weights scaled by
  0.85 to 1.15 per customer and category. Gas in a combined breakdown is counted in kWh
  (1 therm = 29.3071 kWh, as the neighbor comparison's COMBINED): usageUnits KWH.
- `utilityAccountId` is Opower's utility-account `id` (as Get Bill Comparison's); one
  that is not the customer's is a 404, as is a fuel it has no account for. A customer
  without a model (`Directory.disaggregation_models`), or without usage in the period, is
  the 404 of tests/contracts/opower/get-consumption-categories-no-model.json.
- Dates are a date (or a date-time with an offset: its own date), 20 years back at most;
  `endDate` and `billEndDate` no later than today. The annual period is the year ending
  on `endDate`, both ends included. A bill needs both dates or neither (neither: the
  last complete calendar month), start no later than end, at most 93 days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from local.sandbox.consumption import (
    INTERVAL_S,
    consumption_milli,
    cost_cents,
    interval_milli,
    units,
)
from local.sandbox.data import ELEC, GAS, Customer, UtilityAccount
from local.sandbox.errors import ApiError, bad_request, not_found
from local.sandbox.insights import (
    KWH_PER_THERM,
    add_months,
    has_bill,
    parse_day,
    period_start,
    period_usage,
    temperature,
)
from local.sandbox.messages import Request, Response, json_response

FUEL_TYPES = (ELEC, GAS)
MAX_BILL_DAYS = 93
# How far back the sandbox breaks usage down (its oldest tenancy starts in 2016).
HISTORY = timedelta(days=20 * 365)
NO_MODEL = "Disaggregation insights are not available for this customer."
_BALANCE_F = 65.0
_DAY = timedelta(days=1)
# Weights of each fuel's categories in a month without heating or cooling.
_BASE_WEIGHTS = {
    ELEC: {"APPLIANCES": 22.0, "ELECTRONICS": 12.0, "LIGHTING": 10.0, "OTHER": 14.0},
    GAS: {"APPLIANCES": 6.0, "OTHER": 3.0, "WATER_HEATING": 25.0},
}
# Weight per degree below (heating) or above (cooling) 65 °F of the month.
_HEATING_PER_DEGREE = {ELEC: 0.8, GAS: 3.0}
_COOLING_PER_DEGREE = 3.0


def no_model() -> ApiError:
    """The 404 of a customer whose breakdown is not calculated."""
    return not_found(NO_MODEL)


def selected_accounts(
    customer: Customer, accounts: Sequence[UtilityAccount], request: Request
) -> list[UtilityAccount]:
    """The customer's accounts the request asks for (`utilityAccountId`, `fuelType`)."""
    fuel = request.single("fuelType")
    chosen = list(accounts)
    raw_id = request.single("utilityAccountId")
    if raw_id is not None:
        # The pages' "Utility customer account ID": the utility's account number (Get
        # Utility Account List's utilityAccountId; an account number may hold a meter of
        # each fuel). Opower's own id is not that: as a tier that follows the page, it is
        # not found here (make opower-check tells a utility which its tier answers).
        chosen = [a for a in chosen if a.utility_account_id == raw_id]
        if not chosen:
            raise not_found(f"Unknown utility account {raw_id!r} for customer {customer.id}")
    if fuel is not None:
        chosen = [a for a in chosen if a.meter_type == fuel]
        if not chosen:
            raise not_found(f"No {fuel} utility account for this request")
    return chosen


def check_fuel(request: Request) -> None:
    fuel = request.single("fuelType")
    if fuel is not None and fuel not in FUEL_TYPES:
        raise bad_request(f"'fuelType' must be one of {', '.join(FUEL_TYPES)}")


def annual_period(request: Request, today: date) -> tuple[date, date]:
    """The year ending on `endDate` (default today), both ends included."""
    end = parse_day("endDate", request.single("endDate"), today, today, history=HISTORY)
    if end > today:
        raise bad_request("'endDate' must not be later than today")
    year_before = _years_before(end)
    return year_before + _DAY, end


def bill_dates(request: Request, today: date, *, bill_day: int = 1) -> tuple[date, date]:
    """The bill's first and last day (default: the last complete bill period, periods
    starting on ``bill_day``: calendar months, or the customer's read cycle)."""
    raw_start, raw_end = request.single("billStartDate"), request.single("billEndDate")
    if (raw_start is None) != (raw_end is None):
        raise bad_request("Give both 'billStartDate' and 'billEndDate', or neither")
    this_month = period_start(bill_day, today)
    start = parse_day(
        "billStartDate", raw_start, add_months(this_month, -1), today, history=HISTORY
    )
    end = parse_day("billEndDate", raw_end, this_month - _DAY, today, history=HISTORY)
    if start > end:
        raise bad_request("'billStartDate' must not be later than 'billEndDate'")
    if end > today:
        raise bad_request("'billEndDate' must not be later than today")
    if (end - start).days + 1 > MAX_BILL_DAYS:
        raise bad_request(f"A bill spans at most {MAX_BILL_DAYS} days")
    return start, end


def breakdown(
    customer: Customer,
    accounts: Sequence[UtilityAccount],
    period: tuple[date, date],
    zone: ZoneInfo,
    *,
    with_amounts: bool,
) -> dict[str, object]:
    """The answer for the accounts over [first, last] (both days included): ratios, and
    with ``with_amounts`` each category's cost and usage. 404 without usage there."""
    first, last = period
    fuels = [f for f in FUEL_TYPES if any(a.meter_type == f for a in accounts)]
    combined = len(fuels) > 1
    weights_by_fuel = {f: _weights(customer, f, fuels) for f in fuels}
    usage_by_fuel: dict[str, dict[str, float]] = {}
    milli_by_fuel: dict[str, int] = {}
    cents_by_fuel: dict[str, int] = {}
    for fuel in fuels:
        shares: dict[str, float] = {}
        by_account: dict[int, int] = {}
        for month_first, (start, end) in _month_pieces(first, last):
            weights = weights_by_fuel[fuel](month_first)
            weight_sum = sum(weights.values())
            for account in (a for a in accounts if a.meter_type == fuel):
                if not has_bill(account, period_start(account.bill_day, month_first)):
                    continue
                milli = period_usage([account], account.fuel, start, end, zone)
                by_account[account.id] = by_account.get(account.id, 0) + milli
                for name, weight in weights.items():
                    shares[name] = shares.get(name, 0.0) + milli * weight / weight_sum
        if by_account:
            usage_by_fuel[fuel], milli_by_fuel[fuel] = shares, sum(by_account.values())
            # One bill per account: each has its fixed charge.
            usage_fuel = _USAGE_FUEL[fuel]
            cents_by_fuel[fuel] = sum(cost_cents(usage_fuel, m) for m in by_account.values())
    if not milli_by_fuel:
        raise no_model()
    factor = {ELEC: 1.0, GAS: KWH_PER_THERM if combined else 1.0}
    usage: dict[str, float] = {}
    for fuel, shares in usage_by_fuel.items():
        for name, amount in shares.items():
            usage[name] = usage.get(name, 0.0) + amount * factor[fuel]
    names = sorted(usage)
    ratios = _apportion(100, [usage[n] for n in names])
    categories: list[dict[str, object]] = [
        {"name": n, "ratio": r / 100} for n, r in zip(names, ratios, strict=True)
    ]
    if with_amounts:
        total_milli = round(sum(m * factor[f] for f, m in milli_by_fuel.items()))
        usages = _apportion(total_milli, [usage[n] for n in names])
        costs = [0] * len(names)
        for fuel, shares in usage_by_fuel.items():
            fuel_costs = _apportion(cents_by_fuel[fuel], [shares.get(n, 0.0) for n in names])
            costs = [c + f for c, f in zip(costs, fuel_costs, strict=True)]
        for category, cents, milli in zip(categories, costs, usages, strict=True):
            category["cost"] = cents / 100
            category["usage"] = milli / 1000
    return {
        "response": {
            "billStartDate": first.isoformat(),
            "billEndDate": last.isoformat(),
            "usageUnits": "KWH" if combined or fuels == [ELEC] else "THERM",
            "categories": categories,
        }
    }


_USAGE_FUEL = {ELEC: "ELECTRICITY", GAS: "GAS"}
WeightsOfMonth = Callable[[date], dict[str, float]]


def _weights(customer: Customer, fuel: str, fuels: Sequence[str]) -> WeightsOfMonth:
    """The fuel's category weights in a month, for this customer."""
    base = _BASE_WEIGHTS[fuel]
    scale = {name: _customer_scale(customer, fuel, name) for name in (*base, "HEATING", "COOLING")}
    # Electric heating only where there is no gas to heat with (an assumption).
    heats = fuel == GAS or GAS not in fuels

    def of_month(month_first: date) -> dict[str, float]:
        weights = {name: weight * scale[name] for name, weight in base.items()}
        degrees = temperature(month_first) - _BALANCE_F
        if heats and degrees < 0:
            weights["HEATING"] = -degrees * _HEATING_PER_DEGREE[fuel] * scale["HEATING"]
        if fuel == ELEC and degrees > 0:
            weights["COOLING"] = degrees * _COOLING_PER_DEGREE * scale["COOLING"]
        return weights

    return of_month


def _customer_scale(customer: Customer, fuel: str, name: str) -> float:
    """0.85 to 1.15, fixed per customer, fuel and category."""
    key = f"{customer.id}|{fuel}|{name}".encode()
    return (85 + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % 31) / 100


def _month_pieces(first: date, last: date) -> list[tuple[date, tuple[date, date]]]:
    """The days [first, last] cut at month boundaries: (month, (from, to exclusive))."""
    pieces = []
    month = first.replace(day=1)
    while month <= last:
        following = add_months(month, 1)
        pieces.append((month, (max(first, month), min(last + _DAY, following))))
        month = following
    return pieces


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` in whole units that add up to it exactly
    (largest remainder; ties to the first)."""
    weight_sum = sum(weights)
    if weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    whole = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (whole[i] - exact[i], i))
    for i in by_remainder[: total - sum(whole)]:
        whole[i] += 1
    return whole


def _years_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# -- Get Always-On -----------------------------------------------------------------------
ALWAYS_ON_DAYS = 30
NO_ALWAYS_ON = "Customer account not found, has no AMI or always-on usage."


def always_on_missing() -> ApiError:
    """Get Always-On's 404, in the ExternalError shape its page shows
    (``{"error": {"httpStatus", "errorMessage"}}``, not the ErrorResponse of the others)."""
    return ExternalError(404, NO_ALWAYS_ON)


class ExternalError(ApiError):
    def to_response(self, *, nested: bool) -> Response:
        payload = {"error": {"httpStatus": self.status, "errorMessage": self.details}}
        return json_response(self.status, payload, *self.headers)


def always_on(accounts: Sequence[UtilityAccount], as_of: date, zone: ZoneInfo) -> dict[str, object]:
    """Get Always-On: the kWh the home uses that never turns off, and its share of the
    electricity used, over the 30 days before ``asOf`` (an assumption: the page's example
    spans a month). Always-on is each electric meter's lowest 15-minute read in the window,
    as if drawn all the time: that read times the window's quarter hours (kWh, to the
    thousandth), its ratio to what was used (to the hundredth). Only electric accounts
    with interval reads have one; else the page's 404."""
    electric = [a for a in accounts if a.meter_type == ELEC and a.move_in <= as_of]
    if not electric:
        raise always_on_missing()
    end = datetime.combine(as_of, time(), zone)
    start = end - timedelta(days=ALWAYS_ON_DAYS)
    first, last = int(start.timestamp()), int(end.timestamp())
    quarters = range(first - first % INTERVAL_S, last - last % INTERVAL_S, INTERVAL_S)
    baseline = sum(min(interval_milli(a.id, "ELECTRICITY", t) for t in quarters)
                   for a in electric)  # fmt: skip
    total = consumption_milli([a.id for a in electric], "ELECTRICITY", quarters[0],
                              quarters[-1] + INTERVAL_S)  # fmt: skip
    value = baseline * len(quarters)
    return {"response": {
        "ratio": round(value / total, 2) if total else 0.0,
        "value": units(value),
        "startDate": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.00Z"),
        "endDate": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.00Z"),
    }}  # fmt: skip
