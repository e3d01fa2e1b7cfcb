"""The shape of Opower's day: who may spend the day's calls, and when.

Opower allows a utility 100,000 calls a day. Spent first come, first served, a busy
morning (or one batch job) leaves the evening peak, or the 1st's bill screens, with
nothing. A day plan shares the day out instead:

* **Priorities.** What a customer does is of four kinds (``PRIORITIES``, most needed
  first): ``login`` (the binding lookups of a new session: without them nothing works),
  ``bill`` (the bill screen: accounts, the bill comparison, the bill period), ``standard``
  (usage, settings and every write) and ``optional`` (screens an app can show from cache
  or leave out: forecast, neighbors, tips, breakdowns). The route table names each
  route's (gateway.routes ``Route.priority``).
* **The day's curve.** Where in the day customers come (``curve``: 24 weights, by hour
  of the quota day; even when not given). ``f`` below is the share of the day's expected
  demand already past: the evening peak's share is kept for the evening.
* **Reserves.** A share of the day is held for each kind above the lowest, out of reach
  of the kinds below it: ``reserves[k]`` of the day for ``k``, or, when more, what ``k``
  will need for the rest of the day at today's pace (its calls so far over ``f``, from
  ``PROJECT_FROM`` of the day on): on a bill day, logins and bill screens project more
  than their reserve, and the kinds below them give way. A reserve is held for the rest
  of the day only, so it shrinks as the day's demand passes (``reserve x (1 - f)``) and
  is all released by its end: nothing held is lost.
* **Pacing.** ``standard`` calls may run at most ``pace_ahead_s`` ahead of the curve's
  spend of what they may reach (``optional`` ones half as far): at most the curve's share
  up to ``now + ahead`` of it, so a morning cannot spend the evening. Logins and the
  bill screen are not paced: they are what the reserves are for.
* **The service API's share** (``service_share``, the ``service_budget_per_day`` of the
  pool of the service API) is held from every customer kind only as far as the service
  may still need it: ``min(share left, share x (1 - f))``. What the service left unspent
  in the hours past is lent to customers; the share of the hours to come stays the
  service's. The service never spends more than its share: a batch job must not make a
  customer see a 429.

Every cap rises with the day and reaches the whole day by its end, so a refused kind is
allowed again at a computable instant (``next_allowance``): the ``Retry-After`` a
customer is given, minutes away while the day runs, never a guess.

The day starts at ``day_start_s`` seconds after 00:00 UTC (a setting: Oracle's
Limitations page states the limit per day, not when a day starts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

DAY_S = 86_400

# Most needed first: each kind may spend what the kinds after it may, and its reserve.
PRIORITIES = ("login", "bill", "standard", "optional")
PACED = frozenset({"standard", "optional"})
# A customer's app is told to come back in an hour at most (gateway.budgets.utility).
MAX_CUSTOMER_RETRY_AFTER_S = 3600
SERVICE = "service"  # the service API's pool: its share of the day, held from customers

# A kind's day is projected from what it spent once this share of the day's demand is past.
PROJECT_FROM = 0.2
# ... and a quarter more held than the projection: a day's demand is not its curve exactly.
PROJECTION_MARGIN = 1.25

DEFAULT_RESERVES: Mapping[str, float] = MappingProxyType(
    {"login": 0.05, "bill": 0.15, "standard": 0.10}
)


@dataclass(frozen=True)
class DayPlan:
    per_day: int = 99_000
    reserves: Mapping[str, float] = field(default_factory=lambda: DEFAULT_RESERVES)
    pace_ahead_s: int = 4 * 3600
    day_start_s: int = 0
    service_share: int = 0  # the service API's share, held from customers (0: none)
    # The day's expected demand, by hour of the quota day (24 weights; empty: even): how
    # reserves are released and the pace runs, so that the evening peak is kept for.
    curve: tuple[float, ...] = ()
    # False: the day spent first come, first served (no reserve, projection or pacing);
    # the service API's share is still its own.
    shaped: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.reserves) - set(PRIORITIES[:-1])
        if unknown:
            raise ValueError(f"reserves are for {', '.join(PRIORITIES[:-1])}, not {unknown}")
        if any(not 0 <= r < 1 for r in self.reserves.values()) or sum(self.reserves.values()) >= 1:
            raise ValueError("reserves are fractions of the day that add up to less than 1")
        if not 0 <= self.pace_ahead_s <= DAY_S:
            raise ValueError("pace_ahead_s must be between 0 and 86400")
        if not 0 <= self.day_start_s < DAY_S:
            raise ValueError("day_start_s must be between 0 and 86399")
        if not 0 <= self.service_share < self.per_day:
            raise ValueError("the service share must be less than the day")
        if self.curve and (len(self.curve) != 24 or min(self.curve) < 0 or not sum(self.curve) > 0):
            raise ValueError("the day's curve is 24 weights, none negative, not all 0")

    # -- the day -------------------------------------------------------------------------
    def day_of(self, now: float) -> tuple[str, float]:
        """The quota day holding ``now`` (its date, as the day's start shows it in UTC
        once shifted by ``day_start_s``) and the instant it ends."""
        shifted = now - self.day_start_s
        start = math.floor(shifted / DAY_S) * DAY_S
        name = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d")
        return name, start + DAY_S + self.day_start_s

    def fraction(self, now: float) -> float:
        """How much of the quota day holding ``now`` has passed, 0 to 1."""
        _, end = self.day_of(now)
        return min(1.0, max(0.0, 1.0 - (end - now) / DAY_S))

    def elapsed(self, now: float, *, within: float | None = None) -> float:
        """How much of the day's expected demand (``curve``) lies before ``now``, 0 to 1,
        in the quota day holding ``within`` (default: ``now``'s; past its end, 1)."""
        _, end = self.day_of(now if within is None else within)
        hours = min(24.0, max(0.0, 24.0 - (end - now) / 3600))
        if not self.curve:
            return hours / 24
        whole = int(hours)
        done = sum(self.curve[:whole])
        if whole < 24:
            done += self.curve[whole] * (hours - whole)
        return done / sum(self.curve)

    # -- caps ------------------------------------------------------------------------------
    def cap(
        self,
        priority: str,
        now: float,
        *,
        service_used: int = 0,
        spent: Mapping[str, int] | None = None,
    ) -> int:
        """The day's count (every pool's calls) up to which a call of ``priority`` may be
        made at ``now``, the service having made ``service_used`` of them and each kind
        the count in ``spent`` (what the reserves above it project)."""
        f = self.elapsed(now)
        if priority == SERVICE:  # its share, however the customers' day goes
            return self.per_day if service_used < self.service_share else 0
        above = PRIORITIES[: PRIORITIES.index(priority)] if self.shaped else ()
        # What this kind may reach at the day's start: the day less the reserves above it,
        # which are released as the day goes.
        reach = self.per_day * (1.0 - sum(self.reserves.get(k, 0.0) for k in above))
        released = (self.per_day - reach) * f
        # Held for the kinds above it, for the rest of the day: their reserve, or what they
        # will need at today's pace if more (a bill day's logins and bill screens).
        held = sum(self._held(k, f, (spent or {}).get(k, 0)) for k in above)
        cap = self.per_day - held
        if priority in PACED and self.shaped:
            # Paced: its reach spent no faster than the curve plus the lead; an optional
            # screen's lead is half a standard call's, so it is shed first.
            ahead_s = self.pace_ahead_s / (2 if priority == "optional" else 1)
            cap = min(cap, reach * self.elapsed(now + ahead_s, within=now) + released)
        left = self.service_share - service_used
        cap -= max(0.0, min(left, self.service_share * (1.0 - f)))
        return max(0, math.floor(cap))

    def _held(self, kind: str, f: float, spent: int) -> float:
        """What the rest of the day keeps for ``kind``: the larger of its reserve and its
        day projected from what it spent so far (from PROJECT_FROM of the day's demand
        on: before, a few early calls would project a day of them), times what is left."""
        projected = (spent / max(f, PROJECT_FROM) - spent) * PROJECTION_MARGIN
        return max(self.reserves.get(kind, 0.0) * self.per_day * (1.0 - f), projected)

    def next_allowance(
        self,
        priority: str,
        used: int,
        now: float,
        *,
        amount: int = 1,
        service_used: int = 0,
        spent: Mapping[str, int] | None = None,
    ) -> float:
        """The first instant, from ``now``, at which ``amount`` more calls of ``priority``
        fit under its cap with ``used`` spent: within the day (every cap rises with it),
        else the start of the next day."""
        _, end = self.day_of(now)

        def fits(t: float) -> bool:
            cap = self.cap(priority, t, service_used=service_used, spent=spent)
            return used + amount <= cap

        if fits(now):
            return now
        if not fits(end - 1e-3):
            return end
        low, high = now, end - 1e-3
        while high - low > 0.5:  # the cap is monotonic in time: bisect to half a second
            middle = (low + high) / 2
            if fits(middle):
                high = middle
            else:
                low = middle
        return high
