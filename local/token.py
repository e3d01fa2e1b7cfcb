"""`make token CUSTOMER=<utilityCustomerId> [COMPANY=<code>] [ACCOUNTS=<number>[,<number>]]`:
a fresh dev session token that the running local gateway accepts, alone on stdout
(``TOKEN=$(make -s token CUSTOMER=UC-0001)``). Without ``CUSTOMER``, the sample customers.
``ACCOUNTS``, the utility account numbers of the session's accounts claim, overrides the
sample customer's; against a real Opower (`make dev OPOWER_URL=...`), which has no sample
customers, the session is for any ids, and ``CUSTOMER`` and ``ACCOUNTS`` are both needed.

It signs as the running `make dev` does: the issuer, audience and claim names it runs
with and the keys it publishes, all read from its state directory (``.dev/running.json``,
written when it starts, removed when it stops; ``.dev/idp-keys.json`` keeps the keys
across runs). So no port or setting is repeated here, and with no gateway running it
says so instead of printing a token nobody accepts. When the running gateway trusts
another identity provider (GATEWAY_CONFIG named one), it still prints the token, and says
on stderr that the gateway will refuse it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.auth.session import MAX_ACCOUNT_NUMBERS
from local.idp import DevIdentityProvider
from local.stack import STATE_DIR

RUNNING_FILE = "running.json"


class NotRunningError(Exception):
    pass


class TokenRequestError(Exception):
    """CUSTOMER or ACCOUNTS missing or malformed: what to give, in one line."""


_ASK_REAL = "make -s token CUSTOMER=<utilityCustomerId> ACCOUNTS=<number>[,<number>]"


def parse_accounts(raw: str) -> list[str]:
    """ACCOUNTS: utility account numbers separated by commas."""
    accounts = [a.strip() for a in raw.split(",")]
    if not all(a and a.isprintable() and not any(c.isspace() for c in a) for a in accounts):
        raise TokenRequestError(
            f"ACCOUNTS must be utility account numbers separated by commas, got {raw!r} "
            "(e.g. ACCOUNTS=4100000001,4100000002)"
        )
    if len(accounts) > MAX_ACCOUNT_NUMBERS:
        raise TokenRequestError(
            f"ACCOUNTS holds {len(accounts)} account numbers: a session carries at most "
            f"{MAX_ACCOUNT_NUMBERS}"
        )
    return accounts


def real_opower(running: dict[str, Any]) -> dict[str, Any] | None:
    """The real Opower the running gateway calls (URL, utility code), or None: the sandbox."""
    opower = running.get("opower")
    return opower if isinstance(opower, dict) else None


def running_stack(state_dir: Path = STATE_DIR, *, command: str = "make token") -> dict[str, Any]:
    """The settings of the local gateway running from ``state_dir`` (``command``: the
    one to run again once it is, named in the error)."""
    path = state_dir / RUNNING_FILE
    try:
        running: dict[str, Any] = json.loads(path.read_text())
        os.kill(int(running["pid"]), 0)  # signal 0: is that process still there?
    except (OSError, ValueError, KeyError, TypeError):
        raise NotRunningError(
            f"no local gateway is running (nothing live in {path}): start one with "
            f"`make dev`, then run `{command}` again in another terminal"
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
    accounts: Sequence[str] | None = None,
    state_dir: Path = STATE_DIR,
    lifetime_s: float = 3600,
) -> str:
    """A session for a sample customer (``accounts`` instead of theirs if given), or, on a
    real Opower, for the ids given (``accounts`` required)."""
    running = running_stack(state_dir)
    company = company or running["companies"][0]
    if company not in running["companies"]:
        raise NotRunningError(
            f"unknown company {company!r}; the running gateway's: {', '.join(running['companies'])}"
        )
    opower = real_opower(running)
    if opower is not None:
        if not utility_customer_id.strip() or not accounts:
            raise TokenRequestError(
                f"the running gateway calls Opower {opower['url']} (utility "
                f"{opower['utility_code']}), whose customers are the utility's: name one, "
                f"{_ASK_REAL}"
            )
        account_numbers = list(accounts)
    else:
        customers = {
            c["utilityCustomerId"]: c for c in running["customers"] if c["utilityCode"] == company
        }
        if utility_customer_id not in customers:
            raise NotRunningError(
                f"unknown customer {utility_customer_id!r} of {company}; its customers: "
                + ", ".join(sorted(customers))
            )
        account_numbers = list(accounts or customers[utility_customer_id]["accountNumbers"])
    idp = DevIdentityProvider(
        audience=running["audience"],
        customer_claim=running["customer_claim"],
        accounts_claim=running["accounts_claim"],
        utility_code_claim=running["utility_code_claim"],
        token_type=running.get("token_type", ""),
        token_use=running.get("token_use", ""),
        designated_claim=running.get("designated_claim", ""),
        keys_file=state_dir / "idp-keys.json",
        issuer=running["issuer"],
    )
    return idp.mint(
        utility_customer_id.strip(),
        account_numbers,
        alg=running.get("algorithm", "RS256"),
        lifetime_s=lifetime_s,
        company=company,
    )


def refusal_warning(running: dict[str, Any]) -> str | None:
    """What to say when the running gateway trusts another identity provider than the
    dev IdP, whose tokens this prints: they will be refused. None when it trusts it."""
    if running.get("dev_idp_trusted", True):
        return None
    trusted = running.get("trusted_issuer") or "another identity provider"
    return (
        f"make token: the running gateway trusts {trusted}, not the dev IdP: it will refuse "
        "this token (GATEWAY_CONFIG named your IdP; use a token it issued)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a dev session token for a sample customer")
    parser.add_argument("customer", nargs="?", help="utilityCustomerId; none: list them")
    parser.add_argument("--lifetime", type=float, default=3600, help="seconds (default 3600)")
    parser.add_argument("--company", default=None, help="operating company (default the first)")
    parser.add_argument(
        "--accounts", default="", help="account numbers of the session, comma-separated"
    )
    args = parser.parse_args(argv)
    state_dir = Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR)
    try:
        accounts = parse_accounts(args.accounts) if args.accounts else None
        running = running_stack(state_dir)
        warning = refusal_warning(running)
        if warning:
            print(warning, file=sys.stderr)
        if not args.customer and real_opower(running) is None:
            # Asked at a terminal, the list is the answer; captured (TOKEN=$(...)), it is
            # an error, so that a script does not carry on with an empty token.
            if sys.stdout.isatty():
                print(customer_list(running))
                return 0
            print(customer_list(running), file=sys.stderr)
            return 2
        token = mint(
            args.customer or "",
            company=args.company,
            accounts=accounts,
            state_dir=state_dir,
            lifetime_s=args.lifetime,
        )
    except TokenRequestError as exc:
        print(f"make token: {exc}", file=sys.stderr)
        return 2
    except NotRunningError as exc:
        print(f"make token: {exc}", file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
