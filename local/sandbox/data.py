"""Deterministic synthetic customers of the sandbox utility.

Fixed ids make tests and demos reproducible. The set covers the shapes the gateway must
handle when it binds a session to Opower ids:

| Opower id | utilityCustomerId | account numbers        | utility accounts (id: fuel)   |
|-----------|-------------------|------------------------|-------------------------------|
| 1000001   | UC-0001           | 4100000001, 4100000002 | 2000001: ELEC, 2000002: ELEC  |
| 1000002   | UC-0002           | 4100000003             | 2000003: ELEC, 2000004: GAS   |
| 1000003   | UC-0003           | 4100000004             | 2000005: ELEC                 |
| 1000004   | UC-0004           | 4100000005             | none                          |
| 1000005   | UC-0005           | 4100000004             | 2000006: ELEC (moved out)     |

UC-0005 is the previous occupant of account 4100000004, so a lookup by that account
number returns two customers and the gateway must filter on `utilityCustomerId`.

A second operating company (`SECOND`, served when the sandbox is given a second utility
code) has customers of its own; one of them has the same `utilityCustomerId` and account
number as UC-0001 of the first, as happens across two companies' CIS systems:

| Opower id | utilityCustomerId | account numbers | utility accounts (id: fuel)   |
|-----------|-------------------|-----------------|-------------------------------|
| 3000001   | UC-0001           | 4100000001      | 4000001: ELEC                 |
| 3000002   | UC-2002           | 5200000002      | 4000002: GAS, 4000003: ELEC   |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

ELEC = "ELEC"
GAS = "GAS"
# The usage API names fuels differently from the utility-account `meterType`.
FUEL_OF_METER = MappingProxyType({ELEC: "ELECTRICITY", GAS: "GAS"})


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
        """The Get Customer List item."""
        return {
            "id": self.id,
            "name": self.name,
            "recipient": self.recipient,
            "utilityCustomerId": self.utility_customer_id,
            "utilityInternalId": self.utility_internal_id,
            "utilityInternalId2": self.utility_internal_id2,
        }


@dataclass(frozen=True)
class UtilityAccount:
    """One metered service of a customer; `id` is Opower's, the account ids the utility's."""

    id: int
    customer_id: int
    utility_account_id: str
    utility_account_id2: str
    meter_type: str
    move_in: date
    move_out: date | None = None
    resolution: str = "QUARTER_HOUR"

    @property
    def fuel(self) -> str:
        """The usage-API fuel name (ELECTRICITY or GAS)."""
        return FUEL_OF_METER[self.meter_type]

    def to_json(self) -> dict[str, object]:
        """The Get Utility Account List item."""
        return {
            "id": self.id,
            "utilityAccountId": self.utility_account_id,
            "utilityAccountId2": self.utility_account_id2,
            "meterType": self.meter_type,
            "resolution": self.resolution,
            "moveInDate": self.move_in.isoformat(),
            "moveOutDate": self.move_out.isoformat() if self.move_out else None,
        }


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
    UtilityAccount(2000002, 1000001, "4100000002", "SP-7002", ELEC, date(2022, 9, 15)),
    UtilityAccount(2000003, 1000002, "4100000003", "SP-7003", ELEC, date(2020, 1, 6)),
    UtilityAccount(2000004, 1000002, "4100000003", "SP-7004", GAS, date(2020, 1, 6)),
    UtilityAccount(2000005, 1000003, "4100000004", "SP-7005", ELEC, date(2021, 6, 1)),
    UtilityAccount(2000006, 1000005, "4100000004", "SP-7005", ELEC, date(2016, 3, 1),
                   move_out=date(2021, 5, 31)),
)  # fmt: skip

# Customers 1000004 and 1000005 start without a profile (GET answers 404).
SEED_HOME_PROFILES: dict[int, dict[str, object]] = {
    1000001: {"customerId": 1000001, "dwellingType": "SINGLE_FAMILY", "heatType": "ELECTRIC",
              "numberOfAdults": 2, "numberOfChildren": 1, "squareFeet": 1850},
    1000002: {"customerId": 1000002, "dwellingType": "APARTMENT", "heatType": "GAS",
              "numberOfAdults": 1, "numberOfChildren": 0, "squareFeet": 900},
    1000003: {"customerId": 1000003, "dwellingType": "SINGLE_FAMILY", "heatType": "HEAT_PUMP",
              "numberOfAdults": 2, "numberOfChildren": 2, "squareFeet": 2400},
}  # fmt: skip

# Only UC-0002 starts with a bill threshold; the others answer 404 until a PUT.
SEED_THRESHOLDS: dict[str, dict[str, object]] = {
    "UC-0002": {"threshold": 150.0, "percentage": 80},
}


@dataclass(frozen=True)
class Directory:
    """One operating company's customers, accounts and seeded data."""

    customers: tuple[Customer, ...]
    accounts: tuple[UtilityAccount, ...]
    home_profiles: Mapping[int, dict[str, object]]
    thresholds: Mapping[str, dict[str, object]]

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


DEFAULT = Directory(CUSTOMERS, UTILITY_ACCOUNTS, SEED_HOME_PROFILES, SEED_THRESHOLDS)

POPULATION_FIRST_ID = 1_100_000


def population_customer(index: int) -> tuple[str, str]:
    """(utilityCustomerId, account number) of the population's customer ``index``."""
    return f"UC-P{index:06d}", f"42{index:08d}"


def with_population(directory: Directory, size: int) -> Directory:
    """``directory`` and ``size`` more customers, for capacity simulations: customer
    ``i`` is Opower id 1100000+i, ``UC-P<i>``, account number ``42<i>``, one electric
    utility account 2100000+i; every third has a home profile, none a threshold."""
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
            profiles[customer_id] = {"customerId": customer_id, "dwellingType": "APARTMENT",
                                     "heatType": "GAS", "numberOfAdults": 2,
                                     "numberOfChildren": 0, "squareFeet": 1000}  # fmt: skip
    return Directory(
        customers=directory.customers + tuple(customers),
        accounts=directory.accounts + tuple(accounts),
        home_profiles=MappingProxyType(profiles),
        thresholds=directory.thresholds,
    )


_SECOND_CUSTOMERS = (
    Customer(3000001, "UC-0001", "Nikola Tesla", "NIKOLA TESLA", "NW-101", None,
             ("4100000001",)),
    Customer(3000002, "UC-2002", "Hedy Lamarr", "HEDY LAMARR", "NW-102", "NWP-7",
             ("5200000002",)),
)  # fmt: skip
_SECOND_PROFILES = {
    3000001: {"customerId": 3000001, "dwellingType": "TOWNHOUSE", "heatType": "ELECTRIC",
              "numberOfAdults": 1, "numberOfChildren": 0, "squareFeet": 1200},
}  # fmt: skip

SECOND = Directory(
    customers=_SECOND_CUSTOMERS,
    accounts=(
        UtilityAccount(4000001, 3000001, "4100000001", "NW-SP-1", ELEC, date(2021, 2, 1)),
        UtilityAccount(4000002, 3000002, "5200000002", "NW-SP-2", GAS, date(2020, 10, 1)),
        UtilityAccount(4000003, 3000002, "5200000002", "NW-SP-3", ELEC, date(2020, 10, 1)),
    ),
    home_profiles=MappingProxyType(_SECOND_PROFILES),
    thresholds=MappingProxyType({"UC-2002": {"threshold": 90.0, "percentage": 75}}),
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
