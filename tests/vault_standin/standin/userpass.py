"""The userpass auth method (builtin/credential/userpass).

Users carry the usual token_* parameters. Logins follow path_login.go, plus the
user lockout Vault applies to userpass by default since 1.13: after 5 wrong
passwords for an existing user, logins for that user are refused with
"permission denied" for 15 minutes.
"""

import hashlib
import hmac
import secrets

from . import fields as f
from .framework import (CREATE, DELETE, LIST, NAME, READ, UPDATE, Backend, ErrorResponse,
                        HandlerError, LoginAuth, Path, Response)
from .tokens import sanitize_policies

LOCKOUT_THRESHOLD = 5
LOCKOUT_SECONDS = 15 * 60
# A low iteration count keeps logins fast in tests; these are throw-away passwords.
_PBKDF2_ITERATIONS = 1000

_TOKEN_FIELDS = {
    "token_policies": f.Field(f.COMMA_STRINGS), "policies": f.Field(f.COMMA_STRINGS),
    "token_ttl": f.Field(f.DURATION), "ttl": f.Field(f.DURATION),
    "token_max_ttl": f.Field(f.DURATION), "max_ttl": f.Field(f.DURATION),
    "token_explicit_max_ttl": f.Field(f.DURATION), "token_no_default_policy": f.Field(f.BOOL),
    "token_num_uses": f.Field(f.INT), "token_period": f.Field(f.DURATION),
    "token_type": f.Field(f.STRING), "token_bound_cidrs": f.Field(f.COMMA_STRINGS),
    "bound_cidrs": f.Field(f.COMMA_STRINGS),
}
_STORED_FIELDS = ("token_policies", "token_ttl", "token_max_ttl", "token_explicit_max_ttl",
                  "token_no_default_policy", "token_num_uses", "token_period", "token_type")
# tokenutil.ParseTokenFields: the token_type values a user may have.
_TOKEN_TYPES = {"": "default", "default": "default", "service": "service", "batch": "batch"}
# Older parameter names, used when the token_* parameter is not supplied.
_LEGACY = {"token_policies": "policies", "token_ttl": "ttl", "token_max_ttl": "max_ttl"}


def _hash_password(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt),
                               _PBKDF2_ITERATIONS).hex()


def _refuse_unsupported(name, value):
    """Token parameters the stand-in does not implement are refused, not ignored."""
    if name in ("token_bound_cidrs", "bound_cidrs") and value:
        raise ErrorResponse("the Vault stand-in does not support bound CIDRs")
    if name == "token_type" and value not in _TOKEN_TYPES:
        raise ErrorResponse(f"invalid 'token_type' value \"{value}\"")
    if name == "token_num_uses" and value < 0:
        raise ErrorResponse("'token_num_uses' cannot be negative")


def _new_user():
    return {"password_hash": "", "salt": "", "token_policies": [], "token_ttl": 0,
            "token_max_ttl": 0, "token_explicit_max_ttl": 0, "token_no_default_policy": False,
            "token_num_uses": 0, "token_period": 0, "token_type": "default"}


