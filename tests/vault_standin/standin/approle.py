"""The approle auth method (builtin/credential/approle).

Roles carry bind_secret_id (default true), secret_id_num_uses, secret_id_ttl
and the usual token_* parameters. role/<name>/role-id reads or sets the
role_id; role/<name>/secret-id generates a secret_id with its accessor.
Logins follow path_login.go: an unknown role_id, an unknown, used up or expired
secret_id are all "invalid role or secret ID" (400), and Vault's user lockout
counts the wrong secret_ids of a role_id (5 lock it for 15 minutes with
"permission denied", 403). A token's metadata is
the secret_id's metadata plus role_name, and its display name is "approle".
Renewal grants the role's current TTLs and fails once the role is gone.
"""

import json
import uuid

from . import fields as f
from .framework import (CREATE, DELETE, LIST, NAME, READ, UPDATE, Backend, ErrorResponse,
                        HandlerError, Path, Response)
from .tokenutil import (TOKEN_FIELDS, Lockout, apply_token_fields, login_auth,
                        new_token_settings, token_settings_data)

INVALID = "invalid role or secret ID"
_ROLE_FIELDS = {
    "role_name": f.Field(f.STRING), "bind_secret_id": f.Field(f.BOOL, default=True),
    "secret_id_num_uses": f.Field(f.INT), "secret_id_ttl": f.Field(f.DURATION),
    "secret_id_bound_cidrs": f.Field(f.COMMA_STRINGS), "local_secret_ids": f.Field(f.BOOL),
    "role_id": f.Field(f.STRING), **TOKEN_FIELDS,
}
_SECRET_ID_FIELDS = {
    "role_name": f.Field(f.STRING), "metadata": f.Field(f.STRING),
    "cidr_list": f.Field(f.COMMA_STRINGS), "token_bound_cidrs": f.Field(f.COMMA_STRINGS),
    "num_uses": f.Field(f.INT), "ttl": f.Field(f.DURATION),
}


def new_approle_entry():
    return {"roles": {}, "lockouts": {}}


def _new_role():
    return {"role_id": str(uuid.uuid4()), "bind_secret_id": True, "secret_id_num_uses": 0,
            "secret_id_ttl": 0, "secret_ids": {}, **new_token_settings()}


