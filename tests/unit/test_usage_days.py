"""Usage answers assembled from held settled days (gateway.cache.days), checked against
the sandbox's usage operation (local/sandbox/usage.py) as Opower.

Oracle's pages Get Raw Interval Usage and Get Daily Interval Usage define the answer; the
sandbox imitates them. The property: whatever answers were harvested before, in whatever
zone, window and tenancy, an assembled answer is byte for byte the one a single call for
the whole window gives, and assembly happens often enough to be worth having.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.cache.days import NOTHING, WHOLE, Days, Plan, assemble, harvest, plan
from local.sandbox.data import ELEC, UtilityAccount
from local.sandbox.errors import ApiError
from local.sandbox.usage import parse_instant, usage_body

SETTLE = timedelta(days=2)
QUARTER = timedelta(minutes=15)
# Each zone with days its clocks change (Lord Howe by half an hour), or a plain day.
ANCHORS = {
    "America/New_York": (date(2026, 3, 8), date(2025, 11, 2)),
    "Europe/London": (date(2026, 3, 29), date(2025, 10, 26)),
    "Australia/Lord_Howe": (date(2025, 10, 5), date(2026, 4, 5)),
    "America/St_Johns": (date(2026, 3, 8), date(2025, 11, 2)),
    "Asia/Kolkata": (date(2026, 1, 15),),
    "UTC": (date(2026, 1, 15),),
}
Window = tuple[str, str]


def opower(
    resolution: str, accounts: list[UtilityAccount], window: Window, zone: str, now: datetime
) -> str | None:
    """The sandbox's answer as Opower writes it, or None where it answers 400."""
    try:
        body = usage_body(
            resolution, "UTX", "UC-0001", "ELECTRICITY", accounts, window, ZoneInfo(zone), now
        )
    except ApiError:
        return None
    return json.dumps(body)


def midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC)


def account(
    n: int, move_in: date, move_out: date | None = None, resolution: str = "QUARTER_HOUR"
) -> UtilityAccount:
    return UtilityAccount(
        2000001 + n, 1000001, f"41{n}", f"SP-{n}", ELEC, move_in, move_out, resolution
    )


# -- the property ----------------------------------------------------------------------
# Strategies made once: drawing from strategies built per example costs more than the
# sandbox's answers.
ZONES = st.sampled_from(sorted(ANCHORS))
RESOLUTIONS = st.sampled_from(["day", "raw"])
METERS = st.sampled_from(["QUARTER_HOUR", "HOUR"])
ACCOUNT_COUNT = st.integers(1, 3)
MOVE_IN = st.integers(-60, 4)  # days from the anchor
MOVE_OUT = st.sampled_from([None, None, None, None, None, -2, 0, 2, 5, 12])
START_QUARTERS = st.sampled_from([0, 0, 0, 1, 37, 95])  # after local midnight
DAY_END_QUARTERS = st.sampled_from([0, 0, 3, 60])
DAYS = st.integers(1, 20)
INTERVALS = st.integers(1, 100) | st.just(100)
OFFSETS = st.none() | st.integers(-48, 56).map(lambda q: q * QUARTER)  # None: the zone's
NOW_AFTER_HOURS = st.sampled_from([0, 80, 150, 240])
NOW_INSIDE = st.sampled_from([False] * 5 + [True])
NOW_INSIDE_EIGHTHS = st.integers(0, 8)
EARLIER_COUNT = st.integers(1, 3)
EARLIER_DAYS_BEFORE = st.sampled_from([0, 0, 1, 3])
EARLIER_HOURS_BEFORE = st.sampled_from([0, 0, 12, 72])


def bound(draw: st.DrawFn, zone: str, instant: datetime) -> str:
    """``instant`` as Opower reads it: a date when it is local midnight (sometimes), else a
    date-time with the zone's offset or another one."""
    local = instant.astimezone(ZoneInfo(zone))
    if local.time() == time() and draw(st.booleans()):
        return local.date().isoformat()
    offset = draw(OFFSETS)
    return (local if offset is None else instant.astimezone(timezone(offset))).isoformat()


def tenancies(draw: st.DrawFn, anchor: date) -> list[UtilityAccount]:
    accounts = []
    for n in range(draw(ACCOUNT_COUNT)):
        move_in = anchor + timedelta(days=draw(MOVE_IN))
        out = draw(MOVE_OUT)
        move_out = None if out is None else max(move_in, anchor + timedelta(days=out))
        accounts.append(account(n, move_in, move_out, draw(METERS)))
    return accounts


