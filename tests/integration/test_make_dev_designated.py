"""`make dev GATEWAY_CONFIG='{"designated_customers_max": 2}'`: the third distinct customer
is refused with 403 not_designated and a message a portal can show; the first two are
not, whichever order they come back in (gateway.designated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.designated import NOT_DESIGNATED_MESSAGE
from tests.integration.test_make_dev_own_idp import get, make_dev

pytestmark = pytest.mark.integration


def test_a_third_customer_is_refused_and_the_first_two_are_not(tmp_path: Path) -> None:
    with make_dev(tmp_path, {"designated_customers_max": 2}) as run:
        tokens = {
            c["utilityCustomerId"]: c["token"]
            for c in run.summary["customers"]
            if c["utilityCode"] == "UTX"
        }
        accounts = f"{run.gateway}/v1/me/accounts"

        assert get(accounts, tokens["UC-0001"])[0] == 200
        assert get(accounts, tokens["UC-0002"])[0] == 200
        status, answer = get(accounts, tokens["UC-0003"])
        assert status == 403
        assert answer["error"]["code"] == "not_designated"
        assert answer["error"]["message"] == NOT_DESIGNATED_MESSAGE
        assert get(f"{run.gateway}/v1/me/contacts", tokens["UC-0002"])[0] == 200
        assert get(accounts, tokens["UC-0001"])[0] == 200
