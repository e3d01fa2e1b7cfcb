"""`make forget`'s command (infra/forget.py): which stack, which company, and one line
for every refusal (a fake CloudFormation answer: the logic only; the command runs against
`make dev` in tests/e2e/test_local_stack.py, Forgetter against moto in
tests/integration/proxy/test_forget.py)."""

from __future__ import annotations

from typing import Any

import pytest

from infra import forget


class _Missing(Exception):
    pass


class _CloudFormation:
    class exceptions:
        ClientError = _Missing

    def __init__(self, outputs: dict[str, str] | None) -> None:
        self._outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        if self._outputs is None:
            raise _Missing(StackName)
        return {"Stacks": [{"Outputs": [
            {"OutputKey": k, "OutputValue": v} for k, v in self._outputs.items()]}]}  # fmt: skip


OUTPUTS = {
    "TableName": "t",
    "CacheTableName": "c",
    "CustomerKeySecretArn": "arn:aws:secretsmanager:eu-west-1:1:secret:k",
    "UtilityCodes": "NRTH,STH",
}


def test_a_deployed_stacks_outputs_name_its_tables_key_and_companies() -> None:
    stack = forget.deployed("OpowerGateway", _CloudFormation(OUTPUTS))
    assert stack == {"TableName": "t", "CacheTableName": "c",
                     "CustomerKeySecretArn": OUTPUTS["CustomerKeySecretArn"],
                     "companies": "NRTH,STH"}  # fmt: skip
    with pytest.raises(forget.ForgetError, match="name the company: COMPANY=<utility code> "
                       r"\(NRTH, STH\)"):  # fmt: skip
        forget._only_company(stack)
    assert forget._only_company({**stack, "companies": "UTX"}) == "UTX"


def test_a_stack_not_found_or_too_old_is_one_line() -> None:
    with pytest.raises(forget.ForgetError, match="not found in this account and region"):
        forget.deployed("Nope", _CloudFormation(None))
    older = {k: v for k, v in OUTPUTS.items() if k != "CustomerKeySecretArn"}
    with pytest.raises(forget.ForgetError, match="no CustomerKeySecretArn output"):
        forget.deployed("OpowerGateway", _CloudFormation(older))


def test_without_a_customer_it_says_how_to_name_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert forget.main([]) == 1
    assert capsys.readouterr().err == (
        "forget: name the customer: make forget CUSTOMER=<utilityCustomerId>\n"
    )
