"""Deterministic consumption and cost of every utility account.

Consumption is generated per 15-minute interval from a hash of (utility-account id, fuel,
interval start in Unix seconds), in integer thousandths of the unit, so days, bills and
insights are exact sums of the intervals they cover (a day read equals the sum of its 96
raw reads, a bill the sum of its days; a five-minute meter's three reads sum to the
quarter hour's, ``slice_milli``) and tests can assert exact numbers:

    h = int.from_bytes(blake2b(f"{account_id}|{fuel}|{start}".encode(), digest_size=8), "big")
    ELECTRICITY: 50 + h % 400 thousandths of a kWh   (0.050 - 0.449 kWh per interval)
    GAS:          5 + h % 40  thousandths of a therm (0.005 - 0.044 therm per interval)

A customer's usage of a fuel is the sum over their utility accounts of that fuel. Cost is a
fixed charge plus a flat rate: electricity $10.00 + $0.15/kWh, gas $8.00 + $1.20/therm,
rounded half up to the cent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache

INTERVAL_S = 900
SLICE_S = 300  # a five-minute meter's interval
DAY_S = 86_400
UNITS = {"ELECTRICITY": "KWH", "GAS": "THERM"}
_PROFILE = {"ELECTRICITY": (50, 400), "GAS": (5, 40)}
_TARIFF_CENTS = {"ELECTRICITY": (1000, 15), "GAS": (800, 120)}  # fixed, per unit


def interval_milli(account_id: int, fuel: str, start: int) -> int:
    """Consumption of the 15-minute interval starting at `start` (Unix seconds)."""
    base, spread = _PROFILE[fuel]
    digest = hashlib.blake2b(f"{account_id}|{fuel}|{start}".encode(), digest_size=8).digest()
    return base + int.from_bytes(digest, "big") % spread


@lru_cache(maxsize=16_384)
def _day_milli(account_id: int, fuel: str, start: int) -> int:
    """One day's consumption; cached because bills and insights re-sum the same days."""
    return sum(interval_milli(account_id, fuel, t) for t in range(start, start + DAY_S, INTERVAL_S))


def slice_milli(account_id: int, fuel: str, start: int) -> int:
    """A five-minute slice of a 15-minute interval: its third, the remainder going to the
    first slices, so that three slices sum to the interval exactly."""
    first = start - start % INTERVAL_S
    whole = interval_milli(account_id, fuel, first)
    index = (start - first) // SLICE_S
    return whole // 3 + (1 if index < whole % 3 else 0)


def consumption_milli(account_ids: Iterable[int], fuel: str, start: int, end: int) -> int:
    """Total consumption over [start, end), both on five-minute boundaries."""
    if start % INTERVAL_S or end % INTERVAL_S:
        return sum(slice_milli(a, fuel, t) for a in account_ids for t in range(start, end, SLICE_S))
    step, unit = (DAY_S, _day_milli) if (end - start) % DAY_S == 0 else (INTERVAL_S, interval_milli)
    return sum(unit(a, fuel, t) for a in account_ids for t in range(start, end, step))


def cost_cents(fuel: str, milli: int) -> int:
    """What a bill with that consumption costs, in cents."""
    fixed, rate = _TARIFF_CENTS[fuel]
    return fixed + (milli * rate + 500) // 1000


def units(milli: int) -> float:
    """Thousandths to the JSON number Opower shows (kWh or therms)."""
    return milli / 1000