class UserpassBackend(Backend):
    mount_type = "userpass"
    unauthenticated = ("login/*",)

    def paths(self):
        username = {"username": f.Field(f.STRING)}
        password = {"password": f.Field(f.STRING)}
        user = f"users/(?P<username>{NAME})"
        return [
            Path("users/?", {}, {LIST: self.list_users}),
            Path(user, {**username, **password, **_TOKEN_FIELDS},
                 {READ: self.read_user, CREATE: self.write_user, UPDATE: self.write_user,
                  DELETE: self.delete_user}, exists=self.user_exists),
            Path(user + "/password", {**username, **password}, {UPDATE: self.change_password}),
            Path(f"login/(?P<username>{NAME})", {**username, **password}, {UPDATE: self.login}),
        ]

    @property
    def users(self):
        return self.entry["users"]

    @property
    def lockouts(self):
        return self.entry["lockouts"]

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
        return Response(data={
            "token_bound_cidrs": [], "token_explicit_max_ttl": user["token_explicit_max_ttl"],
            "token_max_ttl": user["token_max_ttl"],
            "token_no_default_policy": user["token_no_default_policy"],
            "token_num_uses": user["token_num_uses"],
            "token_period": user.get("token_period", 0),
            "token_policies": user["token_policies"], "token_ttl": user["token_ttl"],
            "token_type": user.get("token_type", "default"),
        })

    def write_user(self, request, data):
        password = data.get("password")
        if request.operation == CREATE and not password:
            raise ErrorResponse("missing password")
        username = data.get("username").lower()
        user = dict(self.users.get(username) or _new_user())
        self._apply_token_fields(user, data)
        if password:
            self._set_password(user, password)
        self.users[username] = user

    def change_password(self, _request, data):
        user = self.users.get(data.get("username").lower())
        if user is None:
            raise ErrorResponse("username does not exist")
        if not data.get("password"):
            raise ErrorResponse("missing password")
        self._set_password(user, data.get("password"))

    def delete_user(self, _request, data):
        self.users.pop(data.get("username").lower(), None)

    @staticmethod
    def _set_password(user, password):
        user["salt"] = secrets.token_hex(16)
        user["password_hash"] = _hash_password(password, user["salt"])

    @staticmethod
    def _apply_token_fields(user, data):
        """tokenutil.ParseTokenFields: only the supplied parameters change."""
        for name in _TOKEN_FIELDS:
            value, supplied = data.get_ok(name)
            if supplied:
                _refuse_unsupported(name, value)
        for name in _STORED_FIELDS:
            value, supplied = data.get_ok(name)
            if not supplied and name in _LEGACY:
                value, supplied = data.get_ok(_LEGACY[name])
            if supplied:
                user[name] = _TOKEN_TYPES[value] if name == "token_type" else value
        if user.get("token_type") == "batch":
            if user.get("token_period"):
                raise ErrorResponse("'token_type' cannot be 'batch' or 'default_batch' when set "
                                    "to generate periodic tokens")
            if user["token_num_uses"]:
                raise ErrorResponse("'token_type' cannot be 'batch' or 'default_batch' when set "
                                    "to generate tokens with limited use count")
        if 0 < user["token_max_ttl"] < user["token_ttl"]:
            raise ErrorResponse("'token_ttl' cannot be greater than 'token_max_ttl'")

    def login(self, request, data):
        username = data.get("username").lower()
        self._refuse_if_locked(username)
        password = data.get("password")
        if not password:
            raise HandlerError("missing password")
        user = self.users.get(username)
        if user is None or not user["password_hash"] or not hmac.compare_digest(
                _hash_password(password, user["salt"]), user["password_hash"]):
            if user is not None:
                self._record_failure(username)
            raise ErrorResponse("invalid username or password")
        self.lockouts.pop(username, None)
        return Response(login=LoginAuth(
            policies=list(user["token_policies"]), metadata={"username": username},
            display_name=username, alias_name=username, ttl=user["token_ttl"],
            max_ttl=user["token_max_ttl"], explicit_max_ttl=user["token_explicit_max_ttl"],
            num_uses=user["token_num_uses"], no_default_policy=user["token_no_default_policy"],
            token_type="batch" if user.get("token_type") == "batch" else "service",
            period=user.get("token_period", 0)))

    def renew_login(self, token):
        """pathLoginRenew: the user's current TTLs and period, or None if the user is gone."""
        user = self.users.get((token["meta"] or {}).get("username", ""))
        if user is None:
            return None
        current = set(sanitize_policies(user["token_policies"], False)) - {"default"}
        if current != set(token["policies"]) - {"default"}:
            raise HandlerError("policies have changed, not renewing")
        return user["token_ttl"], user["token_max_ttl"], user.get("token_period", 0)

    def _refuse_if_locked(self, username):
        record = self.lockouts.get(username)
        if record is None or record["count"] < LOCKOUT_THRESHOLD:
            return
        if self.core.clock.now() >= record["last"] + LOCKOUT_SECONDS:
            del self.lockouts[username]
            return
        raise HandlerError("permission denied", 403)

    def _record_failure(self, username):
        now = self.core.clock.now()
        record = self.lockouts.get(username)
        if record is None or now >= record["last"] + LOCKOUT_SECONDS:
            record = {"count": 0}
        self.lockouts[username] = {"count": record["count"] + 1, "last": now}
