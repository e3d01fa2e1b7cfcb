"""`make dev OPOWER_URL=... UTILITY_CODE=... OPOWER_CREDENTIALS=...`: the whole local gateway
against a real Opower tier instead of its own sandbox.

The "real Opower" is a sandbox started alone, with a utility code and a client of its own
(not the defaults), on 127.0.0.1: the only place a test may call. The stack must reach
it with the file's credentials, start no sandbox, and show the credentials nowhere.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.sandbox import OpowerSandbox, SandboxConfig, fingerprint
from tests import leakcheck
from tests.local_dev import ROOT, dev_env, run_module

UTILITY = "ABC"
CLIENT_ID = "uat-stand-in-client-7c1f2a90"
CLIENT_SECRET = "uat-stand-in-secret-9d8e7f6a5b4c"
BASIC = leakcheck.basic_header_value(CLIENT_ID, CLIENT_SECRET)
CREDENTIALS = (CLIENT_ID, CLIENT_SECRET, BASIC)
leakcheck.register_secret(*CREDENTIALS)

pytestmark = pytest.mark.integration


@pytest.fixture
def real_opower() -> Iterator[OpowerSandbox]:
    """Stands in for Oracle's stage host: one utility, its own client."""
    config = SandboxConfig(
        port=0, utility_code=UTILITY, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    with OpowerSandbox(config) as sandbox:
        yield sandbox
        leakcheck.register_secret(*sandbox.issued_tokens())


def _get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
        return response.status, response.read()


def test_make_dev_calls_the_real_opower_with_the_files_client_and_shows_it_nowhere(
    tmp_path: Path, real_opower: OpowerSandbox
) -> None:
    # Given a real Opower and its client's credentials in a file
    credentials = tmp_path / "creds.json"
    credentials.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))
    state_dir = tmp_path / "state"
    env = dev_env(
        state_dir,
        OPOWER_URL=real_opower.base_url,
        UTILITY_CODE=UTILITY,
        OPOWER_CREDENTIALS=str(credentials),
        # The sandbox's port is the real Opower's: starting a sandbox would fail on it.
        SANDBOX_PORT=str(real_opower.port),
    )

    # When `make dev` starts against it (no terminal: the file is the only source)
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dev"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    try:
        assert process.stdout is not None
        while not any("/v1/me/accounts" in line for line in output):
            line = process.stdout.readline()
            assert line, "".join(output)[-3000:]
            output.append(line)
        banner = "".join(output)
        drain = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
        drain.start()
        running_text = (state_dir / "running.json").read_text()
        running = json.loads(running_text)
        gateway = running["gateway"]

        # and a session is minted for a customer of that Opower, with their account numbers
        refused = run_module("local.token", env, "UC-0001")
        made = run_module("local.token", env, "UC-0001", "--accounts", "4100000001,4100000002")
        assert made.returncode == 0, made.stderr
        session = made.stdout.strip()
        leakcheck.register_secret(session)

        # Then a customer call through the gateway is answered from that Opower
        status, answer = _get(f"{gateway}/v1/me/accounts", session)
        # and so is a service API call for any of its customers, named with an account
        service = run_module("local.service_call", env, "UC-0001", "--account", "4100000001")
        unnamed = run_module("local.service_call", env, "UC-0001")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
        process.kill()
    drain.join(timeout=5)
    out = "".join(output)
    leakcheck.add_captured("make dev against a real Opower", out)
    leakcheck.add_captured("make token against a real Opower", refused.stdout + refused.stderr)

    assert status == 200
    assert process.returncode == 0
    assert "stopped" in out
    assert not (state_dir / "running.json").exists()

    # It reached that Opower, whose token came from the file's client, once
    stats = real_opower.stats()
    assert stats["utilities"][UTILITY]["token_requests"] == 1
    assert stats["requests"]["token"] == {"200": 1}
    assert set(stats["requests"]["customers"]) == {"200"}  # the binding's lookups
    token_requests = [r for r in real_opower.received() if r.path.endswith("/oauth2/token")]
    assert [r.headers["authorization"] for r in token_requests] == [f"Basic {fingerprint(BASIC)}"]
    data_paths = [r.path for r in real_opower.received() if r not in token_requests]
    assert data_paths
    assert all(f"/{UTILITY}/" in path for path in data_paths)

    # The banner and running.json name that Opower; no sandbox ran
    assert f"against Opower {real_opower.base_url}, utility {UTILITY}" in banner
    assert "make -s token CUSTOMER=<utilityCustomerId> ACCOUNTS=" in banner
    assert "Bearer ey" not in banner  # no sample customers, no ready-made sessions
    assert running["opower"] == {"url": real_opower.base_url, "utility_code": UTILITY}
    assert running["companies"] == [UTILITY]
    assert running["customers"] == []
    assert "sandbox" not in running_text

    assert service.returncode == 0, service.stderr
    assert service.stdout.startswith("HTTP 200")
    assert unnamed.returncode == 2
    assert "on a real Opower, name one of your customers: CUSTOMER=<id> ACCOUNT=" in unnamed.stderr
    leakcheck.add_captured("make service-call against a real Opower",
                           service.stdout + service.stderr + unnamed.stderr)  # fmt: skip

    # Without ACCOUNTS, make token says what to give
    assert refused.returncode == 2
    assert "CUSTOMER=<utilityCustomerId> ACCOUNTS=" in refused.stderr

    # The credentials appear in none of: the stack's output, running.json, the answer
    for secret in CREDENTIALS:
        assert secret not in out
        assert secret not in running_text
        assert secret.encode() not in answer
        assert secret not in made.stderr + refused.stderr + refused.stdout
    assert not (tmp_path / "running.json").exists()


def test_a_wrong_credentials_file_is_named_and_never_echoed(tmp_path: Path) -> None:
    credentials = tmp_path / "creds.json"
    credentials.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": ""}))

    result = run_module(
        "local.dev",
        dev_env(
            tmp_path,
            OPOWER_URL="https://cxapi-stage.opower.com",
            UTILITY_CODE="ABC",
            OPOWER_CREDENTIALS=str(credentials),
        ),
    )
    leakcheck.add_captured("make dev with a wrong credentials file", result.stderr)

    assert result.returncode == 2
    assert result.stderr == (
        f'make dev: OPOWER_CREDENTIALS={credentials} lacks "client_secret" (a non-empty '
        "string): add the one Oracle sent you\n"
    )


def test_an_opower_url_that_does_not_answer_is_one_line_at_startup(tmp_path: Path) -> None:
    """A wrong host is said at startup, before a token request fails with something else
    (issue #37): here a loopback port nothing listens on."""
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    credentials = tmp_path / "creds.json"
    credentials.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))

    result = run_module(
        "local.dev",
        dev_env(tmp_path, OPOWER_URL=f"http://127.0.0.1:{port}", UTILITY_CODE="ABC",
                OPOWER_CREDENTIALS=str(credentials)),
    )  # fmt: skip
    leakcheck.add_captured("make dev with an Opower that does not answer", result.stderr)

    assert result.returncode == 2
    assert result.stderr == (
        f"make dev: OPOWER_URL's host 127.0.0.1 does not answer on port {port} "
        "(ConnectionRefusedError): is the URL right, and is it reachable from here?\n"
    )


def test_an_opower_host_that_does_not_resolve_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from local.opower_tier import OpowerTarget, OpowerTierError

    def unknown(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(OpowerTierError, match=r"host cxapi-stage\.opowr\.com does not resolve"):
        OpowerTarget("https://cxapi-stage.opowr.com", "ABC").check_reachable()
