"""Fault switches: make the sandbox misbehave the way a real upstream can.

Set them with `POST /_sandbox/faults` (a JSON object, merged into the current switches; the
answer is the full current set) or `OpowerSandbox.set_faults(**switches)`; read them with
`GET /_sandbox/faults`; `reset` restores the defaults.

- `token_endpoint`: null | "down" (close the connection without any response) | "slow"
  (answer normally after `token_delay_s`) | "hanging" (no answer until the switch is
  changed or `reset`, then a normal answer; closed without one when the server stops or
  after 300 s) | "5xx" (503 ErrorResponse) | "malformed" (200 whose body is truncated JSON).
- `token_delay_s`: seconds, default 5.
- `data_endpoints`: null | "5xx" (503) | "slow" (answer normally after `data_delay_s`) |
  "hanging" (no answer until the switch is changed or `reset`, then a normal answer; the
  connection is closed without an answer when the server stops or after 300 s) | "429"
  (429 with `Retry-After: retry_after_s`) | "401" (401 as for an invalid token). Applies to
  every /apis/ request except the token endpoint, before the token is checked.
- `data_delay_s`: seconds, default 5. `retry_after_s`: integer seconds, default 1.
- `fault_count`: null (unlimited) or N >= 1: the token and data faults apply to the next N
  faulted requests (both kinds share the budget), then clear themselves.
- `revoke_tokens`: true invalidates every token issued so far (one-shot action, not kept).
- `token_lifetime_s`: lifetime of tokens issued from now on (default from the config).
- `reissue_same_token`: true answers every token request with the current still-valid token
  and its remaining lifetime in whole seconds, until it expires.
- `rotate_client_secret`: a string; from now on only that secret is accepted (one-shot
  action; the switch set shows `client_secret_rotated: true`).
- `omit_expires_in`: true leaves `expires_in` out of token answers.
- `wrong_client_id`: true answers token requests with a `client_id` that is not the caller's.
- `unlicensed_routes`: a list of data route names (`usage`, `bill_forecast` ...) answered
  401 whatever the token, as for an API the utility's client is not licensed for.

Slow and hanging requests wait on a `threading.Event` that any switch change of
`token_endpoint` / `data_endpoints`, a reset or a stop sets, so none outlives the test.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TOKEN_FAULTS = ("down", "slow", "hanging", "5xx", "malformed")
DATA_FAULTS = ("5xx", "slow", "hanging", "429", "401")
HANGING_CAP_S = 300.0


@dataclass(frozen=True)
class Switches:
    """The persistent switch set (actions such as `revoke_tokens` are not kept)."""

    token_endpoint: str | None = None
    token_delay_s: float = 5.0
    data_endpoints: str | None = None
    data_delay_s: float = 5.0
    retry_after_s: int = 1
    fault_count: int | None = None
    token_lifetime_s: int = 3599
    reissue_same_token: bool = False
    omit_expires_in: bool = False
    wrong_client_id: bool = False
    unlicensed_routes: tuple[str, ...] = ()
    client_secret_rotated: bool = False

    def to_json(self) -> dict[str, object]:
        """The switch set as the control plane shows it."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Actions:
    """One-shot actions requested alongside switches."""

    revoke_tokens: bool = False
    new_client_secret: str | None = None


def parse_switches(payload: Mapping[str, object], current: Switches) -> tuple[Switches, Actions]:
    """Merge a switch request into `current`; ValueError names the first invalid entry."""
    changes: dict[str, Any] = {}  # each value checked by its field's validator
    revoke = False
    secret: str | None = None
    for name, value in payload.items():
        if name == "revoke_tokens":
            revoke = _boolean(name, value)
        elif name == "rotate_client_secret":
            if not isinstance(value, str) or not value:
                raise ValueError("rotate_client_secret must be a non-empty string")
            secret = value
            changes["client_secret_rotated"] = True
        elif name in _VALIDATORS:
            changes[name] = _VALIDATORS[name](name, value)
        else:
            raise ValueError(f"unknown switch {name!r}")
    return dataclasses.replace(current, **changes), Actions(revoke, secret)


