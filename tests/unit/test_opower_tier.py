"""`make dev OPOWER_URL=... UTILITY_CODE=... OPOWER_CREDENTIALS=...`: what is refused, in
one line naming the fix and never a credential; what is accepted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from local.dev import tier_banner
from local.opower_tier import (
    OpowerTarget,
    OpowerTierError,
    Terminal,
    credentials_from_file,
    credentials_from_terminal,
)
from tests import leakcheck

CLIENT_ID = "unit-tier-client-id-0001"
CLIENT_SECRET = "unit-tier-client-secret-0001"
leakcheck.register_secret(CLIENT_ID, CLIENT_SECRET)

STAGE = "https://cxapi-stage.opower.com"


def _refusal(call: Callable[[], object]) -> str:
    with pytest.raises(OpowerTierError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    assert CLIENT_ID not in message
    assert CLIENT_SECRET not in message
    return message


def _file(tmp_path: Path, content: str) -> str:
    path = tmp_path / "creds.json"
    path.write_text(content)
    return str(path)


class _FakeTerminal:
    """Answers the prompts from a script; remembers what was asked."""

    def __init__(self, *answers: str | type[BaseException], interactive: bool = True) -> None:
        self._answers = list(answers)
        self._interactive = interactive
        self.prompts: list[str] = []

    def _answer(self, prompt: str) -> str:
        self.prompts.append(prompt)
        answer = self._answers.pop(0)
        if isinstance(answer, type):
            raise answer
        return answer

    def terminal(self) -> Terminal:
        return Terminal(
            interactive=lambda: self._interactive, ask=self._answer, ask_secret=self._answer
        )


# -- OPOWER_URL and UTILITY_CODE ------------------------------------------------------


def test_without_any_of_the_three_it_is_the_sandbox() -> None:
    assert OpowerTarget.from_env({}) is None
    assert OpowerTarget.from_env({"OPOWER_URL": "", "UTILITY_CODE": ""}) is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPOWER_URL": STAGE}, "OPOWER_URL needs UTILITY_CODE"),
        ({"UTILITY_CODE": "ABC"}, "UTILITY_CODE=ABC needs OPOWER_URL"),
        ({"OPOWER_CREDENTIALS": "creds.json"}, "give OPOWER_URL and UTILITY_CODE with it"),
        ({"OPOWER_URL": "http://cxapi-stage.opower.com", "UTILITY_CODE": "ABC"}, "must use https"),
        ({"OPOWER_URL": "cxapi-stage.opower.com", "UTILITY_CODE": "ABC"}, "absolute http(s) URL"),
        ({"OPOWER_URL": f"{STAGE}/apis", "UTILITY_CODE": "ABC"}, "origin only"),
        ({"OPOWER_URL": "https://u:p@opower.example", "UTILITY_CODE": "ABC"}, "OPOWER_URL"),
        ({"OPOWER_URL": STAGE, "UTILITY_CODE": "AB"}, "3-4 letters or digits (got 'AB')"),
        ({"OPOWER_URL": STAGE, "UTILITY_CODE": "ABCDE"}, "3-4 letters or digits"),
        ({"OPOWER_URL": STAGE, "UTILITY_CODE": "A-B"}, "3-4 letters or digits"),
    ],
    ids=[
        "url-without-code",
        "code-without-url",
        "credentials-alone",
        "http-not-loopback",
        "no-scheme",
        "a-path",
        "userinfo",
        "code-too-short",
        "code-too-long",
        "code-not-alphanumeric",
    ],
)
def test_a_wrong_or_incomplete_target_is_refused_naming_the_fix(
    env: dict[str, str], expected: str
) -> None:
    message = _refusal(lambda: OpowerTarget.from_env(env))

    assert expected in message


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (STAGE, STAGE),
        (f"{STAGE}/", STAGE),
        ("http://127.0.0.1:4010", "http://127.0.0.1:4010"),
        ("http://localhost:4010/", "http://localhost:4010"),
        ("http://[::1]:4010", "http://[::1]:4010"),
    ],
)
def test_https_or_a_loopback_http_stand_in_is_accepted(url: str, origin: str) -> None:
    target = OpowerTarget.from_env(
        {"OPOWER_URL": url, "UTILITY_CODE": "ab12", "OPOWER_CREDENTIALS": "c.json"}
    )

    assert target == OpowerTarget(origin, "ab12", "c.json")


# -- the credentials file ----------------------------------------------------------------


def test_the_file_holds_the_client_id_and_secret(tmp_path: Path) -> None:
    name = _file(
        tmp_path,
        json.dumps({"client_id": f" {CLIENT_ID} ", "client_secret": CLIENT_SECRET, "x": 1}),
    )
    target = OpowerTarget(STAGE, "ABC", name)

    tier = target.tier(_FakeTerminal(interactive=False).terminal())

    assert (tier.credentials.client_id, tier.credentials.client_secret) == (
        CLIENT_ID,
        CLIENT_SECRET,
    )
    assert tier.describe() == {"url": STAGE, "utility_code": "ABC"}
    assert CLIENT_SECRET not in repr(tier)
    assert CLIENT_ID not in repr(tier)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f'{{"client_id": "{CLIENT_ID}", "client_secret": "{CLIENT_SECRET}"', "is not JSON"),
        (f'["{CLIENT_ID}", "{CLIENT_SECRET}"]', "must hold a JSON object"),
        (f'{{"client_id": "{CLIENT_ID}"}}', 'lacks "client_secret" (a non-empty string)'),
        (f'{{"client_id": "{CLIENT_ID}", "client_secret": "  "}}', 'lacks "client_secret"'),
        (f'{{"client_id": "", "client_secret": "{CLIENT_SECRET}"}}', 'lacks "client_id"'),
        (f'{{"client_id": 12, "client_secret": "{CLIENT_SECRET}"}}', 'lacks "client_id"'),
    ],
    ids=["bad-json", "not-an-object", "no-secret", "blank-secret", "empty-id", "id-not-string"],
)
def test_a_wrong_credentials_file_is_refused_without_echoing_it(
    tmp_path: Path, content: str, expected: str
) -> None:
    name = _file(tmp_path, content)

    message = _refusal(lambda: credentials_from_file(name))

    assert message.startswith(f"OPOWER_CREDENTIALS={name}")
    assert expected in message


def test_an_unreadable_credentials_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")

    message = _refusal(lambda: credentials_from_file(missing))

    assert message == (
        f"OPOWER_CREDENTIALS={missing}: cannot read it (No such file or directory); give a "
        'JSON file {"client_id": "...", "client_secret": "..."}'
    )
    assert "cannot read it" in _refusal(lambda: credentials_from_file(str(tmp_path)))


# -- the terminal ------------------------------------------------------------------------


def test_without_a_file_the_terminal_is_asked_the_secret_without_echo() -> None:
    fake = _FakeTerminal(f"{CLIENT_ID}\n", CLIENT_SECRET)

    tier = OpowerTarget(STAGE, "ABC").tier(fake.terminal())

    assert tier.credentials.client_id == CLIENT_ID
    assert tier.credentials.client_secret == CLIENT_SECRET
    assert fake.prompts == ["Opower client_id: ", "Opower client_secret (not shown): "]


def test_without_a_terminal_it_fails_at_once_saying_to_pass_the_file() -> None:
    fake = _FakeTerminal(interactive=False)

    message = _refusal(lambda: OpowerTarget(STAGE, "ABC").tier(fake.terminal()))

    assert fake.prompts == []  # nothing waited for
    assert "no terminal" in message
    assert "OPOWER_CREDENTIALS=<file>" in message


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((CLIENT_ID, "  "), "the client_secret entered is empty"),
        (("", CLIENT_SECRET), "the client_id entered is empty"),
        ((CLIENT_ID, EOFError), "no Opower client credentials entered"),
        ((KeyboardInterrupt,), "no Opower client credentials entered"),
    ],
    ids=["blank-secret", "empty-id", "end-of-input", "ctrl-c"],
)
def test_nothing_or_an_interrupt_at_the_prompt_is_one_line(
    answers: tuple[str | type[BaseException], ...], expected: str
) -> None:
    fake = _FakeTerminal(*answers)

    assert expected in _refusal(lambda: credentials_from_terminal(fake.terminal()))


# -- what the banner says ----------------------------------------------------------------


def test_the_banner_names_the_opower_and_how_to_mint_a_session() -> None:
    gateway = "http://127.0.0.1:3000"
    summary = {
        "gateway": gateway,
        "opower": {"url": STAGE, "utility_code": "ABC"},
        "aws": "http://127.0.0.1:4566",
        "idp": "http://127.0.0.1:4011",
        "openapi": f"{gateway}/v1/openapi.json",
        "opower_secret": "OpowerGateway/opower",
        "companies": ["ABC"],
        "customers": [],
    }

    text = tier_banner(summary)

    assert f"against Opower {STAGE}, utility ABC" in text
    assert f"{STAGE}/apis/" in text
    assert "make -s token CUSTOMER=<utilityCustomerId> ACCOUNTS=<number>[,<number>]" in text
    assert f"{gateway}/v1/me/accounts" in text
    assert "sandbox" not in text.replace("no sandbox runs", "")
    assert "Bearer ey" not in text  # no session was minted: there are no sample customers
