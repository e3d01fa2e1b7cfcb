"""Oracle's documented answers, through the real authorizer (binding) and proxy.

Each file of tests/contracts/opower/ is one operation page's documented example answer
(its page, title and what was completed where the stored copy is cut are in the file).
The sandbox serves it as recorded (``POST /_sandbox/answers``), over HTTP, and the
gateway's real handlers read it:

- Get Customer List and Get Utility Account List, with one object under ``response`` as
  their examples show, and with an array as their schemas declare, bind a session;
- every data route's example reaches the customer unchanged, byte for byte, and is
  described by the schema the OpenAPI document gives that route;
- a field Oracle adds reaches the customer and breaks nothing;
- Delete Threshold's documented 400 "No threshold found" is the customer's 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.proxy import openapi
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from local.idp import DevIdentityProvider
from local.sandbox import OpowerSandbox
from tests import leakcheck
from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event

pytestmark = pytest.mark.integration

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "opower"
# The customer of Get Customer List's example, and an account number of theirs.
CUSTOMER = "1872099045-387109999"
ACCOUNT_NUMBER = "1872099045"


def contract(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CONTRACTS / f"{name}.json").read_text())
    assert document["page"].startswith("https://docs.oracle.com/"), name
    return document


def recorded(name: str, **changes: Any) -> dict[str, Any]:
    """The contract's answer as the sandbox records it (its example, or a variation)."""
    document = contract(name)
    return {"status": document["status"], "body": changes.get("body", document["example"])}


def bind(sandbox: OpowerSandbox, **answers: Any) -> None:
    sandbox.set_answers(
        customers=answers.get("customers", recorded("get-customer-list")),
        utility_accounts=answers.get("utility_accounts", recorded("get-utility-account-list")),
    )


@pytest.fixture
def authorize(
    gateway_env: RuntimeSettings, idp: DevIdentityProvider
) -> Callable[[], dict[str, Any]]:
    """The authorizer's answer for a session of the documented example's customer."""

    def run() -> dict[str, Any]:
        event = authorizer_event(idp.mint(CUSTOMER, [ACCOUNT_NUMBER]))
        answer: dict[str, Any] = authorizer_handler(event, LambdaContext())  # type: ignore[arg-type]
        return answer

    return run


