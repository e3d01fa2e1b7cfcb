"""Usage answers assembled from settled days the gateway already holds, and the rest.

Get Raw Interval Usage and Get Daily Interval Usage (Oracle's pages under
docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/) answer a window
[start, end) with the intervals wholly inside it that have ended, one stream per service
point, days running midnight to midnight in the service point's ``timezone``. A day that
ended before the meter-read settlement window never changes, so for a window that begins
in days already seen Opower need only be asked for the rest (``plan``), and the gateway
answers the whole window from both (``assemble``), byte for byte as one call would have.
``harvest`` keeps an answer's settled days as ``Days``, a JSON value the caller keeps per
customer, fuel and resolution. Whenever sameness cannot be shown the plan is the whole
window, as if this module did not exist. What is shown rests on these assumptions (the
sandbox holds to all of them; tests/unit/test_usage_days.py checks against it):

- Tenancy is in whole days (move-in to move-out), so a stream without an interval on a
  settled day was not occupied then, and an occupied one has its day tiled by intervals
  from midnight to midnight. A day a stream's intervals do not tile (a gap, an interval
  across midnight: an hourly meter where the zone's offset is a half hour) is not kept.
- A settled day's intervals change rarely: it ended before ``settled_before`` (the
  caller's settlement window, far longer than any clock skew with Opower) and holds no
  estimated read (``readType`` other than ACTUAL, ``estimatedReadsCount`` above 0). Opower
  may still correct one (a re-read meter, a move-out processed late): each day held says
  when Opower gave it (``seen``), and the caller trusts it only for a bound of its own
  (``trusted``), after which the day is asked again.
- Opower lists one stream for each service point occupied at any time of the window, in
  an order of its own that does not depend on the window, each with its intervals in time
  order.
- The envelope's ``start`` and ``end`` echo the request's strings; a date in them is
  midnight in the answer's ``timezone``, every stream's; the rest of the envelope (utility
  code, customer, fuel, unit) is the same for every window of a customer, fuel and
  resolution. An envelope with members the pages do not show is not harvested: they might
  depend on the window.
- Opower writes every answer alike, in one of ``json.dumps``' styles: the style an answer
  is found in is the style of the next.
- The caller holds windows to Opower's caps and history bounds before planning
  (gateway.proxy.validation): a window Opower would refuse at a cap's very edge may be
  assembled from parts it accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = Mapping[str, object]  # as Opower wrote it, kept verbatim
DayEntry = Mapping[str, Sequence[Interval]]  # service point -> its intervals, Opower's order
Envelope = tuple[tuple[str, object], ...]  # an answer's members, in order
Span = tuple[datetime, datetime]  # [start, end) in UTC
Stream = tuple[str, Sequence[Interval]]
Prefix = list[tuple[DayEntry, Span]]  # held days in a row, each with its span

RESOLUTIONS = ("raw", "day")
_STYLES = {
    "spaced-ascii": ((", ", ": "), True),  # json.dumps' default
    "spaced-utf8": ((", ", ": "), False),
    "compact-ascii": ((",", ":"), True),
    "compact-utf8": ((",", ":"), False),
}
_FORMAT = 2  # of to_json's value (1: without the days' seen times)
_PLACED = ("start", "end", "streams")  # envelope members each window sets
# The envelope's members on the pages: any other might depend on the window.
_DOCUMENTED = {"utilityCode", "utilityCustomerId", "fuelType", "timezone", "unit", *_PLACED}
_STREAM_KEYS = ["utilityServicePointId", "intervals"]
# Opower's forms of a window bound (as local/sandbox/usage.py reads them).
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?[+-]\d{2}:\d{2}")
_QUARTER_HOUR = timedelta(minutes=15)
_DAY = timedelta(days=1)
_MAX_DAYS = 62  # longer than any window Opower answers (45 days): walks stay short
_UNREADABLE = (ValueError, TypeError, OverflowError)


@dataclass(frozen=True)
class Days:
    """Settled days of one customer's usage of one fuel at one resolution, and how the
    answers they came from were written (``envelope`` holds None where each window puts
    its own ``start``, ``end`` and ``streams``)."""

    resolution: str
    style: str
    envelope: Envelope
    days: Mapping[str, DayEntry]  # ISO date -> entry, oldest first
    seen: Mapping[str, float] = field(default_factory=dict)  # ISO date -> given at

    @property
    def zone(self) -> ZoneInfo:
        return _zone(dict(self.envelope)["timezone"])

    @property
    def oldest_seen(self) -> float:
        """When Opower gave the oldest-given day held (0: none held)."""
        return min(self.seen.values(), default=0.0)

    def merge(self, newer: Days) -> Days:
        """Both's days, ``newer``'s where both hold one; only ``newer``'s when its answer
        was written otherwise (Opower changed its envelope or style): days held from
        before no longer show what Opower answers."""
        if (newer.resolution, _written(newer)) != (self.resolution, _written(self)):
            return newer
        return replace(
            newer,
            days=dict(sorted({**self.days, **newer.days}.items())),
            seen={**self.seen, **newer.seen},
        )

    def trim(self, max_days: int) -> Days:
        """The newest ``max_days`` days, to bound what the caller keeps."""
        kept = sorted(self.days)[-max_days:] if max_days > 0 else []
        return self._only(kept)

    def trusted(self, since: float) -> Days:
        """Only the days Opower gave at or after ``since``: a settled day is trusted for a
        bound, then asked again, so that a correction reaches the customer within it."""
        return self._only([day for day in self.days if self.seen.get(day, 0.0) >= since])

    def _only(self, kept: Iterable[str]) -> Days:
        kept = list(kept)
        return replace(
            self,
            days={day: self.days[day] for day in kept},
            seen={day: self.seen[day] for day in kept if day in self.seen},
        )

    def to_json(self) -> str:
        value = {
            "v": _FORMAT,
            "resolution": self.resolution,
            "style": self.style,
            "envelope": self.envelope,
            "days": {day: {p: list(ivs) for p, ivs in e.items()} for day, e in self.days.items()},
            "seen": dict(self.seen),
        }
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Days | None:
        """What ``to_json`` wrote, or None for anything else (another format, damage): a
        value this code cannot read is no value."""
        try:
            value = _object(json.loads(text))
            entries = _object(value.get("days")).items()
            days = {date.fromisoformat(_text(d)).isoformat(): _entry_of(e) for d, e in entries}
            envelope = _envelope_of(value.get("envelope"))
            resolution, style = _text(value.get("resolution")), _text(value.get("style"))
            seen = {
                date.fromisoformat(_text(d)).isoformat(): _number(t)
                for d, t in _object(value.get("seen")).items()
            }
            held = cls(resolution, style, envelope, dict(sorted(days.items())), seen)
        except (*_UNREADABLE, RecursionError):
            return None
        if set(held.seen) != set(held.days):
            return None  # a day without the time Opower gave it cannot be trusted
        known = value.get("v") == _FORMAT and held.resolution in RESOLUTIONS
        return held if known and held.style in _STYLES else None


@dataclass(frozen=True)
class Plan:
    """What to ask Opower for a window: all of it (``whole``), only from local midnight
    of ``start_date`` to its end (``suffix``), or nothing (``none``)."""

    kind: Literal["whole", "suffix", "none"]
    start_date: str | None = None


WHOLE = Plan("whole")
NOTHING = Plan("none")


@dataclass(frozen=True)
class _Answer:
    style: str
    envelope: Envelope
    window: tuple[str, str]
    streams: list[Stream]


def harvest(
    resolution: str, body: str, *, settled_before: datetime, seen_at: float = 0.0
) -> Days | None:
    """The settled days an answer Opower gave at ``seen_at`` shows whole
    (``settled_before`` is aware), or None when it cannot be read, or its bytes cannot be
    written again from its value."""
    answer = _read_answer(body, _STYLES) if resolution in RESOLUTIONS else None
    if answer is None:
        return None
    days: dict[str, DayEntry] = {}
    try:
        zone = _zone(dict(answer.envelope)["timezone"])
        start, end = (_bound(bound, zone) for bound in answer.window)
        streams = [(point, [(_span(iv), iv) for iv in ivs]) for point, ivs in answer.streams]
        for day, span in _days(start, end, zone):
            if span[1] > min(end, settled_before):
                break
            entry = _settled_day(streams, span) if span[0] >= start else None
            if entry is not None:
                days[day.isoformat()] = entry
    except _UNREADABLE:
        return None
    return Days(resolution, answer.style, answer.envelope, days, dict.fromkeys(days, seen_at))


def plan(resolution: str, start: str, end: str, days: Days) -> Plan:
    """How to answer [start, end) (the strings the gateway sends Opower) with ``days``."""
    try:
        _, prefix, rest = _prefix(start, end, days)
    except _UNREADABLE:
        return WHOLE
    if resolution != days.resolution or not prefix:
        return WHOLE
    if rest is None:
        return NOTHING if _listing(prefix) is not None else WHOLE
    last = {point for point, intervals in prefix[-1][0].items() if intervals}
    if not _occupied(prefix) <= last:
        return WHOLE  # moved out before the rest: the rest's answer would not place it
    return Plan("suffix", rest.isoformat())


def assemble(plan: Plan, days: Days, start: str, end: str, fresh_body: str | None) -> str | None:
    """The answer to [start, end) from the held days and Opower's ``fresh_body`` to the
    plan's suffix, or None when it cannot be shown to be Opower's (ask the whole window)."""
    try:
        return _assembled(plan, days, (start, end), fresh_body)
    except _UNREADABLE:
        return None


def _assembled(
    plan: Plan, days: Days, bounds: tuple[str, str], fresh_body: str | None
) -> str | None:
    window, prefix, rest = _prefix(*bounds, days)
    planned = Plan("suffix", rest.isoformat()) if rest else NOTHING
    if plan.kind == "whole" or not prefix or plan != planned:
        return None  # nothing to assemble, or the held days changed since the plan
    streams: Sequence[Stream] | None
    if rest is None:
        listing = _listing(prefix)
        streams = None if listing is None else [(point, []) for point in listing]
    else:
        streams = _fresh_streams(fresh_body, days, (rest.isoformat(), bounds[1]), prefix)
    if streams is None:
        return None
    placed: dict[str, object] = {
        "start": bounds[0],
        "end": bounds[1],
        "streams": [
            {_STREAM_KEYS[0]: point, _STREAM_KEYS[1]: [*_held(prefix, point, window), *tail]}
            for point, tail in streams
        ],
    }
    response = {key: placed.get(key, value) for key, value in days.envelope}
    return _dumps({"response": response}, days.style)


def _fresh_streams(
    body: str | None, days: Days, bounds: tuple[str, str], prefix: Prefix
) -> list[Stream] | None:
    """Opower's streams for the rest of the window, when its answer is written as the held
    days' were and lists every stream occupied in them (so its order is the whole's)."""
    answer = _read_answer(body, [days.style]) if body is not None else None
    if answer is None or answer.window != bounds or _written(answer) != _written(days):
        return None
    return answer.streams if _occupied(prefix) <= {p for p, _ in answer.streams} else None


def _prefix(start: str, end: str, days: Days) -> tuple[Span, Prefix, date | None]:
    """The window in UTC, the held days it meets in a row from its start's, and the first
    day it meets that is not held (None: it holds them all)."""
    zone = days.zone
    window = (_bound(start, zone), _bound(end, zone))
    if window[0] >= window[1]:
        raise ValueError("an empty window")
    prefix: Prefix = []
    for day, span in _days(*window, zone):
        entry = days.days.get(day.isoformat())
        if entry is None:
            return window, prefix, day
        prefix.append((entry, span))
    return window, prefix, None


def _occupied(prefix: Prefix) -> set[str]:
    return {point for entry, _ in prefix for point, intervals in entry.items() if intervals}


def _listing(prefix: Prefix) -> list[str] | None:
    """The streams one answer to the held days lists, in Opower's order: those occupied on
    any, ordered as an answer that listed them all did (None: none did)."""
    occupied = _occupied(prefix)
    return next(
        ([p for p in entry if p in occupied] for entry, _ in prefix if occupied.issubset(entry)),
        None,
    )


def _held(prefix: Prefix, point: str, window: Span) -> list[Interval]:
    """The stream's held intervals wholly inside the window, as Opower keeps them."""
    return [
        interval
        for entry, _ in prefix
        for interval in entry.get(point, ())
        if _within(_span(interval), window)
    ]


