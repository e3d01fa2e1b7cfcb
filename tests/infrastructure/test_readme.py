"""The docs carry the current generated tables (the settings table in
docs/configuration.md, the cache lifetimes in docs/cache.md) and state the rules the code
applies.

Regenerate them with `.venv/bin/python -m infra.settings_table` (settings) and
`.venv/bin/python -m infra.settings_table --cache` (cache lifetimes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.companies import CODE_RULE
from infra.settings_table import render, render_cache_lifetimes

pytestmark = pytest.mark.infrastructure

DOCS = Path(__file__).resolve().parents[2] / "docs"
CONFIGURATION = DOCS / "configuration.md"
CACHE = DOCS / "cache.md"


def test_the_configuration_page_holds_the_current_settings_table() -> None:
    assert render() in CONFIGURATION.read_text(), (
        "docs/configuration.md is stale: paste the output of "
        "`.venv/bin/python -m infra.settings_table` over its settings table"
    )


def test_the_cache_page_holds_the_current_cache_lifetimes() -> None:
    assert render_cache_lifetimes() in CACHE.read_text(), (
        "docs/cache.md is stale: paste the output of "
        "`.venv/bin/python -m infra.settings_table --cache` over its lifetimes table"
    )


def test_every_page_states_the_utility_code_rule_the_code_applies() -> None:
    """One rule (gateway.companies.CODE_RULE), said one way wherever a page states one."""
    root = DOCS.parent
    pages = [root / "README.md", *DOCS.rglob("*.md"), *(root / "local").rglob("*.md")]
    stated = re.compile(r"\d-\d+ letters", re.IGNORECASE)
    lines = [
        (page.name, line)
        for page in pages
        for line in page.read_text().splitlines()
        if re.search(r"utility.code|UTILITY_CODE", line, re.IGNORECASE) and stated.search(line)
    ]

    assert lines, "no page states the rule?"
    for name, line in lines:
        assert CODE_RULE in line, f"{name}: {line.strip()}"


def test_the_readmes_first_run_figures_are_the_last_measured() -> None:
    """The README's setup and first-run figures are make bench-first-run's, as
    docs/performance.md records them (`make bench` rewrites both)."""
    performance = (DOCS / "performance.md").read_text()
    row = re.search(
        r"\| First run:[^|]*\| ([\d.]+) s \(setup [\d.]+ s: (\d+) packages, ([\d.]+) MB",
        performance,
    )
    assert row is not None, "docs/performance.md has no first-run row"
    total, packages, size = row.groups()

    readme = " ".join((DOCS.parent / "README.md").read_text().split())  # lines rewrapped

    assert f"{packages} packages, {size} MB" in readme
    assert f"First run: {total} s" in readme
