"""Schemathesis, as its CLI runs, against the running local gateway's own OpenAPI document.

All checks (server errors, status codes, content types, response schemas and headers,
positive data accepted, negative data rejected, undeclared methods, Allow, missing
headers, authentication...), all phases (the document's examples, coverage, fuzzing and
stateful sequences following the document's links) and both generation modes, as a
sample customer. Zero failures and zero warnings (a warning means logic went untested,
e.g. answers that were all 429 or all 404).

Bounded and reproducible: MAX_EXAMPLES per operation, a fixed seed, no example database.
The two kinds of failure the document cannot prevent are accepted narrowly, with the AWS
behavior and the rules they come from, in tests/e2e/schemathesis_hooks.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from schemathesis.core.warnings import SchemathesisWarning

from gateway.proxy import openapi
from tests import leakcheck
from tests.e2e.conftest import ROOT, RunningStack

pytestmark = pytest.mark.e2e

CUSTOMER = "UC-0001"  # two utility accounts; the document's example accountId is its first
MAX_EXAMPLES = 25
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Every warning fails the run but one: the coverage phase's boundary date-times (year 0001,
# 9999...) fall outside Opower's windows, which are relative to today and so beyond JSON
# Schema, and its usage cases are then all refused ("validation mismatch"). That the usage
# logic is reached anyway is checked below, from what the sandbox served.
WARNINGS = ",".join(
    w.value for w in SchemathesisWarning if w != SchemathesisWarning.VALIDATION_MISMATCH
)
ACCOUNTS = [2000001, 2000002]  # the Opower ids of its utility accounts
# Its own things at the sandbox's Opower (local/sandbox/data.py), drawn most of the time:
# random ids are never a customer's (the same 404 as none, which is right, and tests
# nothing behind it), and Opower's rules for bills and locales are the sandbox's.
_MONTH_END = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
OWN = {
    "contactId": [5000001],
    "preferenceId": [6000001, 6000002],
    "tipId": ["tip018_improve_window_shading", "tip001_buy_energy_star"],
    "billStartDate": [_MONTH_END.replace(day=1).isoformat()],
    "billEndDate": [_MONTH_END.isoformat()],
    "locale": ["en_US"],
}
OWN_WHERE = {"contactId": "path", "preferenceId": "path", "tipId": "path",
             "billStartDate": "query", "billEndDate": "query", "locale": "query"}  # fmt: skip


def test_the_served_document_is_the_route_tables(stack: RunningStack) -> None:
    assert stack.call("GET", openapi.OPENAPI_PATH).json() == openapi.document()


def _config(directory: Path) -> Path:
    """Usage windows Opower serves, drawn most of the time: random date-times almost never
    fall in a window relative to today, which would leave the usage logic untested
    ("schema validation mismatch"). Every pair drawn is in order and within the caps of
    daily and billing usage; one pair in four (a day) within raw usage's 25 hours."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=days) for days in (20, 3)]
    ends = [today - timedelta(days=days) for days in (2, 1)]
    config = directory / "schemathesis.toml"
    config.write_text(
        "[dictionaries.starts]\n"
        f"values = {json.dumps([t.isoformat() for t in starts])}\n"
        "[dictionaries.ends]\n"
        f"values = {json.dumps([t.isoformat() for t in ends])}\n"
        "[dictionaries.accounts]\n"
        f"values = {json.dumps(ACCOUNTS)}\n"
        + "".join(
            f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n"
            for name, values in OWN.items()
        )
        + "[parameters]\n"
        '"query.start" = { dictionary = "starts", probability = 0.9 }\n'
        '"query.end" = { dictionary = "ends", probability = 0.9 }\n'
        '"path.accountId" = { dictionary = "accounts", probability = 0.5 }\n'
        + "".join(
            f'"{where}.{name}" = {{ dictionary = "{name}", probability = 0.7 }}\n'
            for name, where in OWN_WHERE.items()
        )
    )
    return config


