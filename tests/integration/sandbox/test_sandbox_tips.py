"""Energy saving tips (tips-v1): Get Tip Name List, Get Tip List, Get Tip, Update Tip
Action and Delete Tip Action (tests/contracts/opower/NEW-OPERATIONS.md, section 3; the
examples are the fixtures get-tips.json, get-tip-list.json, get-tip.json,
update-tip-action.json and delete-tip-action.json).

The catalog, which customer gets which tip and how a score is made are the sandbox's, as
`local.sandbox.tips` documents them.
"""

from __future__ import annotations

from typing import Any

import pytest
import urllib3

from local.sandbox import OpowerSandbox
from tests.integration.sandbox.documented_examples import assert_shape, documented
from tests.integration.sandbox.sandbox_client import SandboxClient, U, opower_response

pytestmark = pytest.mark.integration

TIPS = f"tips-v1/{U}/energy_guide/customers/{{}}/tips"
SHADING = "tip018_improve_window_shading"
GAS_TIPS = {
    "tip069_install_efficient_showerheads",
    "tip070_reduce_water_heater_temperature",
    "tip071_turn_off_water_heater_when_away",
}
ELEC_TIPS = {
    "tip001_buy_energy_star",
    "tip010_hang_dry_laundry",
    "tip015_maintain_ac",
    SHADING,
    "tip047_use_efficient_lighting",
    "tip059_use_power_strips",
}


def tip_list(client: SandboxClient, token: str, customer: int, **fields: str) -> Any:
    response = client.get(f"{TIPS.format(customer)}/list", token, **fields)
    assert response.status == 200, response.data
    return opower_response(response.json())


def action(
    client: SandboxClient, token: str, customer: int, tip: str, method: str, body: object = None
) -> urllib3.BaseHTTPResponse:
    return client.api(method, f"{TIPS.format(customer)}/{tip}/action", token=token, json_body=body)


def status_of(client: SandboxClient, token: str, customer: int, tip: str) -> str:
    response = client.get(f"{TIPS.format(customer)}/{tip}", token)
    assert response.status == 200, response.data
    status: str = opower_response(response.json())["status"]
    return status


def test_tip_names_are_sorted_by_score(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get Tip Name List: `{"response": [tip name]}`, "sorted by the customer's expected
    savings, highest first": the order of Get Tip List's scores."""
    fixture = documented("get-tips")

    response = client.get(TIPS.format(1000002), token)

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"])
    names = opower_response(response.json())
    tips = tip_list(client, token, 1000002)
    assert names == [t["tipName"] for t in tips]
    scores = [t["score"] for t in tips]
    assert scores == sorted(scores, reverse=True)
    assert set(names) == ELEC_TIPS | GAS_TIPS
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1}


def test_tip_list_has_the_documented_shape(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get Tip List: Tip objects as the example shows them, field for field. UC-0001's
    tip018_improve_window_shading is seeded at WILL_DO (as in the example); its texts are
    the example's (but for the dash the example shows as "???")."""
    fixture = documented("get-tip-list")
    (documented_tip,) = fixture["example"]["response"]

    response = client.get(f"{TIPS.format(1000001)}/list", token)

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"])
    tips = opower_response(response.json())
    shading = next(t for t in tips if t["tipName"] == SHADING)
    for key in (
        "tipName",
        "title",
        "group",
        "fuelType",
        "costCategory",
        "image",
        "status",
        "numParticipating",
        "season",
        "why",
        "shortBody",
    ):
        assert shading[key] == documented_tip[key], key
    assert shading["longBody"] == documented_tip["longBody"].replace("???", "\u2013")
    assert all(t["status"] == "NOT_YET" for t in tips if t["tipName"] != SHADING)
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1}


def test_get_tip_has_the_documented_shape(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get Tip: `{"response": Tip}`, the same Tip as in the customer's list."""
    fixture = documented("get-tip")

    response = client.get(f"{TIPS.format(1000001)}/{SHADING}", token, locale="en_US")

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"])
    listed = next(t for t in tip_list(client, token, 1000001) if t["tipName"] == SHADING)
    assert opower_response(response.json()) == listed
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1}


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        pytest.param(1000001, ELEC_TIPS, id="electricity-only"),
        pytest.param(1000002, ELEC_TIPS | GAS_TIPS, id="electricity-and-gas"),
        pytest.param(1000004, set(), id="no-account"),
    ],
)
def test_a_customer_gets_the_tips_of_its_fuels(
    client: SandboxClient, token: str, customer: int, expected: set[str]
) -> None:
    """Sandbox catalog: gas tips only with a gas account; no account, no tips (an empty
    list for both list operations)."""
    names = opower_response(client.get(TIPS.format(customer), token).json())

    assert set(names) == expected
    assert len(names) == len(expected)
    assert [t["tipName"] for t in tip_list(client, token, customer)] == names


def test_scores_differ_by_customer_and_are_stable(client: SandboxClient, token: str) -> None:
    """Sandbox model: a tip's score is fixed per customer and tip."""
    ada = {t["tipName"]: t["score"] for t in tip_list(client, token, 1000001)}
    grace = {t["tipName"]: t["score"] for t in tip_list(client, token, 1000002)}

    assert ada == {t["tipName"]: t["score"] for t in tip_list(client, token, 1000001)}
    assert ada != {name: grace[name] for name in ada}


