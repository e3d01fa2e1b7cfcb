"""Route matching and query validation, checked as properties over generated inputs."""

from __future__ import annotations

import json
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.auth_context import BindingView
from gateway.proxy.validation import RequestError, build_upstream
from gateway.routes import ROUTES
from tests.events import match_path

BINDING = BindingView("1000001", "UC-0001", frozenset({"2000001", "2000002"}))
METERED = BindingView("1000001", "UC-0001", frozenset({"2000001", "2000002"}),
                      raw_minutes={"ELECTRICITY": 15, "GAS": 60})  # fmt: skip
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
METHODS = st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS"])
SEGMENT = st.text(alphabet=string.printable + "é%/\\\x00", min_size=0, max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(SEGMENT, min_size=0, max_size=7), METHODS)
def test_any_path_is_matched_to_a_table_route_or_refused(segments: list[str], method: str) -> None:
    path = "/" + "/".join(segments)
    try:
        route, operation, params = match_path(path, method)
    except RequestError as exc:
        assert exc.status in {400, 404, 405}
        if exc.status == 405:
            assert exc.headers["Allow"]
        return
    assert route in ROUTES
    assert operation.method == method
    # every template segment is either literal and equal, or a parameter with a safe value
    for part, segment in zip(route.path[1:].split("/"), segments, strict=True):
        if part.startswith("{"):
            assert params[part[1:-1]] == segment
            assert segment.replace("-", "").replace("_", "").replace(".", "").isalnum()
            assert segment not in {".", ".."}
        else:
            assert part == segment


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=64))
def test_any_account_id_outside_the_binding_is_404_or_400_when_not_an_id(account: str) -> None:
    route = next(r for r in ROUTES if r.name == "bill_comparison")
    try:
        route_, operation, params = match_path(f"/v1/me/accounts/{account}/bill-comparison", "GET")
    except RequestError as exc:
        assert exc.status in {400, 404}
        return
    assert route_ is route
    if account in BINDING.account_ids:
        return
    with pytest.raises(RequestError) as caught:
        build_upstream(route, operation, params, None, None, None, binding=BINDING,
                       utility_code="UTX", now=NOW)  # fmt: skip
    # An id is digits (an integer in the document): anything else says what to fix; an id
    # that is not the customer's is "no such resource", as one that does not exist.
    expected = 404 if re.fullmatch("[0-9]{1,19}", account) else 400
    assert caught.value.status == expected
    if expected == 400:
        assert "accountId" in caught.value.message


QUERY = st.dictionaries(
    st.sampled_from(["start", "end", "asOf", "customerId", "x", "comparisonBill"]),
    st.lists(st.text(max_size=30), min_size=0, max_size=3),
    max_size=4,
)


@settings(max_examples=400, deadline=None)
@given(QUERY, st.sampled_from(["raw", "day", "billing"]))
def test_upstream_query_has_only_declared_single_valued_parameters(
    query: dict[str, list[str]], resolution: str
) -> None:
    route, operation, params = match_path(f"/v1/me/usage/{resolution}/GAS", "GET")
    try:
        upstream = build_upstream(route, operation, params, query, None, None, binding=BINDING,
                                  utility_code="UTX", now=NOW)  # fmt: skip
    except RequestError as exc:
        assert exc.status == 400
        return
    names = [name for name, _ in upstream.query]
    assert sorted(names) == ["end", "start"]
    assert all(len(query[name]) == 1 for name in names)
    assert upstream.path == f"/apis/usage-v1/usage/{resolution}/UTX/UC-0001/GAS"


# Every id from the binding, and nothing else required of the request.
SLOT_ONLY_ROUTES = [
    r
    for r in ROUTES
    if not r.path_params and not any(p.required for p in r.operations[0].query.values())
]


@given(st.sampled_from(SLOT_ONLY_ROUTES))
def test_binding_slots_come_only_from_the_binding(route: object) -> None:
    from gateway.routes import Route

    assert isinstance(route, Route)
    operation = route.operations[0]
    upstream = build_upstream(route, operation, {}, None, None, None, binding=BINDING,
                              utility_code="UTX", now=NOW)  # fmt: skip
    assert "{" not in upstream.path
    assert "/UTX/" in upstream.path
    assert "1000001" in upstream.path or "UC-0001" in upstream.path