def _within(span: Span, window: Span) -> bool:
    return window[0] <= span[0] and span[1] <= window[1]


def _settled_day(
    streams: list[tuple[str, list[tuple[Span, Interval]]]], day: Span
) -> DayEntry | None:
    """Each stream's intervals on the day, when every one is settled and tiles it (or the
    stream has none: it was not occupied)."""
    entry: dict[str, list[Interval]] = {}
    for point, intervals in streams:
        met = [(span, iv) for span, iv in intervals if span[0] < day[1] and span[1] > day[0]]
        starts = [span[0] for span, _ in met]
        ends = [span[1] for span, _ in met]
        tiled = starts == [day[0], *ends[:-1]] and ends[-1:] == [day[1]]
        if met and not (tiled and all(_settled(iv) for _, iv in met)):
            return None
        entry[point] = [iv for _, iv in met]
    return entry


def _settled(interval: Interval) -> bool:
    estimated = interval.get("estimatedReadsCount", 0)
    return (
        interval.get("readType", "ACTUAL") == "ACTUAL" and type(estimated) is int and not estimated
    )


# -- reading ---------------------------------------------------------------------------
def _read_answer(body: str, styles: Iterable[str]) -> _Answer | None:
    """The answer, when written in one of ``styles`` and of the documented shape."""
    try:
        value = _object(json.loads(body))
        style = next((s for s in styles if _dumps(value, s) == body), None)
        if style is None or list(value) != ["response"]:
            return None
        response = _object(value["response"])
        answer = _Answer(
            style,
            _envelope_of(list(response.items())),
            (_text(response["start"]), _text(response["end"])),
            [_stream_of(stream) for stream in _array(response["streams"])],
        )
    except (*_UNREADABLE, LookupError, RecursionError):
        return None
    points = [point for point, _ in answer.streams]
    return answer if len(set(points)) == len(points) else None