def test_limit_keeps_the_highest_scores(client: SandboxClient, token: str) -> None:
    """Get Tip Name List / Get Tip List: "If limit not specified then all tips are
    retrieved"; with one, the first tips."""
    every = opower_response(client.get(TIPS.format(1000002), token).json())

    three = opower_response(client.get(TIPS.format(1000002), token, limit="3").json())
    listed = tip_list(client, token, 1000002, limit="3", channel="VOICE", locale="en_US")
    beyond = opower_response(client.get(TIPS.format(1000002), token, limit="50").json())

    assert three == every[:3]
    assert [t["tipName"] for t in listed] == three
    assert beyond == every


@pytest.mark.parametrize(
    ("suffix", "fields"),
    [
        ("", {"limit": "0"}),
        ("", {"limit": "-1"}),
        ("", {"limit": "two"}),
        ("/list", {"limit": "1.5"}),
        ("", {"locale": "english"}),
        ("/list", {"locale": "fr_FR"}),
        (f"/{SHADING}", {"locale": "en-US"}),
    ],
)
def test_invalid_limit_or_locale_is_400(
    client: SandboxClient, token: str, suffix: str, fields: dict[str, str]
) -> None:
    """`limit` a positive integer (the page types it a string: an assumption); `locale`
    is language_territory and "Only locales supported by the utility are allowed" (the
    sandbox utility: en_US)."""
    response = client.get(TIPS.format(1000001) + suffix, token, **fields)

    assert response.status == 400, fields
    assert response.json()["httpStatus"] == 400


def test_update_and_delete_tip_action(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Update Tip Action (POST) `{"status": ...}` and Delete Tip Action: `{"response":
    true}` as the examples; the tip then shows the status, and NOT_YET ("Default value")
    after the delete, which is "Idempotent, repeatable invocations do not lead to an
    error". Another customer's same tip keeps its own status."""
    update, delete = documented("update-tip-action"), documented("delete-tip-action")
    tip = "tip015_maintain_ac"

    updated = action(client, token, 1000001, tip, "POST", update["request"])
    after_update = status_of(client, token, 1000001, tip)
    deleted = action(client, token, 1000001, tip, "DELETE")
    after_delete = status_of(client, token, 1000001, tip)
    again = action(client, token, 1000001, tip, "DELETE")

    assert (updated.status, updated.json()) == (update["status"], update["example"])
    assert (deleted.status, deleted.json()) == (delete["status"], delete["example"])
    assert (again.status, again.json()) == (200, {"response": True})
    assert (after_update, after_delete) == ("WILL_DO", "NOT_YET")
    assert status_of(client, token, 1000002, tip) == "NOT_YET"
    assert sandbox.stats()["requests"][update["sandbox_route"]] == {"200": 3}


@pytest.mark.parametrize("status", ["DONE", "WILL_DO", "NO_THANKS", "NOT_YET"])
def test_every_documented_status_is_taken(client: SandboxClient, token: str, status: str) -> None:
    """TipActionUpdateRequest `status`: DONE, WILL_DO, NO_THANKS, NOT_YET."""
    response = action(client, token, 1000001, SHADING, "POST", {"status": status})

    assert response.json() == {"response": True}
    assert status_of(client, token, 1000001, SHADING) == status


@pytest.mark.parametrize(
    "body", [{"status": "MAYBE"}, {"status": "done"}, {}, {"action": "DONE"}, ["DONE"], "DONE"]
)
def test_another_status_or_body_is_400(client: SandboxClient, token: str, body: object) -> None:
    """Update Tip Action: 400 "Invalid request"; the status is unchanged."""
    response = action(client, token, 1000001, SHADING, "POST", body)

    assert response.status == 400
    assert response.json()["httpStatus"] == 400
    assert status_of(client, token, 1000001, SHADING) == "WILL_DO"


@pytest.mark.parametrize(
    ("customer", "tip"),
    [
        pytest.param(1000001, "tip070_reduce_water_heater_temperature", id="a-gas-tip-of-another"),
        pytest.param(1000004, SHADING, id="no-tips-at-all"),
        pytest.param(1000001, "tip999_unknown", id="not-in-the-catalog"),
        pytest.param(9999999, SHADING, id="unknown-customer"),
        pytest.param(3000001, SHADING, id="the-other-companys-customer"),
    ],
)
def test_a_tip_that_is_not_the_customers_is_404(
    client: SandboxClient, token: str, customer: int, tip: str
) -> None:
    """Sandbox rule: a tip name not among this customer's tips is a 404 for Get Tip and
    both actions (the pages' 404 "Customer not found" covers the customer), before any
    body check."""
    path = f"{TIPS.format(customer)}/{tip}"

    responses = [
        client.get(path, token),
        action(client, token, customer, tip, "POST", {"status": "NOPE"}),
        action(client, token, customer, tip, "DELETE"),
    ]

    assert [r.status for r in responses] == [404, 404, 404]
    assert all(r.json()["httpStatus"] == 404 for r in responses)


def test_unknown_customer_lists_are_404(client: SandboxClient, token: str) -> None:
    """Get Tip Name List / Get Tip List: an unknown customer id is a 404."""
    assert client.get(TIPS.format(9999999), token).status == 404
    assert client.get(f"{TIPS.format('abc')}/list", token).status == 404


@pytest.mark.parametrize(
    ("method", "suffix", "allow"),
    [
        ("POST", "", "GET"),
        ("DELETE", "/list", "GET"),
        ("PUT", f"/{SHADING}/action", "POST, DELETE"),
    ],
)
def test_undocumented_methods_are_405(
    client: SandboxClient, token: str, method: str, suffix: str, allow: str
) -> None:
    response = client.api(method, TIPS.format(1000001) + suffix, token=token)

    assert response.status == 405
    assert response.headers["Allow"] == allow
