"""`make dev`: run the gateway locally on embedded defaults until Ctrl-C.

Starts the Opower sandbox and the embedded AWS endpoint (moto server for DynamoDB,
Secrets Manager and KMS) on loopback and prints where they listen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType

from local.aws import EmbeddedAws
from local.sandbox import OpowerSandbox, SandboxConfig


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdecimal() or not 0 <= int(raw) < 65536:
        raise SystemExit(f"{name} must be a port number (0-65535), got {raw!r}")
    return int(raw)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    sandbox_port = _port("SANDBOX_PORT", 4010)
    aws_port = _port("AWS_PORT", 4566)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(OpowerSandbox(SandboxConfig(port=sandbox_port)))
        aws = stack.enter_context(EmbeddedAws(port=aws_port))
        config = sandbox.config
        print("Opower Gateway, local run (Ctrl-C stops everything)")
        print(
            f"  Opower sandbox      {sandbox.base_url}/apis/  (utility code {config.utility_code})"
        )
        print(f"    client_id         {config.client_id}")
        print(f"    client_secret     {config.client_secret}")
        print(f"    sample customers  {sandbox.base_url}/_sandbox/customers")
        print(f"  Embedded AWS (moto) {aws.endpoint_url}  (DynamoDB, Secrets Manager, KMS)")
        print(f"    use it with       AWS_ENDPOINT_URL={aws.endpoint_url} and any credentials")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
