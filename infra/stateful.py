"""What holds data, and what would replace it: the record that keeps an upgrade from
losing the token store, the customer key or the cache.

CloudFormation replaces a resource whose logical id changes (the old one is deleted, a new
one created) or whose replacement-only property changes, and a replaced DynamoDB table,
secret, KMS key or log group is data gone: the Opower token and the designated-customer
count, the key of every customer's name, the cache, the logs. ``infra/stateful.json`` is
the committed record of each such resource of the stack at cdk.json's settings: its logical
id, its type and the value of every property whose change replaces it, per the
CloudFormation Template Reference ("Update requires: Replacement"):

* ``AWS::DynamoDB::Table``: ``TableName``, ``KeySchema``, ``LocalSecondaryIndexes``,
  ``ImportSourceSpecification`` (the resource's page; the first and last are also the
  registry schema's ``createOnlyProperties``);
* ``AWS::SecretsManager::Secret``: ``Name``;
* ``AWS::Logs::LogGroup``: ``LogGroupName``;
* ``AWS::KMS::Key``: ``KeySpec``, ``KeyUsage``, ``Origin``, ``MultiRegion`` ("If you
  change the value of the KeySpec, KeyUsage, Origin, or MultiRegion properties of an
  existing KMS key, the update request fails", the resource's page): not a replacement,
  a failed deploy, recorded all the same.

``tests/infrastructure/test_stateful.py`` compares each synth with the record: a resource
removed or renamed, or a replacing property changed, fails ``make test`` unless the
version's CHANGELOG entry names the migration (``Migration: <LogicalId>: <what the
operator does>``). A resource added is recorded with ``python -m infra.stateful --write``.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD = Path(__file__).with_name("stateful.json")

REPLACED_BY: Mapping[str, tuple[str, ...]] = {
    "AWS::DynamoDB::Table": (
        "TableName",
        "KeySchema",
        "LocalSecondaryIndexes",
        "ImportSourceSpecification",
    ),
    "AWS::SecretsManager::Secret": ("Name",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::KMS::Key": ("KeySpec", "KeyUsage", "Origin", "MultiRegion"),
}

Record = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Change:
    logical_id: str
    what: str

    def __str__(self) -> str:
        return f"{self.logical_id}: {self.what}"


def record(template: Mapping[str, Any]) -> Record:
    """Each stateful resource of a synthesized template: its type, and the properties
    that would replace it (absent ones as null: setting one replaces it too)."""
    found: Record = {}
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        kind = resource.get("Type", "")
        if kind not in REPLACED_BY:
            continue
        properties = resource.get("Properties", {})
        found[logical_id] = {
            "type": kind,
            "replaced_by": {name: properties.get(name) for name in REPLACED_BY[kind]},
        }
    return found


def changes(before: Record, after: Record) -> list[Change]:
    """What in ``after`` would replace (or fail to update) a resource of ``before``; a
    resource only in ``after`` is new, not a change."""
    found = []
    for logical_id, was in before.items():
        now = after.get(logical_id)
        if now is None:
            found.append(Change(logical_id, f"{was['type']} removed or renamed (deleted)"))
            continue
        if now["type"] != was["type"]:
            found.append(Change(logical_id, f"type {was['type']} -> {now['type']}"))
            continue
        for name, value in was["replaced_by"].items():
            if now["replaced_by"].get(name) != value:
                found.append(
                    Change(
                        logical_id,
                        f"{name} {json.dumps(value)} -> {json.dumps(now['replaced_by'].get(name))}",
                    )
                )
    return found


def migrations(changelog: str, version: str) -> dict[str, str]:
    """The ``Migration: <LogicalId>: <what>`` lines of ``version``'s entry."""
    entry = re.search(
        rf"^## {re.escape(version)}\b.*?(?=^## |\Z)", changelog, flags=re.MULTILINE | re.DOTALL
    )
    if entry is None:
        return {}
    return dict(re.findall(r"^\s*[*-]?\s*Migration: (\S+?): (.+)$", entry.group(0), re.MULTILINE))


def unexplained(found: list[Change], named: Mapping[str, str]) -> list[Change]:
    return [change for change in found if change.logical_id not in named]


def load() -> Record:
    loaded: Record = json.loads(RECORD.read_text())
    return loaded


def synthesized_record() -> Record:
    """The record of the stack at cdk.json's settings (bundling skipped: no asset)."""
    from infra.app import create_app

    with tempfile.TemporaryDirectory() as outdir:
        app, stack = create_app(context={"aws:cdk:bundling-stacks": []}, outdir=outdir)
        app.synth()
        return record(json.loads((Path(outdir) / stack.template_file).read_text()))


def main(argv: list[str]) -> int:
    if argv != ["--write"]:
        print("usage: python -m infra.stateful --write", file=sys.stderr)
        return 2
    RECORD.write_text(json.dumps(synthesized_record(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
