"""`make token CUSTOMER=<utilityCustomerId>`: a fresh dev session token for a sample
customer, alone on the last line of stdout (``TOKEN=$(make -s token CUSTOMER=UC-0001)``).

It signs with the keys `make dev` publishes (kept in ``.dev/idp-keys.json``) for the
issuer `make dev` runs (``IDP_PORT``, default 4011), with the claim names and audience of
the gateway's configuration, so the running gateway accepts it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local.idp import DevIdentityProvider
from local.sandbox import UTILITY_CODE
from local.sandbox.config import SECOND_UTILITY_CODE
from local.sandbox.data import DEFAULT, SECOND
from local.stack import STATE_DIR, Ports, load_config

COMPANIES = {UTILITY_CODE: DEFAULT, SECOND_UTILITY_CODE: SECOND}


def mint(
    utility_customer_id: str,
    *,
    idp_port: int,
    company: str = UTILITY_CODE,
    state_dir: Path = STATE_DIR,
    lifetime_s: float = 3600,
) -> str:
    runtime = load_config().runtime
    if company not in COMPANIES:
        raise SystemExit(f"unknown company {company!r}; the companies: {', '.join(COMPANIES)}")
    customers = {str(c["utilityCustomerId"]): c for c in COMPANIES[company].listing(company)}
    if utility_customer_id not in customers:
        known = ", ".join(sorted(customers))
        raise SystemExit(
            f"unknown customer {utility_customer_id!r} of {company}; its customers: {known}"
        )
    idp = DevIdentityProvider(
        audience=runtime.auth_audience,
        customer_claim=runtime.claim_utility_customer_id,
        accounts_claim=runtime.claim_account_numbers,
        keys_file=state_dir / "idp-keys.json",
        issuer=f"http://127.0.0.1:{idp_port}",
    )
    accounts = customers[utility_customer_id]["accountNumbers"]
    return idp.mint(
        utility_customer_id,
        list(accounts),  # type: ignore[call-overload]
        lifetime_s=lifetime_s,
        overrides={runtime.claim_utility_code: company},
    )


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description="Print a dev session token for a sample customer")
    parser.add_argument("customer", help="utilityCustomerId, as GET /_sandbox/customers lists")
    parser.add_argument("--lifetime", type=float, default=3600, help="seconds (default 3600)")
    parser.add_argument(
        "--company", default=UTILITY_CODE, help=f"operating company (default {UTILITY_CODE})"
    )
    args = parser.parse_args(argv)
    token = mint(
        args.customer,
        idp_port=Ports.from_env(os.environ).idp,
        company=args.company,
        state_dir=Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR),
        lifetime_s=args.lifetime,
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
