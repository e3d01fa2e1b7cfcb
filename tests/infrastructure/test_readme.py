"""The README carries the current settings table.

Regenerate it with `.venv/bin/python -m infra.settings_table`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings_table import render, render_cache_lifetimes

pytestmark = pytest.mark.infrastructure

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_holds_the_current_settings_table() -> None:
    assert render() in README.read_text(), (
        "README.md is stale: paste the output of `.venv/bin/python -m infra.settings_table`"
    )


def test_readme_holds_the_current_cache_lifetimes() -> None:
    assert render_cache_lifetimes() in README.read_text(), (
        "README.md is stale: paste the output of `.venv/bin/python -m infra.settings_table --cache`"
    )
