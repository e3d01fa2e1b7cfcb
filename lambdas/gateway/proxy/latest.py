"""How long an account's latest answer is kept: until its billing period ends.

Asked with no ``asOf``, Get Bill Comparison answers with the account's last bill (its
``reference``: "the latest bill before asOf") and Get Bill Period with the period holding
today. Neither changes until a new bill posts, and a bill posts once its period has
ended. So such an answer is kept, under a key that does not name the day, until the
period ends, not a day:

* for the bill comparison, the period is the one after its latest bill, as long as the
  shortest of the bills it shows (``next_period``): no Get Bill Period call is needed
  (issue #38: that call cost more than it saved). The latest neighbor comparison is of a
  billing period too (each fuel's ``startDate`` and ``endDate``), computed anew when the
  next bill posts: kept until the period after it is due (``neighbor_next_period``), the
  same way, then its route's lifetime, not the bill's hour (an optional screen: issue
  #38). That a new comparison comes only with a new period is an assumption: the page
  shows each comparison's period, not when Opower computes the next. For Get Bill Period
  itself, its own
  answer: Oracle publishes no schema for it, its ``startDate`` and ``endDate`` (a date,
  the last day inclusive, as on a printed bill) are an assumption, read tolerantly; an
  answer without them keeps the route's lifetime;
* Oracle's page says the period is "calculated as the median of historical bill periods"
  when the report database has none: a meter read can come a few days early, so a bill
  is *due* from ``margin_s`` before the period's end. From then, and while the last bill
  is not the one before the current period (its ``endDate`` before the period's
  ``startDate`` less a day), the comparison is kept only ``new_bill_s``: that is the
  bound within which a new bill shows after Opower has it;
* the period's last day ends at midnight where the meter is, which the answer does not
  say: the earliest such midnight on Earth (UTC+14) is taken.

A later correction of a bill already posted (a cancel and rebill) shows when the period is
due or within ``bound_s`` (the settled bound, cache_settled_fresh_s), whichever comes first:
Opower's pages document no signal for one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gateway.proxy.validation import Upstream

_EARLIEST_OFFSET = timedelta(hours=14)  # UTC+14: where a local day ends first


@dataclass(frozen=True)
class Period:
    """A billing period: its first and last day (inclusive)."""

    start: date
    end: date

    def ends_at(self) -> float:
        """The earliest instant the period's last day can end, anywhere."""
        following = datetime.combine(self.end + timedelta(days=1), time(), UTC)
        return (following - _EARLIEST_OFFSET).timestamp()


def applies(upstream: Upstream, *, enabled: bool) -> bool:
    """Whether the request asks for an account's latest answer (no asOf) on a route whose
    latest answers are kept until the period ends."""
    get = upstream.route.operation("GET")
    rule = get.cache.latest if get is not None and get.cache is not None else ""
    return enabled and bool(rule) and not any(name == "asOf" for name, _ in upstream.query)


def period_of(body: str) -> Period | None:
    """The period of a Get Bill Period answer, or None when it names none."""
    answer = _response(body)
    start, end = _day(answer.get("startDate")), _day(answer.get("endDate"))
    if start is None or end is None or end < start:
        return None
    return Period(start, end)


def next_period(body: str) -> Period | None:
    """The billing period after a Get Bill Comparison answer's latest bill (its reference):
    from the day after it, as long as the shortest of its bills (reference and compared:
    Opower's own period is "the median of historical bill periods"; the shortest says the
    next bill is due no later than it is), so that no Get Bill Period call is needed to
    know when the next bill can post. None when the answer shows no bill."""
    answer = _response(body)
    lengths, last = [], None
    for name in ("reference", "compared"):
        bill = answer.get(name)
        start = _day(bill.get("startDate")) if isinstance(bill, dict) else None
        end = _day(bill.get("endDate")) if isinstance(bill, dict) else None
        if start is None or end is None or end < start:
            continue
        lengths.append((end - start).days + 1)
        if name == "reference":
            last = end
    if last is None or not lengths:
        return None
    start = last + timedelta(days=1)
    return Period(start, start + timedelta(days=min(lengths) - 1))


def latest_shown(route: str, body: str) -> date | None:
    """The last day of the latest period an answer of ``route`` shows: the bill
    comparison's latest bill, the neighbor comparison's latest period."""
    if route == "neighbor_comparison":
        following = neighbor_next_period(body)
        return following.start - timedelta(days=1) if following is not None else None
    return last_bill_end(body)


def neighbor_next_period(body: str) -> Period | None:
    """The billing period after a Get Latest Neighbor Comparison answer's: each fuel's
    comparison is of one billing period (its ``startDate`` and ``endDate``, inclusive),
    and a new one is computed when the next bill posts. From the day after the latest
    period shown, as long as the shortest; None when no fuel shows a period."""
    lengths, last = [], None
    for comparison in _response(body).values():
        start = _day(comparison.get("startDate")) if isinstance(comparison, dict) else None
        end = _day(comparison.get("endDate")) if isinstance(comparison, dict) else None
        if start is None or end is None or end < start:
            continue
        lengths.append((end - start).days + 1)
        last = end if last is None else max(last, end)
    if last is None:
        return None
    start = last + timedelta(days=1)
    return Period(start, start + timedelta(days=min(lengths) - 1))


def last_bill_end(body: str) -> date | None:
    """The last day of the latest bill of a Get Bill Comparison answer (its reference)."""
    reference = _response(body).get("reference")
    return _day(reference.get("endDate")) if isinstance(reference, dict) else None


def kept_for_period(
    period: Period | None, *, now: float, fresh_s: float, margin_s: float, new_bill_s: float,
    bound_s: float,
) -> float:  # fmt: skip
    """Seconds to keep Get Bill Period's latest answer: until its period is due."""
    if period is None:
        return fresh_s
    return _until_due(period, now=now, margin_s=margin_s, new_bill_s=new_bill_s, bound_s=bound_s)


def kept_for_comparison(
    body: str, period: Period | None, *, now: float, margin_s: float, new_bill_s: float,
    bound_s: float,
) -> float:  # fmt: skip
    """Seconds to keep Get Bill Comparison's latest answer: until the account's period is
    due when its last bill is the one before that period; else ``new_bill_s``."""
    last = last_bill_end(body)
    if period is None or last is None or last < period.start - timedelta(days=1):
        return new_bill_s
    return _until_due(period, now=now, margin_s=margin_s, new_bill_s=new_bill_s, bound_s=bound_s)


def _until_due(
    period: Period, *, now: float, margin_s: float, new_bill_s: float, bound_s: float
) -> float:
    due = period.ends_at() - margin_s
    if due <= now:
        return new_bill_s
    return min(due - now, bound_s)


def _response(body: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    answer = document.get("response") if isinstance(document, dict) else None
    return answer if isinstance(answer, dict) else {}


def _day(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` date (a date-time's date part is not guessed at)."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
