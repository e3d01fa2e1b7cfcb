"""Oracle's documented example answers (tests/contracts/opower/*.json) and a check that a
sandbox answer has the shape of one: the same keys, and values of the same JSON types,
with every item of a list shaped as the example's first."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "opower"


def documented(name: str) -> dict[str, Any]:
    """The fixture of one page: title, page, operation, sandbox_route, status, example."""
    fixture: dict[str, Any] = json.loads((CONTRACTS / f"{name}.json").read_text())
    return fixture


def json_type(value: object) -> str:
    """The JSON type of a decoded value (an integer and a decimal are both numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_shape(
    actual: object,
    example: object,
    *,
    optional: Collection[str] = (),
    any_type: Collection[str] = (),
    where: str = "$",
) -> None:
    """`actual` has the example's keys and types. Keys in `optional` may be present or
    absent on either side (fields the page's schema documents but its example leaves out,
    or optional ones); keys in `any_type` may hold another type (the example's own
    inconsistency, as a number for a string id)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        assert set(actual) - set(optional) == set(example) - set(optional), (
            f"{where}: keys {sorted(actual)}, documented {sorted(example)}"
        )
        for key in set(actual) & set(example):
            if key not in any_type:
                assert_shape(
                    actual[key], example[key], optional=optional, any_type=any_type,
                    where=f"{where}.{key}",
                )  # fmt: skip
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is not an array"
        for index, item in enumerate(actual if example else []):
            assert_shape(
                item, example[0], optional=optional, any_type=any_type, where=f"{where}[{index}]"
            )
    else:
        assert json_type(actual) == json_type(example), (
            f"{where}: {actual!r} is a {json_type(actual)}, documented {json_type(example)}"
        )
