"""`make dev`: the whole gateway on this machine, on embedded defaults, until Ctrl-C.

Prints, on one screen, where everything is, one request to paste (`make -s token`, then a
curl) and the sample customers. ``--json`` prints one JSON line instead, for programs
(the end-to-end tests start the stack this way).

With ``OPOWER_URL`` and ``UTILITY_CODE`` (and ``OPOWER_CREDENTIALS``, a JSON file of the
client's id and secret, or else the terminal), the handlers call that real Opower (Oracle's
UAT stage host) instead of the sandbox, which does not run (local/opower_tier.py).

``GATEWAY_CONFIG`` naming an identity provider (``auth_issuer`` and ``auth_jwks_url``, or
``auth_mode`` "introspection" with ``auth_introspection_url`` and
``INTROSPECTION_CREDENTIALS``, a JSON file of the gateway's introspection client) makes
the gateway trust that one instead of the dev IdP; the banner says so (local/stack.py,
``TrustedIdp``).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import faulthandler
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from gateway.credentials import OpowerCredentials
from gateway.version import VERSION
from infra.config import GatewayConfigError
from local.opower_tier import OpowerTarget, OpowerTierError, Terminal, credentials_from_file
from local.stack import (
    INTROSPECTION_CREDENTIALS,
    NO_INTROSPECTION_CLIENT,
    STATE_DIR,
    IdentityConfigError,
    LocalStack,
    Ports,
    TrustedIdp,
)
from local.token import write_running

_STOPPING = threading.Event()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM: stop, once. The signals that follow (a process manager's SIGTERM
    to the whole group after the terminal's SIGINT) do nothing, rather than interrupt the
    stop with a traceback; the stop's own deadline still bounds it. (The handler stays:
    switching to SIG_IGN here makes Python report a signal already on its way as "ignored
    due to race condition".)"""
    if _STOPPING.is_set():
        return
    _STOPPING.set()
    raise KeyboardInterrupt


# The banner's last line: what to read next (programs reading the banner wait for it).
BANNER_END = "More: the tour in README.md, docs/local-development.md."


def banner(summary: dict[str, Any]) -> str:
    """What `make dev` prints when ready, from its summary (LocalStack.summary): where
    everything is, one request to try, the sample customers; fits an 80 x 24 terminal
    (the tokens themselves are `make -s token`'s, not the banner's)."""
    if "opower" in summary:
        return tier_banner(summary)
    identity = _identity(summary)
    gateway, sandbox = summary["gateway"], summary["sandbox"]
    lines = [
        f"Opower Gateway {VERSION} is running locally (Ctrl-C stops everything).",
        "",
        *portal_lines(summary),
        f"  Customer API    {gateway}/v1/me/...",
        f"  API docs        {gateway}/_local/docs  (OpenAPI: /v1/openapi.json)",
        f"  Opower sandbox  {sandbox}/apis/  (what it saw: /_sandbox/stats)",
        *identity_lines(summary),
        f"  AWS (moto)      {summary['aws']}  DynamoDB, Secrets Manager, KMS",
        *cors_lines(summary),
        "",
    ]
    first = summary["customers"][0]
    # `make token` takes the first company unless told
    company = (
        ""
        if first["utilityCode"] == summary["companies"][0]
        else f" COMPANY={first['utilityCode']}"
    )
    if identity["dev_idp_trusted"]:
        lines += [
            "Try it, as a sample customer (the session is valid for an hour):",
            f"  TOKEN=$(make -s token CUSTOMER={first['utilityCustomerId']}{company})",
            _own_token_curl(gateway),
            "",
            f"Sample customers of {', '.join(summary['companies'])} "
            "(make -s token CUSTOMER=<id> [COMPANY=<code>]):",
        ]
    else:
        lines += [
            "A session your IdP issued to a test user who is one of these customers, their",
            f"ids in its claims ({_claim_names(identity)}); the dev IdP's are refused:",
            _own_token_curl(gateway),
            "",
            f"Sample customers of {', '.join(summary['companies'])}:",
        ]
    for customer in summary["customers"]:
        lines.append(
            f"  {customer['utilityCode']} {customer['utilityCustomerId']:<8} "
            f"{customer['name']:<18} {', '.join(customer['accountNumbers'])}"
        )
    lines += [
        f"Service API (SigV4): make service-call CUSTOMER={first['utilityCustomerId']} "
        "ROUTE=/bill-forecast",
        BANNER_END,
    ]
    return "\n".join(lines)


def portal_lines(summary: dict[str, Any]) -> list[str]:
    """The customer portal's line: its address, and where its customers sign in."""
    portal = summary.get("portal")
    if not portal:
        return []
    if _identity(summary)["dev_idp_trusted"]:
        how = "sign in as a sample customer" if summary.get("customers") else "sign in by ids"
    elif summary.get("portal_client_id"):
        how = "sign in at your IdP"
    else:
        how = "set PORTAL_CLIENT_ID (docs/portal.md)"
    return [f"  Portal          {portal}  {how}"]