def _envelope_of(members: object) -> Envelope:
    """An envelope's members with None where each window puts its own; its time zone known."""
    pairs = [(_text(key), value) for key, value in _array(members)]
    names = [key for key, _ in pairs]
    if len(set(names)) < len(names) or not {*_PLACED, "timezone"} <= set(names) <= _DOCUMENTED:
        raise ValueError("not a usage answer's envelope, or more than one")
    _zone(dict(pairs)["timezone"])
    return tuple((key, None if key in _PLACED else value) for key, value in pairs)


def _stream_of(value: object) -> Stream:
    stream = _object(value)
    if list(stream) != _STREAM_KEYS:
        raise ValueError("not a usage stream")
    return _text(stream[_STREAM_KEYS[0]]), [_object(iv) for iv in _array(stream[_STREAM_KEYS[1]])]


def _entry_of(value: object) -> dict[str, list[Interval]]:
    entry: dict[str, list[Interval]] = {
        _text(p): [_object(iv) for iv in _array(ivs)] for p, ivs in _object(value).items()
    }
    for intervals in entry.values():
        for interval in intervals:
            _span(interval)  # held intervals are read again when assembling
    return entry


def _span(interval: Interval) -> Span:
    start = datetime.fromisoformat(_text(interval.get("start")))
    end = datetime.fromisoformat(_text(interval.get("end")))
    if start.utcoffset() is None or end.utcoffset() is None or start >= end:
        raise ValueError("an interval without offsets, or empty")
    return start.astimezone(UTC), end.astimezone(UTC)


