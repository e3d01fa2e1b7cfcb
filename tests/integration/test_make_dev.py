"""`python -m local.dev` (what `make dev` runs) starts, serves, and stops on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.local_dev import ROOT, dev_env, run_module

pytestmark = pytest.mark.integration


def test_dev_run_prints_working_curls_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = dev_env(tmp_path)
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
                assert "response" in json.load(response)  # Opower's answer, as documented
        with urllib.request.urlopen(stats.group(1), timeout=5) as response:  # noqa: S310
            assert json.load(response)["token_requests"] == 1

        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "stopped" in out


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"GATEWAY_CONFIG": "{bad"}, "GATEWAY_CONFIG is not JSON"),
        ({"GATEWAY_CONFIG": "[1]"}, "GATEWAY_CONFIG must be a JSON object"),
        ({"GATEWAY_CONFIG": '{"proxy_timeout_s": "abc"}'}, "'proxy_timeout_s' is invalid"),
        ({"IDP_PORT": "http"}, "IDP_PORT must be a port number"),
        # A real Opower tier asked for incompletely (make dev OPOWER_URL=...)
        ({"OPOWER_URL": "https://cxapi-stage.opower.com"}, "OPOWER_URL needs UTILITY_CODE"),
        ({"UTILITY_CODE": "ABC"}, "UTILITY_CODE=ABC needs OPOWER_URL"),
        (
            {"OPOWER_URL": "http://cxapi-stage.opower.com", "UTILITY_CODE": "ABC"},
            "OPOWER_URL must use https (plain http only on a loopback host)",
        ),
        (
            {"OPOWER_URL": "https://cxapi-stage.opower.com", "UTILITY_CODE": "ABC"},
            "no terminal to ask the Opower client credentials on: pass OPOWER_CREDENTIALS=",
        ),
    ],
    ids=["not-json", "not-object", "bad-setting", "bad-port", "no-utility-code", "no-url",
         "http-not-loopback", "no-terminal"],
)  # fmt: skip
def test_a_startup_failure_is_one_line_naming_the_cause_and_a_non_zero_exit(
    tmp_path: Path, extra: dict[str, str], expected: str
) -> None:
    result = run_module("local.dev", dev_env(tmp_path, **extra))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("make dev: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_named_with_its_variable(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_module("local.dev", dev_env(tmp_path, SANDBOX_PORT=str(port)))

    assert result.returncode == 2
    assert f"port in use: SANDBOX_PORT={port}" in result.stderr
    assert result.stderr.count("\n") == 1


def test_make_token_signs_for_the_running_stack_whatever_its_ports(tmp_path: Path) -> None:
    not_running = run_module("local.token", dev_env(tmp_path), "UC-0001")
    assert not_running.returncode == 1
    assert "no local gateway is running" in not_running.stderr

    process = subprocess.Popen(
        [sys.executable, "-m", "local.dev", "--json"], cwd=ROOT, env=dev_env(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        summary = json.loads(process.stdout.readline())
        # IDP_PORT here is not the stack's (its was 0: any free port): it is not read
        made = run_module("local.token", dev_env(tmp_path, IDP_PORT="4011"), "UC-0002")
        listing = run_module("local.token", dev_env(tmp_path))
        other = run_module("local.token", dev_env(tmp_path), "UC-2002", "--company", "UTY")
        accounts = summary["gateway"] + "/v1/me/accounts"
        for token in (made.stdout.strip(), other.stdout.strip()):
            request = urllib.request.Request(accounts, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert response.status == 200
        # a token of another issuer: the local 401 says why (a deployed one never does)
        refused = urllib.request.Request(  # noqa: S310
            accounts, headers={"Authorization": f"Bearer {made.stdout.strip()}x"}
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(refused, timeout=10)  # noqa: S310
        assert caught.value.code == 401
        assert "(local run: " in json.load(caught.value)["error"]["message"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert made.returncode == 0
    assert made.stdout.count("\n") == 1
    assert listing.returncode == 2
    assert "CUSTOMER=UC-0002" in listing.stderr
    assert "COMPANY=UTY" in listing.stderr
    assert not (tmp_path / "running.json").exists()  # removed on stop
