"""The customer-app routes through the real authorizer and proxy, the sandbox over HTTP
(answering as Oracle's pages document: Get Notification Contact List, Create / Update /
Delete NotificationContact, Create / Delete NotificationPreference, Delete
NotificationChannel, Get Annual / Bill Disaggregation, Get Tip List / Tip Name List /
Tip, Update / Delete Tip Action, Get Bill Period, Get List of Neighbor Comparisons).

What matters most: every id a customer names of their own things at Opower (a contact, a
preference, a tip) is accepted only once it is in their own list from Opower; another
customer's is the same 404 as an id that does not exist, and Opower is never asked for it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway import opower_answers, wiring
from handlers.proxy import handler as proxy_handler
from local.sandbox import OpowerSandbox
from tests.events import ACCOUNT, LambdaContext, service_event
from tests.integration.proxy.conftest import Call

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


def body(answer: dict[str, Any]) -> Any:
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])


def contacts(call: Call, customer: str) -> list[dict[str, Any]]:
    return opower_answers.items(body(call("GET", "/v1/me/contacts", customer=customer)))


def asked(sandbox: OpowerSandbox, fragment: str, method: str | None = None, since: int = 0) -> int:
    return sum(
        1
        for r in sandbox.received()[since:]
        if fragment in r.path and (method is None or r.method == method)
    )


def write(call: Call, method: str, path: str, document: Any = None, **options: Any) -> Any:
    data = None if document is None else json.dumps(document)
    return call(method, path, body=data, headers=JSON if data else None, **options)


def test_a_customer_manages_their_own_contacts_and_alerts(call: Call) -> None:
    before = contacts(call, "UC-0001")
    created = body(
        write(call, "POST", "/v1/me/contacts", {"name": "Ada", "email": "ada@example.com"})
    )["response"]
    assert created["name"] == "Ada"
    contact = created["id"]
    # The list is asked again after the write (the cached one was removed).
    assert len(contacts(call, "UC-0001")) == len(before) + 1

    update = {"name": "Ada L.", "email": "ada@example.com", "phoneSMS": "555-123-1234"}
    changed = write(call, "PUT", f"/v1/me/contacts/{contact}", update)
    assert body(changed)["response"]["name"] == "Ada L."

    preferences = f"/v1/me/contacts/{contact}/preferences"
    sms = body(write(call, "POST", preferences,
                     {"notificationChannel": "SMS", "eventType": "HIGH_BILL_ALERT"}))  # fmt: skip
    listed = opower_answers.items(body(call("GET", preferences)))
    assert sms["response"]["id"] in [p["id"] for p in listed]

    removed = write(call, "DELETE", f"{preferences}/{sms['response']['id']}")
    assert removed["statusCode"] == 200
    assert sms["response"]["id"] not in [
        p["id"] for p in opower_answers.items(body(call("GET", preferences)))
    ]
    assert write(call, "DELETE", f"/v1/me/contacts/{contact}/channels/EMAIL")["statusCode"] == 200
    assert write(call, "DELETE", f"/v1/me/contacts/{contact}")["statusCode"] == 200
    assert contact not in [c["id"] for c in contacts(call, "UC-0001")]
    # Gone: the same 404 as any id that is not the customer's.
    assert write(call, "DELETE", f"/v1/me/contacts/{contact}")["statusCode"] == 404


def test_a_contact_update_keeps_what_the_customer_left_out_whatever_opower_does(
    call: Call, sandbox: OpowerSandbox
) -> None:
    """Update NotificationContact's page does not say whether its PUT replaces the contact
    or merges the fields sent: the gateway sends the whole contact as Opower lists it now
    (asked of Opower, not the cache), with the customer's fields over it, so an app that
    changes the name does not wipe the SMS number under either reading."""
    contact = {"name": "Ada", "email": "ada@example.com", "phoneSMS": "555-123-1234"}
    created = body(write(call, "POST", "/v1/me/contacts", contact))["response"]
    before = len(sandbox.received())

    changed = write(call, "PUT", f"/v1/me/contacts/{created['id']}", {"name": "Ada L."})

    assert body(changed)["response"]["phoneSMS"] == "555-123-1234"
    (put,) = [r for r in sandbox.received()[before:] if r.method == "PUT"]
    sent = json.loads(put.body)
    assert sent["name"] == "Ada L."
    assert (sent["email"], sent["phoneSMS"]) == ("ada@example.com", "555-123-1234")
    assert "id" not in sent  # only the fields the request schema has
    listed = [r for r in sandbox.received()[before:] if r.method == "GET"]
    assert listed[-1].path.endswith("/notification_contacts")  # asked of Opower, fresh
    gone = write(call, "PUT", "/v1/me/contacts/99999999", {"name": "x"})
    assert gone["statusCode"] == 404


def test_another_customers_contact_preference_and_tip_are_404_and_opower_is_not_asked(
    call: Call, sandbox: OpowerSandbox
) -> None:
    theirs = contacts(call, "UC-0002")[0]["id"]
    their_preferences = opower_answers.items(
        body(call("GET", f"/v1/me/contacts/{theirs}/preferences", customer="UC-0002"))
    )
    their_tips = set(
        opower_answers.payload(body(call("GET", "/v1/me/tip-names", customer="UC-0002")))
    )
    mine = contacts(call, "UC-0001")[0]["id"]
    my_tips = set(opower_answers.payload(body(call("GET", "/v1/me/tip-names"))))
    foreign_tip = sorted(their_tips - my_tips)[0] if their_tips - my_tips else "tip999_unknown"
    since = len(sandbox.received())

    probes = [
        ("PUT", f"/v1/me/contacts/{theirs}", {"name": "Mallory", "email": "m@example.com"}),
        ("DELETE", f"/v1/me/contacts/{theirs}", None),
        ("GET", f"/v1/me/contacts/{theirs}/preferences", None),
        ("POST", f"/v1/me/contacts/{theirs}/preferences",
         {"notificationChannel": "EMAIL", "eventType": "HOME_ENERGY"}),
        ("DELETE", f"/v1/me/contacts/{theirs}/channels/EMAIL", None),
        ("DELETE", f"/v1/me/contacts/{theirs}/preferences/{their_preferences[0]['id']}", None),
        # Their preference under my own contact: listed under theirs, not mine.
        ("DELETE", f"/v1/me/contacts/{mine}/preferences/{their_preferences[0]['id']}", None),
        ("GET", f"/v1/me/tips/{foreign_tip}", None),
        ("POST", f"/v1/me/tips/{foreign_tip}/action", {"status": "DONE"}),
        ("DELETE", f"/v1/me/tips/{foreign_tip}/action", None),
        ("PUT", "/v1/me/contacts/999999999", {"name": "Nobody", "email": "n@example.com"}),
    ]  # fmt: skip
    for method, path, document in probes:
        answer = write(call, method, path, document)
        assert answer["statusCode"] == 404, (method, path, answer)
        assert json.loads(answer["body"])["error"]["code"] == "not_found"
    # Opower saw only the customer's own lists: no call about their contact, preference
    # or tip, nor about a contact that does not exist.
    assert asked(sandbox, f"/notification_contacts/{theirs}", since=since) == 0
    assert asked(sandbox, f"/tips/{foreign_tip}", since=since) == 0
    assert asked(sandbox, "/notification_contacts/999999999", since=since) == 0
    assert asked(sandbox, "/notification_preferences/", "DELETE", since=since) == 0
    assert asked(sandbox, "/notification_contacts", "PUT", since=since) == 0


def test_a_tip_action_shows_in_the_tip_at_once(call: Call) -> None:
    names = opower_answers.payload(body(call("GET", "/v1/me/tip-names")))
    tip = names[0]
    before = body(call("GET", f"/v1/me/tips/{tip}"))  # now cached
    assert before["response"]["tipName"] == tip

    assert body(write(call, "POST", f"/v1/me/tips/{tip}/action", {"status": "DONE"})) == {
        "response": True
    }
    assert body(call("GET", f"/v1/me/tips/{tip}"))["response"]["status"] == "DONE"
    listed = {t["tipName"]: t for t in opower_answers.payload(body(call("GET", "/v1/me/tips")))}
    assert listed[tip]["status"] == "DONE"
    assert body(write(call, "DELETE", f"/v1/me/tips/{tip}/action")) == {"response": True}
    assert body(call("GET", f"/v1/me/tips/{tip}"))["response"]["status"] == "NOT_YET"


def test_the_energy_breakdown_of_a_home_opower_has_no_model_of_is_said_so(call: Call) -> None:
    answer = body(call("GET", "/v1/me/energy-breakdown"))
    categories = answer["response"]["categories"]
    assert categories
    assert all(0 <= c["ratio"] <= 1 for c in categories)

    none = call("GET", "/v1/me/energy-breakdown", customer="UC-0004")
    assert none["statusCode"] == 404
    assert json.loads(none["body"])["error"]["code"] == "no_breakdown"


def test_reads_of_the_customer_app(call: Call, sandbox: OpowerSandbox) -> None:
    account = CUSTOMER_ACCOUNT
    bill = body(call("GET", f"/v1/me/accounts/{account}/bill-period"))
    assert "response" in bill
    history = body(call("GET", "/v1/me/neighbor-comparison/history/ELECTRICITY"))
    assert history["response"]["neighborComparisons"]
    assert asked(sandbox, "/neighborComparison-v1/bill/UTX/UC-0001/ELECTRICITY") == 1
    dates = {"billStartDate": ["2026-10-01"], "billEndDate": ["2026-10-31"]}
    period = body(call("GET", "/v1/me/energy-breakdown/bill", query=dates))
    assert all({"ratio", "cost", "usage"} <= set(c) for c in period["response"]["categories"]
               if c["name"] != "TOTAL")  # fmt: skip


CUSTOMER_ACCOUNT = 2000001


def test_the_service_api_holds_the_named_customer_to_their_own_things_too(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workload acting for UC-0001 (named in signed headers) reaches UC-0001's contacts
    and nobody else's, by the same rule and with the same 404."""
    theirs = contacts(call, "UC-0002")[0]["id"]
    mine = contacts(call, "UC-0001")[0]["id"]
    monkeypatch.setenv("SERVICE_PRINCIPALS", f"arn:aws:iam::{ACCOUNT}:role/high-bill-alerts")
    wiring.reset()

    def service(path: str) -> dict[str, Any]:
        named = {"Opower-Utility-Customer-Id": "UC-0001", "Opower-Account-Number": "4100000001"}
        return proxy_handler(service_event("GET", path, headers=named), LambdaContext())  # type: ignore[arg-type]

    since = len(sandbox.received())
    assert service(f"/v1/service/contacts/{mine}/preferences")["statusCode"] == 200
    refused = service(f"/v1/service/contacts/{theirs}/preferences")
    assert refused["statusCode"] == 404
    assert asked(sandbox, f"/notification_contacts/{theirs}", since=since) == 0


