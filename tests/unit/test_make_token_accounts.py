"""`make token ... ACCOUNTS=<number[,number]>`: the session's accounts claim. Against a real
Opower (no sample customers) any ids, CUSTOMER and ACCOUNTS both required; against the
sandbox, ACCOUNTS overrides the sample customer's account numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest

from local.token import TokenRequestError, main, mint, parse_accounts, write_running

SANDBOX_CUSTOMER = {
    "utilityCode": "UTX",
    "utilityCustomerId": "UC-0001",
    "name": "Ada Lovelace",
    "accountNumbers": ["4100000001", "4100000002"],
    "fuels": ["ELECTRICITY"],
}


def _running(state_dir: Path, *, real: bool) -> None:
    """running.json as `make dev` writes it (this process standing in for it)."""
    settings: dict[str, Any] = {
        "gateway": "http://127.0.0.1:3000",
        "issuer": "http://127.0.0.1:4011",
        "audience": "opower-gateway",
        "customer_claim": "utilityCustomerId",
        "accounts_claim": "accountNumbers",
        "utility_code_claim": "utilityCode",
        "region": "us-east-1",
    }
    if real:
        settings |= {
            "companies": ["ABC"],
            "customers": [],
            "opower": {"url": "https://cxapi-stage.opower.com", "utility_code": "ABC"},
        }
    else:
        settings |= {"companies": ["UTX", "UTY"], "customers": [SANDBOX_CUSTOMER]}
    write_running(state_dir, settings)


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_on_a_real_opower_the_session_is_for_the_ids_given(tmp_path: Path) -> None:
    _running(tmp_path, real=True)

    token = mint("CIS-778899", accounts=["0012345678", "0012345679"], state_dir=tmp_path)

    claims = _claims(token)
    assert claims["utilityCustomerId"] == "CIS-778899"
    assert claims["accountNumbers"] == ["0012345678", "0012345679"]
    assert claims["utilityCode"] == "ABC"
    assert claims["iss"] == "http://127.0.0.1:4011"
    assert claims["aud"] == "opower-gateway"


def test_on_a_real_opower_accounts_are_required(tmp_path: Path) -> None:
    _running(tmp_path, real=True)

    with pytest.raises(TokenRequestError, match=r"CUSTOMER=<utilityCustomerId> ACCOUNTS="):
        mint("CIS-778899", state_dir=tmp_path)


def test_on_the_sandbox_accounts_override_the_sample_customers(tmp_path: Path) -> None:
    _running(tmp_path, real=False)

    given = _claims(mint("UC-0001", accounts=["4100000002"], state_dir=tmp_path))
    sample = _claims(mint("UC-0001", state_dir=tmp_path))

    assert given["accountNumbers"] == ["4100000002"]
    assert sample["accountNumbers"] == ["4100000001", "4100000002"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4100000001", ["4100000001"]),
        ("4100000001,4100000002", ["4100000001", "4100000002"]),
        (" 4100000001 , 4100000002 ", ["4100000001", "4100000002"]),
    ],
)
def test_accounts_are_numbers_separated_by_commas(raw: str, expected: list[str]) -> None:
    assert parse_accounts(raw) == expected


@pytest.mark.parametrize("raw", ["4100000001,", ",", "41 00", ",".join(["1"] * 11)])
def test_malformed_accounts_are_refused(raw: str) -> None:
    with pytest.raises(TokenRequestError, match="ACCOUNTS"):
        parse_accounts(raw)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["CIS-1"], "whose customers are the utility's: name one, make -s token CUSTOMER="),
        ([], "name one, make -s token CUSTOMER=<utilityCustomerId> ACCOUNTS=<number>"),
        (["--accounts", "0012345678"], "name one, make -s token CUSTOMER="),
        (["CIS-1", "--accounts", "1,,2"], "ACCOUNTS must be utility account numbers"),
    ],
    ids=["no-accounts", "nothing", "no-customer", "bad-accounts"],
)
def test_make_token_on_a_real_opower_says_what_to_give_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    expected: str,
) -> None:
    _running(tmp_path, real=True)
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))

    status = main(argv)

    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("make token: ")
    assert expected in err


def test_make_token_prints_the_session_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _running(tmp_path, real=True)
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))

    status = main(["CIS-1", "--accounts", "0012345678"])

    out, err = capsys.readouterr()
    assert status == 0
    assert err == ""
    assert _claims(out.strip())["accountNumbers"] == ["0012345678"]
