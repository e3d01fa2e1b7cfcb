"""DynamoDbTokenStore against moto server: conditions, encryption, TTL, leases."""

from __future__ import annotations

import time

import boto3
import pytest

from gateway.errors import TokenStoreError
from gateway.observability import fingerprint
from gateway.token.store import DynamoDbTokenStore, StoredToken
from tests.conftest import AwsResources

KEY = "0123456789abcdef0123456789abcdef"
VALUE = "5b1e6d0c-2f4a-4c55-9d1b-token-value"


def sealed(store: DynamoDbTokenStore, value: str, expires_at: float) -> StoredToken:
    return StoredToken(
        ciphertext=store.seal(KEY, value),
        fingerprint=fingerprint(value),
        expires_at=expires_at,
        lifetime_s=3599,
    )


def raw_item(resources: AwsResources, pk: str) -> dict[str, object]:
    item = boto3.client("dynamodb").get_item(TableName=resources.table_name, Key={"pk": {"S": pk}})
    return item.get("Item", {})  # type: ignore[return-value]


def test_the_token_is_stored_encrypted_with_a_ttl(
    store: DynamoDbTokenStore, aws_resources: AwsResources
) -> None:
    expires = time.time() + 3599
    assert store.write(KEY, sealed(store, VALUE, expires), latency_s=0.1)

    item = raw_item(aws_resources, f"tok#{KEY}")
    assert VALUE not in repr(item)
    assert VALUE.encode() not in item["ct"]["B"]  # type: ignore[index]
    assert int(item["ttl"]["N"]) >= expires  # type: ignore[index]
    state = store.read(KEY)
    assert state.token is not None
    assert store.unseal(KEY, state.token) == VALUE


def test_a_ciphertext_moved_to_another_item_does_not_decrypt(store: DynamoDbTokenStore) -> None:
    token = sealed(store, VALUE, time.time() + 60)

    with pytest.raises(TokenStoreError):
        store.unseal("another-item-key-0000000000000000", token)


def test_an_older_token_never_overwrites_a_newer_one(store: DynamoDbTokenStore) -> None:
    now = time.time()
    assert store.write(KEY, sealed(store, "newer-token-value", now + 3599), latency_s=0.1)

    assert not store.write(KEY, sealed(store, "older-token-value", now + 3000), latency_s=0.1)
    assert not store.write(KEY, sealed(store, "same-expiry-other", now + 3599), latency_s=0.1)

    state = store.read(KEY)
    assert state.token is not None
    assert state.token.fingerprint == fingerprint("newer-token-value")


def test_the_same_token_may_be_written_again_to_share_that_it_was_reissued(
    store: DynamoDbTokenStore,
) -> None:
    expires = time.time() + 3599
    store.write(KEY, sealed(store, VALUE, expires), latency_s=0.1)
    again = sealed(store, VALUE, expires)

    assert store.write(
        KEY, StoredToken(again.ciphertext, again.fingerprint, expires, 3599, True), latency_s=0.1
    )
    state = store.read(KEY)
    assert state.token is not None
    assert state.token.reissued


def test_compare_and_delete_removes_only_the_token_that_failed(store: DynamoDbTokenStore) -> None:
    store.write(KEY, sealed(store, VALUE, time.time() + 3599), latency_s=0.1)

    assert not store.delete_if_current(KEY, fingerprint("some-older-token"))
    assert store.read(KEY).token is not None
    assert store.delete_if_current(KEY, fingerprint(VALUE))
    assert store.read(KEY).token is None


def test_failures_are_recorded_beside_the_token_and_cleared_by_a_new_one(
    store: DynamoDbTokenStore,
) -> None:
    now = time.time()
    store.write(KEY, sealed(store, VALUE, now + 100), latency_s=0.1)
    store.record_failure(KEY, failures=2, retry_at=now + 4)

    state = store.read(KEY)
    assert (state.failures, round(state.retry_at)) == (2, round(now + 4))
    assert state.token is not None  # the still-valid token stays usable

    store.write(KEY, sealed(store, "fresh-token-value-1", now + 3599), latency_s=0.1)
    assert store.read(KEY).failures == 0


def test_a_lease_is_exclusive_until_it_expires_or_is_released(store: DynamoDbTokenStore) -> None:
    now = time.time()
    assert store.acquire_lease(KEY, owner="a", now=now, duration_s=10) == (True, None)
    # A waiter learns the holder's expiry from the refusal itself.
    taken, holder_until = store.acquire_lease(KEY, owner="b", now=now + 5, duration_s=10)
    assert not taken
    assert holder_until == pytest.approx(now + 10, abs=0.01)

    store.release_lease(KEY, owner="b")  # not b's: no effect
    assert not store.acquire_lease(KEY, owner="b", now=now + 6, duration_s=10)[0]

    assert store.acquire_lease(KEY, owner="b", now=now + 10.5, duration_s=10)[0]  # a's expired
    store.release_lease(KEY, owner="b")
    assert store.acquire_lease(KEY, owner="c", now=now + 11, duration_s=10)[0]


def test_an_unreachable_table_is_a_store_error_not_a_hang() -> None:
    dead = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
    store = DynamoDbTokenStore("t", "k", dynamodb=dead)
    started = time.monotonic()

    with pytest.raises(TokenStoreError):
        store.read(KEY)

    assert time.monotonic() - started < 10


def test_only_the_owner_renews_a_lease(store: DynamoDbTokenStore) -> None:
    now = time.time()
    store.acquire_lease(KEY, owner="a", now=now, duration_s=2)

    assert store.renew_lease(KEY, owner="a", now=now + 1, duration_s=10)
    assert not store.renew_lease(KEY, owner="b", now=now + 1, duration_s=10)
    # renewed: still a's at now + 5, though the first lease ended at now + 2
    assert not store.acquire_lease(KEY, owner="b", now=now + 5, duration_s=10)[0]


def test_latency_and_a_hold_are_kept_with_the_token_and_a_failure(
    store: DynamoDbTokenStore,
) -> None:
    now = time.time()
    store.record_failure(KEY, failures=0, retry_at=now + 1, latency_s=2.0)
    assert store.read(KEY).latency_s == 2.0

    token = sealed(store, VALUE, now + 20)
    store.write(KEY, StoredToken(token.ciphertext, token.fingerprint, now + 20, 20, True, "c-1"),
                latency_s=0.3, hold_until=now + 20)  # fmt: skip
    state = store.read(KEY)

    assert state.latency_s == 0.3
    assert state.retry_at == pytest.approx(now + 20, abs=0.01)
    assert state.token is not None
    assert (state.token.reissued, state.token.client_id) == (True, "c-1")
