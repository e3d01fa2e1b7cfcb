"""`make bench`'s runner (bench/__main__.py): a step that fails, or that leaves the process
changed, stops the run with one line naming the step and what failed; a child that dies
is reported with its last lines of stderr (#34)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from bench.__main__ import KEYS, Step, StepFailed, missing_keys, run_step
from bench.environment import ChildFailed, child_environment, restored, spawn, stderr_tail


def test_a_step_that_leaves_a_variable_behind_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("UTILITY_CODE", raising=False)

    def leaky(_: list[dict[str, object]]) -> list[dict[str, object]]:
        os.environ["UTILITY_CODE"] = "UTX"
        return [{"benchmark": "leaky"}]

    with pytest.raises(
        StepFailed, match=r"step leaky left the environment changed \(UTILITY_CODE\)"
    ):
        run_step(Step("leaky", leaky), [])
    assert "UTILITY_CODE" not in os.environ  # and the runner put it back


def test_a_failing_step_is_one_line_with_its_name_and_the_cause() -> None:
    def broken(_: list[dict[str, object]]) -> list[dict[str, object]]:
        raise ChildFailed(
            "`python -m local.dev --json` exited 2 before printing its summary",
            "Traceback ...\n  boom\nmake dev: UTILITY_CODE=UTX needs OPOWER_URL\n",
        )

    with pytest.raises(StepFailed) as failed:
        run_step(Step("throughput", broken), [])
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("step throughput failed after ")
    assert "exited 2 before printing its summary" in message
    assert "make dev: UTILITY_CODE=UTX needs OPOWER_URL" in message


def test_a_childs_last_lines_of_stderr_are_read_back() -> None:
    with tempfile.TemporaryFile() as stderr:
        code = "import sys; [print(f'line {i}', file=sys.stderr) for i in range(100)]; sys.exit(3)"
        process = spawn([sys.executable, "-c", code], child_environment(), stderr)
        assert process.wait(timeout=30) == 3
        failure = ChildFailed("the child exited 3", stderr_tail(stderr))
    assert str(failure) == (
        "the child exited 3; its stderr ended: line 95 | line 96 | line 97 | line 98 | line 99"
    )


def test_a_child_gets_none_of_the_gateways_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = {
        "UTILITY_CODE": "UTX", "OPOWER_URL": "https://x.invalid", "GATEWAY_CONFIG": "{}",
        "TABLE_NAME": "t", "AWS_ENDPOINT_URL": "http://x", "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "GATEWAY_PORT": "3000",
    }  # fmt: skip
    for name, value in shell.items():
        monkeypatch.setenv(name, value)
    env = child_environment(GATEWAY_PORT="0")
    assert env["GATEWAY_PORT"] == "0"
    assert not {"UTILITY_CODE", "OPOWER_URL", "GATEWAY_CONFIG", "TABLE_NAME"} & set(env)
    assert not [k for k in env if k.startswith(("AWS_", "POWERTOOLS_"))]
    assert env["PATH"] == os.environ["PATH"]
    out = subprocess.run(
        [sys.executable, "-c", "import gateway, local; print('ok')"], env=env,
        capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
    ).stdout  # fmt: skip
    assert out.strip() == "ok"  # the project importable from anywhere


def test_restored_puts_back_the_gateways_edges_and_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.environment import SimulatedClock
    from gateway import customer_keys, wiring
    from gateway.clock import SYSTEM_CLOCK

    monkeypatch.setenv("CACHE_ENABLED", "true")
    with restored():
        os.environ["CACHE_ENABLED"] = "maybe"
        wiring.use_clock(SimulatedClock())
        customer_keys.use(lambda: b"k" * 32)
        sys.stdout = sys.stderr
    assert os.environ["CACHE_ENABLED"] == "true"
    assert wiring._clock is SYSTEM_CLOCK
    assert customer_keys._loader is None
    assert sys.stdout is not sys.stderr


def test_the_report_needs_every_benchmarks_line_and_keys() -> None:
    results: list[dict[str, object]] = [{"benchmark": name, **dict.fromkeys(keys, 0)}
                                        for name, keys in KEYS.items()]  # fmt: skip
    assert missing_keys(results) == []
    del results[0]["total_s"]
    results.pop()  # bench_run: a run rendered from older results has none
    assert missing_keys(results) == ["first_run lacks total_s"]
    assert missing_keys([r for r in results if r["benchmark"] != "token_faults"]) == [
        "no token_faults line",
        "first_run lacks total_s",
    ]
