"""What the sandbox saw: per-route status counters and a log of received requests.

The log lets tests check what the gateway sent upstream without the sandbox keeping any
secret: the Authorization credential is replaced by a fingerprint and token-endpoint
bodies (which carry no secret in Opower's flow, but could in a buggy client) are dropped.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from dataclasses import dataclass

from local.sandbox.messages import Request

LOG_SIZE = 1000
DROPPED = 0
"""Status recorded when the connection was closed without an answer."""


def fingerprint(credential: str) -> str:
    """A stable, non-reversible stand-in for a credential: "sha256:" + 16 hex digits."""
    return "sha256:" + hashlib.sha256(credential.encode()).hexdigest()[:16]


def redact_authorization(value: str) -> str:
    """Keep the scheme, fingerprint the credential ("Bearer sha256:...")."""
    scheme, _, credential = value.partition(" ")
    if not credential:
        return fingerprint(value)
    return f"{scheme} {fingerprint(credential.strip())}"


@dataclass(frozen=True)
class ReceivedRequest:
    """One /apis/ request as received, with its answer status (0: closed unanswered)."""

    method: str
    path: str
    query: dict[str, list[str]]
    header_names: tuple[str, ...]
    headers: dict[str, str]
    body: bytes
    status: int

    @classmethod
    def capture(cls, request: Request, status: int, *, keep_body: bool) -> ReceivedRequest:
        """Record `request` with its Authorization fingerprinted."""
        headers = dict(request.headers)
        if "authorization" in headers:
            headers["authorization"] = redact_authorization(headers["authorization"])
        return cls(
            method=request.method,
            path=request.path,
            query={k: list(v) for k, v in request.query.items()},
            header_names=tuple(request.headers),
            headers=headers,
            body=request.body if keep_body else b"",
            status=status,
        )


class Stats:
    """Thread-safe counters by route name, on arrival and by final status, and the log.

    Arrivals are counted at once, so a request still held by a `slow` or `hanging` fault
    (whose client may long have given up) is already visible; statuses and the log are
    recorded when the request is answered or dropped.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived: Counter[str] = Counter()
        self._by_route: dict[str, Counter[int]] = {}
        self._log: deque[ReceivedRequest] = deque(maxlen=LOG_SIZE)

    def arrive(self, route: str) -> None:
        """Count one request as soon as it is received."""
        with self._lock:
            self._arrived[route] += 1

    def arrivals(self) -> dict[str, int]:
        """Requests received per route, answered or not."""
        with self._lock:
            return dict(self._arrived)

    def record(self, route: str, entry: ReceivedRequest) -> None:
        """Count and log one answered (or dropped) request."""
        with self._lock:
            self._by_route.setdefault(route, Counter())[entry.status] += 1
            self._log.append(entry)

    def requests(self) -> dict[str, dict[str, int]]:
        """Counts as {route: {"status": n}} (JSON object keys are strings)."""
        with self._lock:
            return {
                route: {str(status): n for status, n in sorted(counts.items())}
                for route, counts in sorted(self._by_route.items())
            }

    def received(self) -> list[ReceivedRequest]:
        """The log, oldest first (at most the last 1000)."""
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        """Forget counters and log."""
        with self._lock:
            self._arrived.clear()
            self._by_route.clear()
            self._log.clear()
