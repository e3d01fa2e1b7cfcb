"""How long an account's latest answer is kept (gateway.proxy.latest), by its rules alone.

Shapes: Get Bill Comparison's ``reference`` (startDate, endDate: Oracle's page); Get Bill
Period publishes no answer schema (Oracle's page): ``startDate``/``endDate`` are an
assumption, read tolerantly, so anything else is "no period"."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from gateway.proxy.latest import (
    Period,
    kept_for_comparison,
    kept_for_period,
    last_bill_end,
    latest_shown,
    neighbor_next_period,
    next_period,
    period_of,
)

DAY = 86_400
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
TIMING = {"margin_s": 4 * DAY, "new_bill_s": 3600, "bound_s": 400 * DAY}


def at(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


def comparison(end: str | None) -> str:
    reference = {"startDate": "2026-10-01", "endDate": end} if end else None
    answer: dict[str, object] = {"meterUnit": "KWH"}
    if reference:
        answer["reference"] = reference
    return json.dumps({"response": answer})


def test_a_period_ends_where_the_day_ends_first_on_earth() -> None:
    # 1 December 00:00 at UTC+14 is 30 November 10:00 UTC.
    assert NOVEMBER.ends_at() == at(2026, 11, 30, 10)


@pytest.mark.parametrize(
    "body",
    [
        '{"response": {}}',  # the page: "does not guarantee a bill period is retrieved"
        '{"response": {"startDate": "2026-11-01"}}',
        '{"response": {"startDate": "2026-11-01", "endDate": "2026-10-01"}}',
        '{"response": {"startDate": "2026-11-01T00:00:00-05:00", "endDate": "2026-11-30"}}',
        '{"response": {"startDate": 20261101, "endDate": "2026-11-30"}}',
        '{"response": {"startDate": "2026-02-30", "endDate": "2026-03-30"}}',
        '{"response": []}',
        "[]",
        "not json",
        "[" * 5000,
    ],
)
def test_an_answer_without_a_readable_period_names_none(body: str) -> None:
    assert period_of(body) is None


def test_a_period_is_read_with_unknown_fields_kept_aside() -> None:
    body = {"response": {"startDate": "2026-11-01", "endDate": "2026-11-30", "billCycle": 7}}
    assert period_of(json.dumps(body)) == NOVEMBER


def test_the_period_is_kept_until_it_is_due_and_then_an_hour() -> None:
    now = at(2026, 11, 10)
    assert kept_for_period(NOVEMBER, now=now, fresh_s=43_200, **TIMING) == (
        NOVEMBER.ends_at() - 4 * DAY - now
    )
    late = at(2026, 11, 27)
    assert kept_for_period(NOVEMBER, now=late, fresh_s=43_200, **TIMING) == 3600
    assert kept_for_period(None, now=now, fresh_s=43_200, **TIMING) == 43_200


def test_a_comparison_with_the_bill_before_the_period_is_kept_until_it_is_due() -> None:
    now = at(2026, 11, 3)
    kept = kept_for_comparison(comparison("2026-10-31"), NOVEMBER, now=now, **TIMING)
    assert kept == NOVEMBER.ends_at() - 4 * DAY - now


@pytest.mark.parametrize("end", [None, "2026-09-30", "garbage"])
def test_a_comparison_behind_the_period_waits_for_the_bill(end: str | None) -> None:
    now = at(2026, 11, 3)
    assert kept_for_comparison(comparison(end), NOVEMBER, now=now, **TIMING) == 3600


def test_a_comparison_without_a_period_or_within_the_margin_waits_for_the_bill() -> None:
    body = comparison("2026-10-31")
    assert kept_for_comparison(body, None, now=at(2026, 11, 3), **TIMING) == 3600
    assert kept_for_comparison(body, NOVEMBER, now=at(2026, 11, 27), **TIMING) == 3600


def test_a_far_period_is_kept_only_to_the_bound() -> None:
    far = Period(date(2026, 11, 1), date(2099, 12, 31))
    assert kept_for_period(far, now=at(2026, 11, 3), fresh_s=60, **TIMING) == 400 * DAY


def test_the_last_bill_is_the_references_end() -> None:
    assert last_bill_end(comparison("2026-10-31")) == date(2026, 10, 31)
    assert last_bill_end('{"response": {"reference": "2026-10-31"}}') is None


def bills(reference: tuple[str, str] | None, compared: tuple[str, str] | None = None) -> str:
    answer: dict[str, object] = {"meterUnit": "KWH"}
    for name, bill in (("reference", reference), ("compared", compared)):
        if bill is not None:
            answer[name] = {"startDate": bill[0], "endDate": bill[1], "charges": 10.0}
    return json.dumps({"response": answer})


def test_the_next_period_follows_the_latest_bill_as_long_as_the_shortest_bill() -> None:
    """Get Bill Comparison's reference and compared bills (startDate, endDate: its page)
    say when the next bill can post: no Get Bill Period call (issue #38). The shortest
    bill sets the length, so the period is never guessed longer than it is."""
    october, september = ("2026-10-01", "2026-10-31"), ("2026-09-01", "2026-09-30")
    assert next_period(bills(october, september)) == NOVEMBER
    assert next_period(bills(october)) == Period(date(2026, 11, 1), date(2026, 12, 1))
    february = ("2026-02-01", "2026-02-28")
    assert next_period(bills(("2026-03-01", "2026-03-31"), february)) == Period(
        date(2026, 4, 1), date(2026, 4, 28)
    )
    for body in (bills(None), bills(("2026-10-31", "2026-10-01")), '{"response": []}', "x"):
        assert next_period(body) is None
    now = at(2026, 11, 3)
    body = bills(october, september)
    assert kept_for_comparison(body, next_period(body), now=now, **TIMING) == (
        NOVEMBER.ends_at() - 4 * DAY - now
    )


def neighbors(*periods: tuple[str, str]) -> str:
    fuels = ("ELEC", "GAS", "COMBINED")
    return json.dumps({"response": {
        fuel: {"you": 300.0, "neighbors": 320.5, "startDate": start, "endDate": end}
        for fuel, (start, end) in zip(fuels, periods, strict=False)
    }})  # fmt: skip


def test_the_latest_neighbor_comparison_is_kept_until_the_next_period_is_due() -> None:
    """Get Latest Neighbor Comparison: each fuel's comparison (startDate, endDate: its
    page) is of one billing period, computed anew when the next bill posts (issue #38): its
    latest answer is kept until the period after it is due, as the bill comparison's."""
    october = ("2026-10-01", "2026-10-31")
    body = neighbors(october, october, october)
    following = Period(date(2026, 11, 1), date(2026, 12, 1))  # 31 days, as October
    assert neighbor_next_period(body) == following
    assert latest_shown("neighbor_comparison", body) == date(2026, 10, 31)
    assert latest_shown("bill_comparison", comparison("2026-10-31")) == date(2026, 10, 31)
    # fuels of periods a day apart: the latest one, as long as the shortest
    shifted = neighbors(("2026-10-05", "2026-11-03"), october)
    assert neighbor_next_period(shifted) == Period(date(2026, 11, 4), date(2026, 12, 3))
    now = at(2026, 11, 10)
    assert kept_for_period(following, now=now, fresh_s=43_200, **TIMING) == (
        following.ends_at() - 4 * DAY - now
    )
    # read tolerantly: no period shown, no guess (the route's lifetime)
    for unreadable in ('{"response": {"ELEC": {"you": 1}}}', '{"response": []}', "x"):
        assert neighbor_next_period(unreadable) is None
        assert kept_for_period(None, now=now, fresh_s=43_200, **TIMING) == 43_200