def window_from(draw: st.DrawFn, zone: str, day: date, resolution: str, finest: int) -> Window:
    """A window starting on ``day``, within Opower's caps."""
    start = midnight(day, zone) + QUARTER * draw(START_QUARTERS)
    if resolution == "day":
        end = midnight(day + timedelta(days=draw(DAYS)), zone) + QUARTER * draw(DAY_END_QUARTERS)
    else:
        end = start + timedelta(seconds=finest) * draw(INTERVALS)
    return bound(draw, zone, start), bound(draw, zone, end)


def whole_days_from(draw: st.DrawFn, zone: str, day: date, resolution: str, finest: int) -> Window:
    """A window of whole days from ``day`` (raw: as many as 100 intervals hold)."""
    most = 20 if resolution == "day" else 100 * finest // 86_400
    end = midnight(day + timedelta(days=draw(st.integers(1, most))), zone)
    return bound(draw, zone, midnight(day, zone)), bound(draw, zone, end)


@dataclass(frozen=True)
class Case:
    """One customer's accounts in a zone, a window asked at ``now``, and earlier windows
    asked at earlier times (their answers are what the gateway holds)."""

    zone: str
    resolution: str
    accounts: list[UtilityAccount]
    window: Window
    now: datetime
    earlier: list[tuple[Window, datetime]]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone, resolution = draw(ZONES), draw(RESOLUTIONS)
    anchor = draw(st.sampled_from(ANCHORS[zone]))
    accounts = tenancies(draw, anchor)
    finest = min(a.interval_s for a in accounts)
    day = anchor + timedelta(days=draw(st.integers(0, 2)))
    window = window_from(draw, zone, day, resolution, finest)
    start, end = (parse_instant("", b, ZoneInfo(zone)) for b in window)
    if draw(NOW_INSIDE):  # while the window's days are read
        now = start + (end - start) * draw(NOW_INSIDE_EIGHTHS) / 8
    else:
        now = end + timedelta(hours=draw(NOW_AFTER_HOURS))
    earlier = []
    for _ in range(draw(EARLIER_COUNT)):
        first = day - timedelta(days=draw(EARLIER_DAYS_BEFORE))
        at = now - timedelta(hours=draw(EARLIER_HOURS_BEFORE))
        shape = whole_days_from if draw(st.integers(0, 2)) else window_from
        earlier.append((shape(draw, zone, first, resolution, finest), at))
    return Case(zone, resolution, accounts, window, now, earlier)


def held_before(case: Case) -> Days | None:
    """What the gateway holds from the earlier answers, as it keeps it (JSON)."""
    held: Days | None = None
    for window, at in case.earlier:
        body = opower(case.resolution, case.accounts, window, case.zone, at)
        if body is not None:
            days = harvest(case.resolution, body, settled_before=at - SETTLE)
            assert days is not None, "the sandbox writes every answer in json.dumps' style"
            held = days if held is None else held.merge(days)
    if held is None:
        return None
    kept = Days.from_json(held.to_json())
    assert kept == held
    return kept


def assembled_outcome(case: Case) -> str:
    """Plan and assemble the window from what is held, check it against one call, and say
    what happened."""
    whole = opower(case.resolution, case.accounts, case.window, case.zone, case.now)
    assume(whole is not None)
    held = held_before(case)
    chosen = WHOLE if held is None else plan(case.resolution, *case.window, held)
    if held is None or chosen == WHOLE:
        return "whole"
    fresh = None
    if chosen.start_date is not None:
        rest = (chosen.start_date, case.window[1])
        fresh = opower(case.resolution, case.accounts, rest, case.zone, case.now)
        assert fresh is not None, "the rest of an accepted window is accepted"
    text = assemble(chosen, held, *case.window, fresh)
    if text is None:
        return f"{chosen.kind} refused"
    assert text == whole
    return chosen.kind


def test_an_assembled_answer_is_the_one_a_single_call_gives() -> None:
    """Raw and daily windows over changes of summer time, offsets other than the zone's,
    moves in and out, a "now" inside or after the window: assembled means identical, and
    assembly happens often enough that the property is not won by refusing."""
    outcomes: Counter[str] = Counter()

    @settings(max_examples=400, derandomize=True, deadline=None, database=None)
    @given(cases())
    def check(case: Case) -> None:
        outcomes[assembled_outcome(case)] += 1

    check()
    assert outcomes["none"] + outcomes["suffix"] >= 0.3 * outcomes.total(), outcomes
    assert outcomes["none"] > 0, outcomes
    assert outcomes["suffix"] > 0, outcomes


# -- focused cases ---------------------------------------------------------------------
NY = "America/New_York"
LATER = datetime(2026, 4, 1, tzinfo=UTC)  # every day below is settled by then
LIVING = account(1, date(2024, 1, 1))


def answer(resolution: str, window: Window, *accounts: UtilityAccount, zone: str = NY) -> str:
    body = opower(resolution, list(accounts), window, zone, LATER)
    assert body is not None
    return body