def _bound(raw: str, zone: ZoneInfo) -> datetime:
    """A window bound as Opower reads it (the usage pages): a date is midnight in the
    service point's zone, a date-time has a numeric offset in whole quarter hours."""
    if _DATE.fullmatch(raw):
        return _midnight(date.fromisoformat(raw), zone)
    value = datetime.fromisoformat(raw) if _INSTANT.fullmatch(raw) else None
    offset = value.utcoffset() if value else None
    if value is None or offset is None or offset % _QUARTER_HOUR:
        raise ValueError(f"not a bound Opower reads: {raw!r}")
    return value.astimezone(UTC)


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[tuple[date, Span]]:
    """The local days meeting [start, end), from start's, each with its span."""
    day = start.astimezone(zone).date()
    for _ in range(_MAX_DAYS):
        span = (_midnight(day, zone), _midnight(day + _DAY, zone))
        if span[0] >= end:
            return
        yield day, span
        day += _DAY
    raise ValueError("a window longer than any Opower answers")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """Midnight starting ``day`` in ``zone``, when it is one instant (not skipped nor
    repeated by a change of summer time at midnight)."""
    local = datetime.combine(day, time(), zone)
    instant = local.astimezone(UTC)
    repeated = local.replace(fold=1).utcoffset() != local.utcoffset()
    if repeated or instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(f"midnight of {day} is not one instant in {zone.key}")
    return instant


def _zone(value: object) -> ZoneInfo:
    try:
        return ZoneInfo(_text(value))
    except (ZoneInfoNotFoundError, OSError) as exc:
        raise ValueError(f"no time zone {value!r}") from exc


def _written(held: Days | _Answer) -> str:
    """How an answer was written, but for its window's own members."""
    return json.dumps([held.style, held.envelope])


def _dumps(value: object, style: str) -> str:
    separators, ascii_only = _STYLES[style]
    return json.dumps(value, separators=separators, ensure_ascii=ascii_only)


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    return value


def _array(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a JSON array")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a JSON number")
    return float(value)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a JSON string")
    return value
