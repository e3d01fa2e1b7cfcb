"""No input makes a 5xx (the ServerErrorRate alarm's) or an exception: a property over
every route's path parameters, query parameters, bodies and headers, with the real proxy
handler in front of the sandbox, and over every Authorization header the authorizer can
be handed. Hypothesis generates; anything it finds is shrunk to a minimal example."""

from __future__ import annotations

import dataclasses
import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.auth.entry import Unauthorized
from gateway.routes import CUSTOMER_PREFIX, ROUTES, SERVICE_PREFIX, Param, Route
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from tests.events import ACCOUNT, LambdaContext, authorizer_event, service_event, signed_identity
from tests.integration.proxy.conftest import Call

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway_settings(gateway_settings: RuntimeSettings) -> RuntimeSettings:
    """As deployed: the response cache on (its keys are built from what is generated),
    and the service API on for the role of tests.events.signed_identity. The service's
    share of each second is lifted as the customers' is (conftest): at its default 2 a
    second, a third of the examples would wait for the next second, which tells nothing
    about server errors (the waits have their own tests: test_service_api, test_fleet_budget)."""
    return dataclasses.replace(
        gateway_settings,
        cache_enabled=True,
        service_principals=(SERVICE_ROLE,),
        service_budget_per_second=100,
    )


SETTINGS = settings(
    max_examples=60,
    # The same examples every run: a route whose 60 random requests hold no valid one
    # (the any-2xx check below) would fail one run in many, not every run.
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEXT = st.text(alphabet=string.printable + "é€\u0000\u202e%/\\", max_size=40)
DATE_LIKE = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-12:00",
            "2026-02-30",
            "2026-11-01T00:00:00 01:00",
            "2026-11-01T24:00:00-00:00",
            "0",
            "",
        ]
    ),
)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        TEXT,
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


_TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
RECENT_DATES = st.integers(1, 60).map(lambda days: (_TODAY - timedelta(days=days)).date())


def _param_values(param: Param) -> st.SearchStrategy[str]:
    known = list(param.values) or [*OWN["accountId"], "2000003", "5000002", "6000003",
                                   "tip070_reduce_water_heater_temperature"]  # fmt: skip
    if param.kind == "date":
        return st.one_of(RECENT_DATES.map(lambda d: d.isoformat()), DATE_LIKE)
    if param.kind == "datetime":
        return DATE_LIKE
    return st.one_of(st.sampled_from(known), st.sampled_from(known), TEXT)


@st.composite
def usage_window(draw: st.DrawFn) -> dict[str, list[str]]:
    """A window Opower could serve (or nearly): recent, hours to weeks long."""
    start = draw(RECENT_DATES)
    hours = draw(st.integers(1, 24 * 50))
    offset = draw(st.sampled_from(["-05:00", "-00:00", "+01:00", "Z"]))
    first = datetime.combine(start, datetime.min.time())
    last = first + timedelta(hours=hours)
    return {
        "start": [first.isoformat() + offset],
        "end": [last.isoformat() + offset],
    }


# The sandbox's UC-0001 owns these (local/sandbox/data.py): path values Opower serves.
OWN = {
    "accountId": ["2000001", "2000002"],
    "contactId": ["5000001"],
    "preferenceId": ["6000001", "6000002"],
    "tipId": ["tip018_improve_window_shading", "tip001_buy_energy_star"],
}
# A value of each documented form a write accepts.
FORMED = {"email": "ada@example.com", "phone": "555-123-4567", "code": "HOME_ENERGY"}


def _servable_field(spec: Any) -> Any:
    if spec.values:
        return spec.values[0]
    if spec.kind == "boolean":
        return True
    if spec.kind == "string":
        return FORMED.get(spec.format, "Ada")
    return spec.minimum or 1


@st.composite
def servable(draw: st.DrawFn, route: Route) -> dict[str, Any]:
    """A read (or a write) Opower serves for the customer: one request in four of every
    route, so that the property also covers the answers that reach Opower; the rest is
    hostile."""
    writes = [op for op in route.operations if op.method != "GET"]
    reads = [op for op in route.operations if op.method == "GET"]
    operation = (
        draw(st.sampled_from(writes)) if writes and (not reads or draw(st.booleans())) else reads[0]
    )
    path = route.path
    for name, param in route.path_params.items():
        value = draw(st.sampled_from(OWN.get(name) or list(param.values)))
        if name == "fuel":
            value = "ELECTRICITY"  # UC-0001's only fuel
        path = path.replace("{" + name + "}", value)
    body, headers = None, {}
    if operation.body is not None:
        fields = {
            name: _servable_field(spec)
            for name, spec in operation.body.fields.items()
            if name not in operation.body.bound
        }
        body, headers = json.dumps(fields), {"Content-Type": "application/json"}
    query: dict[str, list[str]] = {}
    if "usage_window" in operation.checks:
        path = path.replace("/raw/", "/day/")  # a window of days fits daily usage's cap
        window = draw(usage_window())
        start = datetime.fromisoformat(window["start"][0].replace("Z", "+00:00"))
        end = datetime.fromisoformat(window["end"][0].replace("Z", "+00:00"))
        query = {"start": [start.isoformat()],
                 "end": [min(end, start + timedelta(days=30)).isoformat()]}  # fmt: skip
    if "bill_dates" in operation.checks:
        last = draw(RECENT_DATES)
        query = {"billStartDate": [(last - timedelta(days=30)).isoformat()],
                 "billEndDate": [last.isoformat()]}  # fmt: skip
    for name, param in operation.query.items():
        if param.required and name not in query:  # Get Always-On's account, ...
            query[name] = [draw(st.sampled_from(OWN.get(name) or list(param.values)))]
    return {"method": operation.method, "path": path, "query": query, "body": body,
            "headers": headers}  # fmt: skip