def held(resolution: str, window: Window, *accounts: UtilityAccount, zone: str = NY) -> Days:
    days = harvest(resolution, answer(resolution, window, *accounts, zone=zone),
                   settled_before=LATER - SETTLE)  # fmt: skip
    assert days is not None
    return days


def test_a_day_of_a_change_of_summer_time_is_kept_with_its_92_or_100_quarter_hours() -> None:
    spring = held("raw", ("2026-03-08", "2026-03-09"), LIVING)
    autumn = held("raw", ("2025-11-02", "2025-11-03"), LIVING)
    window = ("2026-03-08T01:00:00-05:00", "2026-03-08T05:00:00-04:00")  # across the change

    chosen = plan("raw", *window, spring)

    assert len(spring.days["2026-03-08"]["SP-1"]) == 92
    assert len(autumn.days["2025-11-02"]["SP-1"]) == 100
    assert chosen == NOTHING
    assert assemble(chosen, spring, *window, None) == answer("raw", window, LIVING)


def test_a_window_starting_in_the_evening_west_of_utc_keeps_its_first_hours() -> None:
    hourly = account(1, date(2024, 1, 1), resolution="HOUR")
    days = held("raw", ("2026-02-01", "2026-02-04"), hourly)
    window = ("2026-02-01T22:00:00-05:00", "2026-02-03T00:00:00-05:00")  # 03:00 UTC the 2nd

    chosen = plan("raw", *window, days)

    assert chosen == NOTHING
    assert assemble(chosen, days, *window, None) == answer("raw", window, hourly)


def test_an_hourly_meter_where_the_offset_is_a_half_hour_has_no_day_kept() -> None:
    hourly = account(1, date(2024, 1, 1), resolution="HOUR")
    # Its hours run from half past: one crosses each midnight, in no day's answer.
    days = held("raw", ("2026-02-01", "2026-02-04"), hourly, zone="Asia/Kolkata")

    assert days.days == {}
    assert plan("raw", "2026-02-01", "2026-02-03", days) == WHOLE


def test_only_days_the_window_covers_whole_and_settled_are_kept() -> None:
    # The first day's reading is not in the answer (not wholly inside): it shows no stream
    # occupied then, which is not so.
    window = ("2026-02-01T12:00:00-05:00", "2026-02-05")
    body = answer("day", window, LIVING)

    days = harvest("day", body, settled_before=midnight(date(2026, 2, 4), NY))

    assert days is not None
    assert list(days.days) == ["2026-02-02", "2026-02-03"]


def test_a_day_with_an_estimated_read_is_not_kept() -> None:
    payload = json.loads(answer("day", ("2026-02-01", "2026-02-04"), LIVING))
    payload["response"]["streams"][0]["intervals"][1]["estimatedReadsCount"] = 2
    hourly = account(1, date(2024, 1, 1), resolution="HOUR")
    raw = json.loads(answer("raw", ("2026-02-01", "2026-02-03"), hourly))
    raw["response"]["streams"][0]["intervals"][30]["readType"] = "ESTIMATED"

    days = harvest("day", json.dumps(payload), settled_before=LATER)
    raw_days = harvest("raw", json.dumps(raw), settled_before=LATER)

    assert days is not None
    assert list(days.days) == ["2026-02-01", "2026-02-03"]
    assert raw_days is not None
    assert list(raw_days.days) == ["2026-02-01"]


def test_an_answer_whose_bytes_cannot_be_written_again_is_not_harvested() -> None:
    payload = json.loads(answer("day", ("2026-02-01", "2026-02-04"), LIVING))
    window = ("2026-02-01", "2026-02-06")

    compact = harvest("day", json.dumps(payload, separators=(",", ":")), settled_before=LATER)
    assert compact is not None
    chosen = plan("day", *window, compact)

    assert harvest("day", json.dumps(payload, indent=1), settled_before=LATER) is None
    assert harvest("day", json.dumps(payload).replace('"usage": ', '"usage": 0'),
                   settled_before=LATER) is None  # fmt: skip
    assert compact.style == "compact-ascii"
    assert chosen == Plan("suffix", "2026-02-04")
    # the rest's answer is written otherwise than the held days' were
    fresh = answer("day", ("2026-02-04", window[1]), LIVING)
    assert assemble(chosen, compact, *window, fresh) is None


def test_an_envelope_member_the_pages_do_not_show_is_not_harvested() -> None:
    payload = json.loads(answer("day", ("2026-02-01", "2026-02-04"), LIVING))
    payload["response"]["intervalCount"] = 3  # might depend on the window

    assert harvest("day", json.dumps(payload), settled_before=LATER) is None


