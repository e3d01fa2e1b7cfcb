"""Contact preferences (`notification-contact-v1`): a customer's notification contacts and
each contact's notification preferences.

As Oracle's pages document them (docs.oracle.com/en/industries/energy-water/
digital-self-service/restapi/, overview `api-contact-preferences.html`, one
`op-apis-notification-contact-v1-…` page per operation), below
`notification-contact-v1/{U}/customers/{id}/notification_contacts`:

- `notification_contacts`: GET Get Notification Contact List, POST Create
  NotificationContact.
- `notification_contact`, `/{contactId}`: PUT Update NotificationContact, DELETE Delete
  NotificationContact (there is no documented GET of one contact: 405).
- `notification_preferences`, `/{contactId}/notification_preferences`: GET Get
  NotificationPreference List (items ``{id, notificationChannel, eventType}``; a 400
  ErrorResponse), POST Create NotificationPreference.
- `notification_preference`: GET `…/notification_preferences/{notificationChannel}/
  {eventType}` Get NotificationPreference; DELETE `…/notification_preferences/
  {preferenceId}` Delete NotificationPreference.
- `notification_channel`, `…/notification_preferences/channel/{notificationChannel}`:
  DELETE Delete NotificationChannel.

Documented: a contact is NotificationContactRequest `{name (required), email, phoneSMS,
phoneVoice, push}` plus `id` and `primary` (both required); a preference is
`{notificationChannel (EMAIL, IVR, SMS, PRINT, PUSH), eventType}` plus `id`; every
answer is `{"response": …}` and every write answers 200 (never 201 or 204); Delete
NotificationContact and Delete NotificationPreference answer the deleted object, Delete
NotificationChannel a 200 with no body; `auditAgency` is CUSTOMER, OTHER or UNKNOWN;
Delete NotificationChannel takes the channels EMAIL, IVR, SMS, PRINT (no PUSH) and a
required `source` (CSR, EMAIL, IVR, SMS, WEB) and an optional `comment`. "If the
notification preference is for the SMS channel, then the opt in workflow is also
triggered" (Create NotificationPreference); "If the update contains a phoneSMS, then the
opt in workflow is also triggered" (Update NotificationContact). Ids are integers and
"single-tenant": a contact or preference is found only under its own customer (and a
preference only under its own contact), else 404.

Assumptions (the pages do not say):
- Lists answer an array under `response`, even for one item (the nested schema is all
  the stored pages show); a customer without contacts answers `[]`.
- Ids are unique across the whole sandbox; a created contact is never primary; unknown
  body fields (`id`, `primary` among them) are ignored, as a tolerant reader would.
- PUT replaces the fields it gives and keeps the others (`name` is still required, the
  request schema's); a field given as null is removed.
- Account Center (`energy-management-overview/account-center.html`, outside the API
  reference): "the primary recipient cannot be removed", so deleting the primary contact
  is a 400; and "Basic validation is performed to ensure that the phone numbers and email
  addresses resemble real values", so an e-mail needs `x@y.z` and a phone 7 to 15 digits
  (with only spaces, `+`, `-`, `.`, parentheses besides).
- A preference needs the contact field of its channel (EMAIL: email, SMS: phoneSMS, IVR:
  phoneVoice, PUSH: push true; PRINT goes by post): else 400, and so is removing a field
  a preference still needs. A second preference for the same channel and eventType is a
  400 (Get NotificationPreference finds one by that pair). Deleting a channel without
  preferences is still a 200.
- The SMS opt-in workflow (double opt-in: the customer confirms by texting YES) is kept
  internally: each start (a created SMS preference; a PUT with a phoneSMS, even an
  unchanged one, as the page words it) marks the new preference, or every SMS preference
  of the contact, as awaiting confirmation, and is counted (`GET /_sandbox/stats`:
  `sms_opt_in_started`, and `sms_opt_in_awaiting` preferences); answers never show it. A
  contact created with a phoneSMS does not start it (the page does not say so; the SMS
  preference that follows does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from local.sandbox.data import Directory, SeedContact
from local.sandbox.errors import bad_request, not_found
from local.sandbox.inputs import RESPONSE, Handler, Params, choice, customer_by_id, json_object
from local.sandbox.messages import Request, Response, json_response

# NotificationPreferenceRequest's `notificationChannel`.
CHANNELS = ("EMAIL", "IVR", "SMS", "PRINT", "PUSH")
# Delete NotificationChannel's path parameter (PUSH is not listed there).
DELETABLE_CHANNELS = ("EMAIL", "IVR", "SMS", "PRINT")
AUDIT_AGENCIES = ("CUSTOMER", "OTHER", "UNKNOWN")
UNSUBSCRIBE_SOURCES = ("CSR", "EMAIL", "IVR", "SMS", "WEB")
# NotificationContactRequest's fields, in the order of the page's example.
CONTACT_FIELDS = ("name", "email", "phoneSMS", "phoneVoice", "push")
# The contact field a channel delivers to ("The phone number ... on the IVR channel").
CHANNEL_FIELD = {"EMAIL": "email", "SMS": "phoneSMS", "IVR": "phoneVoice", "PUSH": "push"}
SMS = "SMS"
# The route of Get NotificationPreference (by channel and event type), whose route name
# `notification_preference` it shares with Delete NotificationPreference (by id).
PREFERENCE_BY_EVENT = "notification_preference_by_event"

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"[0-9 +\-.()]+")


@dataclass
class Preference:
    """One notification preference of a contact."""

    id: int
    channel: str
    event_type: str
    # SMS: the double opt-in's "YES" is still awaited. Not part of any answer.
    awaiting_opt_in: bool = False

    def to_json(self) -> dict[str, object]:
        """NotificationPreference, as in the pages' example."""
        return {"id": self.id, "notificationChannel": self.channel, "eventType": self.event_type}


