"""Energy saving tips (`tips-v1`): a customer's prioritized tips and the action the
customer took on each.

As Oracle's pages document them (overview docs.oracle.com/en/industries/utilities/
digital-self-service/restapi/api-tips.html; one `op-apis-tips-v1-…` page per
operation), below `tips-v1/{U}/energy_guide/customers/{id}`:

- `tip_names`, GET `/tips?channel&limit&locale`, Get Tip Name List: `{"response":
  [tip name]}`, "sorted by the customer's expected savings, highest first".
- `tip_list`, GET `/tips/list?channel&limit&locale`, Get Tip List: `{"response": [Tip]}`
  in the same order, each Tip as the page's example: `{tipName, title, score, group,
  fuelType [..], costCategory, image, status, numParticipating, season [..], why,
  shortBody, longBody}` (shortBody and longBody HTML).
- `tip`, GET `/tips/{tipId}?locale`, Get Tip: `{"response": Tip}`.
- `tip_action`, POST `/tips/{tipId}/action` `{"status": DONE | WILL_DO | NO_THANKS |
  NOT_YET}`, Update Tip Action, and DELETE `/tips/{tipId}/action`, Delete Tip Action
  (back to NOT_YET, "Idempotent, repeatable invocations do not lead to an error"): both
  `{"response": true}`. "Default value for all of a customer's tips is NOT_YET". Errors
  400 "Invalid request", 404 "Customer not found".

`limit` is a string on the pages ("If limit not specified then all tips are
retrieved"); `locale` is `language_territory` and "Only locales supported by the utility
are allowed"; `channel` is "Channel to retrieve tips (VOICE, WEB)", not formally an enum.

Assumptions (the pages do not say):
- The catalog below (tip018_improve_window_shading is the pages' example, its texts
  verbatim but for the dash Oracle's example shows mis-encoded as "???"; the other names
  are from Get Tip Name List's example, their texts the sandbox's). A customer's tips are
  those for a fuel of its utility accounts (gas tips only with a gas account), none
  without an account; a score is the tip's base score scaled by 0.80 to 1.20, fixed per
  customer and tip.
- `limit` must be a positive integer, `locale` must look like `en_US` and the sandbox
  utility supports only `en_US` (400 otherwise); `channel` is accepted whatever it is and
  changes nothing.
- A tip name that is not one of the customer's tips is a 404, as an unknown customer is;
  a POST body other than an object whose `status` is one of the four is a 400 (other
  fields are ignored).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from local.sandbox.data import ELEC, GAS, Customer, Directory
from local.sandbox.errors import bad_request, not_found
from local.sandbox.inputs import RESPONSE, Handler, Params, customer_by_id, json_object
from local.sandbox.messages import Request, Response, json_response
from local.sandbox.store import NOT_YET, MutableStore

STATUSES = ("DONE", "WILL_DO", "NO_THANKS", "NOT_YET")
SUPPORTED_LOCALES = ("en_US",)
_LOCALE = re.compile(r"[a-z]{2}_[A-Z]{2}")
_ALL_YEAR = ("WINTER", "SPRING", "SUMMER", "FALL")


@dataclass(frozen=True)
class Tip:
    """One catalog tip; `score` and `status` are the customer's."""

    name: str
    title: str
    group: str
    fuels: tuple[str, ...]
    cost_category: str
    base_score: float
    participating: int
    seasons: tuple[str, ...]
    why: str
    short_body: str
    long_body: str

    def score_for(self, customer: Customer) -> float:
        key = f"{customer.id}|{self.name}".encode()
        spread = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % 41
        return round(self.base_score * (80 + spread) / 100, 5)

    def to_json(self, customer: Customer, status: str) -> dict[str, object]:
        """The Tip of Get Tip List's and Get Tip's example, field for field."""
        return {
            "tipName": self.name,
            "title": self.title,
            "score": self.score_for(customer),
            "group": self.group,
            "fuelType": list(self.fuels),
            "costCategory": self.cost_category,
            "image": f"{self.name}.jpg",
            "status": status,
            "numParticipating": self.participating,
            "season": list(self.seasons),
            "why": self.why,
            "shortBody": self.short_body,
            "longBody": self.long_body,
        }


