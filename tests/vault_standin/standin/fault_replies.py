"""Replies of overloaded or failing Vaults, made up from the current faults.

injected() answers instead of Vault: a rate limit quota, or the statuses
queued by status_once.
"""

from .faults import STATUS_PATHS
from .gocompat import multierror
from .replies import error_reply


def fault_errors(status, path):
    """The body a real Vault sends with each status, for injected failures."""
    return {
        400: [multierror("invalid request")],
        403: [multierror("permission denied")],
        405: [multierror("unsupported operation")],
        412: ["required index state not present"],
        429: [f'request path "{path}": rate limit quota exceeded'],
        500: [multierror("internal error")],
        502: [multierror("upstream rate limited")],
        503: ["Vault is sealed"],
    }.get(status, [])


def injected(faults, request, path):
    """A made-up reply for this request, or None to let Vault answer it."""
    if faults.scoped("rate_limited", path) and path not in STATUS_PATHS:
        return error_reply(429, fault_errors(429, path))
    status = faults.take_status(path)
    if status is not None:
        return error_reply(status, fault_errors(status, path))
    return None

