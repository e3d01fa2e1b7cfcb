"""`make dev` against a real Opower tier (Oracle's UAT stage host) instead of the sandbox.

    make dev OPOWER_URL=https://cxapi-stage.opower.com UTILITY_CODE=ABC \
        OPOWER_CREDENTIALS=creds.json

``OPOWER_URL`` and ``UTILITY_CODE`` go together; the client credentials come from the
JSON file ``OPOWER_CREDENTIALS`` names (``{"client_id": "...", "client_secret": "..."}``)
or, without it, from the terminal (the secret without echo). Never from the command line
or the environment themselves: they would stay in the shell's history and in every
process listing. They go into the embedded Secrets Manager only (in memory), as
`make fill-secret` puts them into a deployed stack's secret.

Every error is one line naming what to fix; no message ever holds a credential.
"""

from __future__ import annotations

import getpass
import json
import re
import socket
import ssl
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gateway.credentials import OpowerCredentials
from gateway.errors import ConfigurationError
from gateway.settings import validate_base_url

# Opower's utility codes ({U} in every path) are 3-4 letters or digits.
_UTILITY_CODE = re.compile(r"[A-Za-z0-9]{3,4}")
EXAMPLE = (
    "make dev OPOWER_URL=https://cxapi-stage.opower.com UTILITY_CODE=ABC "
    "OPOWER_CREDENTIALS=creds.json"
)
_FILE_SHAPE = '{"client_id": "...", "client_secret": "..."}'


class OpowerTierError(Exception):
    """A setting of the real-Opower mode is missing or wrong (one line, never a value of
    the credentials)."""


def _ask_on_stderr(prompt: str) -> str:
    """input(), but prompting on stderr: stdout carries the banner or the --json line."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


@dataclass(frozen=True)
class Terminal:
    """Where the credentials are asked for when no file is given (a fake in tests)."""

    interactive: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())
    ask: Callable[[str], str] = _ask_on_stderr
    ask_secret: Callable[[str], str] = getpass.getpass


@dataclass(frozen=True)
class OpowerTier:
    """The real Opower the local stack calls: its origin, the utility code, the client."""

    url: str
    utility_code: str
    credentials: OpowerCredentials = field(repr=False)

    def describe(self) -> dict[str, str]:
        """What may be shown (banner, running.json): never the client's id or secret."""
        return {"url": self.url, "utility_code": self.utility_code}


