"""Running `make dev`'s own programs (`python -m local.dev`, `local.token`, ...) in a
subprocess, as a user's shell would, on free ports and a state directory of the test's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a user's shell may hold that would change what `make dev` runs: the embedded AWS
# and Powertools set their own, and a real Opower is asked for only by the test itself.
_NOT_INHERITED = {"OPOWER_URL", "UTILITY_CODE", "OPOWER_CREDENTIALS", "GATEWAY_CONFIG"}


def dev_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a local stack on free ports, its state in ``state_dir``."""
    return {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "POWERTOOLS_")) and k not in _NOT_INHERITED
        },
        "GATEWAY_PORT": "0",
        "SANDBOX_PORT": "0",
        "IDP_PORT": "0",
        "AWS_PORT": "0",
        "PORTAL_PORT": "0",
        "LOCAL_STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def run_module(module: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """One of the project's command-line modules, run to its end (no terminal to ask on)."""
    return subprocess.run(  # noqa: S603 - this interpreter, the project's own modules
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