@dataclass
class Contact:
    """One notification contact: the request's fields, its id, and its preferences."""

    id: int
    fields: dict[str, object]
    primary: bool = False
    preferences: dict[int, Preference] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """NotificationContact, as in the pages' example (absent fields left out)."""
        body: dict[str, object] = {"id": self.id}
        body.update((name, self.fields[name]) for name in CONTACT_FIELDS if name in self.fields)
        body["primary"] = self.primary
        return body


class ContactBook:
    """One customer's contacts. Not locked itself: `MutableStore.contact_book` holds the
    store's lock while a request uses it."""

    def __init__(self, new_id: Callable[[], int], contacts: Iterable[Contact] = ()) -> None:
        self._new_id = new_id
        self._contacts = {c.id: c for c in contacts}
        self.sms_opt_ins_started = 0

    @classmethod
    def seeded(cls, seeds: Iterable[SeedContact], new_id: Callable[[], int]) -> ContactBook:
        """A book holding the seeded contacts (seeded SMS opt-ins already confirmed)."""
        contacts = []
        for seed in seeds:
            given = {"name": seed.name, "email": seed.email, "phoneSMS": seed.phone_sms,
                     "phoneVoice": seed.phone_voice}  # fmt: skip
            preferences = {
                p.id: Preference(p.id, p.channel, p.event_type) for p in seed.preferences
            }
            fields: dict[str, object] = {k: v for k, v in given.items() if v is not None}
            contacts.append(Contact(seed.id, fields, seed.primary, preferences))
        return cls(new_id, contacts)

    def contacts(self) -> list[Contact]:
        return list(self._contacts.values())

    def contact(self, raw_id: str) -> Contact:
        """The contact with that id in the path; 404 unless it is this customer's."""
        contact = self._contacts.get(int(raw_id)) if raw_id.isdecimal() else None
        if contact is None:
            raise not_found(f"Unknown notification contact {raw_id!r} for this customer")
        return contact

    def create(self, fields: dict[str, object]) -> Contact:
        contact = Contact(self._new_id(), {k: v for k, v in fields.items() if v is not None})
        self._contacts[contact.id] = contact
        return contact

    def update(self, contact: Contact, fields: dict[str, object]) -> Contact:
        """Replace the given fields (null: remove); 400 when a preference would lose the
        field its channel needs. A phoneSMS starts the SMS opt-in workflow."""
        updated = dict(contact.fields)
        for name, value in fields.items():
            if value is None:
                updated.pop(name, None)
            else:
                updated[name] = value
        for preference in contact.preferences.values():
            _require_channel_field(updated, preference.channel)
        contact.fields = updated
        if fields.get("phoneSMS") is not None:
            self._start_sms_opt_in(*(p for p in contact.preferences.values() if p.channel == SMS))
        return contact

    def delete(self, contact: Contact) -> Contact:
        if contact.primary:
            # Account Center: "the primary recipient cannot be removed" (an assumption
            # that the API refuses it too).
            raise bad_request("The primary notification contact cannot be deleted")
        return self._contacts.pop(contact.id)

    def add_preference(self, contact: Contact, channel: str, event_type: str) -> Preference:
        _require_channel_field(contact.fields, channel)
        if any(p.channel == channel and p.event_type == event_type
               for p in contact.preferences.values()):  # fmt: skip
            raise bad_request(f"The contact already has a {channel} {event_type} preference")
        preference = Preference(self._new_id(), channel, event_type)
        contact.preferences[preference.id] = preference
        if channel == SMS:
            self._start_sms_opt_in(preference)
        return preference

    def awaiting_opt_in(self) -> int:
        """How many SMS preferences wait for the customer's "YES"."""
        return sum(
            p.awaiting_opt_in for c in self._contacts.values() for p in c.preferences.values()
        )

    def _start_sms_opt_in(self, *preferences: Preference) -> None:
        """The double opt-in: a confirmation text goes out, and the SMS preferences (the
        new one, or every one of a contact whose phoneSMS changed) send nothing until the
        customer replies "YES"."""
        self.sms_opt_ins_started += 1
        for preference in preferences:
            preference.awaiting_opt_in = True


def _require_channel_field(fields: dict[str, object], channel: str) -> None:
    name = CHANNEL_FIELD.get(channel)
    if name is not None and not fields.get(name):
        raise bad_request(f"A {channel} preference needs the contact's {name}")


