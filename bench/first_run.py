"""A new user's first run: a fresh clone, `make dev`, and the first `curl` it prints
answered 200. How long it takes, and where the time goes.

The clone is of the repository's HEAD (committed work only), in a temporary directory,
with no .venv: `make dev` creates it and installs requirements-local.txt (pip's own
download cache is whatever this machine has, as for a user who has used pip before).
Phases: setup (from `make dev` to pip's last line: the venv and its packages), start
(to the banner with the sample customers' curls: moto, sandbox, IdP, emulator, seeding),
first answer (the request the banner prints, run as printed: `make -s token`, then the curl
with it, until it answers 200). Target: under 90 s in all.

    make bench-first-run       # or python -m bench.first_run
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3

from bench.environment import ChildFailed, child_environment
from local.dev import BANNER_END

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 90.0
TOKEN = re.compile(r"TOKEN=\$\(make -s token (CUSTOMER=\S+(?: COMPANY=\S+)?)\)")
CURL = re.compile(r'curl -s -H "Authorization: Bearer \$TOKEN" (http://\S+)')
TIMEOUT_S = 600.0


def _environment() -> dict[str, str]:
    """A user's shell: none of this process's virtualenv, make, gateway or AWS settings."""
    dropped = ("MAKE", "MFLAGS", "VIRTUAL_ENV", "PYTHONPATH")
    env = {k: v for k, v in child_environment().items() if not k.startswith(dropped)}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if "/.venv/" not in p + "/"
    )
    # Free ports chosen by the stack: a running `make dev` elsewhere must not matter.
    env.update(GATEWAY_PORT="0", SANDBOX_PORT="0", IDP_PORT="0", AWS_PORT="0", PORTAL_PORT="0")
    return env


def _size_mb(path: Path) -> float:
    """What `du -sm` says: the blocks the files take on disk, in MiB."""
    blocks = sum(f.lstat().st_blocks for f in path.rglob("*") if not f.is_symlink())
    return round(blocks * 512 / 2**20, 1)


def _packages(venv: Path) -> int:
    """The distributions installed in ``venv`` (`pip list`), less pip and setuptools,
    which the venv brings itself. pip's "Collecting" lines undercount them: a dependency
    resolved from a cached wheel's metadata may print none."""
    names = {
        d.name.split("-")[0].lower() for d in venv.glob("lib/python*/site-packages/*.dist-info")
    }
    return len(names - {"pip", "setuptools"})


def run(*, venv: Path | None = None) -> dict[str, Any]:
    """A fresh clone's `make dev`; with ``venv`` (the smoke test's smallest run), that
    virtual environment stands in for the clone's, so only the start is measured."""
    workdir = Path(tempfile.mkdtemp(prefix="first-run-"))
    clone = workdir / "opower-gateway"
    cloned = subprocess.run(  # noqa: S603
        ["git", "clone", "-q", str(ROOT), str(clone)],  # noqa: S607 - the user's git
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if cloned.returncode:
        raise ChildFailed(f"git clone of {ROOT} exited {cloned.returncode}", cloned.stderr)
    command = ["make", "dev"]
    # with ``venv``, the clone's setup is taken as done: no pip, for any make target
    done = ["-o", ".venv/.installed-local"] if venv is not None else []
    if venv is not None:
        (clone / ".venv").symlink_to(venv)
        command += done
    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        command,
        cwd=clone, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    ready = threading.Event()
    found: dict[str, str] = {}

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
            token, curl = TOKEN.search(line), CURL.search(line)
            if token:
                found["make"] = token.group(1)
            if curl:
                found["url"] = curl.group(1)
            if line.rstrip("\n") == BANNER_END:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(TIMEOUT_S) or set(found) != {"make", "url"}:
            tail = "\n".join(text for _, text in lines[-30:])
            raise ChildFailed(f"make dev printed no request within {TIMEOUT_S:.0f} s", tail)
        banner_s = time.monotonic() - started
        # the printed request, as a shell runs it: TOKEN=$(make -s token CUSTOMER=...)
        made = subprocess.run(  # noqa: S603
            ["make", "-s", *done, "token", *found["make"].split()],  # noqa: S607 - the user's make
            cwd=clone, env=_environment(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if made.returncode:
            raise ChildFailed(f"make -s token exited {made.returncode}", made.stderr)
        token = made.stdout.strip()
        if not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", token):  # never echoed: it may hold one
            raise ChildFailed("make -s token printed more than a token", made.stderr)
        http = urllib3.PoolManager()
        while True:
            response = http.request(
                "GET", found["url"], headers={"Authorization": f"Bearer {token}"},
                retries=False, timeout=10,
            )  # fmt: skip
            if response.status == 200:
                break
            if time.monotonic() - started > TIMEOUT_S:
                tail = "\n".join(text for _, text in lines[-30:])
                raise ChildFailed(f"make dev's first request answered {response.status}", tail)
            time.sleep(0.1)
        answered_s = time.monotonic() - started
        pip = [t for t, text in lines if text.startswith(("  Collecting", "  installed:"))]
        setup_s = max(pip, default=0.0)
        return {
            "benchmark": "first_run",
            "setup_s": round(setup_s, 1),
            "start_s": round(banner_s - setup_s, 1),
            "first_answer_s": round(answered_s - banner_s, 2),
            "total_s": round(answered_s, 1),
            "target_s": TARGET_S,
            "venv_mb": _size_mb(clone / ".venv"),
            "packages": _packages(clone / ".venv"),
            "met": answered_s <= TARGET_S,
            # `make bench-first-run` alone may be newer than the report's other figures
            "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run()))
