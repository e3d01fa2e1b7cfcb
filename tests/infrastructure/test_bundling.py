"""The Lambda asset is reproducible: every runtime package pinned to one hashed wheel."""

from __future__ import annotations

import re

import pytest

from infra.bundling import LOCK, REQUIREMENTS, PipLocalBundling

pytestmark = pytest.mark.infrastructure

_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", re.MULTILINE)


def _pins(text: str) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in _PIN.findall(text)}


def test_the_lock_pins_the_direct_requirements_at_their_versions() -> None:
    direct = _pins(REQUIREMENTS.read_text())
    locked = _pins(LOCK.read_text())

    assert direct, "lambdas/requirements.txt pins nothing?"
    assert {name: locked.get(name) for name in direct} == direct
    # and their dependencies too: cryptography's cffi, Powertools' jmespath ...
    assert {"cffi", "pycparser", "jmespath", "typing-extensions"} <= set(locked)


def test_every_locked_package_has_the_hash_of_its_wheel() -> None:
    text = LOCK.read_text()

    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", text)) == len(_pins(text)) > 0


def test_the_asset_build_installs_the_lock_in_hash_checking_mode(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def run(command: list[str], **kwargs: object) -> None:
        commands.append(command)

    monkeypatch.setattr("infra.bundling.subprocess.run", run)
    PipLocalBundling(python_version="3.14").try_bundle(str(tmp_path))

    (command,) = commands
    assert "--require-hashes" in command
    assert command[command.index("-r") + 1] == str(LOCK)
    assert "--no-deps" not in command  # pip must find every dependency in the lock
