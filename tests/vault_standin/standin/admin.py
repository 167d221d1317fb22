"""The test-only admin API under /_standin/ (not part of Vault).

GET/DELETE /_standin/requests      the record of /v1 requests / clear it
GET/POST/DELETE /_standin/faults   show / set (merge) / clear injected faults
GET/POST /_standin/time_offset     show / set the clock offset in seconds
"""

import json

from .replies import Reply, json_reply


def _error(status, message):
    return json_reply(status, {"errors": [message]})


class AdminApi:
    def __init__(self, faults, log, clock):
        self.faults = faults
        self.log = log
        self.clock = clock
        self._routes = {
            ("GET", "requests"): self._list_requests,
            ("DELETE", "requests"): self._clear_requests,
            ("GET", "faults"): self._show_faults,
            ("POST", "faults"): self._set_faults,
            ("PUT", "faults"): self._set_faults,
            ("DELETE", "faults"): self._clear_faults,
            ("GET", "time_offset"): self._show_offset,
            ("POST", "time_offset"): self._set_offset,
            ("PUT", "time_offset"): self._set_offset,
        }

    def serve(self, method, path, body):
        handler = self._routes.get((method, path[len("/_standin/"):].strip("/")))
        if handler is None:
            return _error(404, f"no stand-in admin endpoint {method} {path}")
        if body is None:
            return _error(413, "request body too large")
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return _error(400, "body is not JSON")
        try:
            return handler(payload)
        except ValueError as err:
            return _error(400, str(err))

    def _list_requests(self, _payload):
        return json_reply(200, self.log.entries())

    def _clear_requests(self, _payload):
        self.log.clear()
        return Reply(204)

    def _show_faults(self, _payload):
        return json_reply(200, self.faults.snapshot())

    def _set_faults(self, payload):
        self.faults.update(payload)
        return json_reply(200, self.faults.snapshot())

    def _clear_faults(self, _payload):
        self.faults.clear()
        return Reply(204)

    def _show_offset(self, _payload):
        return json_reply(200, {"seconds": self.clock.offset})

    def _set_offset(self, payload):
        seconds = payload.get("seconds") if isinstance(payload, dict) else None
        if type(seconds) not in (int, float):
            raise ValueError('expected {"seconds": <number>}')
        self.clock.offset = seconds
        return json_reply(200, {"seconds": seconds})
