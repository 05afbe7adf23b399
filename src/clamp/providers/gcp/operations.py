"""Waiting on Compute operations at the endpoint the client was built for.

``.result()`` would poll the real endpoint (it ignores the override), so writes use the
``*_unary`` methods and wait here with a Global- or ZoneOperationsClient ``wait`` call
(each blocks up to ~2 minutes server-side) until the operation is DONE.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from google.cloud import compute_v1

from clamp.errors import CloudUnavailable
from clamp.providers.gcp.errors import call, operation_failed

WAIT_CALLS = 10


def wait_done(
    op: compute_v1.Operation,
    poll: Callable[[str], compute_v1.Operation],
    permission: str,
) -> None:
    """Call ``poll(op.name)`` until ``op`` is DONE; raise its error if it failed."""
    for _ in range(WAIT_CALLS):
        if op.status == compute_v1.Operation.Status.DONE:
            break
        op = call("wait for an operation", permission, partial(poll, op.name))
    else:
        raise CloudUnavailable(
            f"operation {op.name} on {op.target_link} is still {op.status.name}; "
            "its outcome is unknown",
            hint="re-read the resource before retrying",
        )
    if op.error and op.error.errors:
        raise operation_failed(op)