def contact_request(body: dict[str, object]) -> dict[str, object]:
    """The NotificationContactRequest fields of a body (others ignored): `name` a
    non-empty string (required), e-mail and phones strings that resemble real values,
    `push` a boolean; an optional field may be null."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name is required: the name of the notification contact")
    fields: dict[str, object] = {"name": name}
    for key in CONTACT_FIELDS[1:]:
        if key not in body:
            continue
        value = body[key]
        if value is not None and not _valid(key, value):
            raise bad_request(f"Invalid value for {key}")
        fields[key] = value
    return fields


def _valid(key: str, value: object) -> bool:
    if key == "push":
        return isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if key == "email":
        return _EMAIL.fullmatch(value) is not None
    digits = sum(c.isdigit() for c in value)
    return _PHONE.fullmatch(value) is not None and 7 <= digits <= 15


class ContactsApi:
    """The handlers of the notification-contact-v1 routes, over one company's customers
    and a way to borrow one customer's `ContactBook` (`MutableStore.contact_book`)."""

    def __init__(
        self,
        directory: Directory,
        contact_book: Callable[[int], AbstractContextManager[ContactBook]],
    ) -> None:
        self._directory = directory
        self._contact_book = contact_book

    def handlers(self) -> dict[str, dict[str, Handler]]:
        """Handlers by route (or resource) and method."""
        return {
            "notification_contacts": {"GET": self._list_contacts, "POST": self._create_contact},
            "notification_contact": {"PUT": self._update_contact, "DELETE": self._delete_contact},
            "notification_preferences": {
                "GET": self._list_preferences,
                "POST": self._create_preference,
            },
            PREFERENCE_BY_EVENT: {"GET": self._get_preference},
            "notification_preference": {"DELETE": self._delete_preference},
            "notification_channel": {"DELETE": self._delete_channel},
        }

    def _book(self, params: Params) -> AbstractContextManager[ContactBook]:
        return self._contact_book(customer_by_id(self._directory, params["customer"]).id)

    def _list_contacts(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            return _answer([c.to_json() for c in book.contacts()])

    def _create_contact(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            fields = contact_request(json_object(request, "NotificationContactRequest"))
            return _answer(book.create(fields).to_json())

    def _update_contact(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            contact = book.contact(params["contact"])
            fields = contact_request(json_object(request, "NotificationContactRequest"))
            return _answer(book.update(contact, fields).to_json())

    def _delete_contact(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            contact = book.contact(params["contact"])
            choice(request, "auditAgency", AUDIT_AGENCIES)
            return _answer(book.delete(contact).to_json())

    def _list_preferences(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            contact = book.contact(params["contact"])
            return _answer([p.to_json() for p in contact.preferences.values()])

    def _create_preference(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            contact = book.contact(params["contact"])
            body = json_object(request, "NotificationPreferenceRequest")
            channel, event_type = body.get("notificationChannel"), body.get("eventType")
            if channel not in CHANNELS:
                raise bad_request(f"notificationChannel must be one of {', '.join(CHANNELS)}")
            assert isinstance(channel, str)
            if not isinstance(event_type, str) or not event_type.strip():
                raise bad_request("eventType is required: the name of the communication")
            return _answer(book.add_preference(contact, channel, event_type).to_json())

    def _get_preference(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            contact = book.contact(params["contact"])
            channel, event_type = params["channel"], params["event"]
            if channel not in CHANNELS:
                raise bad_request(f"notificationChannel must be one of {', '.join(CHANNELS)}")
            for preference in contact.preferences.values():
                if (preference.channel, preference.event_type) == (channel, event_type):
                    return _answer(preference.to_json())
            raise not_found(f"No {channel} {event_type} preference for this contact")

    def _delete_preference(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            contact = book.contact(params["contact"])
            raw_id = params["preference"]
            preference = contact.preferences.get(int(raw_id)) if raw_id.isdecimal() else None
            if preference is None:
                raise not_found(f"Unknown notification preference {raw_id!r} for this contact")
            choice(request, "auditAgency", AUDIT_AGENCIES)
            del contact.preferences[preference.id]
            return _answer(preference.to_json())

    def _delete_channel(self, params: Params, request: Request) -> Response:
        with self._book(params) as book:
            contact = book.contact(params["contact"])
            channel = params["channel"]
            if channel not in DELETABLE_CHANNELS:
                raise bad_request(
                    f"notificationChannel must be one of {', '.join(DELETABLE_CHANNELS)}"
                )
            choice(request, "source", UNSUBSCRIBE_SOURCES, required=True)
            choice(request, "auditAgency", AUDIT_AGENCIES)
            for preference in [p for p in contact.preferences.values() if p.channel == channel]:
                del contact.preferences[preference.id]
            # Delete NotificationChannel: 200 "The notification preferences were
            # successfully deleted", no body documented: an empty one.
            return Response(200)


def _answer(payload: object) -> Response:
    return json_response(200, {RESPONSE: payload})
