"""A pytest plugin that fails the run if a secret value appears in any captured output.

Everything the code under test logs (every logger, from DEBUG for our own packages), and
every test's captured stdout, stderr and log, is kept; when the session ends it is
scanned for every Opower token the sandboxes issued, every client secret and Basic
header they accepted, and every session token the tests registered.

Under pytest-xdist each worker process scans what it captured against the secrets it
made (each has its own sandbox, identity provider and moto server) and hands its counts
and findings to the controller (``workeroutput``), which reports the sum and fails the
run on any leak.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from typing import Protocol

import pytest

_OWN_PACKAGES = ("gateway", "handlers", "local")


class SecretHolder(Protocol):
    def secret_values(self) -> Iterable[str]: ...


_holders: list[SecretHolder] = []
_secrets: set[str] = set()
_captured: list[tuple[str, str]] = []


class _Collector(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            # `extra` fields go to JSON logs in Lambda: scan them too.
            text += " " + " ".join(f"{k}={v!r}" for k, v in vars(record).items())
        except Exception as exc:  # noqa: BLE001 - a broken record must not hide the others
            text = f"<unformattable record: {type(exc).__name__}>"
        _captured.append((f"log:{record.name}", text))


_collector = _Collector()


def register_holder(holder: SecretHolder) -> None:
    """An object (a sandbox, an identity provider) whose secrets must never leak."""
    _holders.append(holder)


def add_captured(where: str, text: str) -> None:
    """Output captured outside pytest's capture (a subprocess's), to be scanned too."""
    _captured.append((where, text))


def register_secret(*values: str) -> None:
    _secrets.update(v for v in values if v)


def basic_header_value(client_id: str, client_secret: str) -> str:
    return base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def pytest_sessionstart(session: pytest.Session) -> None:
    root = logging.getLogger()
    root.addHandler(_collector)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for name in _OWN_PACKAGES:
        logging.getLogger(name).setLevel(logging.DEBUG)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for section, text in report.sections:
        _captured.append((f"{report.nodeid} {section}", text))


def _all_secrets() -> set[str]:
    values = set(_secrets)
    for holder in _holders:
        values.update(holder.secret_values())
    # Very short values would match by chance; every real secret here is long.
    return {v for v in values if len(v) >= 12}


def find_leaks() -> list[str]:
    secrets = _all_secrets()
    leaks = []
    for where, text in _captured:
        for secret in secrets:
            if secret in text:
                leaks.append(f"{where}: contains a secret value ({secret[:4]}…)")
    return leaks


# What each xdist worker found, gathered by the controller as the workers finish.
_workers: list[dict[str, object]] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    output = getattr(node, "workeroutput", {})
    if "leakcheck" in output:
        _workers.append(json.loads(output["leakcheck"]))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_collector)
    mine = {"captured": len(_captured), "secrets": len(_all_secrets()), "leaks": find_leaks()}
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports for all
        workeroutput["leakcheck"] = json.dumps(mine)
        return
    results = [mine, *_workers]
    captured = sum(int(str(r["captured"])) for r in results)
    secrets = sum(int(str(r["secrets"])) for r in results)
    leaks = [leak for r in results for leak in r["leaks"]]  # type: ignore[attr-defined]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        where = f" in {len(_workers)} workers" if _workers else ""
        reporter.write_line(
            f"leak check: {captured} captured outputs scanned for "
            f"{secrets} secret values{where}: {len(leaks)} leaks",
            red=bool(leaks),
        )
        for leak in sorted(set(leaks))[:50]:
            reporter.write_line(f"  LEAK {leak}", red=True)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
