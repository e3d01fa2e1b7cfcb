"""The one urllib3 connection pool of the process, reused across warm invocations."""

from __future__ import annotations

import functools

import urllib3

USER_AGENT = "opower-gateway/0.1"


@functools.cache
def shared_pool() -> urllib3.PoolManager:
    # Retries are ours (they depend on the method, the status and the deadline), never
    # urllib3's; redirects are never followed: a redirect from Opower is an error.
    return urllib3.PoolManager(
        num_pools=4,
        maxsize=32,
        block=False,
        retries=False,
        headers={"User-Agent": USER_AGENT},
    )