@pytest.mark.parametrize(
    ("resolution", "start", "end", "ok"),
    [
        ("raw", "2026-11-01T00:00:00-05:00", "2026-11-02T01:00:00-05:00", True),
        ("raw", "2026-11-01T00:00:00-05:00", "2026-11-02T01:00:01-05:00", False),
        ("raw", "2024-11-01T00:00:00-05:00", "2024-11-01T01:00:00-05:00", False),
        ("day", "2026-09-01T00:00:00-05:00", "2026-10-16T00:00:00-05:00", True),
        ("day", "2026-09-01T00:00:00-05:00", "2026-10-16T00:00:01-05:00", False),
        ("billing", "2024-12-01T00:00:00-00:00", "2026-11-01T00:00:00-00:00", True),
        ("billing", "2024-06-01T00:00:00-00:00", "2026-08-01T00:00:00-00:00", False),
        ("day", "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z", True),
        # Dates alone, as the usage pages allow ("YYYY-MM-DD (example 2001-12-31)").
        ("day", "2026-09-01", "2026-10-16", True),
        ("day", "2026-09-01", "2026-10-17", False),
        ("raw", "2026-11-01", "2026-11-02", True),
        ("raw", "2026-11-01", "2026-11-03", False),
        ("billing", "2024-12-01", "2026-11-01", True),
        ("day", "2026-09-01", "2026-09-01", False),
        ("day", "2026-02-30", "2026-03-02", False),
    ],
)
def test_opowers_per_request_windows(resolution: str, start: str, end: str, ok: bool) -> None:
    """Get Raw Interval Usage: "up to 100 intervals"; Get Daily Interval Usage: "up to 45
    days"; Get Billing Usage: "up to 25 bills" (the usage pages, schemas.PAGES). The
    customer's electricity meter reads every 15 minutes (the binding says so)."""
    route, operation, params = match_path(f"/v1/me/usage/{resolution}/ELECTRICITY", "GET")
    query = {"start": [start], "end": [end]}
    if ok:
        build_upstream(route, operation, params, query, None, None, binding=METERED,
                       utility_code="UTX", now=NOW)  # fmt: skip
    else:
        with pytest.raises(RequestError):
            build_upstream(route, operation, params, query, None, None, binding=METERED,
                           utility_code="UTX", now=NOW)  # fmt: skip


@pytest.mark.parametrize(
    ("fuel", "hours", "ok"),
    [
        ("ELECTRICITY", 25, True),  # 100 quarter hours
        ("ELECTRICITY", 26, False),
        ("GAS", 100, True),  # an hourly meter: 100 hours
        ("GAS", 101, False),
    ],
)
def test_the_raw_cap_counts_the_customers_own_meter_intervals(
    fuel: str, hours: int, ok: bool
) -> None:
    """Raw intervals are the meter's (Get Utility Account List's resolution): 100 of an
    hourly meter are 100 hours, not 25."""
    route, operation, params = match_path(f"/v1/me/usage/raw/{fuel}", "GET")
    end = datetime(2026, 11, 1, 5, tzinfo=UTC) + timedelta(hours=hours)
    query = {"start": ["2026-11-01T00:00:00-05:00"], "end": [end.isoformat()]}
    if ok:
        build_upstream(route, operation, params, query, None, None, binding=METERED,
                       utility_code="UTX", now=NOW)  # fmt: skip
        return
    with pytest.raises(RequestError) as caught:
        build_upstream(route, operation, params, query, None, None, binding=METERED,
                       utility_code="UTX", now=NOW)  # fmt: skip
    assert "100 intervals" in caught.value.message
    assert f"at most {25 if fuel == 'ELECTRICITY' else 100} hours" in caught.value.message


@pytest.mark.parametrize(("hours", "ok"), [(25, True), (26, False)])
def test_without_a_known_meter_resolution_raw_windows_count_quarter_hours(
    hours: int, ok: bool
) -> None:
    """No resolution in the binding (an optional field Opower may leave out, a MONTH or
    BILLING meter, a session bound before resolutions were kept): the window is counted
    in 15-minute intervals, the commonest meter's, so that no unbounded window reaches
    Opower."""
    route, operation, params = match_path("/v1/me/usage/raw/ELECTRICITY", "GET")
    end = datetime(2026, 11, 1, 5, tzinfo=UTC) + timedelta(hours=hours)
    query = {"start": ["2026-11-01T00:00:00-05:00"], "end": [end.isoformat()]}

    def build() -> object:
        return build_upstream(route, operation, params, query, None, None, binding=BINDING,
                              utility_code="UTX", now=NOW)  # fmt: skip

    if ok:
        build()
        return
    with pytest.raises(RequestError) as caught:
        build()
    assert "counted in 15-minute intervals, so at most 25 hours" in caught.value.message


@pytest.mark.parametrize("value", [10**400, -(10**30), 2**53 + 1])
def test_huge_integers_in_a_body_are_a_400_not_a_crash(value: int) -> None:
    route, operation, params = match_path("/v1/me/threshold", "PUT")
    body = json.dumps({"threshold": value, "percentage": 5}).encode()

    with pytest.raises(RequestError) as caught:
        build_upstream(route, operation, params, None, body, "application/json",
                       binding=BindingView("1", "U", frozenset()), utility_code="UTX",
                       now=None)  # type: ignore[arg-type]  # fmt: skip
    assert caught.value.status == 400
