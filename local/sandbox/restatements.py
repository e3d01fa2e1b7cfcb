"""Restatements: what Opower takes back or corrects after it first answered, seeded and
deterministic, so that a cache's bounds can be checked and can fail.

Oracle's pages describe a read's quality (``readType`` ACTUAL or ESTIMATED on raw
intervals, ``actualReadsCount`` / ``estimatedReadsCount`` on daily ones) but not how or
when Opower replaces a value; what a utility's meter-data system does is the model here
(an assumption, not a documented behaviour): estimates replaced by actual reads within
days, a validated read corrected later, a move-out entered late, a bill cancelled and
rebilled. Off by default (``SandboxConfig.restatements``: the sandbox's numbers stay the
exact sums tests assert); on in the month benchmark (bench/capacity_month.py) and in
tests of the cache's bounds. Every restatement is a pure function of the account, the day
and the time asked (``now``), so a checker asking the same data at another instant sees
what Opower answered then.

For an account's local day ``D`` (midnight to midnight in the directory's zone), with
``h = blake2b(f"{seed}|{account id}|{D}")``:

* ``h % 16 == 0``, **estimated, then actual**: until 3 days after ``D`` ends its reads are
  estimates, 7 thousandths of the unit lower per 15 minutes than the actual ones, marked
  ``readType: ESTIMATED`` (raw) or counted in ``estimatedReadsCount`` (daily); then actual;
* ``h % 16 == 1``, **a settled day corrected**: 5 days after ``D`` ends (past any
  settlement window of 2 days), its actual reads are corrected, 11 thousandths higher per
  15 minutes, still ``ACTUAL``;
* an account with ``hash(seed, id) % LATE_MOVE_OUT_SHARE == 0`` that Opower lists as still
  occupied, **a move-out processed late**: its customer moved out at midnight starting
  ``pivot - 3 days``; until ``pivot + 3 days`` (00:00 UTC) Opower still lists the account
  without a ``moveOutDate`` and serves its usage after the move (the next occupant's
  consumption, as this customer's); then ``moveOutDate`` is the day before the move and
  those intervals are gone;
* the bill of an account for a month ``M`` with ``hash(seed, id, M) % 8 == 0``, **cancelled
  and rebilled**: 4 days after the bill's period ends (00:00 UTC), its ``charges`` in Get
  Bill Comparison are $3.17 higher.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from local.sandbox.data import UtilityAccount

INTERVAL_S = 900
DAY = timedelta(days=1)
ESTIMATED_FOR = timedelta(days=3)
ESTIMATE_DELTA_MILLI = -7
CORRECTED_AFTER = timedelta(days=5)
CORRECTION_DELTA_MILLI = 11
LATE_MOVE_OUT_SHARE = 13
MOVE_BEFORE_PIVOT = timedelta(days=3)
PROCESSED_AFTER_PIVOT = timedelta(days=3)
REBILL_AFTER = timedelta(days=4)
REBILL_CENTS = 317


@dataclass(frozen=True)
class Restatements:
    """The restatements of one sandbox: its seed and the day its late move-outs turn on."""

    pivot: date
    seed: int = 36

    def _hash(self, *parts: object) -> int:
        text = "|".join(str(p) for p in (self.seed, *parts))
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    def kind(self, account_id: int, day: date) -> str:
        """ "estimated", "corrected" or "" for the account's day."""
        return {0: "estimated", 1: "corrected"}.get(self._hash(account_id, day) % 16, "")

    # -- usage ---------------------------------------------------------------------------
    def usage_delta(
        self, account_id: int, start: datetime, end: datetime, now: datetime, zone: ZoneInfo
    ) -> tuple[int, int]:
        """What the restatements change of the consumption over [start, end) as Opower
        answers it at ``now``: thousandths of the unit to add, and how many 15-minute reads
        of it are estimates."""
        delta = estimated = 0
        day = start.astimezone(zone).date()
        while (day_start := datetime.combine(day, time(), zone)) < end:
            day_end = datetime.combine(day + DAY, time(), zone)
            overlap = min(end, day_end) - max(start, day_start)
            reads = max(0, int(overlap.total_seconds()) // INTERVAL_S)
            kind = self.kind(account_id, day) if reads else ""
            if kind == "estimated" and now < day_end + ESTIMATED_FOR:
                delta += ESTIMATE_DELTA_MILLI * reads
                estimated += reads
            elif kind == "corrected" and now >= day_end + CORRECTED_AFTER:
                delta += CORRECTION_DELTA_MILLI * reads
            day += DAY
        return delta, estimated

    # -- a move-out processed late -------------------------------------------------------
    def moves_out_late(self, account: UtilityAccount) -> bool:
        return account.move_out is None and self._hash(account.id) % LATE_MOVE_OUT_SHARE == 0

    @property
    def moved_out_on(self) -> date:
        """The last day of the late mover's tenancy (moveOutDate)."""
        return self.pivot - MOVE_BEFORE_PIVOT - DAY

    @property
    def processed_at(self) -> datetime:
        return datetime.combine(self.pivot + PROCESSED_AFTER_PIVOT, time(), UTC)

    def as_listed(self, account: UtilityAccount, now: datetime) -> UtilityAccount:
        """The account as Opower lists it at ``now``: a late mover's move-out only once it
        is processed."""
        if self.moves_out_late(account) and now >= self.processed_at:
            return dataclasses.replace(account, move_out=self.moved_out_on)
        return account

    # -- a bill cancelled and rebilled ---------------------------------------------------
    def rebilled_cents(self, account_id: int, first: date, last: date, now: datetime) -> int:
        """Cents added to the bill of [first, last] (its period's days) at ``now``."""
        rebill_at = datetime.combine(last + DAY, time(), UTC) + REBILL_AFTER
        if self._hash(account_id, first.isoformat()[:7]) % 8 or now < rebill_at:
            return 0
        return REBILL_CENTS
