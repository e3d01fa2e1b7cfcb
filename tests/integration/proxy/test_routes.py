"""Every route for every sample customer, through real API Gateway proxy events, the real
authorizer's context, the sandbox over HTTP and moto server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import urllib3

from gateway import opower_answers
from local.sandbox import OpowerSandbox
from tests.integration.proxy.conftest import CUSTOMERS, Call

pytestmark = pytest.mark.integration


def direct(sandbox: OpowerSandbox, path: str, query: dict[str, str] | None = None) -> Any:
    """What Opower itself answers for a path (with a token of the utility)."""
    pool = urllib3.PoolManager()
    token = json.loads(
        pool.request(
            "POST",
            f"{sandbox.base_url}/apis/authorization-v1/oauth2/token",
            body="grant_type=client_credentials",
            headers={
                **urllib3.make_headers(
                    basic_auth=f"{sandbox.config.client_id}:{sandbox.current_client_secret}"
                ),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        ).data
    )["access_token"]
    answer = pool.request(
        "GET",
        f"{sandbox.base_url}/apis/{path}",
        fields=query,
        headers={"Authorization": f"Bearer {token}"},
    )
    return answer.status, json.loads(answer.data) if answer.data else None


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response["body"] else None


@pytest.mark.parametrize("customer", sorted(CUSTOMERS))
def test_accounts_are_the_customers_own(call: Call, customer: str) -> None:
    response = call("GET", "/v1/me/accounts", customer=customer)

    assert response["statusCode"] == 200
    # Get Utility Account List (schemas.PAGES["accounts"]): one object or an array.
    assert [a["id"] for a in opower_answers.items(body(response))] == CUSTOMERS[customer][2]
    assert response["headers"]["Cache-Control"] == "private, no-store"
    assert response["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize("customer", sorted(CUSTOMERS))
def test_each_read_route_returns_exactly_what_opower_has_for_the_bound_ids(
    call: Call, sandbox: OpowerSandbox, customer: str
) -> None:
    _, opower_id, account_ids = CUSTOMERS[customer]
    u = sandbox.config.utility_code
    reads = [
        ("/v1/me/home-profile", f"customer-data-v2/{u}/customers/{opower_id}/home_profile"),
        ("/v1/me/bill-forecast", f"billforecast-v2/{u}/customers/{opower_id}/bill_forecast"),
        (
            "/v1/me/neighbor-comparison",
            f"neighborComparison-v1/{u}/customers/{opower_id}/neighbor_comparison",
        ),
        ("/v1/me/threshold", f"threshold-v1/external/{u}/customers/{customer}/threshold"),
    ] + [
        (
            f"/v1/me/accounts/{account}/bill-comparison",
            f"billComparison-v2/{u}/bill-comparison/accounts/{account}",
        )
        for account in account_ids
    ]
    for path, upstream in reads:
        status, expected = direct(sandbox, upstream)

        response = call("GET", path, customer=customer)

        if status == 200:
            assert (response["statusCode"], body(response)) == (200, expected), path
        else:
            assert response["statusCode"] == status, path
            assert body(response)["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("customer", "fuel"),
    [("UC-0001", "ELECTRICITY"), ("UC-0002", "GAS"), ("UC-0002", "ELECTRICITY")],
)
@pytest.mark.parametrize(
    ("resolution", "span"),
    [("raw", timedelta(hours=6)), ("day", timedelta(days=10)), ("billing", timedelta(days=200))],
)
def test_usage_is_forwarded_with_the_bound_utility_customer_id(
    call: Call,
    sandbox: OpowerSandbox,
    customer: str,
    fuel: str,
    resolution: str,
    span: timedelta,
) -> None:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    query = {
        "start": (end - span).isoformat().replace("+00:00", "-00:00"),
        "end": end.isoformat().replace("+00:00", "-00:00"),
    }
    u = sandbox.config.utility_code
    _, expected = direct(sandbox, f"usage-v1/usage/{resolution}/{u}/{customer}/{fuel}", query)

    response = call(
        "GET",
        f"/v1/me/usage/{resolution}/{fuel}",
        customer=customer,
        query={k: [v] for k, v in query.items()},
    )

    assert response["statusCode"] == 200
    assert body(response) == expected
    # The usage pages: one stream per service point of the fuel (UC-0001: two meters).
    streams = body(response)["response"]["streams"]
    assert len(streams) == (2 if (customer, fuel) == ("UC-0001", "ELECTRICITY") else 1)
    assert all(stream["intervals"] for stream in streams)


def test_a_z_suffix_is_sent_to_opower_in_the_form_it_accepts(
    call: Call, sandbox: OpowerSandbox
) -> None:
    response = call(
        "GET",
        "/v1/me/usage/day/ELECTRICITY",
        query={"start": ["2026-10-01T00:00:00Z"], "end": ["2026-10-05T00:00:00Z"]},
    )

    assert response["statusCode"] == 200
    (received,) = [r for r in sandbox.received() if "/usage/" in r.path]
    assert received.query["start"] == ["2026-10-01T00:00:00-00:00"]


def test_home_profile_put_overwrites_customer_id_from_the_binding(
    call: Call, sandbox: OpowerSandbox
) -> None:
    profile = {"customerId": 1000002, "dwellingType": "MULTI_FAMILY", "squareFeet": 1234}

    put = call(
        "PUT",
        "/v1/me/home-profile",
        customer="UC-0001",
        body=json.dumps(profile),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    got = call("GET", "/v1/me/home-profile", customer="UC-0001")
    other = call("GET", "/v1/me/home-profile", customer="UC-0002")

    assert put["statusCode"] == 204
    assert put["body"] == ""
    assert body(got)["response"]["customerId"] == 1000001
    assert body(got)["response"]["squareFeet"] == 1234
    assert body(other)["response"]["squareFeet"] != 1234  # nobody else's profile changed
    (sent,) = [r for r in sandbox.received() if r.method == "PUT"]
    assert json.loads(sent.body)["customerId"] == 1000001
    assert "/customers/1000001/" in sent.path


def test_threshold_put_get_delete(call: Call) -> None:
    put = call(
        "PUT",
        "/v1/me/threshold",
        customer="UC-0003",
        body=json.dumps({"threshold": 120.5, "percentage": 90.5}),
        headers={"Content-Type": "application/json"},
    )
    got = call("GET", "/v1/me/threshold", customer="UC-0003")
    deleted = call("DELETE", "/v1/me/threshold", customer="UC-0003")
    gone = call("GET", "/v1/me/threshold", customer="UC-0003")

    assert put["statusCode"] == 204
    assert got["statusCode"] == 200
    # Get Threshold Value for a Customer: numbers (float), and who it is for.
    expected = {"threshold": 120.5, "percentage": 90.5, "utilityCode": "UTX",
                "utilityCustomerId": "UC-0003"}  # fmt: skip
    assert body(got)["response"] == expected
    assert deleted["statusCode"] == 204
    assert gone["statusCode"] == 404
    assert body(gone)["error"]["code"] == "not_found"
    # Delete Threshold for a Customer: Opower's 400 "No threshold found" for nothing to
    # delete is the customer's 404.
    again = call("DELETE", "/v1/me/threshold", customer="UC-0003")
    assert again["statusCode"] == 404
    assert body(again)["error"]["code"] == "not_found"


@pytest.mark.parametrize("sent", [{"threshold": 80}, {"percentage": 150}],
                         ids=["threshold-alone", "percentage-alone"])  # fmt: skip
def test_a_threshold_may_be_set_with_either_field_alone(
    call: Call, sandbox: OpowerSandbox, sent: dict[str, float]
) -> None:
    """Set or Update a Customer's Threshold (op-apis-threshold-v1-external-utilitycode-
    customers-utilitycustomerid-threshold-put): ExternalThresholdRequest requires neither
    `threshold` nor `percentage`; a request with neither sets nothing and is refused."""
    headers = {"Content-Type": "application/json"}
    put = call("PUT", "/v1/me/threshold", customer="UC-0003", body=json.dumps(sent),
               headers=headers)  # fmt: skip
    assert put["statusCode"] == 204, put["body"]
    (sent_upstream,) = [r for r in sandbox.received() if r.method == "PUT"]
    assert json.loads(sent_upstream.body) == sent
    empty = call("PUT", "/v1/me/threshold", customer="UC-0003", body="{}", headers=headers)
    assert empty["statusCode"] == 400
    assert body(empty)["error"]["message"] == "Give at least one of threshold, percentage"


@pytest.mark.parametrize("customer", sorted(CUSTOMERS))
def test_every_other_customers_account_ids_are_404_and_never_reach_opower(
    call: Call, sandbox: OpowerSandbox, customer: str
) -> None:
    others = {a for c, (_, _, ids) in CUSTOMERS.items() if c != customer for a in ids}
    others -= set(CUSTOMERS[customer][2])
    unknown = {9999999, 1000001, 0}

    answers = {
        a: call("GET", f"/v1/me/accounts/{a}/bill-comparison", customer=customer)
        for a in sorted(others | unknown)
    }

    assert {a: r["statusCode"] for a, r in answers.items()} == {a: 404 for a in answers}
    bodies = {json.dumps(body(r)["error"]["message"]) for r in answers.values()}
    assert len(bodies) == 1  # foreign and non-existent ids answer the same
    assert not [r for r in sandbox.received() if "bill-comparison" in r.path]


def test_the_preference_lists_documented_400_is_the_customers_refusal(
    call: Call, sandbox: OpowerSandbox
) -> None:
    """Get NotificationPreference List (op-apis-notification-contact-v1-utilitycode-
    customers-id-notification_contacts-contactid-notification_preferences-get): its one
    documented error is a 400 ErrorResponse; the customer gets the gateway's words."""
    contacts = body(call("GET", "/v1/me/contacts"))["response"]
    contact = (contacts if isinstance(contacts, list) else [contacts])[0]["id"]
    error = {"httpStatus": 400, "serviceErrorCode": "BAD_REQUEST", "errorMessage": "words"}
    sandbox.set_answers(notification_preferences={"status": 400, "body": error})

    refused = call("GET", f"/v1/me/contacts/{contact}/preferences")

    assert refused["statusCode"] == 400
    assert body(refused)["error"] == {
        "code": "rejected",
        "message": "Opower could not list this contact's notification preferences",
        "requestId": body(refused)["error"]["requestId"],
    }