CATALOG: tuple[Tip, ...] = (
    Tip(
        "tip018_improve_window_shading", "Improve shading for windows", "COOLING", (ELEC,),
        "SMART_PURCHASE", 215.68625, 4984, ("SUMMER", "SPRING"),
        "If the sun creates overwhelming heat in your home during the warmer months, you may "
        "wish to make targeted investments to improve the way you shade your windows.",
        "<p>Window shades can help you stay cooler in the summer and warmer in the winter.</p>\n"
        "<p>Shading the outside of your windows with awnings, shutters, solar blinds, or solar "
        "screening will most effectively block summer heat, while indoor window treatments "
        "insulate well in the winter.</p>\n<p>Use what's right for each window. Pay special "
        "attention to windows that face south, east, and west and receive the most "
        "sunlight.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Provide adequate shade \u2013 "
        "especially to windows that face south, west, or east, since they let in the most heat "
        "in summer months.</li>\n</ul>",
    ),
    Tip(
        "tip001_buy_energy_star", "Choose ENERGY STAR appliances", "APPLIANCES", (ELEC, GAS),
        "SMART_PURCHASE", 240.0, 3120, _ALL_YEAR,
        "Appliances account for a large share of the energy your home uses every day.",
        "<p>When an appliance needs replacing, look for the ENERGY STAR label: certified "
        "models use less energy for the same work.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Compare the yearly running cost "
        "on the label, not only the price.</li>\n</ul>",
    ),
    Tip(
        "tip015_maintain_ac", "Keep your air conditioner tuned up", "COOLING", (ELEC,),
        "LOW_COST", 120.5, 2210, ("SPRING", "SUMMER"),
        "A well-maintained air conditioner cools your home with less electricity.",
        "<p>Clean or replace the filter monthly in summer and have the unit serviced "
        "before the hot season.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Keep the outdoor unit clear of "
        "leaves and plants.</li>\n</ul>",
    ),
    Tip(
        "tip047_use_efficient_lighting", "Switch to LED lighting", "LIGHTING", (ELEC,),
        "LOW_COST", 95.2, 6532, _ALL_YEAR,
        "Lighting is on for hours every day, so efficient bulbs pay back quickly.",
        "<p>Replace the bulbs you use most with LEDs: they use a fraction of the energy and "
        "last for years.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Start with the fixtures that are "
        "on longest.</li>\n</ul>",
    ),
    Tip(
        "tip059_use_power_strips", "Use advanced power strips", "ELECTRONICS", (ELEC,),
        "LOW_COST", 60.75, 2875, _ALL_YEAR,
        "Many electronics draw power even when they are switched off.",
        "<p>An advanced power strip cuts power to your TV's accessories when the TV is "
        "off.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Group devices that are used "
        "together on one strip.</li>\n</ul>",
    ),
    Tip(
        "tip010_hang_dry_laundry", "Hang-dry your laundry", "APPLIANCES", (ELEC,),
        "NO_COST", 48.3, 1432, ("SPRING", "SUMMER"),
        "Clothes dryers are among the most energy-hungry appliances in a home.",
        "<p>Dry clothes on a line or a rack whenever the weather allows.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Towels and heavy items dry well "
        "outdoors in summer.</li>\n</ul>",
    ),
    Tip(
        "tip070_reduce_water_heater_temperature", "Lower your water heater temperature",
        "WATER_HEATING", (GAS,), "NO_COST", 150.4, 5210, _ALL_YEAR,
        "Water heaters are often set hotter than needed, which wastes gas all year.",
        "<p>Set your water heater to 120\u00b0F: hot enough for most homes.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Check the dial after a service "
        "visit.</li>\n</ul>",
    ),
    Tip(
        "tip069_install_efficient_showerheads", "Install efficient showerheads",
        "WATER_HEATING", (GAS,), "LOW_COST", 110.9, 3980, _ALL_YEAR,
        "Less hot water through the shower means less gas to heat it.",
        "<p>A WaterSense showerhead uses at most 2 gallons a minute without a weaker "
        "shower.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Most showerheads can be swapped "
        "by hand in minutes.</li>\n</ul>",
    ),
    Tip(
        "tip071_turn_off_water_heater_when_away", "Turn down your water heater when away",
        "WATER_HEATING", (GAS,), "NO_COST", 35.6, 1287, _ALL_YEAR,
        "A water heater keeps its tank hot while nobody is home to use it.",
        "<p>Set your water heater to its vacation setting when you leave for more than a "
        "few days.</p>",
        "<strong>Things to think about:</strong>\n<ul>\n<li>Most gas water heaters have a "
        "VAC setting.</li>\n</ul>",
    ),
)  # fmt: skip


