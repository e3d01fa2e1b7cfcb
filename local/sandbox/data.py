"""Deterministic synthetic customers of the sandbox utility.

Fixed ids make tests and demos reproducible. The set covers the shapes the gateway must
handle when it binds a session to Opower ids:

| Opower id | utilityCustomerId | account numbers        | utility accounts (id: fuel, meter)     |
|-----------|-------------------|------------------------|----------------------------------------|
| 1000001   | UC-0001           | 4100000001, 4100000002 | 2000001: ELEC 15', 2000002: ELEC 60'   |
| 1000002   | UC-0002           | 4100000003             | 2000003: ELEC 15', 2000004: GAS 60' *  |
| 1000003   | UC-0003           | 4100000004             | 2000005: ELEC 15'                      |
| 1000004   | UC-0004           | 4100000005             | none                                   |
| 1000005   | UC-0005           | 4100000004             | 2000006: ELEC 15' (moved out)          |

UC-0005 is the previous occupant of account 4100000004, so a lookup by that account
number returns two customers and the gateway must filter on `utilityCustomerId`.
UC-0001 has two electricity service points (two usage streams, one 15-minute and one
hourly). * 2000004 has no modeled rates: its bill forecast is usage only.

Seeded per customer (the mutable parts restored by a reset); every contact is its
customer's primary one, named as the customer:

- 1000001: contact 5000001 (email, phoneSMS); preferences 6000001 EMAIL
  HIGH_BILL_ALERT, 6000002 SMS HIGH_BILL_ALERT (its opt-in already confirmed).
- 1000002: contact 5000002 (email); 6000003 EMAIL HIGH_BILL_ALERT, 6000004 EMAIL
  HOME_ENERGY.
- 1000003: contact 5000003 (email, phoneVoice); 6000005 EMAIL HOME_ENERGY.
- 1000004: no contact.
- 1000005: contact 5000005 (email); 6000006 EMAIL HOME_ENERGY.

Contact and preference ids are unique across the whole sandbox (both companies'; created
ones are numbered from 7000001), so another customer's id exists and must still be a 404.

Disaggregation models: 1000001, 1000002 and 1000005 (whose usage ends in 2021). Not
1000004 (no account), nor 1000003, whose geothermal heat pump Opower (in the sandbox) has
no heating model for: "If heating or cooling model insights are not available, the
disaggregation insights are not calculated" (Get Annual Disaggregation), so its breakdown
is a 404 although the customer and its account exist.

Tips: each customer gets the catalog's tips for its fuels (`tips.CATALOG`); 1000004 none.
1000001 has tip018_improve_window_shading at WILL_DO, every other tip starts at NOT_YET.

A second operating company (`SECOND`, served when the sandbox is given a second utility
code) has customers of its own; one of them has the same `utilityCustomerId` and account
number as UC-0001 of the first, as happens across two companies' CIS systems:

| Opower id | utilityCustomerId | account numbers | utility accounts (id: fuel)   |
|-----------|-------------------|-----------------|-------------------------------|
| 3000001   | UC-0001           | 4100000001      | 4000001: ELEC                 |
| 3000002   | UC-2002           | 5200000002      | 4000002: GAS, 4000003: ELEC   |

Each has a primary contact (5100001, 5100002 with preferences 6100001: EMAIL
HIGH_BILL_ALERT, 6100002: EMAIL HOME_ENERGY), a disaggregation model and tips for its fuels.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

ELEC = "ELEC"
GAS = "GAS"
# The usage API names fuels differently from the utility-account `meterType`.
FUEL_OF_METER = MappingProxyType({ELEC: "ELECTRICITY", GAS: "GAS"})
# The meter resolutions the sandbox's accounts use, as raw interval lengths in seconds
# (consumption is generated per 15 minutes; a five-minute meter's intervals are thirds of
# those, local/sandbox/consumption: Get Utility Account List's resolution enumeration
# includes FIVE_MINUTE).
RAW_INTERVAL_S = MappingProxyType(
    {"FIVE_MINUTE": 300, "QUARTER_HOUR": 900, "HALF_HOUR": 1800, "HOUR": 3600}
)
# Where the first company's service points are: days are counted from midnight there.
TIMEZONE = "America/Chicago"


@dataclass(frozen=True)
class Customer:
    """An Opower customer record as returned by Get Customer List."""

    id: int
    utility_customer_id: str
    name: str
    recipient: str
    utility_internal_id: str
    utility_internal_id2: str | None
    account_numbers: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The Get Customer List item (Oracle's page: ``recipient``, ``utilityInternalId``
        and ``utilityInternalId2`` are optional; an absent one is left out)."""
        item: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "recipient": "RECIPIENT",
            "utilityCustomerId": self.utility_customer_id,
            "utilityInternalId": self.utility_internal_id,
        }
        if self.utility_internal_id2 is not None:
            item["utilityInternalId2"] = self.utility_internal_id2
        return item


