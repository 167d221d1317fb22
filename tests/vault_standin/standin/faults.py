"""The failure modes tests switch on through POST /_standin/faults (not Vault).

Each fault has a default (off) value and a check for the values a test may
set. path_prefix limits the scoped faults to request paths (after /v1/) that
start with it; without it they leave sys/health and sys/seal-status alone.
"""

import json
import threading

# Served by every node in every state; exempt from sealing, redirects and quotas.
STATUS_PATHS = ("sys/health", "sys/seal-status")
CERT_VALIDITIES = ("", "forever", "expired")


def _bool(value):
    return type(value) is bool


def _string(value):
    return type(value) is str


def _count(value):
    return type(value) is int and value >= 0


def _status_code(value):
    return type(value) is int and 100 <= value <= 599


def _status_list(value):
    return type(value) is list and all(_status_code(code) for code in value)


def _strings(value):
    return type(value) is list and all(_string(item) for item in value)


def _int_or_null(value):
    return value is None or type(value) is int


def _cert_validity(value):
    return value in CERT_VALIDITIES


def _error_reply(value):
    if value is None:
        return True
    if type(value) is not dict or set(value) - {"status", "text", "repeat"}:
        return False
    return (_status_code(value.get("status")) and _string(value.get("text"))
            and type(value.get("repeat", 1)) is int and value.get("repeat", 1) >= 1)


# name: (default, check, what a valid value is)
_FAULTS = {
    "sealed": (False, _bool, "a boolean"),
    "standby_redirect": ("", _string, "a string"),
    "rate_limited": (False, _bool, "a boolean"),
    "status_once": ([], _status_list, "a list of HTTP status codes"),
    "delay_ms": (0, _count, "a non-negative integer"),
    "path_prefix": ("", _string, "a string"),
    "legacy_token_errors": (False, _bool, "a boolean"),
    "retry_after": (None, lambda v: v is None or _string(v), "a string or null"),
    "hang": (False, _bool, "a boolean"),
    "cut_after_headers": (False, _bool, "a boolean"),
    "drop_mid_body": (False, _bool, "a boolean"),
    "error_reply": (None, _error_reply,
                    'null or {"status": <100-599>, "text": "...", "repeat": <n >= 1>}'),
    "huge_body_bytes": (0, _count, "a non-negative integer"),
    "malformed_json": (False, _bool, "a boolean"),
    "cert_validity": ("", _cert_validity, 'one of "", "forever", "expired"'),
    "token_ttl": (None, _int_or_null, "an integer or null"),
    "renew_204": (False, _bool, "a boolean"),
    "sign_warnings": ([], _strings, "a list of strings"),
    "oidc_state_ttl_seconds": (None, lambda v: v is None or _count(v), "a non-negative integer or null"),
}


class Faults:
    """The current faults; changes wake requests held by the hang fault."""

    NAMES = tuple(_FAULTS)

    def __init__(self):
        self._changed = threading.Condition()
        self._values = self._defaults()
        self._stopping = False

    @staticmethod
    def _defaults():
        return {name: json.loads(json.dumps(default))
                for name, (default, _check, _what) in _FAULTS.items()}

    def update(self, changes):
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object")
        for name, value in changes.items():
            if name not in _FAULTS:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(self.NAMES)}")
            _default, check, what = _FAULTS[name]
            if not check(value):
                raise ValueError(f"fault {name!r} must be {what}")
        with self._changed:
            self._values.update(changes)
            self._changed.notify_all()

    def clear(self):
        with self._changed:
            self._values = self._defaults()
            self._changed.notify_all()

    def snapshot(self):
        with self._changed:
            return json.loads(json.dumps(self._values))

    def get(self, name):
        with self._changed:
            return self._values[name]

    def _targets_locked(self, path):
        prefix = self._values["path_prefix"]
        return path.startswith(prefix) if prefix else path not in STATUS_PATHS

    def targets(self, path):
        with self._changed:
            return self._targets_locked(path)

    def scoped(self, name, path):
        """The fault's value if it applies to this path, else its default (off) value."""
        with self._changed:
            if self._targets_locked(path):
                return self._values[name]
        return _FAULTS[name][0]

    def take_status(self, path):
        """Consume the next status_once entry if this request is targeted."""
        with self._changed:
            queue = self._values["status_once"]
            if not self._targets_locked(path) or not queue:
                return None
            return queue.pop(0)

    def hold(self, path):
        """Block while the hang fault applies to path; False if the server is stopping."""
        with self._changed:
            while (self._values["hang"] and self._targets_locked(path)
                   and not self._stopping):
                self._changed.wait()
            return not self._stopping

    def stop(self):
        """Release every held request: the server is shutting down."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
