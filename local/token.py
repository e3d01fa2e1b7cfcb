"""`make token CUSTOMER=<utilityCustomerId> [COMPANY=<code>]`: a fresh dev session token
that the running local gateway accepts, alone on stdout
(``TOKEN=$(make -s token CUSTOMER=UC-0001)``). Without ``CUSTOMER``, the sample customers.

It signs as the running `make dev` does: the issuer, audience and claim names it runs
with and the keys it publishes, all read from its state directory (``.dev/running.json``,
written when it starts, removed when it stops; ``.dev/idp-keys.json`` keeps the keys
across runs). So no port or setting is repeated here, and with no gateway running it
says so instead of printing a token nobody accepts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from local.idp import DevIdentityProvider
from local.stack import STATE_DIR

RUNNING_FILE = "running.json"


class NotRunningError(Exception):
    pass


def running_stack(state_dir: Path = STATE_DIR) -> dict[str, Any]:
    """The settings of the local gateway running from ``state_dir``."""
    path = state_dir / RUNNING_FILE
    try:
        running: dict[str, Any] = json.loads(path.read_text())
        os.kill(int(running["pid"]), 0)  # signal 0: is that process still there?
    except (OSError, ValueError, KeyError, TypeError):
        raise NotRunningError(
            f"no local gateway is running (nothing live in {path}): start one with "
            "`make dev`, then run `make token` again in another terminal"
        ) from None
    return running


def write_running(state_dir: Path, settings: dict[str, Any]) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / RUNNING_FILE
    path.write_text(json.dumps({"pid": os.getpid(), **settings}, indent=2) + "\n")
    return path


def customer_list(running: dict[str, Any]) -> str:
    lines = ["The sample customers (make token CUSTOMER=<id> [COMPANY=<code>]):"]
    for c in running["customers"]:
        fuels = ", ".join(c["fuels"]) or "no utility accounts"
        lines.append(f"  COMPANY={c['utilityCode']}  CUSTOMER={c['utilityCustomerId']:<8} "
                     f"{c['name']} ({fuels})")  # fmt: skip
    return "\n".join(lines)


def mint(
    utility_customer_id: str,
    *,
    company: str | None = None,
    state_dir: Path = STATE_DIR,
    lifetime_s: float = 3600,
) -> str:
    running = running_stack(state_dir)
    company = company or running["companies"][0]
    if company not in running["companies"]:
        raise NotRunningError(
            f"unknown company {company!r}; the running gateway's: {', '.join(running['companies'])}"
        )
    customers = {
        c["utilityCustomerId"]: c for c in running["customers"] if c["utilityCode"] == company
    }
    if utility_customer_id not in customers:
        raise NotRunningError(
            f"unknown customer {utility_customer_id!r} of {company}; its customers: "
            + ", ".join(sorted(customers))
        )
    idp = DevIdentityProvider(
        audience=running["audience"],
        customer_claim=running["customer_claim"],
        accounts_claim=running["accounts_claim"],
        keys_file=state_dir / "idp-keys.json",
        issuer=running["issuer"],
    )
    return idp.mint(
        utility_customer_id,
        list(customers[utility_customer_id]["accountNumbers"]),
        lifetime_s=lifetime_s,
        overrides={running["utility_code_claim"]: company},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a dev session token for a sample customer")
    parser.add_argument("customer", nargs="?", help="utilityCustomerId; none: list them")
    parser.add_argument("--lifetime", type=float, default=3600, help="seconds (default 3600)")
    parser.add_argument("--company", default=None, help="operating company (default the first)")
    args = parser.parse_args(argv)
    state_dir = Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR)
    try:
        if not args.customer:
            print(customer_list(running_stack(state_dir)), file=sys.stderr)
            return 2
        token = mint(
            args.customer, company=args.company, state_dir=state_dir, lifetime_s=args.lifetime
        )
    except NotRunningError as exc:
        print(f"make token: {exc}", file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