# Operations whose path names the customer's own things (an account, a contact, a
# preference, a tip): any other id is the same 404 as none, by design. The sandbox's ids
# are the only ones that answer, and the run's own writes remove some of them (a channel
# unsubscribed takes its preferences along), so schemathesis may see only 404s there and
# warn of "missing test data". Those warnings, on those operations only, are expected;
# any other warning fails the run.
_OWNED_ID_OPERATIONS = re.compile(
    r"^(GET|PUT|POST|DELETE) /v1/(me|service)/(accounts/\{accountId\}|contacts/\{contactId\}|"
    r"tips/\{tipId\})"
)
_EXPECTED_WARNINGS = ("Base URL may be missing a path", "Low valid-input rate")


def _unexplained_warnings(output: str) -> list[str]:
    if "WARNINGS" not in output:
        return []
    section = output.split("WARNINGS", 1)[1].split("SUMMARY", 1)[0]
    unexplained = []
    kind = ""
    for line in section.splitlines():
        text = line.strip()
        if not text or text.startswith(("=", "💡")):
            continue
        if not text.startswith("- "):
            kind = text
            if not kind.startswith(_EXPECTED_WARNINGS):
                unexplained.append(kind)
            continue
        if not _OWNED_ID_OPERATIONS.match(text[2:]):
            unexplained.append(f"{kind}: {text}")
    return unexplained


@pytest.mark.timeout(480)  # 27 operations, every phase: about three minutes here
def test_schemathesis_all_checks_all_phases_finds_nothing(
    e2e: RunningStack, tmp_path: Path
) -> None:
    command = [
        str(SCHEMATHESIS), "--config-file", str(_config(tmp_path)),
        "run", str(e2e.summary["openapi"]), "--url", e2e.gateway,
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--mode", "all",
        "--header", f"Authorization: Bearer {e2e.token(CUSTOMER)}",
        "--max-examples", str(MAX_EXAMPLES), "--seed", "1", "--generation-database", "none",
        "--request-timeout", "30", "--no-color", "--warnings", WARNINGS,
    ]  # fmt: skip
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "lambdas")]),
    }

    run = subprocess.run(  # noqa: S603 (our own venv's schemathesis)
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )

    output = run.stdout + run.stderr
    leakcheck.add_captured("schemathesis run", output)
    errors = [line for line in e2e.output if "ERROR" in line or "Traceback" in line]
    assert run.returncode == 0, output[-8000:] + "".join(errors)[-6000:]
    assert _unexplained_warnings(output) == [], output[-8000:]
    # stateful ran, following at least the document's own links (an account id of
    # /v1/me/accounts, a contact's id, a tip's name) besides those it infers
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", output)
    assert links is not None, output
    assert int(links.group(1)) >= sum(len(v) for v in openapi._LINKS.values()), output
    # Every Opower operation behind the routes answered the gateway with success at least once.
    served = e2e.sandbox_control("GET", "stats")["requests"]
    opower = {"utility_accounts", "bill_comparison", "bill_forecast", "home_profile",
              "neighbor_comparison", "threshold", "usage", "notification_contacts",
              "notification_preferences", "disaggregation", "tip_names", "tip_list", "tip",
              "tip_action", "bill_period", "neighbor_comparison_history"}  # fmt: skip
    unreached = {name for name in opower if not any(s < "300" for s in served.get(name, {}))}
    assert unreached == set(), served


# Found by the positive-mode fuzzing: 80.0 is an integer to JSON Schema (and so to the
# served document) but not to Opower; the gateway forwards it as 80.
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/me/threshold", {"threshold": 100, "percentage": 80.0}),
        ("/v1/me/home-profile", {"numberOfAdults": 2.0}),
    ],
    ids=["threshold-percentage", "home-profile-numberOfAdults"],
)
def test_a_schema_valid_integral_float_is_accepted(
    e2e: RunningStack, path: str, body: dict[str, Any]
) -> None:
    response = e2e.call("PUT", path, customer=CUSTOMER, json=body)

    assert response.status == 204, response.data