def tips_of(directory: Directory, customer: Customer) -> list[Tip]:
    """The customer's tips, highest score first (ties by name)."""
    fuels = directory.fuels_of(customer)
    mine = [tip for tip in CATALOG if any(f in fuels for f in tip.fuels)]
    return sorted(mine, key=lambda tip: (-tip.score_for(customer), tip.name))


class TipsApi:
    """The handlers of the tips-v1 routes, over one company's customers and store."""

    def __init__(self, directory: Directory, store: MutableStore) -> None:
        self._directory = directory
        self._store = store

    def handlers(self) -> dict[str, dict[str, Handler]]:
        """Handlers by route and method."""
        return {
            "tip_names": {"GET": self._names},
            "tip_list": {"GET": self._list},
            "tip": {"GET": self._tip},
            "tip_action": {"POST": self._update_action, "DELETE": self._delete_action},
        }

    def _names(self, params: Params, request: Request) -> Response:
        _, tips = self._listed(params, request)
        return _answer([tip.name for tip in tips])

    def _list(self, params: Params, request: Request) -> Response:
        customer, tips = self._listed(params, request)
        return _answer([self._tip_json(customer, tip) for tip in tips])

    def _tip(self, params: Params, request: Request) -> Response:
        customer, tip = self._customer_tip(params)
        _locale(request)
        return _answer(self._tip_json(customer, tip))

    def _update_action(self, params: Params, request: Request) -> Response:
        customer, tip = self._customer_tip(params)
        status = json_object(request, "TipActionUpdateRequest").get("status")
        if status not in STATUSES:
            raise bad_request(f"status must be one of {', '.join(STATUSES)}")
        assert isinstance(status, str)
        self._store.set_tip_status(customer.id, tip.name, status)
        return _answer(True)

    def _delete_action(self, params: Params, request: Request) -> Response:
        customer, tip = self._customer_tip(params)
        self._store.set_tip_status(customer.id, tip.name, NOT_YET)
        return _answer(True)

    def _listed(self, params: Params, request: Request) -> tuple[Customer, list[Tip]]:
        customer = customer_by_id(self._directory, params["customer"])
        limit = request.single("limit")
        if limit is not None and not (limit.isdecimal() and int(limit) >= 1):
            raise bad_request("'limit' must be a positive integer")
        _locale(request)
        tips = tips_of(self._directory, customer)
        return customer, tips[: int(limit)] if limit is not None else tips

    def _customer_tip(self, params: Params) -> tuple[Customer, Tip]:
        customer = customer_by_id(self._directory, params["customer"])
        for tip in tips_of(self._directory, customer):
            if tip.name == params["tip"]:
                return customer, tip
        raise not_found(f"Unknown tip {params['tip']!r} for this customer")

    def _tip_json(self, customer: Customer, tip: Tip) -> dict[str, object]:
        return tip.to_json(customer, self._store.tip_status(customer.id, tip.name))


def _locale(request: Request) -> None:
    locale = request.single("locale")
    if locale is None:
        return
    if not _LOCALE.fullmatch(locale):
        raise bad_request("'locale' must be language_territory, such as en_US")
    if locale not in SUPPORTED_LOCALES:
        raise bad_request(f"Locale {locale} is not supported by the utility")


def _answer(payload: object) -> Response:
    return json_response(200, {RESPONSE: payload})