@pytest.fixture
def call(authorize: Callable[[], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def invoke(
        method: str, path: str, query: dict[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        allow = authorize()
        assert allow["policyDocument"]["Statement"][0]["Effect"] == "Allow", allow
        event = proxy_event(
            method,
            path,
            authorizer=api_gateway_context(allow),
            query={k: [v] for k, v in (query or {}).items()} or None,
            body=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json"} if body is not None else None,
        )
        return proxy_handler(event, LambdaContext())  # type: ignore[arg-type,no-any-return]

    return invoke


def schema_of(path: str) -> dict[str, Any]:
    document = openapi.document()
    content = document["paths"][path]["get"]["responses"]["200"]["content"]
    return {**content["application/json"]["schema"], "components": document["components"]}


# -- the binding ----------------------------------------------------------------------
@pytest.mark.parametrize("form", ["one object", "an array"])
def test_the_documented_customer_and_account_answers_bind_a_session(
    sandbox: OpowerSandbox, authorize: Callable[[], dict[str, Any]], form: str
) -> None:
    """Get Customer List and Get Utility Account List (pages in the contract files):
    their examples put one object under response, their schemas an array. Either binds."""
    customers = recorded("get-customer-list")
    accounts = recorded("get-utility-account-list")
    if form == "an array":
        other = {"id": 1072, "name": "Someone Else", "utilityCustomerId": "1872099045-1"}
        customers["body"] = {"response": [other, customers["body"]["response"]]}
        second = {**accounts["body"]["response"], "id": 1099, "meterType": "GAS",
                  "resolution": "HOUR"}  # fmt: skip
        accounts["body"] = {"response": [accounts["body"]["response"], second]}
    bind(sandbox, customers=customers, utility_accounts=accounts)

    answer = authorize()

    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    context = answer["context"]
    assert context["customerId"] == "1071"
    assert context["accountIds"] == ("1071" if form == "one object" else "1071,1099")
    # The example's meter reads every half hour: the raw cap is 50 hours for it.
    expected = "ELECTRICITY:30" if form == "one object" else "ELECTRICITY:30,GAS:60"
    assert context["rawIntervalMinutes"] == expected


def test_a_moved_out_meter_does_not_set_the_raw_cap(
    sandbox: OpowerSandbox, authorize: Callable[[], dict[str, Any]]
) -> None:
    """The usage pages serve the customer's active utility account: a one-minute meter
    they moved out of does not shrink the raw window of the half-hourly one they have."""
    example = contract("get-utility-account-list")["example"]["response"]
    old = {**example, "id": 1070, "resolution": "MINUTE", "moveOutDate": "2019-01-01"}
    bind(sandbox, utility_accounts={"status": 200, "body": {"response": [old, example]}})

    context = authorize()["context"]

    assert context["accountIds"] == "1070,1071"  # still theirs to name
    assert context["rawIntervalMinutes"] == "ELECTRICITY:30"


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [("FIVE_MINUTE", "ELECTRICITY:5"), ("TEN_SECOND", "ELECTRICITY:1"), (None, "ELECTRICITY:1"),
     ("MONTH", "")],
    ids=["five-minute", "a value Oracle may add", "absent", "no raw intervals"],
)  # fmt: skip
def test_a_meters_resolution_sets_the_raw_cap_never_wider_than_opowers(
    sandbox: OpowerSandbox, authorize: Callable[[], dict[str, Any]], resolution: str | None,
    expected: str,
) -> None:  # fmt: skip
    """Get Utility Account List's resolution enumeration includes FIVE_MINUTE (Raw Interval
    Usage: "up to 100 intervals in a single request"); a resolution absent (the field is
    optional) or not known to the gateway is counted as a minute, the finest: a window the
    gateway lets through is never over Opower's cap. MONTH and BILLING have no raw
    intervals: Opower alone counts such a customer's window."""
    example = dict(contract("get-utility-account-list")["example"]["response"])
    example.pop("resolution", None)
    account = example if resolution is None else {**example, "resolution": resolution}
    bind(sandbox, utility_accounts={"status": 200, "body": {"response": [account]}})

    assert authorize()["context"]["rawIntervalMinutes"] == expected


def test_a_field_oracle_adds_breaks_no_binding(
    sandbox: OpowerSandbox, authorize: Callable[[], dict[str, Any]]
) -> None:
    example = contract("get-customer-list")["example"]["response"]
    bind(
        sandbox,
        customers={"status": 200, "body": {"response": {**example, "segment": {"a": [1]}},
                                           "meta": {"next": None}}},
    )  # fmt: skip

    assert authorize()["context"]["customerId"] == "1071"


@pytest.mark.parametrize(
    "body",
    [
        {"response": []},
        {"response": None},
        {"response": {"id": 1071}},  # no utilityCustomerId: nobody's
        {"response": {"id": None, "utilityCustomerId": CUSTOMER}},
        {"response": {"id": {"x": 1}, "utilityCustomerId": CUSTOMER}},
        {"response": "David Bowie"},
        {"response": {"id": "\u0661\u0660\u0667\u0661", "utilityCustomerId": CUSTOMER}},
        {"response": {"id": -5, "utilityCustomerId": CUSTOMER}},
        {"response": {"id": 10**30, "utilityCustomerId": CUSTOMER}},
        {"response": {"id": " 1071", "utilityCustomerId": CUSTOMER}},
        {"response": {"id": 1071.0, "utilityCustomerId": CUSTOMER}},
        {"response": {"id": True, "utilityCustomerId": CUSTOMER}},
        [],
        {},
    ],
    ids=lambda body: json.dumps(body)[:40],
)
def test_answers_naming_nobody_bind_nobody(
    sandbox: OpowerSandbox, authorize: Callable[[], dict[str, Any]], body: Any
) -> None:
    bind(sandbox, customers={"status": 200, "body": body})

    assert authorize()["policyDocument"]["Statement"][0]["Effect"] == "Deny"


# -- the customer API's answers: Opower's, unchanged -----------------------------------
ROUTES = [
    ("get-home-profile", "/v1/me/home-profile", "/v1/me/home-profile", {}),
    ("get-raw-interval-usage", "/v1/me/usage/raw/ELECTRICITY", "/v1/me/usage/{resolution}/{fuel}",
     {"start": "2026-11-01T00:00:00-06:00", "end": "2026-11-01T00:30:00-06:00"}),
    ("get-daily-interval-usage", "/v1/me/usage/day/ELECTRICITY",
     "/v1/me/usage/{resolution}/{fuel}", {"start": "2026-11-01", "end": "2026-11-03"}),
    ("get-billing-usage", "/v1/me/usage/billing/GAS", "/v1/me/usage/{resolution}/{fuel}",
     {"start": "2026-01-01T00:00:00-06:00", "end": "2026-03-01T00:00:00-06:00"}),
    ("get-bill-comparison", "/v1/me/accounts/1071/bill-comparison",
     "/v1/me/accounts/{accountId}/bill-comparison", {}),
    ("get-latest-neighbor-comparison", "/v1/me/neighbor-comparison",
     "/v1/me/neighbor-comparison", {}),
    ("get-threshold", "/v1/me/threshold", "/v1/me/threshold", {}),
    ("get-utility-account-list", "/v1/me/accounts", "/v1/me/accounts", {}),
    ("get-notification-contacts", "/v1/me/contacts", "/v1/me/contacts", {}),
    ("get-consumption-categories", "/v1/me/energy-breakdown", "/v1/me/energy-breakdown",
     {"fuelType": "ELEC"}),
    ("get-bill-consumption-categories", "/v1/me/energy-breakdown/bill",
     "/v1/me/energy-breakdown/bill", {"billStartDate": "2026-10-01", "billEndDate": "2026-10-31"}),
    ("get-tip-list", "/v1/me/tips", "/v1/me/tips", {"limit": "3"}),
    ("get-tips", "/v1/me/tip-names", "/v1/me/tip-names", {}),
    ("get-bill-period", "/v1/me/accounts/1071/bill-period",
     "/v1/me/accounts/{accountId}/bill-period", {}),
    ("get-neighbor-comparison-history", "/v1/me/neighbor-comparison/history/ELECTRICITY",
     "/v1/me/neighbor-comparison/history/{fuel}",
     {"start": "2026-06-01T00:00:00-05:00", "end": "2026-11-01T00:00:00-05:00"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "path", "template", "query"), ROUTES, ids=[r[0] for r in ROUTES])
def test_each_documented_answer_reaches_the_customer_unchanged(
    sandbox: OpowerSandbox,
    call: Callable[..., dict[str, Any]],
    name: str,
    path: str,
    template: str,
    query: dict[str, str],
) -> None:
    document = contract(name)
    bind(sandbox)
    sandbox.set_answers(**{document["sandbox_route"]: recorded(name)})

    response = call("GET", path, query=query or None)

    assert response["statusCode"] == 200, response["body"]
    answer = json.loads(response["body"])
    assert answer == document["example"]  # the page's fields, names and types
    Draft202012Validator(schema_of(template)).validate(answer)


def test_a_field_oracle_adds_reaches_the_customer(
    sandbox: OpowerSandbox, call: Callable[..., dict[str, Any]]
) -> None:
    example = contract("get-bill-comparison")["example"]
    grown = {**example, "response": {**example["response"], "carbon": {"kg": 12.5}},
             "failureExplanation": "SOMETHING_NEW"}  # fmt: skip
    bind(sandbox)
    sandbox.set_answers(bill_comparison={"status": 200, "body": grown})

    response = call("GET", "/v1/me/accounts/1071/bill-comparison")

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == grown
    Draft202012Validator(schema_of("/v1/me/accounts/{accountId}/bill-comparison")).validate(grown)


def test_a_bill_forecast_in_any_shape_is_passed_on(
    sandbox: OpowerSandbox, call: Callable[..., dict[str, Any]]
) -> None:
    """Get Bill Forecast publishes no answer schema: whatever Opower answers is the
    customer's, including a usage-only forecast ("no modeled rates")."""
    usage_only = {"response": {"forecasts": [{"projectedUsage": 717.59, "unit": "KWH"}]}}
    bind(sandbox)
    sandbox.set_answers(bill_forecast={"status": 200, "body": usage_only})

    response = call("GET", "/v1/me/bill-forecast")

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == usage_only


# -- errors keep their meaning --------------------------------------------------------
def test_delete_with_no_threshold_is_the_customers_404(
    sandbox: OpowerSandbox, call: Callable[..., dict[str, Any]]
) -> None:
    """Delete Threshold for a Customer: "400 No threshold found for the requested
    customer." Nothing to delete is a 404 to the customer, never a 5xx or a 400."""
    bind(sandbox)
    sandbox.set_answers(threshold=recorded("delete-threshold-none"))

    response = call("DELETE", "/v1/me/threshold")

    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "not_found"


LEAKY = (
    "Invalid token Bearer 92c6465e-2276-429d-952f-bb3e22c8990c; Authorization: Basic "
    "Y2xpZW50OnNlY3JldA==; customer 1072 (Jane Roe); ORA-00942 at com.opower.db"
)
# Scanned for in every captured output of the session (tests/leakcheck.py): not in the
# logs either.
leakcheck.register_secret("92c6465e-2276-429d-952f-bb3e22c8990c", "Y2xpZW50OnNlY3JldA==")


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"details": "Threshold is either negative or too high.", "httpStatus": 400,
                   "serviceErrorCode": "BAD_REQUEST"}},
        {"httpStatus": 400, "serviceErrorCode": "BAD_REQUEST", "errorMessage": "Bad Request",
         "details": "Utility does not support setting thresholds."},
        {"error": {"details": LEAKY, "httpStatus": 400, "serviceErrorCode": "BAD_REQUEST"}},
    ],
    ids=["ErrorDetails", "ErrorResponse", "anything-else"],
)  # fmt: skip
def test_an_opower_400_names_the_pages_rules_to_the_customer(
    sandbox: OpowerSandbox, call: Callable[..., dict[str, Any]], body: dict[str, Any]
) -> None:
    """Set or Update a Customer's Threshold: 400 "Utility does not support setting
    thresholds. Threshold is either negative or too high." The customer is told those
    rules in the gateway's words; what Opower wrote is never passed on."""
    bind(sandbox)
    sandbox.set_answers(threshold={"status": 400, "body": body})

    response = call("PUT", "/v1/me/threshold", body={"threshold": 900000, "percentage": 80})

    assert response["statusCode"] == 400
    error = json.loads(response["body"])["error"]
    assert error["code"] == "rejected"
    assert error["message"] == (
        "Opower refused the threshold: it is negative or too high, or your utility does not "
        "support bill threshold alerts"
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "message"),
    [
        ("GET", "/v1/me/threshold", None, "Your utility does not support bill threshold alerts"),
        ("GET", "/v1/me/usage/day/ELECTRICITY", {"start": "2026-11-01", "end": "2026-11-02"},
         "Opower refused the window: raw usage is at most 100 of your meter's intervals"),
        ("GET", "/v1/me/home-profile", None, "Opower rejected the request"),
    ],
    ids=["Get Threshold", "usage", "no documented rule"],
)  # fmt: skip
def test_opowers_own_words_never_reach_the_customer(
    sandbox: OpowerSandbox,
    call: Callable[..., dict[str, Any]],
    method: str,
    path: str,
    query: dict[str, str] | None,
    message: str,
) -> None:
    """Whatever Opower puts in a 400 (here a token, a Basic header, another customer, a
    stack trace), the customer gets the page's rules or a plain refusal."""
    leaky = {"httpStatus": 400, "serviceErrorCode": "BAD_REQUEST", "errorMessage": LEAKY,
             "details": LEAKY}  # fmt: skip
    bind(sandbox)
    sandbox.set_answers(**{name: {"status": 400, "body": leaky}
                           for name in ("threshold", "usage", "home_profile")})  # fmt: skip

    response = call(method, path, query=query)

    assert response["statusCode"] == 400
    error = json.loads(response["body"])["error"]
    assert error["message"].startswith(message)
    for fragment in ("Bearer", "Basic", "Jane", "ORA-", "92c6465e"):
        assert fragment not in response["body"]


