"""`make dev` with GATEWAY_CONFIG naming the utility's own identity provider (issue #26).

The gateway trusts that provider with every auth setting given, says so in the banner,
the --json summary and running.json, and refuses the dev IdP's sessions (`make token`
warns). Without one, the dev IdP is trusted as before, and it writes each id where the
configured claim names say (a JSON Pointer: a nested claim).

"Your IdP" is tests/idp_server.py's provider (an RSA key, a JWKS over http.server on
127.0.0.1, tokens signed with PyJWT) or, for introspection, a second dev IdP; every
`make dev` here runs as a user's shell runs it, on free ports.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest

from gateway import opower_answers
from local.dev import BANNER_END
from local.idp import DevIdentityProvider
from tests import leakcheck
from tests.idp_server import ShapedIdentityProvider
from tests.local_dev import ROOT, dev_env, run_module

pytestmark = pytest.mark.integration

AUDIENCES = ["web-app", "mobile-app"]


@dataclass
class DevRun:
    """A running `python -m local.dev`: its --json summary (or banner) and state dir."""

    process: subprocess.Popen[str]
    state_dir: Path
    summary: dict[str, Any] = field(default_factory=dict)
    banner: str = ""
    output: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return str(self.running()["gateway"])

    def running(self) -> dict[str, Any]:
        running: dict[str, Any] = json.loads((self.state_dir / "running.json").read_text())
        return running

    def customer(self, utility_customer_id: str, company: str = "UTX") -> dict[str, Any]:
        return next(
            c
            for c in self.running()["customers"]
            if (c["utilityCode"], c["utilityCustomerId"]) == (company, utility_customer_id)
        )

    def env(self, **extra: str) -> dict[str, str]:
        return dev_env(self.state_dir, **extra)


@contextmanager
def make_dev(
    state_dir: Path, config: dict[str, Any] | None, *, banner: bool = False, **extra: str
) -> Iterator[DevRun]:
    """`make dev` (with GATEWAY_CONFIG=``config``) until the block ends; Ctrl-C then."""
    if config is not None:
        extra["GATEWAY_CONFIG"] = json.dumps(config)
    command = [sys.executable, "-m", "local.dev", *([] if banner else ["--json"])]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, the project's own module
        command, cwd=ROOT, env=dev_env(state_dir, **extra), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    run = DevRun(process, state_dir)
    drain = threading.Thread(target=lambda: run.output.extend(process.stdout or ()), daemon=True)
    try:
        assert process.stdout is not None
        while True:
            line = process.stdout.readline()
            assert line, "".join(run.output)[-3000:]
            run.output.append(line)
            if not banner and line.startswith("{"):
                run.summary = json.loads(line)
                break
            if banner and BANNER_END in line:
                run.banner = "".join(run.output)
                break
        drain.start()
        yield run
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        finally:
            process.kill()
    if drain.is_alive():
        drain.join(timeout=5)
    leakcheck.add_captured(f"make dev {config}", "".join(run.output))
    assert process.returncode == 0, "".join(run.output)[-3000:]


def get(url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def account_ids(answer: dict[str, Any]) -> list[int]:
    return [a["id"] for a in opower_answers.items(answer)]


# -- your own IdP --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_idp() -> Iterator[ShapedIdentityProvider]:
    with ShapedIdentityProvider() as provider:
        leakcheck.register_holder(provider)
        yield provider


def own_config(idp: ShapedIdentityProvider) -> dict[str, Any]:
    return {"auth_issuer": idp.issuer, "auth_jwks_url": idp.jwks_url, "auth_audience": AUDIENCES}


@pytest.fixture(scope="module")
def own(
    tmp_path_factory: pytest.TempPathFactory, own_idp: ShapedIdentityProvider
) -> Iterator[DevRun]:
    with make_dev(tmp_path_factory.mktemp("own-idp"), own_config(own_idp)) as run:
        yield run


def session(idp: ShapedIdentityProvider, customer: dict[str, Any], audience: str) -> str:
    """A session your IdP issued to a test user who is the sandbox's ``customer``."""
    return idp.sign(
        {
            "iss": idp.issuer,
            "aud": audience,
            "sub": f"test-user-{customer['utilityCustomerId']}",
            "utilityCustomerId": customer["utilityCustomerId"],
            "accountNumbers": customer["accountNumbers"],
            "utilityCode": customer["utilityCode"],
        }
    )


