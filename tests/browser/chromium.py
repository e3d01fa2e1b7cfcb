"""The browser the portal's tests drive: Debian's Chromium (or PORTAL_BROWSER, a Chrome
or Chromium of your own), driven by Playwright over its own protocol. Playwright's own
browser downloads are never used: they come from a host outside the package registries.

``python -m tests.browser.chromium`` (``make browser``, a step of ``make test``) finds it,
or installs Debian's package where it is missing and this is root on Debian (CI); else
it says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VARIABLE = "PORTAL_BROWSER"
# As root (CI) Chromium's sandbox cannot start; the rest keep a headless browser off the
# network it would otherwise call at every start (updates, sync, field trials).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find() -> str | None:
    named = os.environ.get(VARIABLE, "").strip()
    if named:
        return named if Path(named).is_file() and os.access(named, os.X_OK) else None
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _install() -> bool:
    """Debian's chromium, with apt-get, as root; the log goes to a file."""
    print("Installing Debian's chromium for the portal's browser tests (apt-get) ...", flush=True)
    with tempfile.NamedTemporaryFile(
        "w", prefix="chromium-install-", suffix=".log", delete=False
    ) as log:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            done = subprocess.run(  # noqa: S603 - apt-get, with fixed arguments
                command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False
            )
            if done.returncode != 0:
                print(f"  {' '.join(command)} failed; its output: {log.name}", file=sys.stderr)
                return False
    return True


def main() -> int:
    found = find()
    if found is None and os.environ.get(VARIABLE):
        print(f"{VARIABLE}={os.environ[VARIABLE]} is not an executable file", file=sys.stderr)
        return 2
    if found is None and os.geteuid() == 0 and shutil.which("apt-get") and _install():
        found = find()
    if found is None:
        print(
            "The portal's browser tests need Chromium: on Debian or Ubuntu `sudo apt-get install "
            f"chromium`; elsewhere set {VARIABLE}=/path/to/chrome (docs/testing.md)",
            file=sys.stderr,
        )
        return 2
    print(f"browser for the portal's tests: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
