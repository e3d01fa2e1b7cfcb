"""The sandbox's mutable data: home profiles and bill thresholds.

Kept apart from the immutable seeds in `data` so a reset can restore them atomically.
"""

from __future__ import annotations

import copy
import threading

from local.sandbox.data import DEFAULT, Directory


class MutableStore:
    """Thread-safe home profiles (by Opower customer id) and thresholds (by utilityCustomerId)."""

    def __init__(self, directory: Directory = DEFAULT) -> None:
        self._seeds = directory
        self._lock = threading.Lock()
        self._profiles: dict[int, dict[str, object]] = {}
        self._thresholds: dict[str, dict[str, object]] = {}
        self.reset()

    def reset(self) -> None:
        """Restore the seeded data."""
        with self._lock:
            self._profiles = copy.deepcopy(dict(self._seeds.home_profiles))
            self._thresholds = copy.deepcopy(dict(self._seeds.thresholds))

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