@pytest.mark.parametrize(
    ("route", "method", "path", "body"),
    [
        ("home_profile", "PUT", "/v1/me/home-profile", {"squareFeet": 2100}),
        ("threshold", "PUT", "/v1/me/threshold", {"threshold": 125.75, "percentage": 80.5}),
        ("threshold", "DELETE", "/v1/me/threshold", None),
    ],
    ids=["Update Home Profile", "Set or Update a Customer's Threshold",
         "Delete Threshold for a Customer"],
)  # fmt: skip
def test_each_documented_write_answer_is_the_customers_204(
    sandbox: OpowerSandbox,
    call: Callable[..., dict[str, Any]],
    route: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    """The write pages document 204 and no body (schemas.PAGES["home_profile PUT"],
    ["threshold PUT"], ["threshold DELETE"])."""
    bind(sandbox)
    sandbox.set_answers(**{route: {"status": 204, "body": None}})

    response = call(method, path, body=body)

    assert (response["statusCode"], response["body"]) == (204, "")


# -- the customer-app writes: Opower's answers, unchanged ------------------------------
def _post_schema(path: str, method: str) -> dict[str, Any]:
    document = openapi.document()
    content = document["paths"][path][method]["responses"]["200"]["content"]
    return {**content["application/json"]["schema"], "components": document["components"]}


def test_a_created_contact_and_a_tip_action_are_answered_as_opower_answered(
    sandbox: OpowerSandbox, call: Callable[..., dict[str, Any]]
) -> None:
    """Create NotificationContact answers 200 with the contact; Update Tip Action 200
    {"response": true} (their pages); the customer gets both as they are."""
    created = contract("create-notification-contact")
    action = contract("update-tip-action")
    tips = contract("get-tips")
    bind(sandbox)
    sandbox.set_answers(
        **{created["sandbox_route"]: recorded("create-notification-contact")},
        **{tips["sandbox_route"]: recorded("get-tips")},
    )

    response = call("POST", "/v1/me/contacts", body=created["request"])
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"]) == created["example"]
    Draft202012Validator(_post_schema("/v1/me/contacts", "post")).validate(created["example"])

    tip = tips["example"]["response"][0]
    sandbox.set_answers(**{action["sandbox_route"]: recorded("update-tip-action")})
    response = call("POST", f"/v1/me/tips/{tip}/action", body=action["request"])
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"]) == action["example"]


def test_no_disaggregation_model_is_the_customers_no_breakdown(
    sandbox: OpowerSandbox, call: Callable[..., dict[str, Any]]
) -> None:
    """Get Annual Disaggregation: "If heating or cooling model insights are not
    available, ... a response status code 404 is returned" (the body is not shown)."""
    document = contract("get-consumption-categories-no-model")
    bind(sandbox)
    sandbox.set_answers(
        **{document["sandbox_route"]: recorded("get-consumption-categories-no-model")}
    )

    response = call("GET", "/v1/me/energy-breakdown")

    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "no_breakdown"