def test_a_session_of_your_idp_reaches_the_customers_data(
    own: DevRun, own_idp: ShapedIdentityProvider
) -> None:
    # Given a session your IdP issued for Ada (UTX UC-0001), for its mobile app
    token = session(own_idp, own.customer("UC-0001"), audience="mobile-app")

    # When it calls the gateway
    status, answer = get(f"{own.gateway}/v1/me/accounts", token)

    # Then the gateway verified it with your IdP's keys and answered with Ada's accounts
    assert status == 200, answer
    assert account_ids(answer) == [2000001, 2000002]
    assert own_idp.count("/keys") >= 1


def test_a_session_for_another_audience_of_your_idp_is_refused(
    own: DevRun, own_idp: ShapedIdentityProvider
) -> None:
    token = session(own_idp, own.customer("UC-0002"), audience="opower-gateway")

    status, answer = get(f"{own.gateway}/v1/me/accounts", token)

    assert status == 401
    assert "wrong_audience" in answer["error"]["message"]


def test_the_dev_idps_sessions_are_refused_and_make_token_says_so(own: DevRun) -> None:
    # Given the session the summary holds and one `make token` prints, both the dev IdP's
    printed = next(c["token"] for c in own.summary["customers"])
    made = run_module("local.token", own.env(), "UC-0001")

    # When they call the gateway
    statuses = [get(f"{own.gateway}/v1/me/accounts", t)[0] for t in (printed, made.stdout.strip())]

    # Then both are refused, and `make token` said they would be (and still printed one)
    assert statuses == [401, 401]
    assert made.returncode == 0
    assert made.stdout.count("\n") == 1
    assert made.stderr.count("\n") == 1
    assert f"the running gateway trusts {own.running()['trusted_issuer']}, not the dev IdP" in (
        made.stderr
    )
    assert "will refuse this token" in made.stderr


def test_the_summary_and_running_json_name_the_trusted_idp(
    own: DevRun, own_idp: ShapedIdentityProvider
) -> None:
    identity = own.summary["identity"]
    running = own.running()

    assert identity["issuer"] == own_idp.issuer
    assert identity["dev_idp_trusted"] is False
    assert identity["jwks_url"] == own_idp.jwks_url
    assert identity["audience"] == AUDIENCES
    # the existing keys are kept
    assert {"gateway", "sandbox", "aws", "idp", "openapi", "companies", "customers"} <= set(
        own.summary
    )
    assert running["dev_idp_trusted"] is False
    assert running["trusted_issuer"] == own_idp.issuer
    assert running["issuer"] == own.summary["idp"]  # what `make token` still signs as


def test_the_banner_names_your_idp_and_prints_no_dev_sessions(
    tmp_path: Path, own_idp: ShapedIdentityProvider
) -> None:
    with make_dev(tmp_path, own_config(own_idp), banner=True) as run:
        banner = run.banner

    assert (
        f"Identity        your IdP {own_idp.issuer} (JWKS {own_idp.jwks_url}); "
        "the dev IdP's tokens are refused"
    ) in banner
    assert "Identity (dev)" not in banner
    assert "Bearer ey" not in banner  # no sample curl with a session it would refuse
    assert 'curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:' in banner
    assert "UC-0001  Ada Lovelace" in banner  # the sample customers, for your test users
    assert "utilityCustomerId, accountNumbers, utilityCode" in banner


# -- your own IdP's introspection endpoint ----------------------------------------------------


