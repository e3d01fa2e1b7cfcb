"""Contact preferences (notification-contact-v1): notification contacts and their
notification preferences, per customer, in the sandbox's mutable store.

Oracle's pages (tests/contracts/opower/NEW-OPERATIONS.md, section 1), each example kept as
a fixture beside it: Get Notification Contact List, Create / Update / Delete
NotificationContact, Get NotificationPreference List (page not found, named in the
overview), Get / Create / Delete NotificationPreference, Delete NotificationChannel.
What they do not say is the sandbox's, as `local.sandbox.contacts` documents it.
"""

from __future__ import annotations

from typing import Any

import pytest
import urllib3

from local.sandbox import OpowerSandbox
from local.sandbox.config import SECOND_CLIENT_ID, SECOND_CLIENT_SECRET, SECOND_UTILITY_CODE
from tests.integration.sandbox.documented_examples import assert_shape, documented
from tests.integration.sandbox.sandbox_client import SandboxClient, U, basic, opower_response

pytestmark = pytest.mark.integration

CONTACTS = f"notification-contact-v1/{U}/customers/{{}}/notification_contacts"
# Optional NotificationContactRequest fields: the example shows all but push.
CONTACT_OPTIONAL = ("email", "phoneSMS", "phoneVoice", "push")
ADA, GRACE = 1000001, 1000002
ADA_CONTACT, GRACE_CONTACT = 5000001, 5000002
FIRST_CREATED_ID = 7000001
V = SECOND_UTILITY_CODE


def contacts_path(customer: int) -> str:
    return CONTACTS.format(customer)


def preferences_path(customer: int, contact: int) -> str:
    return f"{contacts_path(customer)}/{contact}/notification_preferences"


def call(
    client: SandboxClient, token: str, method: str, path: str, body: object = None
) -> urllib3.BaseHTTPResponse:
    return client.api(method, path, token=token, json_body=body)


def answered(response: urllib3.BaseHTTPResponse, status: int = 200) -> Any:
    assert response.status == status, response.data
    return opower_response(response.json())


def assert_error(response: urllib3.BaseHTTPResponse, status: int) -> None:
    """A flat ErrorResponse {httpStatus, serviceErrorCode, errorMessage, details}."""
    assert response.status == status, response.data
    body = response.json()
    assert set(body) == {"httpStatus", "serviceErrorCode", "errorMessage", "details"}
    assert body["httpStatus"] == status


def second_token(client: SandboxClient) -> str:
    """A token of the second company's client (its paths refuse the first's)."""
    response = client.token_request(authorization=basic(SECOND_CLIENT_ID, SECOND_CLIENT_SECRET))
    assert response.status == 200
    return str(response.json()["access_token"])


def routes_counted(sandbox: OpowerSandbox) -> set[str]:
    return set(sandbox.stats()["requests"]) - {"token"}


