"""docs/portal.md and the README say what the portal and the dev IdP do: each figure they
state is read here from the code that decides it."""

from __future__ import annotations

import re
from pathlib import Path

from local.idp_code_flow import CODE_LIFETIME_S
from local.portal import PORTAL_CLIENT_ID
from local.stack import Ports

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs/portal.md").read_text()
README = (ROOT / "README.md").read_text()
APP = (ROOT / "portal/js/app.js").read_text()
AUTH = (ROOT / "portal/js/auth.js").read_text()
WORDS = {"five": 5, "two": 2}


def _constant(source: str, name: str) -> int:
    found = re.search(rf"const {name} = ([\d_]+);", source)
    assert found, name
    return int(found.group(1).replace("_", ""))


def test_the_port_and_client_are_the_stacks() -> None:
    port = Ports().portal
    for text in (PAGE, README):
        assert f"http://127.0.0.1:{port}/" in text
    # every local address the portal's page gives is the portal's
    assert set(re.findall(r"127\.0\.0\.1:(\d+)/", PAGE)) == {str(port)}
    assert f"(`{PORTAL_CLIENT_ID}`," in PAGE


def test_the_code_lifetime_and_the_pages_limits_are_the_codes() -> None:
    assert f"within {CODE_LIFETIME_S} s" in PAGE
    retries = re.search(r"at most (\w+) times in a row", PAGE)
    assert retries
    assert WORDS[retries.group(1)] == _constant(APP, "AUTO_RETRIES")
    leeway = re.search(r"with (\w+) minutes' leeway", PAGE)
    assert leeway
    assert WORDS[leeway.group(1)] * 60_000 == _constant(AUTH, "CLOCK_SKEW_MS")
    assert "last 30 days" in PAGE
    assert "addDays(end, -30)" in APP
    assert "/v1/me/tips?limit=5" in PAGE
    assert "/v1/me/tips?limit=5" in APP
    assert "past two minutes it names the time" in PAGE
    assert "seconds >= 120" in APP
