"""The failure modes tests switch on through POST /_standin/faults (not Vault).

Each fault has a default (off) value and a check for the values a test may
set. path_prefix limits the scoped faults to request paths (after /v1/) that
start with it; without it they leave sys/health and sys/seal-status alone.
"""

import json
import threading

# Served by every node in every state; exempt from sealing, redirects and quotas.
STATUS_PATHS = ("sys/health", "sys/seal-status")


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
}


class Faults:
    """The current faults, set and read from several request threads."""

    NAMES = tuple(_FAULTS)

    def __init__(self):
        self._lock = threading.Lock()
        self._values = self._defaults()

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
        with self._lock:
            self._values.update(changes)

    def clear(self):
        with self._lock:
            self._values = self._defaults()

    def snapshot(self):
        with self._lock:
            return json.loads(json.dumps(self._values))

    def get(self, name):
        with self._lock:
            return self._values[name]

    def _targets_locked(self, path):
        prefix = self._values["path_prefix"]
        return path.startswith(prefix) if prefix else path not in STATUS_PATHS

    def targets(self, path):
        with self._lock:
            return self._targets_locked(path)

    def scoped(self, name, path):
        """The fault's value if it applies to this path, else its default (off) value."""
        with self._lock:
            if self._targets_locked(path):
                return self._values[name]
        return _FAULTS[name][0]

    def take_status(self, path):
        """Consume the next status_once entry if this request is targeted."""
        with self._lock:
            queue = self._values["status_once"]
            if not self._targets_locked(path) or not queue:
                return None
            return queue.pop(0)

