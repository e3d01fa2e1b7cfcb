"""The docs carry the current generated tables: the settings table in
docs/configuration.md, the cache lifetimes in docs/cache.md.

Regenerate them with `.venv/bin/python -m infra.settings_table` (settings) and
`.venv/bin/python -m infra.settings_table --cache` (cache lifetimes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
