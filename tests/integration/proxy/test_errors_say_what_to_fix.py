"""What a new user's mistakes get back: a 400 naming the parameter and what it takes, one
message per code, a 404 only for what does not exist or is not theirs. Real handlers,
the sandbox, moto server (issue 15's review, kept as regression tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.api_responses import NOT_FOUND_MESSAGE
from local.sandbox import OpowerSandbox
from tests.integration.proxy.conftest import Call, forwarded

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
DAY = {"start": ["2026-11-01T00:00:00-05:00"], "end": ["2026-11-02T00:00:00-05:00"]}


def error_of(response: dict[str, Any]) -> dict[str, str]:
    return dict(json.loads(response["body"])["error"])


@pytest.mark.parametrize(
    ("path", "named", "allowed"),
    [
        ("/v1/me/usage/day/WATER", "fuel", "ELECTRICITY, GAS"),
        ("/v1/me/usage/day/electricity", "fuel", "ELECTRICITY, GAS"),
        ("/v1/me/usage/hour/GAS", "resolution", "raw, day, billing"),
        ("/v1/me/accounts/abc/bill-comparison", "accountId", "digits"),
        ("/v1/me/accounts/-1/bill-comparison", "accountId", "digits"),
    ],
)
def test_a_path_value_outside_its_parameter_is_a_400_naming_it_and_what_it_takes(
    call: Call, sandbox: OpowerSandbox, path: str, named: str, allowed: str
) -> None:
    response = call("GET", path, query=DAY)

    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "bad_request"
    assert f"'{named}'" in error_of(response)["message"]
    assert allowed in error_of(response)["message"]
    assert forwarded(sandbox) == []


def test_every_404_says_the_same_whatever_its_cause(call: Call, sandbox: OpowerSandbox) -> None:
    not_yours = call("GET", "/v1/me/accounts/2000003/bill-comparison", customer="UC-0001")
    no_route = call("GET", "/v1/me/nothing")
    call("DELETE", "/v1/me/threshold", customer="UC-0003")
    opowers = call("GET", "/v1/me/threshold", customer="UC-0003")  # Opower's own 404

    for response in (not_yours, no_route, opowers):
        assert response["statusCode"] == 404
        assert error_of(response)["code"] == "not_found"
        assert error_of(response)["message"] == NOT_FOUND_MESSAGE


@pytest.mark.parametrize(
    ("start", "forwarded_start"),
    [
        # "+" sent unencoded arrives as a space (API Gateway decodes it, aws/aws-cdk#19827)
        ("2026-11-01T00:00:00 01:00", "2026-11-01T00:00:00+01:00"),
        # (and without seconds, sent with them: the usage pages' documented form)
        ("2026-11-01T00:00 05:30", "2026-11-01T00:00:00+05:30"),
        ("2026-11-01T00:00:00+01:00", "2026-11-01T00:00:00+01:00"),
    ],
)
def test_an_offset_whose_plus_arrived_as_a_space_is_read_as_plus(
    call: Call, sandbox: OpowerSandbox, start: str, forwarded_start: str
) -> None:
    query = {"start": [start], "end": ["2026-11-02T00:00:00+01:00"]}

    response = call("GET", "/v1/me/usage/day/ELECTRICITY", query=query, customer="UC-0002")

    assert response["statusCode"] == 200, response["body"]
    (sent,) = forwarded(sandbox)
    assert sent.query["start"] == [forwarded_start]  # as Opower decoded it


@pytest.mark.parametrize("value", ["2026-11-01T00:00:00 1:00", "2026-11-01 00:00:00-05:00"])
def test_other_spaces_in_a_date_time_are_still_a_400(call: Call, value: str) -> None:
    response = call("GET", "/v1/me/usage/day/ELECTRICITY", query={**DAY, "start": [value]})

    assert response["statusCode"] == 400
    assert "'start'" in error_of(response)["message"]


def test_start_equal_to_end_is_a_400_the_document_states(call: Call) -> None:
    same = "2026-11-01T00:00:00-05:00"

    response = call("GET", "/v1/me/usage/day/GAS", query={"start": [same], "end": [same]})

    assert response["statusCode"] == 400
    assert error_of(response)["message"] == "'start' must be before 'end'"


@pytest.mark.parametrize("value", [{}, "abc", [1], True, 1.5])
def test_the_read_only_customer_id_is_held_to_its_documented_type(
    call: Call, sandbox: OpowerSandbox, value: Any
) -> None:
    body = json.dumps({"customerId": value, "numberOfAdults": 2})

    response = call("PUT", "/v1/me/home-profile", body=body, headers=JSON)

    assert response["statusCode"] == 400
    assert "'customerId' must be an integer" in error_of(response)["message"]
    assert forwarded(sandbox) == []


def test_a_read_only_customer_id_of_the_right_type_is_replaced_by_the_sessions(
    call: Call, sandbox: OpowerSandbox
) -> None:
    body = json.dumps({"customerId": 1000002, "numberOfAdults": 2})

    response = call("PUT", "/v1/me/home-profile", body=body, headers=JSON, customer="UC-0001")

    assert response["statusCode"] == 204
    (sent,) = [r for r in forwarded(sandbox) if r.method == "PUT"]
    assert json.loads(sent.body)["customerId"] == 1000001
