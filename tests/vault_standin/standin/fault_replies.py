"""Replies of overloaded, misbehaving and broken Vaults, made up from the current faults.

injected() answers instead of Vault: a rate limit quota (with the headers
Vault's quotas_rate_limit.go sets when enable_rate_limit_response_headers is
on), the statuses queued by status_once, or an error_reply. broken() changes a
finished reply on its way out: a body that is not JSON, a huge body, or a
connection cut after the headers or halfway through the body.
"""

from .faults import STATUS_PATHS
from .gocompat import go_json, multierror
from .replies import Reply, envelope, error_reply

REQUEST_BODY_PLACEHOLDER = "{{request_body}}"
_PADDING = b" " * 65536


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


def _error_text(spec, body):
    text = spec["text"]
    if REQUEST_BODY_PLACEHOLDER in text:
        raw = (body or b"").decode("utf-8", errors="replace")
        text = text.replace(REQUEST_BODY_PLACEHOLDER, raw)
    return text * spec.get("repeat", 1)


def injected(faults, request, path):
    """A made-up reply for this request, or None to let Vault answer it."""
    if faults.scoped("rate_limited", path) and path not in STATUS_PATHS:
        reply = error_reply(429, fault_errors(429, path))
        reply.headers.update(rate_limit_headers())
        return with_retry_after(faults, reply)
    status = faults.take_status(path)
    if status is not None:
        return with_retry_after(faults, error_reply(status, fault_errors(status, path)))
    spec = faults.scoped("error_reply", path)
    if spec is not None:
        reply = error_reply(spec["status"], [_error_text(spec, request.body)])
        return with_retry_after(faults, reply)
    return None


def _with_body(reply):
    """The reply itself, or (when it has no body, e.g. a 204) an empty 200 envelope."""
    if reply.length:
        return reply
    return Reply(200, go_json(envelope()), "application/json", reply.headers)


def _padded(reply, size):
    """The reply grown to size bytes with JSON whitespace after its opening brace."""
    body = reply.body
    if reply.stream or len(body) >= size:
        return reply
    head, tail = (body[:1], body[1:]) if body.startswith(b"{") else (body, b"")

    def chunks():
        yield head
        left = size - len(body)
        while left > 0:
            yield _PADDING[:left]
            left -= len(_PADDING)
        yield tail

    return Reply(reply.status, content_type=reply.content_type, headers=reply.headers,
                 stream=(size, chunks()))


def broken(faults, path, reply):
    """What a broken Vault or proxy does to a finished reply."""
    if reply.no_answer:
        return reply
    if faults.scoped("malformed_json", path):
        body = _with_body(reply).body.rstrip()
        # An object without its closing brace: JSON no parser accepts.
        reply = Reply(200, body[:-1] if body.endswith(b"}") else b"{" + body,
                      "application/json", reply.headers)
    size = faults.scoped("huge_body_bytes", path)
    if size:
        reply = _padded(_with_body(reply), size)
    if faults.scoped("cut_after_headers", path):
        reply = _with_body(reply)
        reply.status, reply.cut_at = 200, 0
    elif faults.scoped("drop_mid_body", path):
        reply = _with_body(reply)
        reply.cut_at = reply.length // 2
    return reply