@dataclass(frozen=True)
class OpowerTarget:
    """OPOWER_URL, UTILITY_CODE and OPOWER_CREDENTIALS checked, the credentials not yet
    read (so that a port in use is reported before anyone types a secret)."""

    url: str
    utility_code: str
    credentials_file: str = ""  # empty: ask on the terminal

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OpowerTarget | None:
        """The real Opower asked for, or None for the sandbox (none of the three set)."""
        raw_url = env.get("OPOWER_URL", "").strip()
        raw_code = env.get("UTILITY_CODE", "").strip()
        credentials_file = env.get("OPOWER_CREDENTIALS", "").strip()
        if not raw_url and not raw_code:
            if credentials_file:
                raise OpowerTierError(
                    "OPOWER_CREDENTIALS is for a real Opower: give OPOWER_URL and "
                    f"UTILITY_CODE with it ({EXAMPLE}), or none of the three for the sandbox"
                )
            return None
        if not raw_code:
            raise OpowerTierError(
                "OPOWER_URL needs UTILITY_CODE, your utility's Opower code (3-4 letters or "
                f"digits): {EXAMPLE}"
            )
        if not raw_url:
            raise OpowerTierError(
                f"UTILITY_CODE={raw_code} needs OPOWER_URL, the Opower to call: {EXAMPLE}; "
                "without both (unset UTILITY_CODE), make dev runs its own sandbox"
            )
        return cls(check_url(raw_url), check_utility_code(raw_code), credentials_file)

    def check_ready(self, terminal: Terminal | None = None) -> None:
        """What can be said before the credentials are read: where they would be asked
        (a file, or a terminal there is), then that OPOWER_URL answers."""
        if not self.credentials_file:
            require_terminal(terminal or Terminal())
        self.check_reachable()

    def check_reachable(self, timeout_s: float = 5.0) -> None:
        """That OPOWER_URL's host resolves and answers (TLS, its certificate verified, for
        https), so that a wrong host is one line at startup, not a token error later."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise OpowerTierError(
                f"OPOWER_URL's host {host} does not resolve: check the URL (e.g. "
                "https://cxapi-stage.opower.com) and this machine's DNS"
            ) from None
        try:
            with socket.create_connection((host, port), timeout=timeout_s) as connection:
                if parts.scheme == "https":
                    context = ssl.create_default_context()
                    with context.wrap_socket(connection, server_hostname=host):
                        pass
        except ssl.SSLError as exc:
            raise OpowerTierError(
                f"OPOWER_URL's host {host} does not answer TLS on port {port} "
                f"({exc.reason or type(exc).__name__})"
            ) from None
        except OSError as exc:
            raise OpowerTierError(
                f"OPOWER_URL's host {host} does not answer on port {port} "
                f"({type(exc).__name__}): is the URL right, and is it reachable from here?"
            ) from None

    def tier(self, terminal: Terminal | None = None) -> OpowerTier:
        """With the credentials, from the file or else the terminal."""
        if self.credentials_file:
            credentials = credentials_from_file(self.credentials_file)
        else:
            credentials = credentials_from_terminal(terminal or Terminal())
        return OpowerTier(self.url, self.utility_code, credentials)


def check_url(raw: str) -> str:
    """An origin over https (plain http only on a loopback host, as tests stand in)."""
    try:
        return validate_base_url(raw.rstrip("/"), setting="OPOWER_URL")
    except ConfigurationError as exc:
        raise OpowerTierError(f"{exc}, e.g. OPOWER_URL=https://cxapi-stage.opower.com") from None


def check_utility_code(raw: str) -> str:
    if not _UTILITY_CODE.fullmatch(raw):
        raise OpowerTierError(
            f"UTILITY_CODE must be your utility's Opower code, 3-4 letters or digits "
            f"(got {raw!r}), e.g. UTILITY_CODE=ABC"
        )
    return raw


def credentials_from_file(
    name: str, *, variable: str = "OPOWER_CREDENTIALS", issued_by: str = "Oracle"
) -> OpowerCredentials:
    """The client_id and client_secret of a JSON file; errors name the fix, never a value
    (``variable`` named the file: INTROSPECTION_CREDENTIALS holds another client's)."""
    where = f"{variable}={name}"
    try:
        text = Path(name).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise OpowerTierError(
            f"{where}: cannot read it ({reason}); give a JSON file {_FILE_SHAPE}"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        # `from None` and only the position: the error's `doc` is the whole file.
        raise OpowerTierError(
            f"{where} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            f"it must hold {_FILE_SHAPE}"
        ) from None
    if not isinstance(document, dict):
        raise OpowerTierError(f"{where} must hold a JSON object {_FILE_SHAPE}")
    return _credentials(
        document.get("client_id"),
        document.get("client_secret"),
        lambda key: f'{where} lacks "{key}" (a non-empty string): add the one {issued_by} sent you',
    )


def require_terminal(terminal: Terminal) -> None:
    """An error at once when the credentials must be asked and there is no terminal."""
    if not terminal.interactive():
        raise OpowerTierError(
            "no terminal to ask the Opower client credentials on: pass "
            f"OPOWER_CREDENTIALS=<file> holding {_FILE_SHAPE}"
        )


def credentials_from_terminal(terminal: Terminal) -> OpowerCredentials:
    """Asked on the terminal, the secret without echo; at once an error without one."""
    require_terminal(terminal)
    try:
        client_id = terminal.ask("Opower client_id: ")
        client_secret = terminal.ask_secret("Opower client_secret (not shown): ")
    except (EOFError, KeyboardInterrupt):
        raise OpowerTierError(
            "no Opower client credentials entered: type them, or pass OPOWER_CREDENTIALS=<file>"
        ) from None
    return _credentials(client_id, client_secret, lambda key: f"the {key} entered is empty")


def _credentials(
    client_id: object, client_secret: object, missing: Callable[[str], str]
) -> OpowerCredentials:
    values = {"client_id": client_id, "client_secret": client_secret}
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise OpowerTierError(missing(key))
    assert isinstance(client_id, str)
    assert isinstance(client_secret, str)
    return OpowerCredentials(client_id=client_id.strip(), client_secret=client_secret.strip())
