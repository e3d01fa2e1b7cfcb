"""The README's "When something is not right" table, sent to the running stack: every
example request a row gives (`/v1/me/...`, `POST /v1/me/...`) gets the status and error
code the row names, and the message the row quotes. A row whose example stops being true
fails here rather than misleading the next newcomer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
_ANSWER = re.compile(r"`(\d{3}) ([a-z_]+)")
_EXAMPLE = re.compile(r"`(?:(GET|POST|PUT|DELETE) )?(/v1/me/[^`\s]*)`(?::\s*\"([^\"]+)\")?")


@dataclass(frozen=True)
class Example:
    method: str
    path: str
    status: int
    code: str
    message: str | None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.code}"


def readme_examples() -> list[Example]:
    text = README.read_text()
    table = text.split("### When something is not right", 1)[1].split("\n## ", 1)[0]
    examples = []
    for row in table.splitlines():
        cells = row.split(" | ")
        answer = _ANSWER.search(cells[0]) if len(cells) > 1 else None
        if answer is None:
            continue
        for method, path, message in _EXAMPLE.findall(" | ".join(cells[1:])):
            examples.append(
                Example(method or "GET", path, int(answer[1]), answer[2], message or None)
            )
    return examples


def test_the_table_gives_examples_of_every_kind_of_refusal() -> None:
    statuses = {example.status for example in readme_examples()}

    assert {400, 404, 405} <= statuses


@pytest.mark.parametrize("example", readme_examples(), ids=str)
def test_each_example_gets_the_answer_its_row_names(e2e: RunningStack, example: Example) -> None:
    response = e2e.call(example.method, example.path, customer="UC-0001")

    error = response.json()["error"]
    assert (response.status, error["code"]) == (example.status, example.code), error
    if example.message:
        assert example.message in error["message"]