# -- contacts ----------------------------------------------------------------------------
def test_contact_list_has_the_documented_shape(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get Notification Contact List: an array of NotificationContact under `response`
    (the fixture's), each `{id, name, email, phoneSMS, phoneVoice, primary}` with the
    optional fields present only when the contact has them. UC-0001's seeded primary
    contact has an e-mail and an SMS phone, no voice phone."""
    fixture = documented("get-notification-contacts")

    response = call(client, token, "GET", contacts_path(ADA))

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"], optional=CONTACT_OPTIONAL)
    assert response.json() == {
        "response": [
            {
                "id": ADA_CONTACT,
                "name": "Ada Lovelace",
                "email": "ada.lovelace@example.com",
                "phoneSMS": "555-010-0001",
                "primary": True,
            }
        ]
    }
    assert routes_counted(sandbox) == {fixture["sandbox_route"]}


def test_a_customer_without_contacts_lists_none(client: SandboxClient, token: str) -> None:
    """Sandbox seed: UC-0004 (no utility account) has no contact: an empty array."""
    assert answered(call(client, token, "GET", contacts_path(1000004))) == []


def test_create_contact_answers_the_contact_and_the_list_shows_it(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Create NotificationContact: 200 (not 201) "The notification contact was created
    successfully." with the NotificationContact: the request's fields, an integer `id`
    and `primary` false. Unknown fields (`id`, `primary`, `nickname`) are ignored."""
    fixture = documented("create-notification-contact")
    body = {**fixture["request"], "id": 1, "primary": True, "nickname": "JD"}

    created = call(client, token, "POST", contacts_path(ADA), body)
    listed = answered(call(client, token, "GET", contacts_path(ADA)))

    assert created.status == fixture["status"]
    assert_shape(created.json(), fixture["example"], optional=CONTACT_OPTIONAL)
    contact = opower_response(created.json())
    assert contact == {"id": FIRST_CREATED_ID, **fixture["request"], "primary": False}
    assert [c["id"] for c in listed] == [ADA_CONTACT, FIRST_CREATED_ID]
    assert listed[1] == contact
    assert routes_counted(sandbox) == {fixture["sandbox_route"]}


def test_created_ids_are_unique_across_customers_and_companies(
    client: SandboxClient, token: str
) -> None:
    """Sandbox rule: one id sequence for contacts and preferences of every customer and
    company, so that another customer's id always exists (and must be refused as such).
    A created contact is not primary, even a customer's first one (assumed)."""
    first = answered(call(client, token, "POST", contacts_path(GRACE), {"name": "A"}))
    preference = answered(
        call(
            client,
            token,
            "POST",
            preferences_path(GRACE, GRACE_CONTACT),
            {"notificationChannel": "PRINT", "eventType": "HOME_ENERGY"},
        ),
    )
    other_company = client.api(
        "POST",
        f"notification-contact-v1/{V}/customers/3000002/notification_contacts",
        token=second_token(client),
        json_body={"name": "B"},
    )
    second = answered(call(client, token, "POST", contacts_path(1000004), {"name": "C"}))

    assert [first["id"], preference["id"], answered(other_company)["id"], second["id"]] == [
        FIRST_CREATED_ID,
        FIRST_CREATED_ID + 1,
        FIRST_CREATED_ID + 2,
        FIRST_CREATED_ID + 3,
    ]
    assert second["primary"] is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": 5},
        {"name": None, "email": "jane@example.com"},
        ["name"],
        "Jane",
    ],
)
def test_a_contact_needs_a_name(client: SandboxClient, token: str, body: object) -> None:
    """NotificationContactRequest: `name` (string) is required: 400 ErrorResponse."""
    assert_error(call(client, token, "POST", contacts_path(ADA), body), 400)
    assert len(answered(call(client, token, "GET", contacts_path(ADA)))) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "not-an-email"},
        {"email": 7},
        {"phoneSMS": "call me"},
        {"phoneSMS": "12345"},
        {"phoneVoice": "555-010-0002-555-010-0002"},
        {"push": "yes"},
    ],
)
def test_contact_fields_must_resemble_real_values(
    client: SandboxClient, token: str, fields: dict[str, object]
) -> None:
    """Account Center: "Basic validation is performed to ensure that the phone numbers and
    email addresses resemble real values" (an assumption that the API does it too); push
    is a boolean on the page."""
    response = call(client, token, "POST", contacts_path(ADA), {"name": "Jane", **fields})

    assert_error(response, 400)


def test_a_body_must_be_json(client: SandboxClient, token: str) -> None:
    """As every write of the sandbox: `application/json`, valid JSON; else 400."""
    as_text = client.api(
        "POST",
        contacts_path(ADA),
        token=token,
        body='{"name": "Jane"}',
        headers={"Content-Type": "text/plain"},
    )
    broken = client.api(
        "POST",
        contacts_path(ADA),
        token=token,
        body="{",
        headers={"Content-Type": "application/json"},
    )

    assert_error(as_text, 400)
    assert_error(broken, 400)