class ApproleBackend(Backend):
    mount_type = "approle"
    unauthenticated = ("login",)

    def paths(self):
        role = f"role/(?P<role_name>{NAME})"
        name = {"role_name": f.Field(f.STRING)}
        return [
            Path("role/?", {}, {LIST: self.list_roles}),
            Path(role, _ROLE_FIELDS,
                 {READ: self.read_role, CREATE: self.write_role, UPDATE: self.write_role,
                  DELETE: self.delete_role}, exists=self.role_exists),
            Path(role + "/role-id", {**name, "role_id": f.Field(f.STRING)},
                 {READ: self.read_role_id, UPDATE: self.write_role_id}),
            Path(role + "/secret-id/?", _SECRET_ID_FIELDS,
                 {UPDATE: self.generate_secret_id, LIST: self.list_secret_ids}),
            Path("login", {"role_id": f.Field(f.STRING), "secret_id": f.Field(f.STRING)},
                 {UPDATE: self.login}),
        ]

    @property
    def roles(self):
        return self.entry["roles"]

    def role_exists(self, _request, data):
        return data.get("role_name").lower() in self.roles

    # ------------------------------------------------------------------ roles

    def list_roles(self, _request, _data):
        return Response(data={"keys": sorted(self.roles)}) if self.roles else None

    def read_role(self, _request, data):
        role = self.roles.get(data.get("role_name").lower())
        if role is None:
            return None
        return Response(data={
            "bind_secret_id": role["bind_secret_id"], "local_secret_ids": False,
            "secret_id_bound_cidrs": [], "secret_id_num_uses": role["secret_id_num_uses"],
            "secret_id_ttl": role["secret_id_ttl"], **token_settings_data(role)})

    def write_role(self, request, data):
        name = data.get("role_name").lower()
        role = dict(self.roles.get(name) or _new_role())
        for key in ("bind_secret_id", "secret_id_num_uses", "secret_id_ttl"):
            value, supplied = data.get_ok(key)
            if supplied or request.operation == CREATE:
                role[key] = value
        if role["secret_id_num_uses"] < 0:
            raise ErrorResponse("secret_id_num_uses cannot be negative")
        if data.get("secret_id_bound_cidrs"):
            raise ErrorResponse("the Vault stand-in does not support bound CIDRs")
        role_id, supplied = data.get_ok("role_id")
        if supplied:
            self._set_role_id(name, role, role_id)
        apply_token_fields(role, data)
        if not role["bind_secret_id"]:
            raise ErrorResponse("at least one constraint should be enabled on the role")
        self.roles[name] = role

    def delete_role(self, _request, data):
        self.roles.pop(data.get("role_name").lower(), None)

    def read_role_id(self, _request, data):
        role = self.roles.get(data.get("role_name").lower())
        return None if role is None else Response(data={"role_id": role["role_id"]})

    def write_role_id(self, _request, data):
        name = data.get("role_name").lower()
        role = self.roles.get(name)
        if role is None:
            raise ErrorResponse(f"role {name} does not exist")
        self._set_role_id(name, role, data.get("role_id"))

    def _set_role_id(self, name, role, role_id):
        role_id = role_id.strip()
        if not role_id:
            raise ErrorResponse("missing role_id")
        if any(other["role_id"] == role_id for key, other in self.roles.items() if key != name):
            raise ErrorResponse("role_id already in use")
        role["role_id"] = role_id

    # ------------------------------------------------------------------ secret IDs

    def generate_secret_id(self, _request, data):
        name = data.get("role_name").lower()
        role = self.roles.get(name)
        if role is None:
            raise ErrorResponse(f"role \"{data.get('role_name')}\" does not exist")
        if not role["bind_secret_id"]:
            raise ErrorResponse("bind_secret_id is not set on the role")
        if data.get("cidr_list") or data.get("token_bound_cidrs"):
            raise ErrorResponse("the Vault stand-in does not support bound CIDRs")
        num_uses, ttl = self._secret_id_limits(role, data)
        secret_id, accessor = str(uuid.uuid4()), str(uuid.uuid4())
        now = self.core.clock.now()
        role["secret_ids"][secret_id] = {
            "accessor": accessor, "num_uses": num_uses, "creation_time": now,
            "expiration_time": now + ttl if ttl else None, "metadata": _metadata(data)}
        return Response(data={"secret_id": secret_id, "secret_id_accessor": accessor,
                              "secret_id_num_uses": num_uses, "secret_id_ttl": ttl})

    @staticmethod
    def _secret_id_limits(role, data):
        """The request's num_uses and ttl may only tighten the role's (path_role.go)."""
        num_uses, ttl = data.get("num_uses"), data.get("ttl")
        if num_uses < 0:
            raise ErrorResponse("num_uses cannot be negative")
        if role["secret_id_num_uses"] and (num_uses == 0 or num_uses > role["secret_id_num_uses"]):
            num_uses = role["secret_id_num_uses"]
        if role["secret_id_ttl"] and (ttl == 0 or ttl > role["secret_id_ttl"]):
            ttl = role["secret_id_ttl"]
        return num_uses, ttl

    def list_secret_ids(self, _request, data):
        role = self.roles.get(data.get("role_name").lower())
        if role is None:
            raise ErrorResponse(f"role \"{data.get('role_name')}\" does not exist")
        keys = sorted(entry["accessor"] for entry in self._live_secret_ids(role).values())
        return Response(data={"keys": keys}) if keys else None

    def _live_secret_ids(self, role):
        """Drops expired secret IDs (Vault's tidy; a login never accepts them)."""
        now = self.core.clock.now()
        expired = [key for key, entry in role["secret_ids"].items()
                   if entry["expiration_time"] is not None and now >= entry["expiration_time"]]
        for key in expired:
            del role["secret_ids"][key]
        return role["secret_ids"]

    # ------------------------------------------------------------------ login

    def login(self, _request, data):
        role_id = data.get("role_id").strip()
        if not role_id:
            raise ErrorResponse("missing role_id")
        # Vault's lockout goes by the login's alias, the role_id.
        lockout = Lockout(self.entry, self.core.clock)
        lockout.refuse_if_locked(role_id)
        name, role = next(((n, r) for n, r in self.roles.items() if r["role_id"] == role_id),
                          (None, None))
        if role is None:
            raise ErrorResponse(INVALID)
        metadata = {}
        if role["bind_secret_id"]:
            secret_id = data.get("secret_id").strip()
            if not secret_id:
                raise ErrorResponse("missing secret_id")
            live = self._live_secret_ids(role)
            entry = live.get(secret_id)
            if entry is None:
                lockout.failed(role_id)
                raise ErrorResponse(INVALID)
            if entry["num_uses"] == 1:
                del live[secret_id]
            elif entry["num_uses"] > 1:
                entry["num_uses"] -= 1
            metadata = dict(entry["metadata"])
        metadata["role_name"] = name
        lockout.succeeded(role_id)
        auth = login_auth(role, list(role["token_policies"]), "", metadata)
        auth.alias_name = role["role_id"]
        return Response(login=auth)

    def renew_login(self, token):
        """pathLoginRenew: the role's current TTLs and period; a plain error once it is gone."""
        name = (token["meta"] or {}).get("role_name", "")
        role = self.roles.get(name)
        if role is None:
            raise HandlerError(f"role \"{name}\" does not exist during renewal")
        return role["token_ttl"], role["token_max_ttl"], role.get("token_period", 0)


def _metadata(data):
    """secret-id "metadata": a JSON object of strings, sent as a string."""
    text = data.get("metadata")
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise ErrorResponse("failed to parse metadata: invalid character in JSON") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ErrorResponse("failed to parse metadata: values must be strings")
    return value
