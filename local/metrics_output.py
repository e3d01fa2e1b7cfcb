"""Powertools prints CloudWatch EMF metrics as JSON lines on stdout. In a terminal (and
in the benchmarks' output) they drown everything else: this keeps them out, while the
handlers still record and flush their metrics exactly as in Lambda.

(Disabling metrics with POWERTOOLS_METRICS_DISABLED is no alternative: Powertools then
stops clearing the metric set, which grows until it flushes by size anyway.)
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


class _WithoutMetricLines:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.dropped = 0
        self._newline_owed = False

    def write(self, text: str) -> int:
        # print() writes the line, then its "\n" in a second call: both are dropped, or
        # every hidden metric would leave a blank line in the terminal.
        if text.startswith('{"_aws"'):
            self.dropped += 1
            self._newline_owed = not text.endswith("\n")
            return len(text)
        if self._newline_owed and text == "\n":
            self._newline_owed = False
            return len(text)
        self._newline_owed = False
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def hide_metric_lines() -> None:
    """From now on, drop EMF lines printed to stdout (idempotent)."""
    if not isinstance(sys.stdout, _WithoutMetricLines):
        sys.stdout = _WithoutMetricLines(sys.stdout)
