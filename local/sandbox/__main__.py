"""`python -m local.sandbox`: run the Opower sandbox in the foreground until Ctrl-C.

Environment: `SANDBOX_HOST` (default 127.0.0.1), `SANDBOX_PORT` (default 4010).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

from local.sandbox.config import SandboxConfig
from local.sandbox.server import OpowerSandbox


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # same clean shutdown as Ctrl-C, e.g. under `docker stop`


def main() -> int:
    """Serve until interrupted; 2 on invalid configuration."""
    port = os.environ.get("SANDBOX_PORT", "4010")
    if not port.isdecimal():
        print(f"SANDBOX_PORT must be a port number, got {port!r}", file=sys.stderr)
        return 2
    try:
        config = SandboxConfig(host=os.environ.get("SANDBOX_HOST", "127.0.0.1"), port=int(port))
    except ValueError as exc:
        print(f"invalid sandbox configuration: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with OpowerSandbox(config) as sandbox:
        print(f"Opower sandbox listening on {sandbox.base_url} (APIs under /apis/)", flush=True)
        print(f"  utility code:  {config.utility_code}")
        print(f"  client_id:     {config.client_id}")
        print(f"  client_secret: {config.client_secret}")
        state = "enabled" if config.control_plane_enabled else "disabled"
        print(f"  control plane: {state} ({sandbox.base_url}/_sandbox/)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
