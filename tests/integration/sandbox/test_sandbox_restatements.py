"""The sandbox restates what it answered (local/sandbox/restatements, issue #36): an
estimate replaced by the actual read, a settled day corrected, a move-out processed late,
a bill cancelled and rebilled; each as a function of the time asked, so a cache's bounds
can be checked against it. Asked of the sandbox's data API at chosen instants (the answers'
shapes are the usage, utility account and bill comparison pages' as in the other sandbox
tests; how Opower restates is an assumption these tests pin down)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from local.sandbox.api import DataApi, classify
from local.sandbox.data import DEFAULT, TIMEZONE
from local.sandbox.errors import ApiError
from local.sandbox.messages import Request
from local.sandbox.restatements import Restatements
from local.sandbox.store import MutableStore
from tests.integration.sandbox.test_sandbox_usage import CHICAGO, expected_usage

pytestmark = pytest.mark.integration

PIVOT = date(2026, 11, 20)
RESTATED = Restatements(PIVOT)
ACCOUNT = 2000001  # UC-0001's first meter, QUARTER_HOUR, ELECTRICITY


class Opower:
    """The sandbox's data API, asked at an instant of the test's choosing."""

    def __init__(self, restatements: Restatements | None = RESTATED) -> None:
        self.at = datetime(2026, 12, 1, tzinfo=UTC)
        self._api = DataApi("UTX", MutableStore(DEFAULT), lambda: self.at,
                            restatements=restatements)  # fmt: skip

    def get(self, path: str, at: datetime, **query: str) -> Any:
        self.at = at
        _, resource, params = classify(path)
        request = Request("GET", "/apis/" + path, {k: [v] for k, v in query.items()}, {})
        try:
            answer = self._api.handle(resource, params, request)
        except ApiError as error:
            answer = error.to_response(nested=False)
        return json.loads(answer.body)

    def day(self, day: date, at: datetime, resolution: str = "day") -> list[dict[str, Any]]:
        window = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
        body = self.get(f"usage-v1/usage/{resolution}/UTX/UC-0001/ELECTRICITY", at, **window)
        stream = next(
            s for s in body["response"]["streams"] if s["utilityServicePointId"] == "SP-7001"
        )
        return list(stream["intervals"])


def a_day(kind: str) -> date:
    return next(
        d for d in (date(2026, 10, 1) + timedelta(days=i) for i in range(200))
        if RESTATED.kind(ACCOUNT, d) == kind
    )  # fmt: skip


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), CHICAGO)


def test_an_estimate_is_marked_and_replaced_by_the_actual_read_three_days_on() -> None:
    day, opower = a_day("estimated"), Opower()
    actual = expected_usage(ACCOUNT, "ELECTRICITY", end_of(day) - timedelta(days=1), end_of(day))

    (early,) = opower.day(day, end_of(day) + timedelta(days=1))
    (late,) = opower.day(day, end_of(day) + timedelta(days=3))
    raw = opower.day(day, end_of(day) + timedelta(days=1), "raw")

    assert early["estimatedReadsCount"] == 96
    assert early["actualReadsCount"] == 0
    assert early["usage"] == pytest.approx(actual - 96 * 0.007)
    assert {i["readType"] for i in raw} == {"ESTIMATED"}
    assert late["estimatedReadsCount"] == 0
    assert late["usage"] == pytest.approx(actual)


def test_a_settled_day_is_corrected_five_days_on_and_stays_actual() -> None:
    day, opower = a_day("corrected"), Opower()
    actual = expected_usage(ACCOUNT, "ELECTRICITY", end_of(day) - timedelta(days=1), end_of(day))

    (settled,) = opower.day(day, end_of(day) + timedelta(days=4))
    (corrected,) = opower.day(day, end_of(day) + timedelta(days=5))

    assert settled["usage"] == pytest.approx(actual)
    assert corrected["usage"] == pytest.approx(actual + 96 * 0.011)
    assert corrected["estimatedReadsCount"] == 0
    assert {i["readType"] for i in opower.day(day, end_of(day) + timedelta(days=6), "raw")} == {
        "ACTUAL"
    }


def test_a_move_out_processed_late_shows_the_next_occupants_usage_until_it_is() -> None:
    mover = next(a for a in DEFAULT.accounts if RESTATED.moves_out_late(a))
    customer = next(c for c in DEFAULT.customers if c.id == mover.customer_id)
    opower = Opower()
    after_move = RESTATED.moved_out_on + timedelta(days=1)
    window = {"start": after_move.isoformat(), "end": (after_move + timedelta(days=2)).isoformat()}
    usage = f"usage-v1/usage/day/UTX/{customer.utility_customer_id}/{mover.fuel}"
    before, after = RESTATED.processed_at - timedelta(seconds=1), RESTATED.processed_at

    def listed(at: datetime) -> dict[str, Any]:
        items = opower.get(f"customer-data-v2/UTX/customers/{customer.id}/utility_accounts", at)
        response = items["response"]
        return next(a for a in (response if isinstance(response, list) else [response])
                    if a["id"] == mover.id)  # fmt: skip

    def intervals(at: datetime) -> list[Any]:
        streams = opower.get(usage, at, **window)["response"]["streams"]
        return [i for s in streams if s["utilityServicePointId"] == mover.service_point
                for i in s["intervals"]]  # fmt: skip

    assert "moveOutDate" not in listed(before)
    assert len(intervals(before)) == 2  # the next occupant's days, as this customer's
    assert listed(after)["moveOutDate"] == RESTATED.moved_out_on.isoformat()
    assert intervals(after) == []


def test_a_bill_cancelled_and_rebilled_has_new_charges_four_days_after_its_period() -> None:
    opower = Opower()
    month = next(
        m for m in (date(2026, k, 1) for k in range(1, 12))
        if RESTATED.rebilled_cents(ACCOUNT, m, m, datetime(2027, 1, 1, tzinfo=UTC))
    )  # fmt: skip
    next_month = (month + timedelta(days=32)).replace(day=1)
    as_of = (next_month + timedelta(days=1)).isoformat()
    path = f"billComparison-v2/UTX/bill-comparison/accounts/{ACCOUNT}"
    rebill = datetime.combine(next_month, time(), UTC) + timedelta(days=4)

    posted = opower.get(path, rebill - timedelta(seconds=1), asOf=as_of)["response"]
    rebilled = opower.get(path, rebill, asOf=as_of)["response"]

    assert posted["reference"]["startDate"] == month.isoformat()
    assert rebilled["reference"]["charges"] == pytest.approx(posted["reference"]["charges"] + 3.17)
    assert rebilled["reference"]["usage"] == posted["reference"]["usage"]


def test_without_restatements_the_numbers_are_the_exact_sums() -> None:
    day = a_day("estimated")
    (read,) = Opower(None).day(day, end_of(day) + timedelta(hours=1))
    actual = expected_usage(ACCOUNT, "ELECTRICITY", end_of(day) - timedelta(days=1), end_of(day))
    assert read["usage"] == pytest.approx(actual)
    assert read["estimatedReadsCount"] == 0
    assert TIMEZONE == "America/Chicago"
