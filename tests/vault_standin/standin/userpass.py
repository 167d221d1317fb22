"""The userpass auth method (builtin/credential/userpass).

Users carry the usual token_* parameters (tokenutil.py). Logins follow
path_login.go, with Vault's default user lockout for existing users.
"""

from . import fields as f
from .framework import (CREATE, DELETE, LIST, NAME, READ, UPDATE, Backend, ErrorResponse,
                        HandlerError, Path, Response)
from .passwords import password_matches, set_password
from .tokenutil import (TOKEN_FIELDS, Lockout, apply_token_fields, login_auth, new_token_settings,
                        refuse_changed_policies, token_settings_data)

def _new_user():
    return {"password_hash": "", "salt": "", **new_token_settings()}


class UserpassBackend(Backend):
    mount_type = "userpass"
    unauthenticated = ("login/*",)

    def paths(self):
        username = {"username": f.Field(f.STRING)}
        password = {"password": f.Field(f.STRING)}
        user = f"users/(?P<username>{NAME})"
        return [
            Path("users/?", {}, {LIST: self.list_users}),
            Path(user, {**username, **password, **TOKEN_FIELDS},
                 {READ: self.read_user, CREATE: self.write_user, UPDATE: self.write_user,
                  DELETE: self.delete_user}, exists=self.user_exists),
            Path(user + "/password", {**username, **password}, {UPDATE: self.change_password}),
            Path(f"login/(?P<username>{NAME})", {**username, **password}, {UPDATE: self.login}),
        ]

    @property
    def users(self):
        return self.entry["users"]

    @property
    def lockout(self):
        return Lockout(self.entry, self.core.clock)

    def user_exists(self, _request, data):
        return data.get("username").lower() in self.users

    def list_users(self, _request, _data):
        if not self.users:
            return None
        return Response(data={"keys": sorted(self.users)})

    def read_user(self, _request, data):
        user = self.users.get(data.get("username").lower())
        if user is None:
            return None
        return Response(data=token_settings_data(user))

    def write_user(self, request, data):
        password = data.get("password")
        if request.operation == CREATE and not password:
            raise ErrorResponse("missing password")
        username = data.get("username").lower()
        user = dict(self.users.get(username) or _new_user())
        apply_token_fields(user, data)
        if password:
            set_password(user, password)
        self.users[username] = user

    def change_password(self, _request, data):
        user = self.users.get(data.get("username").lower())
        if user is None:
            raise ErrorResponse("username does not exist")
        if not data.get("password"):
            raise ErrorResponse("missing password")
        set_password(user, data.get("password"))

    def delete_user(self, _request, data):
        self.users.pop(data.get("username").lower(), None)

    def login(self, request, data):
        username = data.get("username").lower()
        self.lockout.refuse_if_locked(username)
        password = data.get("password")
        if not password:
            raise HandlerError("missing password")
        user = self.users.get(username)
        if not password_matches(user, password):
            if user is not None:
                self.lockout.failed(username)
            raise ErrorResponse("invalid username or password")
        self.lockout.succeeded(username)
        return Response(login=login_auth(user, list(user["token_policies"]), username))

    def renew_login(self, token):
        """pathLoginRenew: the user's current TTLs and period, or None if the user is gone."""
        user = self.users.get((token["meta"] or {}).get("username", ""))
        if user is None:
            return None
        refuse_changed_policies(user["token_policies"], token)
        return user["token_ttl"], user["token_max_ttl"], user.get("token_period", 0)