def test_a_stream_that_moved_out_within_the_held_days_means_the_whole_window() -> None:
    leaving = account(0, date(2024, 1, 1), move_out=date(2026, 2, 2))
    two_days = held("day", ("2026-02-01", "2026-02-03"), leaving, LIVING)
    four_days = held("day", ("2026-02-01", "2026-02-05"), leaving, LIVING)
    fresh = answer("day", ("2026-02-03", "2026-02-10"), leaving, LIVING)

    # moved out before the last held day: the rest's answer would not list it
    assert plan("day", "2026-02-01", "2026-02-10", four_days) == WHOLE
    # moved out with the last held day: only the rest's answer shows it gone, and is refused
    chosen = plan("day", "2026-02-01", "2026-02-10", two_days)
    assert chosen == Plan("suffix", "2026-02-03")
    assert assemble(chosen, two_days, "2026-02-01", "2026-02-10", fresh) is None


def test_the_rest_is_assembled_only_from_an_answer_with_the_same_envelope() -> None:
    days = held("day", ("2026-02-01", "2026-02-04"), LIVING)
    window = ("2026-02-01", "2026-02-06")
    fresh = answer("day", ("2026-02-04", window[1]), LIVING)

    chosen = plan("day", *window, days)

    assert chosen == Plan("suffix", "2026-02-04")
    assert assemble(chosen, days, *window, fresh) == answer("day", window, LIVING)
    other = fresh.replace("UC-0001", "UC-0002")
    assert assemble(chosen, days, *window, other) is None
    assert assemble(chosen, days, window[0], "2026-02-07", fresh) is None  # not its rest


def test_merge_keeps_the_newer_day_and_trim_the_newest_days() -> None:
    older = held("day", ("2026-02-01", "2026-02-04"), LIVING)
    newer = held("day", ("2026-02-03", "2026-02-06"), LIVING)
    changed = {"SP-1": [{**newer.days["2026-02-03"]["SP-1"][0], "usage": -1.0}]}
    newer = Days(newer.resolution, newer.style, newer.envelope,
                 {**newer.days, "2026-02-03": changed})  # fmt: skip

    merged = older.merge(newer)

    assert list(merged.days) == [f"2026-02-0{d}" for d in range(1, 6)]
    assert merged.days["2026-02-03"] == changed
    assert list(merged.trim(2).days) == ["2026-02-04", "2026-02-05"]
    assert merged.trim(0).days == {}
    raw = held("raw", ("2026-02-10", "2026-02-11"), LIVING)
    assert merged.merge(raw) == raw  # written otherwise (another resolution): the newer alone


def test_days_round_trip_through_json_and_anything_else_is_no_days() -> None:
    hourly = account(1, date(2024, 1, 1), resolution="HOUR")
    days = held("raw", ("2026-02-01", "2026-02-03"), hourly)

    text = days.to_json()
    again = Days.from_json(text)

    assert again == days
    assert again is not None
    assert again.to_json() == text
    for damaged in ("", "[]", "{}", text[:-1], text.replace('"v":2', '"v":3'),
                    # format 1: days without the time Opower gave them
                    text.replace('"v":2', '"v":1').split(',"seen"')[0] + "}",
                    text.replace('"2026-02-01":0.0', '"2026-02-01":"x"'),
                    text.replace('"start":"2026', '"start":"x026')):  # fmt: skip
        assert Days.from_json(damaged) is None


def test_a_held_day_is_trusted_for_a_bound_from_when_opower_gave_it() -> None:
    """A settled day may still be corrected by Opower: it is trusted from the time it was
    given, for the caller's bound, then asked again (issue #36)."""
    hourly = account(1, date(2024, 1, 1), resolution="HOUR")
    older = held("raw", ("2026-02-01", "2026-02-02"), hourly)
    older = Days(older.resolution, older.style, older.envelope, older.days,
                 dict.fromkeys(older.days, 100.0))  # fmt: skip
    newer = held("raw", ("2026-02-02", "2026-02-04"), hourly)
    newer = Days(newer.resolution, newer.style, newer.envelope, newer.days,
                 dict.fromkeys(newer.days, 500.0))  # fmt: skip
    merged = older.merge(newer)

    assert merged.seen == {"2026-02-01": 100.0, "2026-02-02": 500.0, "2026-02-03": 500.0}
    assert merged.oldest_seen == 100.0
    assert sorted(merged.trusted(100.0).days) == ["2026-02-01", "2026-02-02", "2026-02-03"]
    kept = merged.trusted(101.0)
    assert sorted(kept.days) == sorted(kept.seen) == ["2026-02-02", "2026-02-03"]
    assert merged.trusted(501.0).days == {}
    assert Days.from_json(kept.to_json()) == kept
