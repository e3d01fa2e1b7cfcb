"""The customer-app routes' requests, checked before anything leaves the gateway: contacts
and their preferences (Create / Update NotificationContact, Create NotificationPreference,
Delete NotificationChannel), energy breakdown (Get Annual / Bill Disaggregation), tips
(Get Tip List, Update Tip Action), the bill period and the neighbor comparison history.
Oracle's pages give the shapes; the forms of an e-mail address or a phone number are the
gateway's own rules (the pages give none)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.auth_context import BindingView
from gateway.proxy.validation import RequestError, Upstream, build_upstream
from tests.events import match_path

BINDING = BindingView("1000001", "UC-0001", frozenset({"2000001", "2000002"}))
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def upstream(
    method: str,
    path: str,
    query: Mapping[str, list[str]] | None = None,
    body: Any = None,
) -> Upstream:
    route, operation, params = match_path(path, method)
    data = None if body is None else json.dumps(body).encode()
    return build_upstream(
        route, operation, params, query, data, "application/json" if data else None,
        binding=BINDING, utility_code="UTX", now=NOW,
    )  # fmt: skip


def refused(*args: Any, **kwargs: Any) -> RequestError:
    with pytest.raises(RequestError) as error:
        upstream(*args, **kwargs)
    return error.value


def test_contact_writes_reach_the_customers_own_contacts_with_their_id_from_the_binding() -> None:
    created = upstream("POST", "/v1/me/contacts", body={"name": "Ada", "email": "ada@example.com"})
    assert (
        created.path == "/apis/notification-contact-v1/UTX/customers/1000001/notification_contacts"
    )
    assert json.loads(created.body or b"") == {"name": "Ada", "email": "ada@example.com"}

    removed = upstream("DELETE", "/v1/me/contacts/41")
    assert removed.path.endswith("/customers/1000001/notification_contacts/41")
    # Who acted is the customer, whatever the request says.
    assert removed.query == (("auditAgency", "CUSTOMER"),)
    assert refused("DELETE", "/v1/me/contacts/41", {"auditAgency": ["OTHER"]}).status == 400


def test_a_channel_unsubscribe_says_the_customer_did_it_on_the_web() -> None:
    answer = upstream("DELETE", "/v1/me/contacts/41/channels/SMS")
    assert answer.path.endswith("/notification_contacts/41/notification_preferences/channel/SMS")
    assert answer.query == (("source", "WEB"), ("auditAgency", "CUSTOMER"))
    # Delete NotificationChannel takes EMAIL, IVR, SMS or PRINT (not PUSH).
    assert refused("DELETE", "/v1/me/contacts/41/channels/PUSH").status == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "ada@example.com"}, "Missing required field 'name'"),
        ({"name": "Ada"}, "Give at least one of email, phoneSMS, phoneVoice"),
        ({"name": "Ada", "email": "ada@"}, "'email' must be an e-mail address"),
        # A trailing newline is a control character too (where "$" alone would let it by).
        ({"name": "Ada\n", "email": "ada@example.com"}, "printable text"),
        ({"name": "Ada", "email": "ada@example.com\n"}, "printable text"),
        ({"name": "Ada", "phoneSMS": "12345"}, "'phoneSMS' must be a phone number of 7 to 15"),
        ({"name": "Ada", "phoneSMS": "1" * 16}, "'phoneSMS' must be a phone number"),
        ({"name": "Ada", "phoneVoice": "call me"}, "'phoneVoice' must be a phone number"),
        ({"name": "Ada", "email": "a@b.co", "push": "yes"}, "'push' must be true or false"),
        ({"name": "Ada", "email": "a@b.co", "primary": True}, "Unknown field 'primary'"),
        ({"name": "x" * 101, "email": "a@b.co"}, "at most 100"),
    ],
)
def test_a_contact_the_gateway_cannot_vouch_for_is_a_400_naming_the_fix(
    body: dict[str, Any], message: str
) -> None:
    # An update names only what changes (the rest is the contact's own): the name and a
    # way to reach the contact are asked of a new one only.
    new_only = message.startswith(("Missing required field", "Give at least one"))
    changes = [] if new_only else [("PUT", "/v1/me/contacts/41")]
    for method, path in (("POST", "/v1/me/contacts"), *changes):
        error = refused(method, path, body=body)
        assert error.status == 400
        assert message in error.message


def test_an_update_naming_nothing_is_refused() -> None:
    error = refused("PUT", "/v1/me/contacts/41", body={})
    assert error.status == 400
    assert error.message.startswith("Give at least one of name, email")


@pytest.mark.parametrize(
    "phone", ["555-123-1234", "(555) 123-1234", "+1 555 123 1234", "+44 20 7946 0958"]
)
def test_phone_numbers_in_the_usual_forms_pass(phone: str) -> None:
    answer = upstream("POST", "/v1/me/contacts", body={"name": "Ada", "phoneSMS": phone})
    assert json.loads(answer.body or b"")["phoneSMS"] == phone


def test_a_preference_names_a_documented_channel_and_a_code() -> None:
    path = "/v1/me/contacts/41/preferences"
    answer = upstream("POST", path, body={"notificationChannel": "SMS", "eventType": "HIGH_BILL"})
    assert answer.path.endswith("/notification_contacts/41/notification_preferences")
    assert (
        refused("POST", path, body={"notificationChannel": "FAX", "eventType": "X"}).status == 400
    )
    bad = refused("POST", path, body={"notificationChannel": "SMS", "eventType": "high bill"})
    assert "upper-case letters" in bad.message


@pytest.mark.parametrize("contact", ["abc", "-1", "1.5", "4" * 20])
def test_an_id_that_is_not_one_is_a_400_before_any_list_is_asked(contact: str) -> None:
    assert refused("PUT", f"/v1/me/contacts/{contact}", body={"name": "A", "email": "a@b.co"})


def test_the_energy_breakdown_account_must_be_the_customers_own() -> None:
    answer = upstream("GET", "/v1/me/energy-breakdown", {"accountId": ["2000002"]})
    assert answer.path == (
        "/apis/disaggregation-v1/utilities/UTX/customers/1000001/consumption/categories"
    )
    assert answer.query == (("utilityAccountId", "2000002"),)
    # Not yours and not existing: the same 404, nothing asked.
    assert refused("GET", "/v1/me/energy-breakdown", {"accountId": ["2000003"]}).status == 404
    assert refused("GET", "/v1/me/energy-breakdown", {"fuelType": ["ELECTRICITY"]}).status == 400


def test_a_bill_breakdown_needs_the_bills_dates_in_order() -> None:
    path = "/v1/me/energy-breakdown/bill"
    dates = {"billStartDate": ["2026-10-01"], "billEndDate": ["2026-10-31"]}
    ok = upstream("GET", path, dates)
    assert ok.path.endswith("/customers/1000001/bills/consumption/categories")
    backwards = {"billStartDate": ["2026-10-31"], "billEndDate": ["2026-10-01"]}
    assert "before 'billEndDate'" in refused("GET", path, backwards).message
    assert "billEndDate" in refused("GET", path, {"billStartDate": ["2026-10-01"]}).message


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ({"limit": ["3"]}, True),
        ({"limit": ["0"]}, False),
        ({"limit": ["101"]}, False),
        ({"limit": ["1e3"]}, False),
        ({"limit": ["٣"]}, False),  # another script's digit
        ({"locale": ["en_US"]}, True),
        ({"locale": ["en-US"]}, False),
        ({"channel": ["WEB"]}, True),
        ({"channel": ["SMS"]}, False),
    ],
)
def test_tips_queries(query: dict[str, list[str]], ok: bool) -> None:
    if ok:
        assert upstream("GET", "/v1/me/tips", query).path.endswith("/customers/1000001/tips/list")
    else:
        assert refused("GET", "/v1/me/tips", query).status == 400


def test_a_tip_action_is_one_of_the_documented_statuses() -> None:
    path = "/v1/me/tips/tip018_improve_window_shading/action"
    answer = upstream("POST", path, body={"status": "DONE"})
    assert answer.path.endswith("/customers/1000001/tips/tip018_improve_window_shading/action")
    assert refused("POST", path, body={"status": "MAYBE"}).status == 400
    assert refused("POST", "/v1/me/tips/..%2F/action", body={"status": "DONE"}).status == 400


def test_the_bill_period_is_of_one_of_the_customers_accounts() -> None:
    answer = upstream("GET", "/v1/me/accounts/2000001/bill-period", {"asOf": ["2026-11-01"]})
    assert answer.path == "/apis/billforecast-v2/UTX/accounts/2000001/bill-period"
    assert refused("GET", "/v1/me/accounts/2000003/bill-period").status == 404


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ({}, True),
        ({"start": ["2026-01-01"], "end": ["2026-11-01"]}, True),
        ({"start": ["2026-11-01"], "end": ["2026-01-01"]}, False),
        ({"start": ["2024-01-01"]}, False),  # beyond the 12 months Opower keeps
        ({"end": ["9999-12-31T00:00:00-05:00"]}, False),
    ],
)
def test_the_neighbor_history_window(query: dict[str, list[str]], ok: bool) -> None:
    path = "/v1/me/neighbor-comparison/history/COMBINED"
    if ok:
        assert upstream("GET", path, query).path == (
            "/apis/neighborComparison-v1/bill/UTX/UC-0001/COMBINED"
        )
    else:
        assert refused("GET", path, query).status == 400


@pytest.mark.parametrize("name", ["Ada " + chr(c) for c in (0xD800, 0xDFFF, 0xFDD0, 0xFFFF)])
def test_text_that_is_no_text_is_refused(name: str) -> None:
    """A lone surrogate (JSON's \\ud800 escape) is not UTF-8, and noncharacters are not
    for interchange: neither reaches Opower, where they could spoil the customer's list."""
    error = refused("POST", "/v1/me/contacts", body={"name": name, "email": "a@b.co"})
    assert "printable text" in error.message
