"""The day's plan (gateway.budgets.day): caps that only rise through the day and reach the
whole of it by its end, so a refusal always has a next allowance within the day."""

from __future__ import annotations

import pytest

from gateway.budgets.day import DAY_S, PRIORITIES, SERVICE, DayPlan
from gateway.errors import ConfigurationError
from gateway.settings import RuntimeSettings

START = 1_800_000_000.0 - 28_800  # 00:00 UTC


@pytest.mark.parametrize("priority", [*PRIORITIES, SERVICE])
@pytest.mark.parametrize("service_share", [0, 10_000])
def test_every_cap_rises_through_the_day_and_reaches_it_by_the_end(
    priority: str, service_share: int
) -> None:
    plan = DayPlan(service_share=service_share)
    caps = [plan.cap(priority, START + t) for t in range(0, DAY_S, 600)]
    if priority == SERVICE and not service_share:
        assert set(caps) == {0}  # no share, no call
        return

    assert caps == sorted(caps)
    assert plan.cap(priority, START + DAY_S - 0.001) >= plan.per_day - 2
    assert caps[0] >= 0


def test_the_more_needed_a_call_the_more_of_the_day_it_may_reach() -> None:
    plan = DayPlan()
    for t in range(0, DAY_S, 3600):
        caps = [plan.cap(p, START + t) for p in PRIORITIES]
        assert caps == sorted(caps, reverse=True)


def test_the_next_allowance_is_the_first_instant_the_cap_allows() -> None:
    plan = DayPlan(per_day=24_000)
    now = START + 3600
    used = plan.cap("optional", now)

    at = plan.next_allowance("optional", used, now, amount=10)

    assert now < at < now + 3600
    assert plan.cap("optional", at) >= used + 10
    assert plan.cap("optional", at - 1) < used + 10
    # a day fully spent: the next day
    assert plan.next_allowance("login", 24_000, now) == START + DAY_S


def test_the_quota_day_starts_where_it_is_set() -> None:
    plan = DayPlan(day_start_s=8 * 3600)

    assert plan.day_of(START + 8 * 3600 - 1) == ("2027-01-14", START + 8 * 3600)
    assert plan.day_of(START + 8 * 3600) == ("2027-01-15", START + 8 * 3600 + DAY_S)
    assert plan.fraction(START + 20 * 3600) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budget_day_start_s": 86_400}, "BUDGET_DAY_START_S must be 0 to 86399"),
        ({"budget_pace_ahead_s": 90_000}, "BUDGET_PACE_AHEAD_S must be 0 to 86400"),
        ({"budget_reserve_login": 0.5, "budget_reserve_bill": 0.5}, "must be less than 1"),
        ({"budget_reserve_bill": -0.1}, "BUDGET_RESERVE_BILL must not be negative"),
    ],
)
def test_the_plans_settings_say_what_to_fix(values: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RuntimeSettings(**values)  # type: ignore[arg-type]


def test_the_figures_opower_limits_md_states_are_the_plans() -> None:
    """docs/opower-limits.md states the caps at noon of an even 99,000 day and the calls an
    even day releases a minute: they are computed here, so the page cannot drift."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "opower-limits.md").read_text()
    page = " ".join(page.split())
    plan, noon = DayPlan(), START + DAY_S / 2
    caps = {p: plan.cap(p, noon) for p in ("optional", "standard", "bill")}

    assert caps == {"optional": 55_275, "standard": 62_700, "bill": 96_525}
    assert (
        f"optional screens may reach {caps['optional']:,}, standard calls "
        f"{caps['standard']:,}, the bill screen {caps['bill']:,}, logins the whole day"
    ) in page
    per_minute = plan.per_day / (DAY_S / 60)
    assert round(per_minute, -1) == 70
    assert "releases about 70 calls a minute" in page
    assert plan.cap("login", noon) == plan.per_day
