"""Operating companies: one gateway for a utility group with several Opower utility codes.

Oracle issues Opower credentials per utility code ("the specific utility code to access
if multiple operating companies exist"): each company of a group has its own code, its
own customers, its own limits (20/s and 100,000/day are per utility) and possibly its
own client credentials and Opower tier. A deployment lists them in the ``companies``
setting; a single ``utility_code`` is a group of one, and works as before.

A customer's company comes from their verified session (the ``claim_utility_code``
claim), never from guessing: with several companies the claim is required and must name
one of them. Everything downstream is keyed by the company: the Opower paths' ``{U}``,
the binding, its cache key, the budget, the customer's share of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.errors import ConfigurationError

# Oracle's pages show 3-4 letter codes; a tier's own code is taken as it comes, within
# these bounds (one rule, said one way: in errors, the settings' docs and docs/).
CODE = re.compile(r"[A-Za-z0-9]{2,8}")
CODE_RULE = "2-8 letters or digits"
_FIELDS = ("utility_code", "opower_secret_id", "opower_base_url", "budget_per_second",
           "budget_per_day", "designated_customers_max")  # fmt: skip


@dataclass(frozen=True)
class Company:
    """One operating company as the functions see it (its secret already resolved)."""

    utility_code: str
    opower_secret_id: str = ""
    opower_base_url: str = ""  # empty: the gateway's opower_base_url
    budget_per_second: float = 0.0  # 0: the gateway's budget_per_second
    budget_per_day: int = 0  # 0: the gateway's budget_per_day
    designated_customers_max: int = 0  # 0: the gateway's designated_customers_max

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


# ``COMPANIES=@/opt/opower-gateway/companies.json``: the list is in that file. The stack
# ships it in a layer of its own (infra/functions.py): Lambda's environment holds 4 KB in
# all, a dozen companies' settings and secret ids do not fit in it (infra/quotas.py).
FILE_PREFIX = "@"


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as exc:
        raise ConfigurationError(
            f"COMPANIES names a file that cannot be read ({path}: {exc.strerror})"
        ) from None


def parse_companies(raw: Any) -> tuple[Company, ...]:
    """From the ``COMPANIES`` environment value (JSON, or ``@`` and the path of a file
    holding it) or a list of objects; each error
    names the company (by position and code) and the setting at fault."""
    if raw in (None, "", (), []):
        return ()
    if isinstance(raw, str) and raw.startswith(FILE_PREFIX):
        raw = _read_file(raw.removeprefix(FILE_PREFIX))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ConfigurationError("COMPANIES is not a JSON list of companies") from None
    if isinstance(raw, Company):
        return (raw,)
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ConfigurationError("COMPANIES must be a list of companies")
    companies = tuple(_company(index, entry) for index, entry in enumerate(raw))
    codes = [c.utility_code.upper() for c in companies]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ConfigurationError(f"COMPANIES names utility code(s) twice: {', '.join(duplicates)}")
    return companies


def _company(index: int, entry: Any) -> Company:
    if isinstance(entry, Company):
        return entry
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"companies[{index}] must be an object")
    unknown = sorted(set(entry) - set(_FIELDS))
    code = entry.get("utility_code")
    where = f"companies[{index}]" + (f" ({code})" if isinstance(code, str) else "")
    if unknown:
        raise ConfigurationError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise ConfigurationError(f"{where}: utility_code must be {CODE_RULE}")
    values: dict[str, Any] = {"utility_code": code}
    for name in ("opower_secret_id", "opower_base_url"):
        value = entry.get(name, "")
        if not isinstance(value, str):
            raise ConfigurationError(f"{where}: {name} must be text")
        values[name] = value.strip()
    for name, number in (
        ("budget_per_second", float),
        ("budget_per_day", int),
        ("designated_customers_max", int),
    ):
        value = entry.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationError(f"{where}: {name} must be a number >= 0")
        if number is int and not float(value).is_integer():
            raise ConfigurationError(f"{where}: {name} must be a whole number")
        values[name] = number(value)
    return Company(**values)


def companies_json(companies: Sequence[Company]) -> str:
    return json.dumps([c.to_json() for c in companies], separators=(",", ":"))