def cors_lines(summary: dict[str, Any]) -> list[str]:
    """Which browser origins may call (CORS): make dev allows the usual dev servers'."""
    origins = summary.get("cors_allow_origins") or []
    if not origins:
        return ["  Browsers        no origin allowed (cors_allow_origins)"]
    more = f" and {len(origins) - 1} more origins" if len(origins) > 1 else ""
    return [f"  Browsers        {origins[0]}{more} (CORS)"]


def tier_banner(summary: dict[str, Any]) -> str:
    """The banner against a real Opower: which one, and how to mint a session (there are
    no sample customers to list: they are the utility's)."""
    gateway, opower = summary["gateway"], summary["opower"]
    identity = _identity(summary)
    code = opower["utility_code"]
    lines = [
        f"Opower Gateway {VERSION} is running locally against Opower {opower['url']}, "
        f"utility {code}",
        "(Ctrl-C stops everything). Every call a customer makes here is a real Opower call,",
        "counted in the utility's quota there.",
        "",
        f"  Customer API    {gateway}/v1/me/...   API Gateway emulator, real Lambda handlers",
        *portal_lines(summary),
        f"  OpenAPI         {summary['openapi']}",
        f"  API docs        {gateway}/_local/docs",
        f"  Opower          {opower['url']}/apis/   utility code {code} (no sandbox runs)",
        *identity_lines(summary),
        f"  AWS (moto)      {summary['aws']}   DynamoDB, Secrets Manager (the client",
        "                  credentials, in memory only), KMS",
        *cors_lines(summary),
        "",
    ]
    if identity["dev_idp_trusted"]:
        lines += [
            "A session for one of the utility's customers in that Opower (its utility customer id",
            "and utility account numbers, as the identity provider's claims would carry them;",
            "valid for 1 hour):",
            "",
            "    TOKEN=$(make -s token CUSTOMER=<utilityCustomerId> ACCOUNTS=<number>[,<number>])",
        ]
    else:
        lines += [
            "A session your IdP issued to a test user who is one of the utility's customers in",
            "that Opower, their utility customer id and account numbers in its claims",
            f"    {_claim_names(identity, company=False)}",
            "(the dev IdP's tokens, `make token`'s too, are refused):",
            "",
        ]
    lines += [
        _own_token_curl(gateway),
        "",
        "Service API (SigV4): make service-call CUSTOMER=<utilityCustomerId> ACCOUNT=<number>",
        BANNER_END,
    ]
    return "\n".join(lines)


def _identity(summary: dict[str, Any]) -> dict[str, Any]:
    identity: dict[str, Any] = summary.get("identity") or {"dev_idp_trusted": True}
    return identity


def identity_lines(summary: dict[str, Any]) -> list[str]:
    """The banner's Identity line (and Claims line, when they are fetched): the dev IdP,
    or the user's own, whose issuer it names."""
    identity = _identity(summary)
    if identity["dev_idp_trusted"]:
        lines = [f"  Identity (dev)  {summary['idp']}/.well-known/openid-configuration"]
    else:
        if identity.get("mode") == "introspection":
            source = f"introspection {identity['introspection_url']}"
            issuer = identity["issuer"] or identity["introspection_url"]
        else:
            source, issuer = f"JWKS {identity['jwks_url']}", identity["issuer"]
        lines = [
            f"  Identity        your IdP {issuer} ({source}); the dev IdP's tokens are refused"
        ]
    claims_from = identity.get("claims_from", "token")
    if claims_from == "userinfo":
        where = identity.get("userinfo_url") or "the issuer's discovery document's endpoint"
        lines.append(f"  Claims          from UserInfo: {where}")
    elif claims_from == "cognito":
        lines.append(f"  Claims          from Cognito's GetUser at {identity['cognito_endpoint']}")
        if identity.get("cognito_is_aws"):
            lines.append(
                "                  (AWS itself, not the embedded AWS: called with your test "
                "users' access tokens)"
            )
    return lines


def _claim_names(identity: dict[str, Any], *, company: bool = True) -> str:
    claims = identity.get("claims") or {
        "utility_customer_id": "utilityCustomerId",
        "account_numbers": "accountNumbers",
        "utility_code": "utilityCode",
    }
    names = [claims["utility_customer_id"], claims["account_numbers"]]
    if company:
        names.append(claims["utility_code"])
    return ", ".join(names)


def _own_token_curl(gateway: str) -> str:
    return f"""  curl -s -H "Authorization: Bearer $TOKEN" {gateway}/v1/me/accounts"""


class StartupError(Exception):
    """What stops `make dev` from starting, said in one line with the fix."""


