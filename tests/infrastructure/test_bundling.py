"""The Lambda asset is reproducible: every runtime package pinned to one hashed wheel."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.bundling import COMPILER, HANDLERS, LOCK, REQUIREMENTS, ROOT, PipLocalBundling
from infra.functions import RUNTIME

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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def run(command: list[str], **kwargs: object) -> None:
        commands.append(command)

    monkeypatch.setattr("infra.bundling.subprocess.run", run)
    PipLocalBundling(python_version="3.14").try_bundle(str(tmp_path))

    pip, compiler = commands
    assert "--require-hashes" in pip
    assert pip[pip.index("-r") + 1] == str(LOCK)
    assert "--no-deps" not in pip  # pip must find every dependency in the lock
    # then bytecode for the runtime's Python, proven by importing the handlers
    assert compiler[1:] == [str(COMPILER), str(tmp_path), "3.14", *HANDLERS]


def _compile(directory: Path, version: str, *modules: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None
    return subprocess.run(  # noqa: S603 - our compiler script
        [node, str(COMPILER), str(directory), version, *modules],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_compiler_writes_checked_bytecode_of_the_runtimes_python(tmp_path: Path) -> None:
    """What the asset build runs (under Node, CPython as WebAssembly): pycs of the
    runtime's Python version beside every module, which then import from them."""
    runtime = RUNTIME.name.removeprefix("python")  # "3.14"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 42\n")

    run = _compile(tmp_path, runtime, "pkg.mod")

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    tag = "cpython-" + runtime.replace(".", "")
    assert report["tag"] == tag
    assert report["pycs"] == 2
    pyc = tmp_path / "pkg" / "__pycache__" / f"mod.{tag}.pyc"
    data = pyc.read_bytes()
    assert data[:4].hex() == report["magic"]
    # PEP 552 flags: hash-based, unchecked (the asset is immutable; file times are not kept)
    assert int.from_bytes(data[4:8], "little") == 0b01


def test_the_compiler_refuses_another_python_than_the_runtimes(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("")

    run = _compile(tmp_path, "3.9")

    assert run.returncode != 0
    assert "the runtime is Python 3.9" in run.stderr
