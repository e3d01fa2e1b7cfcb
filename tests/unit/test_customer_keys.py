"""Customers' names are keyed: an HMAC-SHA256 (RFC 2104) under the stack's secret key, so
that enumerable ids cannot be tried against a name in a log, a metric or a table key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from gateway import customer_keys
from gateway.auth_context import customer_hash
from gateway.errors import CredentialsUnavailableError

KEY = b"k" * 32


@pytest.fixture(autouse=True)
def unconfigured() -> Iterator[None]:
    yield
    customer_keys.use(None)


def unkeyed(*parts: str) -> str:
    return hashlib.sha256(json.dumps(list(parts), separators=(",", ":")).encode()).hexdigest()


def test_a_dictionary_of_every_id_does_not_reverse_a_keyed_name() -> None:
    """The outside review's attack: hash every candidate id as the gateway would without
    a key, and look the name up. With the key, no candidate matches."""
    customer_keys.use(lambda: KEY)
    name = customer_hash("UTX", "UC-0001")
    candidates = {
        unkeyed(domain, "UTX", f"UC-{n:04d}")[:20]
        for n in range(20_000)
        for domain in ("customer",)
    } | {unkeyed("UTX", f"UC-{n:04d}")[:20] for n in range(20_000)}

    assert name not in candidates
    assert len(name) == 20


def test_names_are_stable_under_one_key_and_differ_under_another() -> None:
    customer_keys.use(lambda: KEY)
    first = customer_hash("UTX", "UC-0001")
    assert customer_hash("UTX", "UC-0001") == first
    assert customer_hash("UTY", "UC-0001") != first  # the company is part of the name
    customer_keys.use(lambda: b"z" * 32)
    assert customer_hash("UTX", "UC-0001") != first


def test_the_key_is_read_once_per_container() -> None:
    reads: list[int] = []

    def load() -> bytes:
        reads.append(1)
        return KEY

    customer_keys.use(load)
    for n in range(100):
        customer_hash("UTX", f"UC-{n:04d}")

    assert len(reads) == 1


@pytest.mark.parametrize("loader", [lambda: b"short", lambda: 1 / 0], ids=["short", "failing"])
def test_without_a_usable_key_nobody_is_named(loader: object) -> None:
    """A key under 32 bytes, or none to be read: a refusal (503 upstream_unavailable to a
    customer, retried), never a fall back to unkeyed names."""
    customer_keys.use(loader)  # type: ignore[arg-type]

    with pytest.raises(CredentialsUnavailableError):
        customer_hash("UTX", "UC-0001")


def test_the_stack_secrets_forms_are_read() -> None:
    class Client:
        def __init__(self, text: str) -> None:
            self.text = text

        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            return {"SecretString": self.text}

    plain = customer_keys.secret_loader("s", lambda: Client("a" * 64))()
    wrapped = customer_keys.secret_loader("s", lambda: Client(json.dumps({"key": "b" * 64})))()

    assert (plain, wrapped) == (b"a" * 64, b"b" * 64)
