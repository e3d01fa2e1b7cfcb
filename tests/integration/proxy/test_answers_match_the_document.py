"""The OpenAPI document's response schemas and the answers agree: every 200 the gateway
passes on from the sandbox (which answers as Opower's reference says) validates against
the schema the document gives that operation, for every sample customer and fuel.

The document is checked as OpenAPI 3.1 too (openapi-spec-validator, which schemathesis
brings), so that generators and fuzzers read it as written.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from gateway.proxy import openapi
from tests.integration.proxy.conftest import Call

pytestmark = pytest.mark.integration

DOCUMENT = openapi.document()
# Windows Opower serves for each resolution (well inside the per-request caps).
WINDOWS = {
    "raw": ("2026-11-01T00:00:00-05:00", "2026-11-01T06:00:00-05:00"),
    "day": ("2026-10-01T00:00:00-05:00", "2026-11-01T00:00:00-05:00"),
    "billing": ("2025-11-01T00:00:00-05:00", "2026-11-01T00:00:00-05:00"),
}
# Sample customers with utility accounts, and their accounts' Opower ids (see conftest).
CUSTOMERS = {
    "UC-0001": ["2000001", "2000002"],
    "UC-0002": ["2000003", "2000004"],
    "UC-0003": ["2000005"],
}


def rooted(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the document's components beside it, for its #/components refs."""
    return {**schema, "components": DOCUMENT["components"]}


def schema_of(path: str, method: str = "get") -> dict[str, Any]:
    content = DOCUMENT["paths"][path][method]["responses"]["200"]["content"]
    return rooted(content["application/json"]["schema"])


def assert_conforms(path: str, response: dict[str, Any]) -> None:
    assert response["statusCode"] == 200, response["body"]
    answer = json.loads(response["body"])
    validator = Draft202012Validator(schema_of(path), format_checker=FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(answer)]
    assert errors == [], errors


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOCUMENT)


def test_every_get_operation_has_a_response_schema_and_an_example_that_conforms() -> None:
    for path, operations in DOCUMENT["paths"].items():
        if path == openapi.OPENAPI_PATH or "get" not in operations:
            continue  # writes only (a contact's PUT and DELETE, a tip's action)
        content = operations["get"]["responses"]["200"]["content"]["application/json"]
        schema = content["schema"]
        assert schema.get("type") == "array" or "$ref" in schema, path  # a named model
        # An example Oracle never published is named "assumed" (gateway.schemas)
        example = content["example"] if "example" in content else content["examples"]["assumed"]
        Draft202012Validator(rooted(schema), format_checker=FormatChecker()).validate(
            example["value"] if "examples" in content else example
        )


@pytest.mark.parametrize("customer", sorted(CUSTOMERS))
@pytest.mark.parametrize(
    "path", ["/v1/me/accounts", "/v1/me/home-profile", "/v1/me/bill-forecast",
             "/v1/me/neighbor-comparison", "/v1/me/contacts", "/v1/me/energy-breakdown",
             "/v1/me/tips", "/v1/me/tip-names"],
)  # fmt: skip
def test_customer_answers_conform(call: Call, customer: str, path: str) -> None:
    response = call("GET", path, customer=customer)
    if path == "/v1/me/energy-breakdown" and customer == "UC-0003":
        # Get Annual Disaggregation's documented 404: no model of this home (the sandbox's)
        assert json.loads(response["body"])["error"]["code"] == "no_breakdown"
        return
    assert_conforms(path, response)


@pytest.mark.parametrize("resolution", sorted(WINDOWS))
@pytest.mark.parametrize("fuel", ["ELECTRICITY", "GAS"])
def test_usage_answers_conform(call: Call, resolution: str, fuel: str) -> None:
    start, end = WINDOWS[resolution]

    response = call(
        "GET", f"/v1/me/usage/{resolution}/{fuel}", customer="UC-0002",
        query={"start": [start], "end": [end]},
    )  # fmt: skip

    assert_conforms("/v1/me/usage/{resolution}/{fuel}", response)


@pytest.mark.parametrize("comparison", ["PREVIOUS", "YEAR_AGO"])
def test_bill_comparison_answers_conform(call: Call, comparison: str) -> None:
    for account in CUSTOMERS["UC-0002"]:
        response = call(
            "GET", f"/v1/me/accounts/{account}/bill-comparison", customer="UC-0002",
            query={"comparisonBill": [comparison]},
        )  # fmt: skip

        assert_conforms("/v1/me/accounts/{accountId}/bill-comparison", response)


def test_threshold_answers_conform(call: Call) -> None:
    body = json.dumps({"threshold": 150.5, "percentage": 80})
    put = call("PUT", "/v1/me/threshold", customer="UC-0003", body=body,
               headers={"Content-Type": "application/json"})  # fmt: skip
    assert put["statusCode"] == 204

    assert_conforms("/v1/me/threshold", call("GET", "/v1/me/threshold", customer="UC-0003"))


@pytest.mark.parametrize("customer", sorted(CUSTOMERS))
def test_customer_app_answers_conform(call: Call, customer: str) -> None:
    """The routes whose path names the customer's own things: their first contact's
    preferences, their first tip, each account's bill period, the neighbor history."""
    contacts = json.loads(call("GET", "/v1/me/contacts", customer=customer)["body"])["response"]
    path = "/v1/me/contacts/{contactId}/preferences"
    response = call("GET", f"/v1/me/contacts/{contacts[0]['id']}/preferences", customer=customer)
    assert_conforms(path, response)
    names = json.loads(call("GET", "/v1/me/tip-names", customer=customer)["body"])["response"]
    assert_conforms(
        "/v1/me/tips/{tipId}", call("GET", f"/v1/me/tips/{names[0]}", customer=customer)
    )
    for account in CUSTOMERS[customer]:
        response = call("GET", f"/v1/me/accounts/{account}/bill-period", customer=customer)
        assert_conforms("/v1/me/accounts/{accountId}/bill-period", response)
    response = call("GET", "/v1/me/neighbor-comparison/history/ELECTRICITY", customer=customer)
    assert_conforms("/v1/me/neighbor-comparison/history/{fuel}", response)
    dates = {"billStartDate": ["2026-10-01"], "billEndDate": ["2026-10-31"]}
    response = call("GET", "/v1/me/energy-breakdown/bill", customer=customer, query=dates)
    if response["statusCode"] != 404:  # a home Opower has no model of (UC-0003)
        assert_conforms("/v1/me/energy-breakdown/bill", response)