def test_update_contact_replaces_the_given_fields(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Update NotificationContact: 200 "The returned entity reflects the updated values."
    The sandbox replaces the fields given and keeps the others (an assumption); no phoneSMS
    in the update: no SMS opt-in."""
    fixture = documented("update-notification-contact")

    response = call(
        client,
        token,
        "PUT",
        f"{contacts_path(ADA)}/{ADA_CONTACT}",
        {"name": "Ada King", "phoneVoice": "555-010-0009", "push": False},
    )
    listed = answered(call(client, token, "GET", contacts_path(ADA)))

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"], optional=CONTACT_OPTIONAL)
    updated = {
        "id": ADA_CONTACT,
        "name": "Ada King",
        "email": "ada.lovelace@example.com",
        "phoneSMS": "555-010-0001",
        "phoneVoice": "555-010-0009",
        "push": False,
        "primary": True,
    }
    assert opower_response(response.json()) == updated
    assert listed == [updated]
    assert sandbox.stats()["sms_opt_in_started"] == 0
    assert routes_counted(sandbox) == {fixture["sandbox_route"], "notification_contacts"}


def test_an_update_with_a_phone_sms_starts_the_opt_in(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Update NotificationContact: "If the update contains a phoneSMS, then the opt in
    workflow is also triggered." The sandbox counts it and marks the contact's SMS
    preference as awaiting the customer's "YES"; the answer keeps the documented shape."""
    path = f"{contacts_path(ADA)}/{ADA_CONTACT}"

    response = call(
        client, token, "PUT", path, {"name": "Ada Lovelace", "phoneSMS": "555-010-0007"}
    )
    preferences = answered(call(client, token, "GET", preferences_path(ADA, ADA_CONTACT)))

    contact = answered(response)
    assert set(contact) == {"id", "name", "email", "phoneSMS", "primary"}
    assert contact["phoneSMS"] == "555-010-0007"
    assert all(set(p) == {"id", "notificationChannel", "eventType"} for p in preferences)
    stats = sandbox.stats()
    assert (stats["sms_opt_in_started"], stats["sms_opt_in_awaiting"]) == (1, 1)


def test_a_field_a_preference_needs_cannot_be_removed(client: SandboxClient, token: str) -> None:
    """Sandbox rule: a field given as null is removed, unless a preference still needs it
    (Ada's SMS preference needs her phoneSMS): 400, nothing changed. Once the SMS channel
    is deleted, the phone can go."""
    path = f"{contacts_path(ADA)}/{ADA_CONTACT}"
    body = {"name": "Ada Lovelace", "phoneSMS": None}

    refused = call(client, token, "PUT", path, body)
    kept = answered(call(client, token, "GET", contacts_path(ADA)))[0]
    unsubscribed = call(
        client, token, "DELETE", preferences_path(ADA, ADA_CONTACT) + "/channel/SMS?source=WEB"
    )
    accepted = call(client, token, "PUT", path, body)

    assert_error(refused, 400)
    assert kept["phoneSMS"] == "555-010-0001"
    assert unsubscribed.status == 200
    assert "phoneSMS" not in answered(accepted)


def test_delete_contact_answers_the_deleted_contact(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Delete NotificationContact: 200 "The notification contact was deleted successfully."
    with the deleted NotificationContact; `auditAgency` CUSTOMER is one of the documented
    values. It is gone from the list, and a second delete is a 404."""
    fixture = documented("delete-notification-contact")
    request = documented("create-notification-contact")["request"]
    created = answered(call(client, token, "POST", contacts_path(ADA), request))
    path = f"{contacts_path(ADA)}/{created['id']}"

    deleted = call(client, token, "DELETE", path + "?auditAgency=CUSTOMER")
    listed = answered(call(client, token, "GET", contacts_path(ADA)))
    again = call(client, token, "DELETE", path)

    assert deleted.status == fixture["status"]
    assert_shape(deleted.json(), fixture["example"], optional=CONTACT_OPTIONAL)
    assert opower_response(deleted.json()) == created
    assert [c["id"] for c in listed] == [ADA_CONTACT]
    assert_error(again, 404)
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1, "404": 1}


def test_the_primary_contact_cannot_be_deleted(client: SandboxClient, token: str) -> None:
    """Account Center: "The primary recipient cannot be removed" (an assumption that the
    API refuses it as a 400)."""
    response = call(client, token, "DELETE", f"{contacts_path(ADA)}/{ADA_CONTACT}")

    assert_error(response, 400)
    assert len(answered(call(client, token, "GET", contacts_path(ADA)))) == 1


def test_audit_agency_must_be_a_documented_value(client: SandboxClient, token: str) -> None:
    """Delete NotificationContact / NotificationPreference: auditAgency is CUSTOMER, OTHER
    or UNKNOWN."""
    created = answered(call(client, token, "POST", contacts_path(ADA), {"name": "Jane"}))
    contact = f"{contacts_path(ADA)}/{created['id']}"
    preference = f"{preferences_path(ADA, ADA_CONTACT)}/6000001"

    assert_error(call(client, token, "DELETE", contact + "?auditAgency=SELF"), 400)
    assert_error(call(client, token, "DELETE", preference + "?auditAgency=customer"), 400)
    assert call(client, token, "DELETE", contact + "?auditAgency=OTHER").status == 200
    assert call(client, token, "DELETE", preference + "?auditAgency=UNKNOWN").status == 200


# -- preferences -------------------------------------------------------------------------
def test_preference_list_has_the_documented_shape(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get NotificationPreference List (named in the overview; its page was not found):
    an array of NotificationPreference `{id, notificationChannel, eventType}`."""
    fixture = documented("get-notification-preferences")

    response = call(client, token, "GET", preferences_path(GRACE, GRACE_CONTACT))

    assert response.status == fixture["status"]
    assert_shape(response.json(), fixture["example"])
    assert opower_response(response.json()) == [
        {"id": 6000003, "notificationChannel": "EMAIL", "eventType": "HIGH_BILL_ALERT"},
        {"id": 6000004, "notificationChannel": "EMAIL", "eventType": "HOME_ENERGY"},
    ]
    assert routes_counted(sandbox) == {fixture["sandbox_route"]}


def test_get_one_preference_by_channel_and_event_type(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Get NotificationPreference: "The notification preference that matched the request."
    by `{notificationChannel}/{eventType}`; none matching: 404 (the fixture's inference)."""
    fixture = documented("get-notification-preference")
    path = preferences_path(GRACE, GRACE_CONTACT)

    found = call(client, token, "GET", f"{path}/EMAIL/HOME_ENERGY")
    missing = call(client, token, "GET", f"{path}/SMS/HOME_ENERGY")
    invalid = call(client, token, "GET", f"{path}/FAX/HOME_ENERGY")

    assert found.status == fixture["status"]
    assert_shape(found.json(), fixture["example"])
    assert opower_response(found.json()) == {
        "id": 6000004,
        "notificationChannel": "EMAIL",
        "eventType": "HOME_ENERGY",
    }
    assert_error(missing, 404)
    assert_error(invalid, 400)
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {
        "200": 1,
        "400": 1,
        "404": 1,
    }


def test_create_preference_is_visible_to_the_next_read(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Create NotificationPreference: 200 "The notification preference was created
    successfully." with the NotificationPreference. An EMAIL preference starts no SMS
    opt-in."""
    fixture = documented("create-notification-preference")
    path = preferences_path(1000003, 5000003)

    created = call(client, token, "POST", path, {**fixture["request"], "eventType": "OUTAGE"})
    found = call(client, token, "GET", f"{path}/EMAIL/OUTAGE")
    listed = answered(call(client, token, "GET", path))

    assert created.status == fixture["status"]
    assert_shape(created.json(), fixture["example"])
    preference = opower_response(created.json())
    assert preference == {
        "id": FIRST_CREATED_ID,
        "notificationChannel": "EMAIL",
        "eventType": "OUTAGE",
    }
    assert answered(found) == preference
    assert listed[-1] == preference
    assert sandbox.stats()["sms_opt_in_started"] == 0
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 2}


def test_an_sms_preference_starts_the_opt_in(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Create NotificationPreference: "If the notification preference is for the SMS
    channel, then the opt in workflow is also triggered." The new preference awaits the
    customer's "YES" (Ada's seeded one stays confirmed); nothing of it is in the answer."""
    response = call(
        client,
        token,
        "POST",
        preferences_path(ADA, ADA_CONTACT),
        {"notificationChannel": "SMS", "eventType": "HOME_ENERGY"},
    )

    assert answered(response) == {
        "id": FIRST_CREATED_ID,
        "notificationChannel": "SMS",
        "eventType": "HOME_ENERGY",
    }
    stats = sandbox.stats()
    assert (stats["sms_opt_in_started"], stats["sms_opt_in_awaiting"]) == (1, 1)


@pytest.mark.parametrize(
    ("customer", "contact", "body"),
    [
        pytest.param(GRACE, GRACE_CONTACT, {"notificationChannel": "SMS", "eventType": "X"},
                     id="SMS-without-phoneSMS"),
        pytest.param(GRACE, GRACE_CONTACT, {"notificationChannel": "IVR", "eventType": "X"},
                     id="IVR-without-phoneVoice"),
        pytest.param(GRACE, GRACE_CONTACT, {"notificationChannel": "PUSH", "eventType": "X"},
                     id="PUSH-without-push"),
        pytest.param(ADA, ADA_CONTACT, {"notificationChannel": "FAX", "eventType": "X"},
                     id="unknown-channel"),
        pytest.param(ADA, ADA_CONTACT, {"notificationChannel": "email", "eventType": "X"},
                     id="lower-case-channel"),
        pytest.param(ADA, ADA_CONTACT, {"notificationChannel": "EMAIL"}, id="no-eventType"),
        pytest.param(ADA, ADA_CONTACT, {"notificationChannel": "EMAIL", "eventType": ""},
                     id="empty-eventType"),
        pytest.param(ADA, ADA_CONTACT, {"eventType": "X"}, id="no-channel"),
        pytest.param(ADA, ADA_CONTACT,
                     {"notificationChannel": "EMAIL", "eventType": "HIGH_BILL_ALERT"},
                     id="already-there"),
        pytest.param(ADA, ADA_CONTACT, ["EMAIL"], id="not-an-object"),
    ],
)  # fmt: skip
def test_invalid_preferences_are_400(
    client: SandboxClient,
    token: str,
    sandbox: OpowerSandbox,
    customer: int,
    contact: int,
    body: object,
) -> None:
    """NotificationPreferenceRequest: `notificationChannel` (EMAIL, IVR, SMS, PRINT, PUSH)
    and `eventType` are required. Sandbox rules: the contact needs the channel's field
    (SMS phoneSMS, IVR phoneVoice, PUSH push), and a pair is there at most once. No
    refused SMS preference starts an opt-in."""
    before = answered(call(client, token, "GET", preferences_path(customer, contact)))

    response = call(client, token, "POST", preferences_path(customer, contact), body)

    assert_error(response, 400)
    assert answered(call(client, token, "GET", preferences_path(customer, contact))) == before
    assert sandbox.stats()["sms_opt_in_started"] == 0


def test_a_print_preference_needs_no_contact_field(client: SandboxClient, token: str) -> None:
    """Sandbox rule: PRINT goes by post, so Grace's contact (e-mail only) may have one."""
    response = call(
        client,
        token,
        "POST",
        preferences_path(GRACE, GRACE_CONTACT),
        {"notificationChannel": "PRINT", "eventType": "HOME_ENERGY"},
    )

    assert answered(response)["notificationChannel"] == "PRINT"


def test_delete_preference_answers_the_deleted_preference(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Delete NotificationPreference: 200 "The notification preference was deleted
    successfully." with the deleted NotificationPreference; gone from the list, then 404."""
    fixture = documented("delete-notification-preference")
    path = f"{preferences_path(GRACE, GRACE_CONTACT)}/6000003"

    deleted = call(client, token, "DELETE", path + "?auditAgency=CUSTOMER")
    listed = answered(call(client, token, "GET", preferences_path(GRACE, GRACE_CONTACT)))
    again = call(client, token, "DELETE", path)

    assert deleted.status == fixture["status"]
    assert_shape(deleted.json(), fixture["example"])
    assert opower_response(deleted.json()) == {
        "id": 6000003,
        "notificationChannel": "EMAIL",
        "eventType": "HIGH_BILL_ALERT",
    }
    assert [p["id"] for p in listed] == [6000004]
    assert_error(again, 404)
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 1, "404": 1}


def test_delete_channel_deletes_its_preferences_and_answers_no_body(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """Delete NotificationChannel: 200 "The notification preferences were successfully
    deleted", no body documented (the fixture's example is null): an empty one. Every
    preference of that channel goes; a channel without any is still a 200 (assumed)."""
    fixture = documented("delete-notification-channel")
    channel = f"{preferences_path(GRACE, GRACE_CONTACT)}/channel/EMAIL"

    deleted = call(
        client, token, "DELETE", f"{channel}?source=WEB&auditAgency=CUSTOMER&comment=moved"
    )
    listed = answered(call(client, token, "GET", preferences_path(GRACE, GRACE_CONTACT)))
    again = call(client, token, "DELETE", f"{channel}?source=CSR")

    assert fixture["example"] is None
    assert (deleted.status, deleted.data) == (fixture["status"], b"")
    assert listed == []
    assert (again.status, again.data) == (200, b"")
    assert sandbox.stats()["requests"][fixture["sandbox_route"]] == {"200": 2}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?source=",
        "?source=web",
        "?source=PHONE",
        "?source=WEB&auditAgency=ME",
    ],
)
def test_delete_channel_needs_a_documented_source(
    client: SandboxClient, token: str, query: str
) -> None:
    """Delete NotificationChannel: `source` is required, one of CSR, EMAIL, IVR, SMS, WEB;
    `auditAgency` one of CUSTOMER, OTHER, UNKNOWN. Nothing is deleted."""
    path = f"{preferences_path(GRACE, GRACE_CONTACT)}/channel/EMAIL{query}"

    assert_error(call(client, token, "DELETE", path), 400)
    assert len(answered(call(client, token, "GET", preferences_path(GRACE, GRACE_CONTACT)))) == 2


@pytest.mark.parametrize("channel", ["PUSH", "FAX", "email"])
def test_delete_channel_takes_the_documented_channels(
    client: SandboxClient, token: str, channel: str
) -> None:
    """Delete NotificationChannel's path lists EMAIL, IVR, SMS and PRINT (no PUSH)."""
    path = f"{preferences_path(ADA, ADA_CONTACT)}/channel/{channel}?source=WEB"

    assert_error(call(client, token, "DELETE", path), 400)


# -- tenancy and routing -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("PUT", f"{contacts_path(ADA)}/{GRACE_CONTACT}", {"name": "X"},
                     id="update-another-customers-contact"),
        pytest.param("DELETE", f"{contacts_path(ADA)}/{GRACE_CONTACT}", None,
                     id="delete-another-customers-contact"),
        pytest.param("GET", preferences_path(ADA, GRACE_CONTACT), None,
                     id="list-another-customers-preferences"),
        pytest.param("POST", preferences_path(ADA, GRACE_CONTACT),
                     {"notificationChannel": "EMAIL", "eventType": "X"},
                     id="create-under-another-customers-contact"),
        pytest.param("GET", preferences_path(ADA, GRACE_CONTACT) + "/EMAIL/HOME_ENERGY", None,
                     id="get-another-customers-preference"),
        pytest.param("DELETE", preferences_path(ADA, ADA_CONTACT) + "/6000003", None,
                     id="delete-another-customers-preference"),
        pytest.param("DELETE", preferences_path(ADA, GRACE_CONTACT) + "/6000003", None,
                     id="delete-through-another-customers-contact"),
        pytest.param("DELETE",
                     preferences_path(ADA, GRACE_CONTACT) + "/channel/EMAIL?source=WEB", None,
                     id="delete-another-customers-channel"),
        pytest.param("PUT", f"{contacts_path(ADA)}/5100001", {"name": "X"},
                     id="the-other-companys-contact"),
        pytest.param("GET", contacts_path(9999999), None, id="unknown-customer"),
        pytest.param("GET", contacts_path(3000001), None, id="the-other-companys-customer"),
        pytest.param("PUT", f"{contacts_path(ADA)}/abc", {"name": "X"}, id="non-integer-id"),
        pytest.param("DELETE", preferences_path(ADA, ADA_CONTACT) + "/x1", None,
                     id="non-integer-preference-id"),
        pytest.param("GET", "notification-contact-v1/XYZ/customers/1000001/notification_contacts",
                     None, id="unknown-utility"),
    ],
)  # fmt: skip
def test_ids_of_another_customer_are_404(
    client: SandboxClient, token: str, method: str, path: str, body: object
) -> None:
    """The ids are "single-tenant": a contact exists only under its customer and a
    preference only under its contact (Grace's contact 5000002 and preference 6000003,
    the other company's contact 5100001 all exist). 404 before any body check, and
    nothing changes."""
    response = call(client, token, method, path, body)

    assert_error(response, 404)
    grace = answered(call(client, token, "GET", preferences_path(GRACE, GRACE_CONTACT)))
    assert [p["id"] for p in grace] == [6000003, 6000004]


def test_a_preference_of_another_contact_of_the_same_customer_is_404(
    client: SandboxClient, token: str
) -> None:
    """A preference belongs to one contact: Ada's second contact's preference is not
    found through her first contact."""
    babbage = {"name": "Charles Babbage", "email": "charles@example.com"}
    second = answered(call(client, token, "POST", contacts_path(ADA), babbage))
    preference = answered(
        call(
            client,
            token,
            "POST",
            preferences_path(ADA, second["id"]),
            {"notificationChannel": "EMAIL", "eventType": "HOME_ENERGY"},
        ),
    )

    response = call(
        client, token, "DELETE", f"{preferences_path(ADA, ADA_CONTACT)}/{preference['id']}"
    )

    assert_error(response, 404)
    assert answered(call(client, token, "GET", preferences_path(ADA, second["id"]))) == [preference]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", f"{contacts_path(ADA)}/{ADA_CONTACT}", "PUT, DELETE"),
        ("DELETE", contacts_path(ADA), "GET, POST"),
        ("GET", preferences_path(ADA, ADA_CONTACT) + "/6000001", "DELETE"),
        ("DELETE", preferences_path(ADA, ADA_CONTACT) + "/EMAIL/HIGH_BILL_ALERT", "GET"),
        ("GET", preferences_path(ADA, ADA_CONTACT) + "/channel/EMAIL", "DELETE"),
    ],
)
def test_undocumented_methods_are_405(
    client: SandboxClient, token: str, method: str, path: str, allow: str
) -> None:
    """No page documents a GET of one contact, or a GET of a preference by id: 405 with
    the methods that are documented there."""
    response = call(client, token, method, path)

    assert_error(response, 405)
    assert response.headers["Allow"] == allow


def test_writes_are_the_sandboxes_until_a_reset(
    client: SandboxClient, token: str, sandbox: OpowerSandbox
) -> None:
    """The store is the sandbox's, so `make dev` and tests see their own changes; a reset
    restores the seeds, the id sequence and the opt-in count."""
    call(client, token, "POST", contacts_path(ADA), {"name": "Jane"})
    call(
        client,
        token,
        "POST",
        preferences_path(ADA, ADA_CONTACT),
        {"notificationChannel": "SMS", "eventType": "OUTAGE"},
    )

    sandbox.reset()

    token = client.token()
    assert [c["id"] for c in answered(call(client, token, "GET", contacts_path(ADA)))] == [
        ADA_CONTACT
    ]
    assert len(answered(call(client, token, "GET", preferences_path(ADA, ADA_CONTACT)))) == 2
    assert sandbox.stats()["sms_opt_in_started"] == 0
    created = answered(call(client, token, "POST", contacts_path(ADA), {"name": "Jane"}))
    assert created["id"] == FIRST_CREATED_ID