@dataclass(frozen=True)
class UtilityAccount:
    """One metered service of a customer; `id` is Opower's, the account ids the utility's.

    Its service point (the usage API's `utilityServicePointId`) is `utility_account_id2`;
    `resolution` is its meter's (a raw interval of HOUR is an hour); without modeled
    rates its bill forecast has usage only (Get Bill Forecast's page)."""

    id: int
    customer_id: int
    utility_account_id: str
    utility_account_id2: str
    meter_type: str
    move_in: date
    move_out: date | None = None
    resolution: str = "QUARTER_HOUR"
    modeled_rates: bool = True
    # The day of the month its bill periods start (its meter's read cycle, 1-28); 1: by
    # calendar month (with_read_cycles sets one per customer).
    bill_day: int = 1

    @property
    def service_point(self) -> str:
        return self.utility_account_id2

    @property
    def interval_s(self) -> int:
        """The length of one raw interval of its meter."""
        return RAW_INTERVAL_S[self.resolution]

    @property
    def fuel(self) -> str:
        """The usage-API fuel name (ELECTRICITY or GAS)."""
        return FUEL_OF_METER[self.meter_type]

    def to_json(self) -> dict[str, object]:
        """The Get Utility Account List item (``moveOutDate`` is optional: left out while
        the customer lives there)."""
        item: dict[str, object] = {
            "id": self.id,
            "utilityAccountId": self.utility_account_id,
            "utilityAccountId2": self.utility_account_id2,
            "meterType": self.meter_type,
            "resolution": self.resolution,
            "moveInDate": self.move_in.isoformat(),
        }
        if self.move_out is not None:
            item["moveOutDate"] = self.move_out.isoformat()
        return item


CUSTOMERS: tuple[Customer, ...] = (
    Customer(1000001, "UC-0001", "Ada Lovelace", "ADA LOVELACE", "CIS-55501", "PREM-9101",
             ("4100000001", "4100000002")),
    Customer(1000002, "UC-0002", "Grace Hopper", "GRACE HOPPER", "CIS-55502", "PREM-9102",
             ("4100000003",)),
    Customer(1000003, "UC-0003", "Alan Turing", "ALAN TURING", "CIS-55503", "PREM-9103",
             ("4100000004",)),
    Customer(1000004, "UC-0004", "Katherine Johnson", "KATHERINE JOHNSON", "CIS-55504", None,
             ("4100000005",)),
    Customer(1000005, "UC-0005", "Edsger Dijkstra", "EDSGER DIJKSTRA", "CIS-55505", "PREM-9103",
             ("4100000004",)),
)  # fmt: skip

UTILITY_ACCOUNTS: tuple[UtilityAccount, ...] = (
    UtilityAccount(2000001, 1000001, "4100000001", "SP-7001", ELEC, date(2019, 4, 1)),
    UtilityAccount(2000002, 1000001, "4100000002", "SP-7002", ELEC, date(2022, 9, 15),
                   resolution="HOUR"),
    UtilityAccount(2000003, 1000002, "4100000003", "SP-7003", ELEC, date(2020, 1, 6)),
    UtilityAccount(2000004, 1000002, "4100000003", "SP-7004", GAS, date(2020, 1, 6),
                   resolution="HOUR", modeled_rates=False),
    UtilityAccount(2000005, 1000003, "4100000004", "SP-7005", ELEC, date(2021, 6, 1)),
    UtilityAccount(2000006, 1000005, "4100000004", "SP-7005", ELEC, date(2016, 3, 1),
                   move_out=date(2021, 5, 31)),
)  # fmt: skip

