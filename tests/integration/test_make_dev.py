"""`python -m local.dev` (what `make dev` runs) starts, serves, and stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_dev_run_prints_working_curls_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        "GATEWAY_PORT": "0",
        "SANDBOX_PORT": "0",
        "IDP_PORT": "0",
        "AWS_PORT": "0",
        "LOCAL_STATE_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dev"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while sum("curl -s" in line for line in lines) < 5:
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        banner = "".join(lines)
        curls = re.findall(r"curl -s -H 'Authorization: Bearer ([^']+)' (\S+)", banner)
        stats = re.search(r"what it saw: (\S+)\)", banner)
        assert len(curls) == 5
        assert stats

        for token, url in curls:  # every printed curl works
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert response.status == 200
                assert isinstance(json.load(response), list)
        with urllib.request.urlopen(stats.group(1), timeout=5) as response:  # noqa: S310
            assert json.load(response)["token_requests"] == 1

        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "stopped" in out
