"""The container's HTTP connection pool to Telegent."""

from __future__ import annotations

import urllib3

from telegent.deadline import WATCHED_POOLS


def new_pool_manager(connect_timeout: float, read_timeout: float, maxsize: int) -> urllib3.PoolManager:
    """One pool per container. Automatic retries only for connection errors: nothing reached the vendor.

    Its connections can be cut off by a call's total deadline (telegent.deadline).
    """
    manager = urllib3.PoolManager(
        num_pools=4,
        maxsize=maxsize,
        block=False,
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        retries=urllib3.Retry(total=None, connect=2, read=0, status=0, other=0, redirect=0, backoff_factor=0.2),
        cert_reqs="CERT_REQUIRED",
    )
    manager.pool_classes_by_scheme = dict(WATCHED_POOLS)
    return manager
