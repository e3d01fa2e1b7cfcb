"""`python -m local.dev` (what `make dev` runs) starts, serves, and stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local.dev import BANNER_END
from tests.local_dev import ROOT, dev_env, run_module

pytestmark = pytest.mark.integration


def test_dev_run_prints_a_request_that_works_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
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
        while not lines or lines[-1].rstrip("\n") != BANNER_END:
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        banner = "".join(lines[lines.index(next(x for x in lines if "Opower Gateway" in x)) :])
        assert len(banner.splitlines()) <= 24  # a terminal's screen
        customer = re.search(r"TOKEN=\$\(make -s token CUSTOMER=(\S+)\)", banner)
        curl = re.search(r'curl -s -H "Authorization: Bearer \$TOKEN" (\S+)', banner)
        sandbox = re.search(r"Opower sandbox  (\S+)/apis/", banner)
        listed = re.findall(r"^  (UT[XY]) (UC-\d+) ", banner, re.MULTILINE)
        assert customer is not None
        assert curl is not None
        assert sandbox is not None
        assert len(listed) == 7  # every sample customer of both companies

        # the printed request, as a shell runs it: make -s token, then the curl
        for company, listed_id in [("UTX", customer[1]), *listed]:
            made = run_module("local.token", env, listed_id, "--company", company)
            assert made.returncode == 0, made.stderr
            request = urllib.request.Request(  # noqa: S310
                curl[1], headers={"Authorization": f"Bearer {made.stdout.strip()}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert response.status == 200
                assert "response" in json.load(response)  # Opower's answer, as documented
        with urllib.request.urlopen(f"{sandbox[1]}/_sandbox/stats", timeout=5) as response:  # noqa: S310
            # one Opower token per company's client, for every request of its customers
            assert json.load(response)["token_requests"] == 2

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


@pytest.mark.parametrize("when", ["running", "starting"])
def test_signals_to_the_process_group_stop_it_without_a_traceback(
    tmp_path: Path, when: str
) -> None:
    """Ctrl-C at the terminal, then the SIGTERM a process manager sends the whole group:
    one clean stop, whether the stack was up or still starting."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dev", "--json"], cwd=ROOT, env=dev_env(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        if when == "running":
            assert process.stdout.readline().startswith("{")
        else:
            time.sleep(2)  # starting its servers (or, on a slow machine, still importing)
        os.killpg(process.pid, signal.SIGINT)
        os.killpg(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert "Traceback" not in out
    if when == "starting" and process.returncode == -signal.SIGTERM:
        return  # still importing, before any handler: nothing had started to stop
    assert process.returncode == 0, out[-2000:]
    assert out.rstrip().endswith("stopped")
