"""`make dev`'s terminal: Powertools' EMF lines are kept out, and leave no blank line."""

from __future__ import annotations

import io
import json

from local.metrics_output import _WithoutMetricLines


def test_metric_lines_leave_nothing_behind_and_other_lines_pass() -> None:
    terminal = io.StringIO()
    stream = _WithoutMetricLines(terminal)

    print(json.dumps({"_aws": {"CloudWatchMetrics": []}, "Auth_allowed": [1.0]}), file=stream)
    print("00:56:13,381 INFO    authorizer session allowed", file=stream)
    print(json.dumps({"_aws": {}}), file=stream)
    print("", file=stream)  # a blank line the program printed itself stays
    stream.write('{"_aws": {}}\n')  # written whole

    assert terminal.getvalue() == "00:56:13,381 INFO    authorizer session allowed\n\n"
    assert stream.dropped == 3
