"""Transport-neutral request and response values.

The HTTP handler converts to and from these so every rule of the sandbox can be written
(and reasoned about) as a plain function of a `Request`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request; header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name."""
        return self.headers.get(name.lower())

    def single(self, name: str) -> str | None:
        """The last value of a query parameter, or None when absent."""
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass(frozen=True)
class Response:
    """Status, extra headers and raw body of one answer."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def json_response(status: int, payload: object, *headers: tuple[str, str]) -> Response:
    """A JSON answer with the content type Opower uses."""
    body = json.dumps(payload).encode()
    return Response(status, body, (("Content-Type", JSON_TYPE), *headers))


def no_content() -> Response:
    """The 204 Opower sends after a successful PUT or DELETE."""
    return Response(204)
