"""Replies of overloaded or failing Vaults, made up from the current faults.

injected() answers instead of Vault: a rate limit quota (with the headers
Vault's quotas_rate_limit.go sets when enable_rate_limit_response_headers is
on), or the statuses queued by status_once.
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


def rate_limit_headers():
    """A quota with Vault's default 1 s interval: the reset is under a second away.

    Vault sends whole seconds until the reset, rounded down, as both
    X-RateLimit-Reset and Retry-After (Go writes the names canonicalised).
    """
    return {"X-Ratelimit-Limit": "1", "X-Ratelimit-Remaining": "0",
            "X-Ratelimit-Reset": "0", "Retry-After": "0"}


def with_retry_after(faults, reply):
    """The retry_after fault's raw header on every made-up 412, 429 or 5xx reply."""
    value = faults.get("retry_after")
    if value is not None and (reply.status in (412, 429) or reply.status >= 500):
        reply.headers["Retry-After"] = value
    return reply


def injected(faults, request, path):
    """A made-up reply for this request, or None to let Vault answer it."""
    if faults.scoped("rate_limited", path) and path not in STATUS_PATHS:
        reply = error_reply(429, fault_errors(429, path))
        reply.headers.update(rate_limit_headers())
        return with_retry_after(faults, reply)
    status = faults.take_status(path)
    if status is not None:
        return with_retry_after(faults, error_reply(status, fault_errors(status, path)))
    return None