def test_your_idps_introspection_endpoint_is_asked_with_the_files_client(tmp_path: Path) -> None:
    # Given your IdP's RFC 7662 endpoint (a second dev IdP stands in) and its client in a file
    with DevIdentityProvider(introspection_secret="your-introspection-secret-5f1e") as yours:
        leakcheck.register_holder(yours)
        credentials = tmp_path / "introspection.json"
        credentials.write_text(
            json.dumps(
                {
                    "client_id": yours.introspection_client_id,
                    "client_secret": "your-introspection-secret-5f1e",
                }
            )
        )
        introspection_url = yours.introspection_url
        config = {
            "auth_mode": "introspection",
            "auth_introspection_url": introspection_url,
            "auth_issuer": yours.issuer,
        }
        # When `make dev` trusts it
        with make_dev(
            tmp_path / "state", config, INTROSPECTION_CREDENTIALS=str(credentials)
        ) as run:
            ada = run.customer("UC-0001")
            opaque = yours.mint_opaque("UC-0001", ada["accountNumbers"], company="UTX")
            yours_status, answer = get(f"{run.gateway}/v1/me/accounts", opaque)
            dev_status, _ = get(
                f"{run.gateway}/v1/me/accounts", run.summary["customers"][0]["token"]
            )
            identity = run.summary["identity"]
            output = "".join(run.output)
        asked = yours.introspection_requests

    # Then an opaque session of yours is introspected there and answered; the dev IdP's is not
    assert yours_status == 200, answer
    assert account_ids(answer) == [2000001, 2000002]
    assert asked >= 1
    assert dev_status == 401
    assert identity["dev_idp_trusted"] is False
    assert identity["mode"] == "introspection"
    assert identity["introspection_url"] == introspection_url
    assert "your-introspection-secret-5f1e" not in output


# -- the dev IdP --------------------------------------------------------------------------------


def test_without_auth_settings_the_dev_idp_is_trusted_as_before(tmp_path: Path) -> None:
    with make_dev(tmp_path, None) as run:
        identity = run.summary["identity"]
        statuses = {
            get(f"{run.gateway}/v1/me/accounts", c["token"])[0] for c in run.summary["customers"]
        }
        made = run_module("local.token", run.env(), "UC-0002")
        running = run.running()

    assert identity["dev_idp_trusted"] is True
    assert identity["issuer"] == run.summary["idp"]
    assert statuses == {200}
    assert running["dev_idp_trusted"] is True
    assert made.returncode == 0
    assert made.stderr == ""


def test_the_dev_idp_nests_ids_named_by_json_pointers_and_takes_the_first_audience(
    tmp_path: Path,
) -> None:
    config = {
        "claim_utility_customer_id": "/opower/utilityCustomerId",
        "claim_account_numbers": "/opower/accountNumbers",
        "auth_audience": AUDIENCES,
    }
    with make_dev(tmp_path, config) as run:
        printed = run.summary["customers"][0]["token"]
        made = run_module("local.token", run.env(), "UC-0002").stdout.strip()
        statuses = [get(f"{run.gateway}/v1/me/accounts", t)[0] for t in (printed, made)]
        identity = run.summary["identity"]
        grace = run.customer("UC-0002")

    claims = jwt.decode(made, options={"verify_signature": False})
    assert statuses == [200, 200]
    assert identity["dev_idp_trusted"] is True
    assert claims["opower"] == {
        "utilityCustomerId": "UC-0002",
        "accountNumbers": grace["accountNumbers"],
    }
    assert "accountNumbers" not in claims
    assert claims["aud"] == "web-app"


# -- what stops it (the rest of TrustedIdp's refusals: tests/unit/test_make_dev_identity.py) ---


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"auth_issuer": "https://login.utility.example/"},
            "GATEWAY_CONFIG names auth_issuer of your identity provider but not auth_jwks_url: "
            'add "auth_jwks_url"',
        ),
        (
            {
                "auth_issuer": "https://login.utility.example/",
                "auth_jwks_url": "http://login.utility.example/keys",
            },
            "invalid configuration (cdk.json and GATEWAY_CONFIG): invalid runtime setting: "
            "AUTH_JWKS_URL must use https (plain http only on a loopback host)",
        ),
    ],
    ids=["issuer-without-jwks", "http-jwks"],
)
def test_an_idp_named_incompletely_stops_make_dev_in_one_line(
    tmp_path: Path, config: dict[str, Any], expected: str
) -> None:
    result = run_module("local.dev", dev_env(tmp_path, GATEWAY_CONFIG=json.dumps(config)))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("make dev: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