def test_with_the_cache_on_a_list_seen_serves_the_ownership_checks_and_writes_refresh_it(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customer's list is asked once while fresh (it is their GET's cached answer);
    a contact they add through the gateway removes it, so their new id is theirs at once."""
    monkeypatch.setenv("CACHE_ENABLED", "true")
    wiring.reset()
    mine = contacts(call, "UC-0001")[0]["id"]
    since = len(sandbox.received())
    for _ in range(3):
        preferences = call("GET", f"/v1/me/contacts/{mine}/preferences")
        assert preferences["statusCode"] == 200
    lists = [r for r in sandbox.received()[since:] if r.path.endswith("/notification_contacts")]
    assert lists == []  # the list the first GET stored answered every check

    created = body(
        write(call, "POST", "/v1/me/contacts", {"name": "Bo", "phoneVoice": "5551231234"})
    )
    new = created["response"]["id"]
    assert call("GET", f"/v1/me/contacts/{new}/preferences")["statusCode"] == 200


@pytest.mark.parametrize(
    ("form", "sent"), [("number", "4100000003"), ("opower_id", "2000004")],
    ids=["the-pages-number", "opowers-id"],
)  # fmt: skip
def test_the_breakdown_names_the_account_as_the_setting_says(
    call: Call, sandbox: OpowerSandbox, monkeypatch: pytest.MonkeyPatch, form: str, sent: str
) -> None:
    """Get Annual Disaggregation's utilityAccountId is the "Utility customer account ID":
    the utility's account number, the name Get Utility Account List gives it. The customer
    names the account by its id (as every route does), and the gateway sends its number,
    from the customer's accounts answer; disaggregation_account_id=opower_id sends the id,
    for a tier that answers that instead (make opower-check tells which)."""
    monkeypatch.setenv("DISAGGREGATION_ACCOUNT_ID", form)
    wiring.reset()
    before = len(sandbox.received())

    answer = call("GET", "/v1/me/energy-breakdown", customer="UC-0002",
                  query={"accountId": ["2000004"], "fuelType": ["GAS"]})  # fmt: skip

    (breakdown,) = [r for r in sandbox.received()[before:] if "/consumption/" in r.path]
    assert breakdown.query["utilityAccountId"] == [sent]
    # The sandbox follows the page: the number is found, Opower's own id is not.
    assert answer["statusCode"] == (200 if form == "number" else 404), answer["body"]


def test_always_on_usage_as_get_always_on_documents_it(call: Call, sandbox: OpowerSandbox) -> None:
    """Get Always-On (op-apis-disaggregation-v1-utilities-utilitycode-customers-customerid-
    consumption-alwayson-get): `{"response": {ratio, value, startDate, endDate}}` for the
    account named by its number (utilityAccountId, required); its 404 ("Customer account not
    found, has no AMI or always-on usage", an ExternalError) is the customer's own words."""
    answer = call("GET", "/v1/me/energy-breakdown/always-on", customer="UC-0002",
                  query={"accountId": ["2000003"]})  # fmt: skip

    response = body(answer)["response"]
    assert set(response) == {"ratio", "value", "startDate", "endDate"}
    assert 0 < response["ratio"] < 1
    assert response["value"] > 0
    (sent,) = [r for r in sandbox.received() if r.path.endswith("/consumption/alwayson")]
    assert sent.query["utilityAccountId"] == ["4100000003"]
    missing = call("GET", "/v1/me/energy-breakdown/always-on", customer="UC-0004",
                   query={"accountId": ["2000001"]})  # fmt: skip
    assert missing["statusCode"] == 404  # not theirs: refused before Opower
    sandbox.set_answers(always_on={"status": 404, "body": {"error": {
        "httpStatus": 404, "errorMessage": "Customer account not found"}}})  # fmt: skip
    none = call("GET", "/v1/me/energy-breakdown/always-on", customer="UC-0003",
                query={"accountId": ["2000005"]})  # fmt: skip
    assert none["statusCode"] == 404
    assert json.loads(none["body"])["error"]["code"] == "no_always_on"
    without = call("GET", "/v1/me/energy-breakdown/always-on", customer="UC-0002")
    assert without["statusCode"] == 400  # the page requires the account
