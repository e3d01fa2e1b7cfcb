"""The sandbox's mutable data: home profiles, bill thresholds, notification contacts and
tip actions.

Kept apart from the immutable seeds in `data` so a reset can restore them atomically.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from local.sandbox.contacts import ContactBook
from local.sandbox.data import DEFAULT, Directory, SeedContact

NOT_YET = "NOT_YET"


class IdSequence:
    """Ids of created contacts and preferences: one sequence for every utility's store,
    so that an id is unique across the whole sandbox (above every seeded one)."""

    FIRST = 7_000_001

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = self.FIRST

    def take(self) -> int:
        with self._lock:
            taken, self._next = self._next, self._next + 1
            return taken

    def reset(self) -> None:
        with self._lock:
            self._next = self.FIRST


class MutableStore:
    """Thread-safe home profiles (by Opower customer id), thresholds (by
    utilityCustomerId), contact books and tip actions (by Opower customer id)."""

    def __init__(self, directory: Directory = DEFAULT, ids: IdSequence | None = None) -> None:
        self._seeds = directory
        self._ids = ids or IdSequence()
        self._lock = threading.Lock()
        self._profiles: dict[int, dict[str, object]] = {}
        self._thresholds: dict[str, dict[str, object]] = {}
        self._books: dict[int, ContactBook] = {}
        self._tip_statuses: dict[int, dict[str, str]] = {}
        self.reset()

    def reset(self) -> None:
        """Restore the seeded data (the id sequence, shared, is the owner's to reset)."""
        with self._lock:
            self._profiles = copy.deepcopy(dict(self._seeds.home_profiles))
            self._thresholds = copy.deepcopy(dict(self._seeds.thresholds))
            seeds: dict[int, list[SeedContact]] = {}
            for seed in self._seeds.contacts:
                seeds.setdefault(seed.customer_id, []).append(seed)
            self._books = {c: ContactBook.seeded(s, self._ids.take) for c, s in seeds.items()}
            self._tip_statuses = {c: dict(s) for c, s in self._seeds.tip_statuses.items()}

    def home_profile(self, customer_id: int) -> dict[str, object] | None:
        """A copy of the customer's home profile, if any."""
        with self._lock:
            profile = self._profiles.get(customer_id)
            return dict(profile) if profile is not None else None

    def put_home_profile(self, customer_id: int, profile: dict[str, object]) -> None:
        """Store a validated home profile."""
        with self._lock:
            self._profiles[customer_id] = dict(profile)

    def threshold(self, utility_customer_id: str) -> dict[str, object] | None:
        """A copy of the customer's bill threshold, if any."""
        with self._lock:
            threshold = self._thresholds.get(utility_customer_id)
            return dict(threshold) if threshold is not None else None

    def put_threshold(self, utility_customer_id: str, threshold: dict[str, object]) -> None:
        """Store a validated threshold."""
        with self._lock:
            self._thresholds[utility_customer_id] = dict(threshold)

    def delete_threshold(self, utility_customer_id: str) -> bool:
        """Remove the threshold; whether there was one."""
        with self._lock:
            return self._thresholds.pop(utility_customer_id, None) is not None

    @contextmanager
    def contact_book(self, customer_id: int) -> Iterator[ContactBook]:
        """The customer's notification contacts, held under the store's lock until the
        block ends (a request reads, checks and writes them as one step)."""
        with self._lock:
            book = self._books.get(customer_id)
            if book is None:
                book = self._books[customer_id] = ContactBook(self._ids.take)
            yield book

    def sms_opt_ins(self) -> tuple[int, int]:
        """SMS opt-in workflows started since the last reset, and SMS preferences still
        awaiting the customer's confirmation."""
        with self._lock:
            books = self._books.values()
            started = sum(b.sms_opt_ins_started for b in books)
            return started, sum(b.awaiting_opt_in() for b in books)

    def tip_status(self, customer_id: int, tip_name: str) -> str:
        """The action the customer took on a tip ("Default value for all of a
        customer's tips is NOT_YET", Update Tip Action)."""
        with self._lock:
            return self._tip_statuses.get(customer_id, {}).get(tip_name, NOT_YET)

    def set_tip_status(self, customer_id: int, tip_name: str, status: str) -> None:
        with self._lock:
            self._tip_statuses.setdefault(customer_id, {})[tip_name] = status
