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


def test_dev_run_prints_where_it_listens_and_stops_cleanly_on_ctrl_c() -> None:
    env = {**os.environ, "SANDBOX_PORT": "0", "AWS_PORT": "0", "PYTHONUNBUFFERED": "1"}
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
        lines = []
        while not any("AWS_ENDPOINT_URL=" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        banner = "".join(lines)
        customers_url = re.search(r"(http://127\.0\.0\.1:\d+/_sandbox/customers)", banner)
        aws_url = re.search(r"AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+)", banner)
        assert customers_url
        assert aws_url

        with urllib.request.urlopen(customers_url.group(1), timeout=5) as response:  # noqa: S310
            assert len(json.load(response)) >= 4
        with urllib.request.urlopen(aws_url.group(1), timeout=5) as response:  # noqa: S310
            assert response.status == 200

        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "stopped" in out
