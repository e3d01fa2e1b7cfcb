"""The customer portal in a real browser: `make dev`'s own program (with the portal on its
own origin) and headless Chromium driven by Playwright, signing in at the dev IdP with
the code flow as a customer would.

Each test gets a fresh browser context (no storage, no cookies) and the sandbox reset;
a script error on the page fails the test; every session token the IdP hands the page
is added to the leak check, which scans the stack's output for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response, sync_playwright

from tests import leakcheck
from tests.browser import chromium
from tests.e2e.conftest import RunningStack, running_stack

# The gateway as cdk.json configures it, with a designated-customers claim (the IdP's page
# offers to leave it false), short upstream timeouts (a throttled Opower answers within
# seconds) and the customer's shares lifted (a test signs in again and again).
PORTAL_CONFIG: dict[str, Any] = {
    "designated_claim": "opowerPilot",
    "proxy_timeout_s": 4,
    "authorizer_timeout_s": 4,
    "authorizer_cache_ttl_s": 60,
    "budget_per_customer_per_minute": 100_000,
    "budget_per_customer_per_day": 10_000_000,
}
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1200, "height": 900}


@pytest.fixture(scope="session")
def portal_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("portal-state"), PORTAL_CONFIG) as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = chromium.find()
    if executable is None:
        pytest.fail("no Chromium for the browser tests: `make browser` installs or names one")
    launched = playwright.chromium.launch(executable_path=executable, args=chromium.LAUNCH_ARGS)
    yield launched
    launched.close()


@dataclass
class Portal:
    """One customer's browser on the portal."""

    page: Page
    stack: RunningStack
    errors: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.stack.summary["portal"])

    def sign_in(self, name: str, *, designated: bool = True) -> None:
        """From the portal's sign-in button through the dev IdP's page and back."""
        self.page.goto(self.url)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url("**/authorize?**")
        self.page.get_by_label(name).check()
        if not designated:
            self.page.get_by_label("On the utility's designated list").uncheck()
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.url)

    def wait_loaded(self, card: str) -> None:
        """Until the card's calls have been answered and drawn: not busy, and its status
        says something other than that it is loading."""
        self.page.wait_for_function(
            """(id) => {
                const card = document.getElementById(id);
                const status = card.querySelector('.status').textContent;
                return !card.hasAttribute('aria-busy') && status !== '' && status !== 'Loading…';
            }""",
            arg=card,
        )

    def status(self, card: str) -> str:
        return self.page.locator(f"#{card} .status").inner_text()

    def gateway_get(self, path: str, customer: str, company: str = "UTX") -> Any:
        answer = self.stack.call("GET", path, customer=customer)
        assert answer.status == 200, (path, answer.status, answer.data[:300])
        return answer.json()

    def sandbox_faults(self, **switches: Any) -> None:
        self.stack.sandbox_control("POST", "faults", switches)


def _note_session(portal: Portal, response: Response) -> None:
    """The IdP's token answer: its tokens are secrets the leak check must know."""
    if response.request.method == "POST" and response.url.endswith("/token") and response.ok:
        tokens = json.loads(response.body())
        for name in ("access_token", "id_token"):
            if tokens.get(name):
                portal.sessions.append(tokens[name])
                leakcheck.register_secret(tokens[name])


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
    yield created
    created.close()


@pytest.fixture
def portal(context: BrowserContext, portal_stack: RunningStack) -> Iterator[Portal]:
    portal_stack.sandbox_control("POST", "reset")
    page = context.new_page()
    page.set_default_timeout(15_000)
    opened = Portal(page=page, stack=portal_stack)
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    page.on("response", lambda response: _note_session(opened, response))
    page.on("request", lambda request: opened.requests.append(request.url))
    yield opened
    portal_stack.sandbox_control("POST", "reset")
    shown = page.content() if not page.is_closed() else ""
    leakcheck.add_captured("portal page", shown)
    assert not opened.errors, opened.errors
