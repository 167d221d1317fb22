"""The test-only admin API under /_standin/ (not part of Vault).

GET/DELETE /_standin/requests      the record of /v1 requests / clear it
GET/POST/DELETE /_standin/faults   show / set (merge) / clear injected faults
GET/POST /_standin/time_offset     show / set the clock offset in seconds
POST /_standin/ldap_directory      set (or remove) a user of an ldap mount's directory
GET/POST /_standin/mfa_pushes      MFA pushes waiting for the person / answer them
POST /_standin/sts_users           add a long-term user to the STS look-alike
POST /_standin/sts_roles           add a role to the STS look-alike
GET/DELETE /_standin/sts_requests  the STS look-alike's request log / clear it
GET/POST /_standin/imds            show / set the IMDS look-alike's instance role
POST /_standin/oidc_user           who the identity provider signs in (claims), or its refusal
GET /_standin/oidc/authorize       the identity provider's sign-in page (server.py; oidc.py)
"""

import json

from .ldap import set_directory_user
from .replies import Reply, json_reply
from .sys_backend import sanitize_mount_path


def _error(status, message):
    return json_reply(status, {"errors": [message]})


class AdminApi:
    def __init__(self, faults, log, core, lookalikes=None):
        self.faults = faults
        self.log = log
        self.core = core
        self.clock = core.clock
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
            ("POST", "ldap_directory"): self._set_directory_user,
            ("GET", "mfa_pushes"): self._list_pushes,
            ("POST", "mfa_pushes"): self._answer_pushes,
            ("POST", "oidc_user"): self._set_oidc_user,
        }
        if lookalikes is not None:
            self._routes.update(lookalikes.admin_routes())

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

    def _set_directory_user(self, payload):
        """{"mount": "ldap", "username": "alice", "password": "..." (null removes), "groups": [...]}"""
        if not isinstance(payload, dict) or not isinstance(payload.get("username"), str):
            raise ValueError('expected {"mount": ..., "username": ..., "password": ..., "groups": [...]}')
        mount = sanitize_mount_path(str(payload.get("mount", "ldap")))
        password, groups = payload.get("password"), payload.get("groups", [])
        if password is not None and not isinstance(password, str):
            raise ValueError('"password" must be a string or null')
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ValueError('"groups" must be a list of strings')
        with self.core.lock:
            entry = self.core.state["auth"].get(mount)
            if entry is None or entry["type"] != "ldap":
                raise ValueError(f"no ldap auth method at auth/{mount}")
            set_directory_user(entry, payload["username"], password, groups)
            if self.core.store is not None:
                self.core.store.save(self.core.state)
        return Reply(204)

    def _set_oidc_user(self, payload):
        """{"claims": {"email": ..., ...}} and/or {"error": "access_denied", "error_description": ...}"""
        if not isinstance(payload, dict):
            raise ValueError('expected {"claims": {...}} or {"error": "..."}')
        claims, error = payload.get("claims"), payload.get("error")
        if claims is not None and not isinstance(claims, dict):
            raise ValueError('"claims" must be an object')
        if error is not None and not isinstance(error, str):
            raise ValueError('"error" must be a string or null')
        self.core.oidc_provider.set_user(claims, error, str(payload.get("error_description", "")))
        return Reply(204)

    def _list_pushes(self, _payload):
        return json_reply(200, self.core.login_mfa.pending_pushes())

    def _answer_pushes(self, payload):
        """{"answer": "approve" | "reject" | "timeout", "id": <push id> (default: every push)}"""
        if not isinstance(payload, dict):
            raise ValueError('expected {"answer": "approve"}')
        answered = self.core.login_mfa.answer_pushes(payload.get("answer"), payload.get("id"))
        return json_reply(200, {"answered": answered})