@st.composite
def requests(draw: st.DrawFn, route: Route) -> dict[str, Any]:
    if draw(st.integers(0, 3)) == 0:
        return draw(servable(route))
    operation = draw(st.sampled_from(route.operations))
    path = route.path
    for name, param in route.path_params.items():
        value = draw(_param_values(param).filter(lambda v: "/" not in v and v != ""))
        path = path.replace("{" + name + "}", value)
    query: dict[str, list[str]] = {}
    if "usage_window" in operation.checks and draw(st.booleans()):
        query.update(draw(usage_window()))
    else:
        for name, param in operation.query.items():
            if draw(st.booleans()):
                query[name] = draw(st.lists(_param_values(param), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        query[draw(TEXT.filter(bool))] = [draw(TEXT)]
    body = None
    headers = {}
    if operation.body is not None or draw(st.integers(0, 9)) == 0:
        if operation.body is not None and draw(st.booleans()):
            fields = {
                name: draw(JSON_VALUES) for name in operation.body.fields if draw(st.booleans())
            }
            body = json.dumps(fields)
        else:
            body = draw(
                st.one_of(
                    JSON_VALUES.map(json.dumps),
                    TEXT,
                    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
                )
            )
        headers["Content-Type"] = draw(
            st.sampled_from(["application/json", "text/plain", "application/json; charset=x", ""])
        )
    return {
        "method": operation.method,
        "path": path,
        "query": query,
        "body": body,
        "headers": headers,
    }


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_no_request_on_any_route_makes_a_server_error(call: Call, route: Route) -> None:
    statuses: list[int] = []

    @SETTINGS
    @given(requests(route))
    def check(request: dict[str, Any]) -> None:
        answer = call(
            request["method"],
            request["path"],
            query=request["query"] or None,
            body=request["body"],
            headers=request["headers"],
        )
        statuses.append(answer["statusCode"])
        assert answer["statusCode"] < 500, (request, answer["body"])
        json.loads(answer["body"] or "null")  # always a JSON body (or none)

    check()
    # The generator reaches Opower too, not only the gateway's refusals.
    assert any(200 <= status < 300 for status in statuses), sorted(set(statuses))


SERVICE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/high-bill-alerts"
# Customers named as the sandbox has them (most often: the property must reach Opower),
# mixed up, or hostile.
_NAMED = [("UC-0001", "4100000001"), ("UC-0002", "4100000003"), ("UC-0003", "4100000004")]
NAMED = st.one_of(
    st.sampled_from(_NAMED),
    st.sampled_from(_NAMED),
    st.tuples(st.sampled_from(["UC-0001", "UC-0005"]), st.sampled_from(["4100000004"])),
    st.tuples(TEXT, TEXT),
)
COMPANIES = st.one_of(st.none(), st.none(), st.just("UTX"), TEXT)
CALLERS = st.one_of(st.just(signed_identity()), st.just(signed_identity()),
                    st.builds(lambda arn: {"userArn": arn}, TEXT), st.just({}))  # fmt: skip


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_no_service_request_on_any_route_makes_a_server_error(
    gateway_env: Any, route: Route
) -> None:
    """The same requests on the service API (gateway.service), with the customer named
    in generated (or hostile) headers by a generated (or hostile) caller."""
    statuses: list[int] = []

    @SETTINGS
    @given(requests(route), NAMED, COMPANIES, CALLERS)
    def check(
        request: dict[str, Any],
        named: tuple[str, str],
        company: str | None,
        caller: dict[str, Any],
    ) -> None:
        customer, number = named
        headers = {
            **request["headers"],
            "Opower-Utility-Customer-Id": customer,
            "Opower-Account-Number": number,
            **({"Opower-Utility-Code": company} if company is not None else {}),
        }
        event = service_event(
            request["method"],
            request["path"].replace(CUSTOMER_PREFIX, SERVICE_PREFIX, 1),
            identity=caller,
            headers=headers,
            query=request["query"] or None,
            body=request["body"],
        )
        answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]
        statuses.append(answer["statusCode"])
        assert answer["statusCode"] < 500, (request, headers, answer["body"])
        json.loads(answer["body"] or "null")

    check()
    assert any(200 <= status < 300 for status in statuses), sorted(set(statuses))


@SETTINGS
@given(
    st.one_of(
        TEXT,
        st.text(max_size=300).map(lambda t: f"Bearer {t}"),
        st.binary(max_size=200).map(lambda b: "Bearer " + b.hex()),
        st.sampled_from(["Bearer", "Bearer ", "Basic abc", "Bearer a.b.c", "Bearer " + "a" * 9000]),
    )
)
def test_no_authorization_header_makes_the_authorizer_fail(gateway_env: Any, value: str) -> None:
    try:
        answer = authorizer_handler(
            authorizer_event(headers={"Authorization": value}),
            LambdaContext(),  # type: ignore[arg-type]
        )
    except Unauthorized:
        return
    assert answer["policyDocument"]["Statement"][0]["Effect"] in {"Allow", "Deny"}


def test_a_proxy_event_missing_parts_is_refused_not_crashed(gateway_env: Any) -> None:
    for event in ({}, {"httpMethod": "GET"}, {"resource": None, "requestContext": None}):
        answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]
        assert 400 <= answer["statusCode"] < 500
