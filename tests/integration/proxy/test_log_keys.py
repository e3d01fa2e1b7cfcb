"""A log line is never filed under another request's customer (issue #25, item 5d).

The proxy handler appends the customer's hash to its logger's keys
(``logger.append_keys(customer=...)``); Powertools keeps appended keys on the logger until
they are cleared, across invocations ("Logger", Powertools for AWS Lambda (Python):
``clear_state=True`` on ``inject_lambda_context`` clears them at the start of each one).
In AWS the authorizer is another function, in another process; locally (`make dev`'s
emulator, and these tests) both handlers share ``handlers.observability.logger``, so
the authorizer logged its refusals under the previous proxy request's customer hash.

Both handlers' decorators clear the logger's state at the start of each invocation
(``clear_state=True``).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.auth.entry import Unauthorized
from handlers.authorizer import handler as authorizer_handler
from handlers.observability import logger
from tests.events import LambdaContext, authorizer_event
from tests.integration.proxy.conftest import Call


class _Lines:
    """The handlers' log lines as Lambda would print them: Powertools' own formatter, so
    each line carries the keys appended at the time it was logged."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self.handler = logging.StreamHandler(self._buffer)
        self.handler.setFormatter(logger.registered_formatter)

    def take(self) -> list[dict[str, Any]]:
        text, self._buffer = self._buffer.getvalue(), io.StringIO()
        self.handler.setStream(self._buffer)
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def lines() -> Iterator[_Lines]:
    captured = _Lines()
    gateway = logging.getLogger("gateway")
    gateway.addHandler(captured.handler)
    try:
        yield captured
    finally:
        gateway.removeHandler(captured.handler)


def test_the_authorizer_never_logs_under_the_previous_requests_customer(
    call: Call, lines: _Lines
) -> None:
    answered = call("GET", "/v1/me/accounts", customer="UC-0001")
    assert answered["statusCode"] == 200
    proxy_lines = [line for line in lines.take() if line.get("message") == "request"]
    assert {line.get("customer") for line in proxy_lines} - {None}, "no customer hash"

    with pytest.raises(Unauthorized):
        authorizer_handler(authorizer_event("not-a-session"), LambdaContext())  # type: ignore[arg-type]

    refusals = [line for line in lines.take() if line.get("message") == "session not allowed"]
    assert refusals, "the authorizer logged no refusal"
    assert [line.get("customer") for line in refusals] == [None] * len(refusals)
