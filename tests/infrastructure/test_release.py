"""One version, in one place (lambdas/gateway/version.py), shown everywhere it belongs, and
the files a utility's legal and platform teams look for first (issue #39)."""

from __future__ import annotations

import json
import re
import tomllib

from gateway.version import VERSION
from infra.gateway import VERSION_TAG
from local.dev import banner
from tests.infrastructure.conftest import ROOT, Synthesized
from tests.unit.test_make_dev_identity import _own, _summary


def test_the_version_is_semantic_and_kept_in_one_place() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # the package's version is read from the same constant, not written twice
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "gateway.version.VERSION"
    }


def test_the_openapi_documents_the_stack_and_make_dev_show_it(synthesized: Synthesized) -> None:
    for name in ("openapi.json", "openapi-service.json"):
        assert json.loads((ROOT / "docs" / name).read_text())["info"]["version"] == VERSION
    # every taggable resource of the stack, the tables and secrets included
    tagged = [
        r for r in synthesized.raw["Resources"].values()
        if {"Key": VERSION_TAG, "Value": VERSION} in (r.get("Properties", {}).get("Tags") or [])
    ]  # fmt: skip
    kinds = {r["Type"] for r in tagged}
    assert {"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::KMS::Key",
            "AWS::Lambda::Function"} <= kinds  # fmt: skip
    assert banner(_summary(_own())).startswith(f"Opower Gateway {VERSION} is running locally")


def test_the_changelog_opens_with_this_version_and_the_legal_files_exist() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## (\d+\.\d+\.\d+)", changelog, flags=re.MULTILINE)
    assert versions[0] == VERSION  # newest first, this version's entry included
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))),
                              reverse=True)  # fmt: skip
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    for name in ("NOTICE", "CONTRIBUTING.md", "SECURITY.md", "docs/releasing.md"):
        assert (ROOT / name).stat().st_size > 200, name