# Customers 1000004 and 1000005 start without a profile (GET answers 404).
SEED_HOME_PROFILES: dict[int, dict[str, object]] = {
    1000001: {"customerId": 1000001, "dwellingType": "SINGLE_FAMILY", "heatType": "ELEC",
              "numberOfAdults": 2, "numberOfChildren": 1, "squareFeet": 1850},
    1000002: {"customerId": 1000002, "dwellingType": "MULTI_FAMILY", "heatType": "GAS",
              "numberOfAdults": 1, "numberOfChildren": 0, "squareFeet": 900},
    1000003: {"customerId": 1000003, "dwellingType": "SINGLE_FAMILY",
              "heatType": "GEOTHERMAL", "numberOfAdults": 2, "numberOfChildren": 2,
              "squareFeet": 2400},
}  # fmt: skip

# Only UC-0002 starts with a bill threshold; the others answer 404 until a PUT. Both
# values are numbers (float) on Oracle's page: a percentage need not be whole.
SEED_THRESHOLDS: dict[str, dict[str, object]] = {
    "UC-0002": {"threshold": 150.0, "percentage": 82.5},
}


@dataclass(frozen=True)
class SeedPreference:
    """A notification preference a contact starts with (`contacts` serves it)."""

    id: int
    channel: str
    event_type: str


@dataclass(frozen=True)
class SeedContact:
    """A notification contact a customer starts with, as NotificationContact's fields."""

    id: int
    customer_id: int
    name: str
    email: str | None = None
    phone_sms: str | None = None
    phone_voice: str | None = None
    primary: bool = True
    preferences: tuple[SeedPreference, ...] = ()


def _primary(
    contact_id: int, customer: Customer, *preferences: SeedPreference, **phones: str
) -> SeedContact:
    """A customer's primary contact: its name, an e-mail made from it, any phones."""
    email = customer.name.lower().replace(" ", ".") + "@example.com"
    return SeedContact(contact_id, customer.id, customer.name, email,
                       phones.get("sms"), phones.get("voice"), True, preferences)  # fmt: skip


SEED_CONTACTS: tuple[SeedContact, ...] = (
    _primary(5000001, CUSTOMERS[0], SeedPreference(6000001, "EMAIL", "HIGH_BILL_ALERT"),
             SeedPreference(6000002, "SMS", "HIGH_BILL_ALERT"), sms="555-010-0001"),
    _primary(5000002, CUSTOMERS[1], SeedPreference(6000003, "EMAIL", "HIGH_BILL_ALERT"),
             SeedPreference(6000004, "EMAIL", "HOME_ENERGY")),
    _primary(5000003, CUSTOMERS[2], SeedPreference(6000005, "EMAIL", "HOME_ENERGY"),
             voice="555-010-0003"),
    _primary(5000005, CUSTOMERS[4], SeedPreference(6000006, "EMAIL", "HOME_ENERGY")),
)  # fmt: skip

# Customers Opower has a heating and cooling model for (see the module's docstring).
DISAGGREGATION_MODELS = frozenset({1000001, 1000002, 1000005})

# Tip actions other than the default NOT_YET, by customer and tip name.
SEED_TIP_STATUSES: dict[int, dict[str, str]] = {
    1000001: {"tip018_improve_window_shading": "WILL_DO"},
}


