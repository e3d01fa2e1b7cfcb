"""Upgrades never replace what holds data (infra/stateful.py): the synthesized stack against
the committed record of its tables, secrets, keys and log groups, each change allowed only
when the version's CHANGELOG entry names its migration. CloudFormation replaces a resource
whose logical id or replacement-only property ("Update requires: Replacement", the
CloudFormation Template Reference page of each type) changes."""

from __future__ import annotations

import copy
import json
from typing import Any

from gateway.version import VERSION
from infra import stateful
from tests.infrastructure.conftest import ROOT, Synthesized

CHANGELOG = (ROOT / "CHANGELOG.md").read_text()


def test_no_stateful_resource_is_replaced_unless_the_changelog_names_the_migration(
    synthesized: Synthesized,
) -> None:
    found = stateful.changes(stateful.load(), stateful.record(synthesized.raw))

    left = stateful.unexplained(found, stateful.migrations(CHANGELOG, VERSION))

    assert not left, (
        "this change would replace (or fail to update) what holds data in a deployed "
        f"stack: {'; '.join(map(str, left))}. Keep the logical id and the property, or name "
        f"the migration in CHANGELOG.md's {VERSION} entry ('Migration: <LogicalId>: <what "
        "the operator does>') and record it: python -m infra.stateful --write"
    )


def test_every_stateful_resource_is_recorded(synthesized: Synthesized) -> None:
    recorded, now = stateful.load(), stateful.record(synthesized.raw)

    assert set(now) == set(recorded), (
        f"not recorded: {sorted(set(now) - set(recorded))}; recorded but gone: "
        f"{sorted(set(recorded) - set(now))}: python -m infra.stateful --write"
    )
    # the token table, its cache, the customer key, the Opower secret are among them
    kinds = {entry["type"] for entry in recorded.values()}
    assert kinds == set(stateful.REPLACED_BY)


def _planted(raw: dict[str, Any], logical_id: str, new_id: str) -> dict[str, Any]:
    planted = copy.deepcopy(raw)
    planted["Resources"][new_id] = planted["Resources"].pop(logical_id)
    return planted


def test_a_planted_rename_of_the_token_table_fails_without_its_migration(
    synthesized: Synthesized,
) -> None:
    table = synthesized.logical_id(synthesized.stack.gateway.store.table)
    renamed = stateful.record(_planted(synthesized.raw, table, "TokenTableRenamed"))

    found = stateful.changes(stateful.load(), renamed)

    assert [c.logical_id for c in found] == [table]
    assert "removed or renamed" in found[0].what
    # unexplained by this version's entry, explained by one that names it
    assert stateful.unexplained(found, stateful.migrations(CHANGELOG, VERSION)) == found
    named = f"## {VERSION}\n\n* Migration: {table}: copy the token items to the new table\n"
    assert stateful.unexplained(found, stateful.migrations(named, VERSION)) == []
    # a migration named under another version explains nothing
    other = named.replace(f"## {VERSION}", "## 0.0.1")
    assert stateful.unexplained(found, stateful.migrations(other, VERSION)) == found


def test_a_replacing_property_change_is_caught_and_a_new_resource_is_not_a_change(
    synthesized: Synthesized,
) -> None:
    table = synthesized.logical_id(synthesized.stack.gateway.store.table)
    planted = copy.deepcopy(synthesized.raw)
    planted["Resources"][table]["Properties"]["TableName"] = "opower-tokens"
    planted["Resources"]["ExtraTable"] = copy.deepcopy(planted["Resources"][table])

    found = stateful.changes(stateful.load(), stateful.record(planted))

    assert [(c.logical_id, c.what) for c in found] == [(table, 'TableName null -> "opower-tokens"')]
    assert json.dumps(found[0].what)  # printable as the failure says it
