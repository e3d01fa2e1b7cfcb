"""The README's picture of the portal: a sample customer with two service points, signed
in, at a laptop's width. `make portal-screenshot` retakes it (docs/images/portal.png);
the browser tests take it too, so that the command keeps working."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.browser import chromium
from tests.browser.conftest import PORTAL_CONFIG
from tests.e2e.conftest import running_stack

CUSTOMER = "Ada Lovelace"
VIEWPORT = {"width": 1100, "height": 1000}


def take(page: Page, portal_url: str, path: Path) -> None:
    """Sign in as :data:`CUSTOMER` on ``page`` and save what the first screen shows."""
    page.set_viewport_size(VIEWPORT)
    page.goto(portal_url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/authorize?**")
    page.get_by_label(CUSTOMER).check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(portal_url)
    for card in ("usage", "bill", "forecast", "neighbors"):
        page.wait_for_function(
            """(id) => { const c = document.getElementById(id);
                         return !c.hasAttribute('aria-busy')
                           && /^As of /.test(c.querySelector('.status').textContent); }""",
            arg=card,
        )
    page.screenshot(path=str(path))


def main(argv: list[str]) -> int:
    target = Path(argv[0] if argv else "docs/images/portal.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    executable = chromium.find()
    if executable is None:
        print("no Chromium: `make browser` installs or names one", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory() as state,
        running_stack(Path(state), PORTAL_CONFIG) as stack,
        sync_playwright() as driver,
    ):
        browser = driver.chromium.launch(executable_path=executable, args=chromium.LAUNCH_ARGS)
        page = browser.new_page(locale="en-US", timezone_id="UTC")
        take(page, str(stack.summary["portal"]), target)
        browser.close()
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
