"""`make browser` (tests/browser/chromium.py): which Chromium the portal's tests drive, and
what it says when there is none it may install."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium


def test_portal_browser_names_the_browser_and_must_be_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    browser = tmp_path / "chrome"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    monkeypatch.setenv(chromium.VARIABLE, str(browser))
    assert chromium.find() == str(browser)
    assert chromium.main() == 0
    monkeypatch.setenv(chromium.VARIABLE, str(tmp_path / "missing"))
    assert chromium.find() is None
    assert chromium.main() == 2
    assert "is not an executable file" in capsys.readouterr().err


def test_without_chromium_and_root_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(chromium.VARIABLE, raising=False)
    monkeypatch.setattr(chromium.shutil, "which", lambda name: None)
    monkeypatch.setattr(chromium.os, "geteuid", lambda: 1000)
    assert chromium.main() == 2
    said = capsys.readouterr().err
    assert "sudo apt-get install chromium" in said
    assert chromium.VARIABLE in said


def test_as_root_on_debian_it_installs_debians_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed: list[list[str]] = []
    present = {"apt-get": "/usr/bin/apt-get"}

    class Done:
        returncode = 0

    def run(command: list[str], **_: object) -> Done:
        installed.append(command)
        if command[:2] == ["apt-get", "install"]:
            present["chromium"] = "/usr/bin/chromium"
        return Done()

    monkeypatch.delenv(chromium.VARIABLE, raising=False)
    monkeypatch.setattr(chromium.shutil, "which", present.get)
    monkeypatch.setattr(chromium.os, "geteuid", lambda: 0)
    monkeypatch.setattr(chromium.subprocess, "run", run)
    assert chromium.main() == 0
    assert installed == [["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]
    assert "/usr/bin/chromium" in capsys.readouterr().out
