"""The portal's scripts (portal/js) without a browser: Node's test runner on
tests/portal/*.test.mjs (fetch replaced), and every module parsing as the browser will
load it. The portal in a real browser is tests/browser's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def test_the_portals_api_module_under_nodes_test_runner() -> None:
    assert NODE, "Node.js (the CDK CLI's, which make test installs) runs the portal's tests"
    done = subprocess.run(  # noqa: S603 - node, on the repository's own tests
        [str(NODE), "--test", *sorted(str(p) for p in (ROOT / "tests/portal").glob("*.test.mjs"))],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
    assert "# pass 0" not in done.stdout


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "portal/js").glob("*.js")))
def test_each_portal_module_parses(script: str) -> None:
    assert NODE, "Node.js (the CDK CLI's, which make test installs) checks the portal's scripts"
    done = subprocess.run(  # noqa: S603
        [str(NODE), "--check", str(ROOT / "portal/js" / script)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
