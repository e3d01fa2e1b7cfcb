"""A faithful local imitation of the Oracle Utilities Opower REST APIs, for tests and demos.

See README.md in this folder for the endpoints, data, fault switches and control plane.
"""

from local.sandbox.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    UTILITY_CODE,
    SandboxConfig,
)
from local.sandbox.server import OpowerSandbox
from local.sandbox.stats import ReceivedRequest, fingerprint

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "UTILITY_CODE",
    "OpowerSandbox",
    "ReceivedRequest",
    "SandboxConfig",
    "fingerprint",
]