@dataclass(frozen=True)
class Directory:
    """One operating company's customers, accounts and seeded data."""

    customers: tuple[Customer, ...]
    accounts: tuple[UtilityAccount, ...]
    home_profiles: Mapping[int, dict[str, object]]
    thresholds: Mapping[str, dict[str, object]]
    timezone: str = TIMEZONE
    contacts: tuple[SeedContact, ...] = ()
    disaggregation_models: frozenset[int] = frozenset()
    tip_statuses: Mapping[int, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def customer_by_id(self, customer_id: int) -> Customer | None:
        return next((c for c in self.customers if c.id == customer_id), None)

    def customer_by_utility_id(self, utility_customer_id: str) -> Customer | None:
        return next(
            (c for c in self.customers if c.utility_customer_id == utility_customer_id), None
        )

    def customers_by_account_number(self, account_number: str) -> list[Customer]:
        return [c for c in self.customers if account_number in c.account_numbers]

    def accounts_of(self, customer: Customer, fuel: str | None = None) -> list[UtilityAccount]:
        return [
            a
            for a in self.accounts
            if a.customer_id == customer.id and (fuel is None or a.fuel == fuel)
        ]

    def account_by_id(self, account_id: int) -> UtilityAccount | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def fuels_of(self, customer: Customer) -> tuple[str, ...]:
        """The meter types (ELEC, GAS) of the customer's utility accounts, in order."""
        return tuple(dict.fromkeys(a.meter_type for a in self.accounts_of(customer)))

    def listing(self, utility_code: str) -> list[dict[str, object]]:
        """The control-plane listing: every id a test or demo needs to address a customer."""
        listing: list[dict[str, object]] = []
        for customer in self.customers:
            accounts = self.accounts_of(customer)
            listing.append(
                {
                    "utilityCode": utility_code,
                    "utilityCustomerId": customer.utility_customer_id,
                    "name": customer.name,
                    "accountNumbers": list(customer.account_numbers),
                    "customerId": customer.id,
                    "utilityAccountIds": [a.id for a in accounts],
                    "fuels": list(dict.fromkeys(a.fuel for a in accounts)),
                }
            )
        return listing


DEFAULT = Directory(
    CUSTOMERS,
    UTILITY_ACCOUNTS,
    SEED_HOME_PROFILES,
    SEED_THRESHOLDS,
    contacts=SEED_CONTACTS,
    disaggregation_models=DISAGGREGATION_MODELS,
    tip_statuses=MappingProxyType(SEED_TIP_STATUSES),
)

POPULATION_FIRST_ID = 1_100_000


def population_customer(index: int) -> tuple[str, str]:
    """(utilityCustomerId, account number) of the population's customer ``index``."""
    return f"UC-P{index:06d}", f"42{index:08d}"


def with_population(directory: Directory, size: int) -> Directory:
    """``directory`` and ``size`` more customers, for capacity simulations: customer
    ``i`` is Opower id 1100000+i, ``UC-P<i>``, account number ``42<i>``, one electric
    utility account 2100000+i; every third has a home profile, none a threshold, a
    notification contact or a disaggregation model."""
    if size <= 0:
        return directory
    customers, accounts, profiles = [], [], dict(directory.home_profiles)
    for index in range(size):
        customer_id = POPULATION_FIRST_ID + index
        utility_customer_id, number = population_customer(index)
        customers.append(
            Customer(customer_id, utility_customer_id, f"Customer {index}",
                     f"CUSTOMER {index}", f"CIS-P{index}", None, (number,))
        )  # fmt: skip
        accounts.append(
            UtilityAccount(2_100_000 + index, customer_id, number, f"SP-P{index}", ELEC,
                           date(2020, 1, 1))
        )  # fmt: skip
        if index % 3 == 0:
            profiles[customer_id] = {"customerId": customer_id, "dwellingType": "MULTI_FAMILY",
                                     "heatType": "GAS", "numberOfAdults": 2,
                                     "numberOfChildren": 0, "squareFeet": 1000}  # fmt: skip
    return Directory(
        customers=directory.customers + tuple(customers),
        accounts=directory.accounts + tuple(accounts),
        home_profiles=MappingProxyType(profiles),
        thresholds=directory.thresholds,
        timezone=directory.timezone,
        contacts=directory.contacts,
        disaggregation_models=directory.disaggregation_models,
        tip_statuses=directory.tip_statuses,
    )


_SECOND_CUSTOMERS = (
    Customer(3000001, "UC-0001", "Nikola Tesla", "NIKOLA TESLA", "NW-101", None,
             ("4100000001",)),
    Customer(3000002, "UC-2002", "Hedy Lamarr", "HEDY LAMARR", "NW-102", "NWP-7",
             ("5200000002",)),
)  # fmt: skip
_SECOND_PROFILES = {
    3000001: {"customerId": 3000001, "dwellingType": "SINGLE_FAMILY",
              "heatType": "DISTRICT_HEATING", "numberOfAdults": 1, "numberOfChildren": 0,
              "squareFeet": 1200},
}  # fmt: skip
_SECOND_CONTACTS = (
    _primary(5100001, _SECOND_CUSTOMERS[0], SeedPreference(6100001, "EMAIL", "HIGH_BILL_ALERT")),
    _primary(5100002, _SECOND_CUSTOMERS[1], SeedPreference(6100002, "EMAIL", "HOME_ENERGY")),
)

SECOND = Directory(
    customers=_SECOND_CUSTOMERS,
    accounts=(
        UtilityAccount(4000001, 3000001, "4100000001", "NW-SP-1", ELEC, date(2021, 2, 1)),
        UtilityAccount(4000002, 3000002, "5200000002", "NW-SP-2", GAS, date(2020, 10, 1)),
        # A five-minute meter (Get Utility Account List's FIVE_MINUTE resolution).
        UtilityAccount(
            4000003,
            3000002,
            "5200000002",
            "NW-SP-3",
            ELEC,
            date(2020, 10, 1),
            resolution="FIVE_MINUTE",
        ),
    ),
    home_profiles=MappingProxyType(_SECOND_PROFILES),
    thresholds=MappingProxyType({"UC-2002": {"threshold": 90.0, "percentage": 75.0}}),
    timezone="America/New_York",
    contacts=_SECOND_CONTACTS,
    disaggregation_models=frozenset({3000001, 3000002}),
)


def customer_by_id(customer_id: int) -> Customer | None:
    """The customer with that Opower id."""
    return next((c for c in CUSTOMERS if c.id == customer_id), None)


def customer_by_utility_id(utility_customer_id: str) -> Customer | None:
    """The customer with that utility (CIS) customer id."""
    return next((c for c in CUSTOMERS if c.utility_customer_id == utility_customer_id), None)


def customers_by_account_number(account_number: str) -> list[Customer]:
    """Every customer, current or previous, that holds the account number."""
    return [c for c in CUSTOMERS if account_number in c.account_numbers]


def accounts_of(customer: Customer, fuel: str | None = None) -> list[UtilityAccount]:
    """The customer's utility accounts, optionally only those of one usage-API fuel."""
    return [
        a
        for a in UTILITY_ACCOUNTS
        if a.customer_id == customer.id and (fuel is None or a.fuel == fuel)
    ]


def account_by_id(account_id: int) -> UtilityAccount | None:
    """The utility account with that Opower id."""
    return next((a for a in UTILITY_ACCOUNTS if a.id == account_id), None)


def directory(utility_code: str = "UTX") -> list[dict[str, object]]:
    """The first company's listing (see ``Directory.listing``)."""
    return DEFAULT.listing(utility_code)


# A utility reads its meters in about 20 cycles a month, one each working day: bills post
# every working day, each account on its own (the days of a four-week month's weekdays).
READ_CYCLE_DAYS = (1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26)


def read_cycle_day(customer_id: int) -> int:
    """The day of the month a customer's bill periods start, in read-cycle billing: the
    same for all their accounts (a premise's meters are read on one route)."""
    digest = hashlib.blake2b(f"cycle|{customer_id}".encode(), digest_size=8).digest()
    return READ_CYCLE_DAYS[int.from_bytes(digest, "big") % len(READ_CYCLE_DAYS)]


def with_read_cycles(directory: Directory) -> Directory:
    """``directory`` billed in read cycles: each customer's accounts on their cycle day."""
    accounts = tuple(
        dataclasses.replace(a, bill_day=read_cycle_day(a.customer_id)) for a in directory.accounts
    )
    return dataclasses.replace(directory, accounts=accounts)
