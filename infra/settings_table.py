"""Prints the markdown table of every deploy-time setting, for docs/configuration.md.

    .venv/bin/python -m infra.settings_table

Deploy-only fields of ``GatewayConfig`` first, then every ``RuntimeSettings`` field (from
its ``describe()``); ``--cache`` prints the cache lifetimes, for docs/cache.md. A test
keeps both copies current.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The runtime model lives in the Lambda asset root (as in app.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from gateway.routes import cache_names
from gateway.settings import describe
from infra.config import STACK_FILLED_RUNTIME_SETTINGS, describe_deploy

HEADER = "| setting | default | meaning |\n|---|---|---|"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    rows = [HEADER]
    for name, default, doc in describe_deploy():
        shown = f"`{_cell(default)}`" if default else "(empty)"
        rows.append(f"| `{name}` | {shown} | {_cell(doc)} |")
    for name, default, doc in describe():
        if name in STACK_FILLED_RUNTIME_SETTINGS:
            doc = f"{doc} (set by the stack: {STACK_FILLED_RUNTIME_SETTINGS[name]})"
        shown = f"`{_cell(default)}`" if default else "(empty)"
        rows.append(f"| `{name}` (runtime) | {shown} | {_cell(doc)} |")
    return "\n".join(rows) + "\n"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def render_cache_lifetimes() -> str:
    """The response cache's lifetimes by cache name (``cache_fresh_s`` overrides them)."""
    rows = ["| cache name | fresh for | why |", "|---|---|---|"]
    rows += [f"| `{name}` | {_duration(s)} | {why} |" for name, s, why in cache_names()]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_cache_lifetimes() if "--cache" in sys.argv else render())
