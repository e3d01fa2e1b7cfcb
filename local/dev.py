"""`make dev`: the whole gateway on this machine, on embedded defaults, until Ctrl-C.

Prints the sample customers with a ready-to-paste curl each (a valid dev session token
inside), and where the OpenAPI document and the docs page are. ``--json`` prints one JSON
line instead, for programs (the end-to-end tests start the stack this way).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from local.stack import STATE_DIR, LocalStack, Ports


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def banner(stack: LocalStack) -> str:
    summary = stack.summary()
    gateway = summary["gateway"]
    lines = [
        "Opower Gateway is running locally (Ctrl-C stops everything).",
        "",
        f"  Customer API    {gateway}/v1/me/...   API Gateway emulator, real Lambda handlers",
        f"  OpenAPI         {summary['openapi']}",
        f"  API docs        {gateway}/_local/docs",
        f"  Opower sandbox  {summary['sandbox']}/apis/   "
        f"(what it saw: {summary['sandbox']}/_sandbox/stats)",
        f"  Identity (dev)  {summary['idp']}/.well-known/openid-configuration",
        f"  AWS (moto)      {summary['aws']}   DynamoDB, Secrets Manager, KMS",
        "",
        f"Sample customers of two operating companies ({', '.join(summary['companies'])}), each",
        "with a curl that works now (tokens valid for 1 hour; `make token CUSTOMER=<id>",
        "[COMPANY=<code>]` prints a fresh one):",
    ]
    for customer in summary["customers"]:
        accounts = ", ".join(customer["accountNumbers"])
        fuels = ", ".join(customer["fuels"]) or "no utility accounts"
        lines += [
            "",
            f"  {customer['utilityCode']}  {customer['utilityCustomerId']}  {customer['name']}  "
            f"(account numbers {accounts}; {fuels})",
            f"    curl -s -H 'Authorization: Bearer {customer['token']}' {gateway}/v1/me/accounts",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON line when ready")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # GATEWAY_CONFIG: a JSON object of settings over cdk.json's, as `-c` flags would be.
    overrides = json.loads(os.environ.get("GATEWAY_CONFIG") or "{}")
    state_dir = Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR)
    with LocalStack(Ports.from_env(os.environ), state_dir=state_dir, overrides=overrides) as stack:
        print(json.dumps(stack.summary()) if args.json else banner(stack), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