@pytest.mark.parametrize(
    ("path", "given", "sent"),
    [
        # Get Daily Interval Usage: YYYY-MM-DD, YYYY-MM-DDThh:mm:ssTZD or ...ss.sTZD, and
        # "Use -00:00 for UTC as Z is not currently supported".
        ("/v1/me/usage/day/ELECTRICITY", ("2026-10-01T00:00-05:00", "2026-10-08T00:00Z"),
         ("2026-10-01T00:00:00-05:00", "2026-10-08T00:00:00-00:00")),
        ("/v1/me/usage/day/ELECTRICITY", ("2026-10-01", "2026-10-08T00:00:00.5-05:00"),
         ("2026-10-01", "2026-10-08T00:00:00.5-05:00")),
        # Get List of Neighbor Comparisons: start and end are string(date-time) only.
        ("/v1/me/neighbor-comparison/history/ELECTRICITY", ("2026-03-01", "2026-09-01"),
         ("2026-03-01T00:00:00-00:00", "2026-09-01T00:00:00-00:00")),
    ],
    ids=["usage-without-seconds-and-Z", "usage-documented-forms-unchanged",
         "neighbor-history-dates"],
)  # fmt: skip
def test_dates_are_sent_in_the_forms_the_pages_document(
    call: Call, sandbox: OpowerSandbox, path: str, given: tuple[str, str], sent: tuple[str, str]
) -> None:
    if "history" in path:  # within the page's last 12 months
        today = datetime.now(UTC).date()
        given = (
            (today - timedelta(days=200)).isoformat(),
            (today - timedelta(days=20)).isoformat(),
        )
        sent = tuple(f"{d}T00:00:00-00:00" for d in given)  # type: ignore[assignment]
    answer = call("GET", path, query={"start": [given[0]], "end": [given[1]]})

    assert answer["statusCode"] == 200, answer["body"]
    (request,) = [r for r in sandbox.received() if r.path.startswith("/apis/") and
                  ("/usage/" in r.path or "/bill/" in r.path)]  # fmt: skip
    assert (request.query["start"], request.query["end"]) == ([sent[0]], [sent[1]])
