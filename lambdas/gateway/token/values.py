"""The token broker's value types: its settings, and a usable Opower token."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from gateway.token.fetch import FetchSettings


@dataclass(frozen=True)
class BrokerSettings:
    refresh_fraction: float = 0.25  # refresh once less than this share of the lifetime is left
    refresh_min_s: float = 60.0  # ... or less than this, whichever is more
    expiry_safety_s: float = 5.0  # never hand out a token with less than this left
    reissue_margin_s: float = 0.2  # ... except a re-issued one, which has no successor yet
    lease_margin_s: float = 2.0  # a lease outlasts the token request it covers by this
    wait_step_s: float = 0.2  # mean interval between re-reads while waiting (jittered)
    backoff_base_s: float = 1.0  # fleet-wide back-off after a failed refresh: base * 2^(n-1)
    backoff_max_s: float = 30.0
    call_reserve_s: float = 1.0  # time kept, before the caller's deadline, for its call
    fetch: FetchSettings = field(default_factory=FetchSettings)

    def __post_init__(self) -> None:
        if not 0 < self.refresh_fraction < 1:
            raise ValueError("refresh_fraction must be between 0 and 1")


@dataclass(frozen=True)
class Token:
    """A usable Opower access token. ``value`` never appears in a repr."""

    value: str = field(repr=False)
    fingerprint: str
    expires_at: float
    lifetime_s: float
    store_key: str
    # The endpoint handed back the token it had already issued: asking again before it
    # expires brings the same one back, so there is no refresh ahead of its expiry.
    reissued: bool = False

    def usable(self, now: float, settings: BrokerSettings) -> bool:
        return now < self.expires_at - self._margin(settings)

    def _margin(self, settings: BrokerSettings) -> float:
        if self.reissued:
            return min(settings.reissue_margin_s, self.lifetime_s / 20)
        return min(settings.expiry_safety_s, self.lifetime_s / 10)

    def refresh_at(self, settings: BrokerSettings) -> float:
        if self.reissued:
            return self.expires_at - self._margin(settings)
        margin = max(self.lifetime_s * settings.refresh_fraction, settings.refresh_min_s)
        # A token shorter than twice the minimum margin would be "due" from birth.
        return self.expires_at - min(margin, self.lifetime_s / 2)

    @property
    def authorization(self) -> str:
        return f"Bearer {self.value}"


def store_key(token_url: str, credentials_id: str) -> str:
    """The shared item's key: one per (token endpoint, credentials), not reversible."""
    return hashlib.sha256(f"{token_url}\n{credentials_id}".encode()).hexdigest()[:32]