class FaultState:
    """Thread-safe current switches, the fault budget, and the waiters' wake-up signal."""

    def __init__(self, defaults: Switches) -> None:
        self._lock = threading.Lock()
        self._defaults = defaults
        self._switches = defaults
        self._wake = threading.Event()
        self._closed = False

    @property
    def switches(self) -> Switches:
        """A consistent snapshot of the current switches."""
        with self._lock:
            return self._switches

    @property
    def closed(self) -> bool:
        """Whether the server is stopping, so waiters must give up instead of answering."""
        with self._lock:
            return self._closed

    def replace(self, switches: Switches) -> None:
        """Install new switches; changing a fault releases requests held by the old one."""
        with self._lock:
            old, self._switches = self._switches, switches
            fault_changed = (old.token_endpoint, old.data_endpoints) != (
                switches.token_endpoint,
                switches.data_endpoints,
            )
        if fault_changed:
            self._release()

    def reset(self) -> None:
        """Back to the defaults, releasing every waiting request."""
        with self._lock:
            self._switches = self._defaults
        self._release()

    def close(self) -> None:
        """Release every waiting request for good: the server is stopping."""
        with self._lock:
            self._closed = True
        self._release()

    def reopen(self) -> None:
        """Allow waiting again after a restart."""
        with self._lock:
            self._closed = False

    def take_token_fault(self) -> tuple[str | None, Switches]:
        """The token fault this request suffers (using up budget) and the switches it saw."""
        return self._take("token_endpoint")

    def take_data_fault(self) -> tuple[str | None, Switches]:
        """The data fault this request suffers (using up budget) and the switches it saw."""
        return self._take("data_endpoints")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when released early by a switch change, reset or stop."""
        with self._lock:
            if self._closed:
                return True
            event = self._wake
        return event.wait(seconds)

    def _take(self, kind: str) -> tuple[str | None, Switches]:
        with self._lock:
            seen = self._switches
            fault: str | None = getattr(seen, kind)
            if fault is not None and seen.fault_count is not None:
                remaining = seen.fault_count - 1
                # Exhausting the budget must not wake requests it just put to sleep.
                self._switches = (
                    dataclasses.replace(seen, fault_count=remaining)
                    if remaining
                    else dataclasses.replace(
                        seen, token_endpoint=None, data_endpoints=None, fault_count=None
                    )
                )
            return fault, seen

    def _release(self) -> None:
        with self._lock:
            event, self._wake = self._wake, threading.Event()
        event.set()


def _boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _choice(options: tuple[str, ...]) -> Callable[[str, object], str | None]:
    def validate(name: str, value: object) -> str | None:
        if value is None or (isinstance(value, str) and value in options):
            return value
        raise ValueError(f"{name} must be null or one of {', '.join(options)}")

    return validate


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0")
    return float(value)


def _whole(minimum: int) -> Callable[[str, object], int]:
    def validate(name: str, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}")
        return value

    return validate


def _optional_count(name: str, value: object) -> int | None:
    return None if value is None else _whole(1)(name, value)


def _route_names(name: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of route names")
    return tuple(value)


_Validator = Callable[[str, object], object]
_VALIDATORS: dict[str, _Validator] = {
    "token_endpoint": _choice(TOKEN_FAULTS),
    "token_delay_s": _seconds,
    "data_endpoints": _choice(DATA_FAULTS),
    "data_delay_s": _seconds,
    "retry_after_s": _whole(0),
    "fault_count": _optional_count,
    "token_lifetime_s": _whole(0),
    "reissue_same_token": _boolean,
    "omit_expires_in": _boolean,
    "wrong_client_id": _boolean,
    "unlicensed_routes": _route_names,
}
