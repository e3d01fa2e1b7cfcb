"""Configuration of the Opower sandbox.

Defaults mirror production Opower (token lifetime 3599 s, 20 requests per second and
100,000 per day per utility), so the gateway meets realistic limits unless a test
deliberately loosens them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date

from local.sandbox.restatements import Restatements

UTILITY_CODE = "UTX"
DEFAULT_CLIENT_ID = "5f0c1d2e-0000-4a11-8b00-sandbox00001"
# Not a real credential: fixed and distinctive so leak checks can grep for it.
DEFAULT_CLIENT_SECRET = "5ec2e7ed-0000-4b22-9c00-sandbox5ecr7"
# The second operating company's own client (a group's companies may each have one).
SECOND_UTILITY_CODE = "UTY"
SECOND_CLIENT_ID = "5f0c1d2e-0000-4a11-8b00-sandbox00002"
SECOND_CLIENT_SECRET = "5ec2e7ed-0000-4b22-9c00-sandbox5ecr2"


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


BILLING_MODES = ("calendar", "cycles")


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox instance listens and which utility and credentials it serves.

    `port=0` lets the OS pick a free port (read it back from `OpowerSandbox.port`).
    `control_plane=None` enables the `/_sandbox/*` routes only on a loopback host, so a
    sandbox exposed on a network cannot be reconfigured by whoever reaches it.
    """

    host: str = "127.0.0.1"
    port: int = 4010
    utility_code: str = UTILITY_CODE
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    token_lifetime_s: int = 3599
    rate_per_second: int = 20
    rate_per_day: int = 100_000
    control_plane: bool | None = None
    # A second operating company on the same Opower (its own customers, client and
    # limits; tokens of one refused on the other's paths), or None for one utility.
    second_utility_code: str | None = None
    second_client_id: str = SECOND_CLIENT_ID
    second_client_secret: str = SECOND_CLIENT_SECRET
    # Synthetic customers added to the first utility's (data.with_population): capacity
    # benchmarks simulate a utility's day with them.
    population: int = 0
    # What Opower restates after it answered (local/sandbox/restatements: estimates then
    # actual reads, a settled day corrected, a move-out processed late, a bill rebilled);
    # off, the numbers are the exact sums tests assert. ``restatements_pivot``: the day
    # late move-outs turn on (ISO date; empty: the day the sandbox starts).
    restatements: bool = False
    restatements_pivot: str = ""
    # How bills post: "calendar" (every account's periods are calendar months, every bill
    # posts on the 1st: the stress case, and the exact months tests assert) or "cycles"
    # (about 20 read cycles, each customer's periods start on their cycle's day: bills post
    # every working day, as a utility's do; data.with_read_cycles).
    billing: str = "calendar"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, got {self.port}")
        if self.token_lifetime_s < 0:
            raise ValueError("token_lifetime_s must be >= 0")
        if self.rate_per_second < 1 or self.rate_per_day < 1:
            raise ValueError("rate limits must be >= 1")
        if not self.client_id or not self.client_secret:
            raise ValueError("client_id and client_secret must not be empty")
        if self.second_utility_code == self.utility_code:
            raise ValueError("the second utility code must differ from the first")
        if self.billing not in BILLING_MODES:
            raise ValueError(f"billing must be one of {', '.join(BILLING_MODES)}")

    def restatements_of(self, today: date) -> Restatements | None:
        if not self.restatements:
            return None
        pivot = date.fromisoformat(self.restatements_pivot) if self.restatements_pivot else today
        return Restatements(pivot)

    @property
    def control_plane_enabled(self) -> bool:
        """The explicit setting, or loopback-only when left unset."""
        if self.control_plane is not None:
            return self.control_plane
        return is_loopback(self.host)