def gateway_config(raw: str | None) -> dict[str, Any]:
    """GATEWAY_CONFIG: a JSON object of settings over cdk.json's, as `-c` flags would be."""
    example = """GATEWAY_CONFIG='{"proxy_timeout_s": 8}'"""
    try:
        overrides = json.loads(raw or "{}")
    except ValueError as exc:
        raise StartupError(
            f"GATEWAY_CONFIG is not JSON ({exc}); give an object, e.g. {example}"
        ) from None
    if not isinstance(overrides, dict):
        raise StartupError(f"GATEWAY_CONFIG must be a JSON object of settings, e.g. {example}")
    return overrides


def ports_in_use(ports: Ports) -> list[str]:
    """The port settings whose port another program holds ('SANDBOX_PORT=4010')."""
    taken = []
    for field in dataclasses.fields(ports):
        port = getattr(ports, field.name)
        if port == 0:
            continue  # any free port
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{field.name.upper()}_PORT={port}")
    return taken


def introspection_client(trusted: TrustedIdp, raw_file: str) -> OpowerCredentials | None:
    """INTROSPECTION_CREDENTIALS: the client of the user's own introspection endpoint, read
    from the JSON file it names (never from the environment itself), or None."""
    if not trusted.introspection:
        if raw_file:
            raise StartupError(
                f"{INTROSPECTION_CREDENTIALS} is for your IdP's introspection endpoint: name it "
                'in GATEWAY_CONFIG ("auth_mode": "introspection", "auth_introspection_url": '
                f'"https://..."), or unset {INTROSPECTION_CREDENTIALS}'
            )
        return None
    if not raw_file:
        raise StartupError(NO_INTROSPECTION_CLIENT)
    try:
        return credentials_from_file(
            raw_file, variable=INTROSPECTION_CREDENTIALS, issued_by="your IdP"
        )
    except OpowerTierError as exc:
        raise StartupError(str(exc)) from None


def start(state_dir: Path, terminal: Terminal | None = None) -> LocalStack:
    overrides = gateway_config(os.environ.get("GATEWAY_CONFIG"))
    try:
        trusted = TrustedIdp.from_overrides(overrides)
    except IdentityConfigError as exc:
        raise StartupError(str(exc)) from None
    introspection = introspection_client(
        trusted, os.environ.get(INTROSPECTION_CREDENTIALS, "").strip()
    )
    try:
        ports = Ports.from_env(os.environ)
        target = OpowerTarget.from_env(os.environ)
    except (SystemExit, OpowerTierError) as exc:
        raise StartupError(str(exc)) from None
    # Against a real Opower no sandbox runs: its port is not needed (a `make sandbox` on
    # it may even be the Opower called).
    taken = ports_in_use(ports if target is None else dataclasses.replace(ports, sandbox=0))
    if taken:
        raise StartupError(
            f"port in use: {', '.join(taken)} (another `make dev`?). Stop it, or choose "
            f"another, e.g. `{taken[0].split('=')[0]}=0 make dev` for any free port"
        )
    try:
        # Reachable before anyone types a secret for it; a credentials file is read first
        # (what is wrong in it is said without asking the network).
        if target is not None and not target.credentials_file:
            target.check_ready(terminal)
        opower = target.tier(terminal) if target is not None else None
        if target is not None and target.credentials_file:
            target.check_ready(terminal)
    except OpowerTierError as exc:
        raise StartupError(str(exc)) from None
    try:
        return LocalStack(
            ports,
            state_dir=state_dir,
            overrides=overrides,
            opower=opower,
            introspection_client=introspection,
        ).start()
    except GatewayConfigError as exc:
        raise StartupError(f"invalid configuration (cdk.json and GATEWAY_CONFIG): {exc}") from None
    except IdentityConfigError as exc:
        raise StartupError(str(exc)) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:  # taken since the check above
            raise StartupError(f"a port was taken while starting ({exc.strerror}): retry") from None
        raise


STOP_DEADLINE_S = 10  # from Ctrl-C to exit, however a thread of the stack behaves


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON line when ready")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # `kill -USR1 <pid>` prints where every thread of the running stack is.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    state_dir = Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR)
    try:
        stack = start(state_dir)
    except StartupError as exc:
        print(f"make dev: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # stopped while starting: what had started is stopped
        print("stopped", flush=True)
        return 0
    running = None
    try:
        summary = stack.summary()
        running = write_running(state_dir, stack.running_settings())
        print(json.dumps(summary) if args.json else banner(summary), flush=True)
        # Woken every half second: a signal the kernel delivers to another of the stack's
        # threads is run by Python in the main thread only once it runs again, and a wait
        # with no timeout could sleep through Ctrl-C for good.
        idle = threading.Event()
        while not idle.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        _STOPPING.set()  # one stop, whatever ended the run: a signal now does nothing
        # Ctrl-C always ends it: were a thread to hold the stop (or the interpreter's exit)
        # past the deadline, every thread's stack goes to stderr and the process exits 1.
        faulthandler.dump_traceback_later(STOP_DEADLINE_S, exit=True)
        if running is not None:
            running.unlink(missing_ok=True)
        stack.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
