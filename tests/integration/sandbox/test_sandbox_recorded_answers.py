"""Recorded answers (`POST /_sandbox/answers`) on the routes of contact preferences,
disaggregation, tips, bill period and neighbor comparison history: each page's
documented example (tests/contracts/opower/, by its `sandbox_route`) is served verbatim,
after the token check, until it is taken back."""

from __future__ import annotations

import json

import pytest

from local.sandbox import OpowerSandbox
from local.sandbox.api import DATA_ROUTES
from tests.integration.sandbox.documented_examples import documented
from tests.integration.sandbox.sandbox_client import SandboxClient, U

pytestmark = pytest.mark.integration

_CONTACTS = f"notification-contact-v1/{U}/customers/1000001/notification_contacts"
_PREFERENCES = f"{_CONTACTS}/5000001/notification_preferences"
_TIPS = f"tips-v1/{U}/energy_guide/customers/1000001/tips"
_DISAGGREGATION = f"disaggregation-v1/utilities/{U}/customers/1000001"
_HISTORY = f"neighborComparison-v1/bill/{U}/UC-0001/ELECTRICITY"
# Each new page's fixture, and a request its route answers.
OPERATIONS = {
    "get-notification-contacts": ("GET", _CONTACTS),
    "create-notification-contact": ("POST", _CONTACTS),
    "update-notification-contact": ("PUT", f"{_CONTACTS}/5000001"),
    "delete-notification-contact": ("DELETE", f"{_CONTACTS}/5000001?auditAgency=CUSTOMER"),
    "get-notification-preferences": ("GET", _PREFERENCES),
    "create-notification-preference": ("POST", _PREFERENCES),
    "get-notification-preference": ("GET", f"{_PREFERENCES}/EMAIL/HIGH_BILL_ALERT"),
    "delete-notification-preference": ("DELETE", f"{_PREFERENCES}/6000001"),
    "delete-notification-channel": ("DELETE", f"{_PREFERENCES}/channel/EMAIL?source=WEB"),
    "get-consumption-categories": ("GET", f"{_DISAGGREGATION}/consumption/categories"),
    "get-consumption-categories-no-model": ("GET", f"{_DISAGGREGATION}/consumption/categories"),
    "get-bill-consumption-categories": ("GET", f"{_DISAGGREGATION}/bills/consumption/categories"),
    "get-tips": ("GET", _TIPS),
    "get-tip-list": ("GET", f"{_TIPS}/list"),
    "get-tip": ("GET", f"{_TIPS}/tip018_improve_window_shading"),
    "update-tip-action": ("POST", f"{_TIPS}/tip018_improve_window_shading/action"),
    "delete-tip-action": ("DELETE", f"{_TIPS}/tip018_improve_window_shading/action"),
    "get-bill-period": ("GET", f"billforecast-v2/{U}/accounts/2000001/bill-period"),
    "get-neighbor-comparison-history": ("GET", _HISTORY),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_recorded_example_is_served_on_its_route(
    client: SandboxClient, token: str, sandbox: OpowerSandbox, name: str
) -> None:
    """The fixture's `sandbox_route` is a data route; a recorded answer there is served
    as recorded (an example of null: an empty body) after the token check, counted under
    that route, and `{route: null}` gives the route back to the sandbox."""
    fixture = documented(name)
    route = fixture["sandbox_route"]
    method, path = OPERATIONS[name]
    body = fixture.get("request")
    assert route in DATA_ROUTES

    recorded = client.control(
        "POST", "answers", {route: {"status": fixture["status"], "body": fixture["example"]}}
    )
    served = client.api(method, path, token=token, json_body=body)
    anonymous = client.api(method, path, json_body=body)
    client.control("POST", "answers", {route: None})
    own = client.api(method, path, token=token, json_body=body)

    assert recorded.json() == {"recorded": [route]}
    assert served.status == fixture["status"]
    if fixture["example"] is None:
        assert served.data == b""
    else:
        assert json.loads(served.data) == fixture["example"]
    assert anonymous.status == 401
    assert own.status in (200, 400)  # the sandbox's own again (Ada's primary: 400)
    assert sandbox.stats()["requests"][route].get(str(fixture["status"]), 0) >= 1


def test_every_new_route_takes_a_recorded_answer(client: SandboxClient) -> None:
    """`POST /_sandbox/answers` knows every route name of the new operations."""
    routes = {documented(name)["sandbox_route"] for name in OPERATIONS}

    response = client.control(
        "POST", "answers", {route: {"status": 200, "body": {"response": {}}} for route in routes}
    )

    assert response.status == 200
    assert set(response.json()["recorded"]) == routes
    assert routes == {
        "notification_contacts", "notification_contact", "notification_preferences",
        "notification_preference", "notification_channel", "disaggregation",
        "bill_disaggregation", "tip_names", "tip_list", "tip", "tip_action", "bill_period",
        "neighbor_comparison_history",
    }  # fmt: skip
