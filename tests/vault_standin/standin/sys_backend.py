"""The sys/ endpoints tests use to configure the stand-in like a real Vault.

Enabling and disabling secrets engines (sys/mounts) and auth methods
(sys/auth), ACL policies (sys/policies/acl and the older sys/policy), and the
second step of a login subject to MFA (sys/mfa/validate, login_mfa.py), and
sys/wrapping/unwrap and lookup (wrapping.py). Only "ssh" secrets engines and
"userpass", "ldap", "oidc"/"jwt", "approle", "aws" and "cert" auth
methods can be enabled.
"""

import uuid

from . import fields as f
from .acl import DEFAULT_POLICY, PolicyError, parse_policy
from .framework import (DELETE, LIST, READ, UPDATE, Backend, ErrorResponse, Path, Response)
from .gocompat import Base64Error, go_base64_decode, parse_duration_seconds
from .ldap import new_ldap_entry
from .machine_auth import MACHINE_AUTH_METHODS
from .oidc import new_oidc_entry

PROTECTED_MOUNTS = ("audit/", "auth/", "sys/", "cubbyhole/", "identity/")
# What a new mount entry of each auth method type holds besides the common fields.
_AUTH_ENTRIES = {"userpass": lambda: {"users": {}, "lockouts": {}}, "ldap": new_ldap_entry,
                 "oidc": new_oidc_entry, "jwt": new_oidc_entry}
BUILTIN_POLICIES = ("default", "root")
VERSION = "1.21.1"
# approle, aws and cert: the logins of machines (machine_auth.py).
_AUTH_ENTRIES.update({name: method[1] for name, method in MACHINE_AUTH_METHODS.items()})

MOUNT_FIELDS = {
    "path": f.Field(f.STRING), "type": f.Field(f.STRING), "description": f.Field(f.STRING),
    "config": f.Field(f.MAP), "local": f.Field(f.BOOL), "seal_wrap": f.Field(f.BOOL),
    "external_entropy_access": f.Field(f.BOOL), "options": f.Field(f.KV_PAIRS),
    "plugin_name": f.Field(f.STRING), "plugin_version": f.Field(f.STRING),
}


def sanitize_mount_path(path):
    """Vault's sanitizePath: no leading slash, exactly one trailing slash."""
    path = path.lstrip("/")
    return path if path.endswith("/") else path + "/"


def new_mount_entry(mount_type, accessor_prefix, description="", config=None):
    return {
        "type": mount_type, "accessor": f"{accessor_prefix}_{uuid.uuid4().hex[:8]}",
        "uuid": str(uuid.uuid4()), "description": description,
        "config": config or {"default_lease_ttl": 0, "max_lease_ttl": 0},
    }


def mount_info(entry):
    """One entry of a sys/mounts or sys/auth listing."""
    return {
        "accessor": entry["accessor"], "description": entry["description"],
        "config": {"default_lease_ttl": entry["config"]["default_lease_ttl"],
                   "force_no_cache": False, "max_lease_ttl": entry["config"]["max_lease_ttl"]},
        "external_entropy_access": False, "local": False, "options": None,
        "plugin_version": "", "running_plugin_version": f"v{VERSION}+builtin.vault",
        "running_sha256": "", "seal_wrap": False, "type": entry["type"], "uuid": entry["uuid"],
    }


def _mount_config(config):
    """The lease TTLs of a mount's "config"; values must be strings as in Vault's API."""
    ttls = {}
    for name, label in (("default_lease_ttl", "default TTL"), ("max_lease_ttl", "max TTL")):
        value = config.get(name, "")
        if not isinstance(value, str):
            raise ErrorResponse("unable to convert given mount config information")
        try:
            ttls[name] = 0 if value in ("", "system") else parse_duration_seconds(value)
        except ValueError as err:
            raise ErrorResponse(f"unable to parse {label} of {value}: {err}") from None
    if ttls["max_lease_ttl"] and ttls["default_lease_ttl"] > ttls["max_lease_ttl"]:
        raise ErrorResponse("given default lease TTL greater than given max lease TTL")
    return ttls


def _maybe_base64(text):
    """Vault accepts a base64-encoded policy document and stores it decoded."""
    try:
        return go_base64_decode(text).decode("utf-8")
    except (Base64Error, UnicodeDecodeError):
        return text


def _check_conflicts(existing_paths, path):
    for existing in existing_paths:
        if existing.startswith(path) or path.startswith(existing):
            raise ErrorResponse(f"path is already in use at {existing}")


class SysBackend(Backend):
    mount_type = "system"
    root_protected = ("auth/*",)
    unauthenticated = ("mfa/validate", "wrapping/lookup")

    def paths(self):
        policy_fields = {"name": f.Field(f.STRING), "policy": f.Field(f.STRING)}
        policy_ops = {READ: self.read_policy, UPDATE: self.write_policy,
                      DELETE: self.delete_policy}
        return [
            Path("mounts", {}, {READ: self.list_mounts}),
            Path("mounts/(?P<path>.+?)/tune", {}, {READ: self.no_tuning, UPDATE: self.no_tuning}),
            Path("mounts/(?P<path>.+)", MOUNT_FIELDS,
                 {READ: self.read_mount, UPDATE: self.enable_mount, DELETE: self.disable_mount}),
            Path("auth", {}, {READ: self.list_auth}),
            Path("auth/(?P<path>.+?)/tune", {}, {READ: self.no_tuning, UPDATE: self.no_tuning}),
            Path("auth/(?P<path>.+)", MOUNT_FIELDS,
                 {READ: self.read_auth, UPDATE: self.enable_auth, DELETE: self.disable_auth}),
            Path("policies/acl/?", {}, {LIST: self.list_policies}),
            Path("policies/acl/(?P<name>.+)", policy_fields, policy_ops),
            Path("policy/?", {}, {READ: self.list_policies, LIST: self.list_policies}),
            Path("policy/(?P<name>.+)", {**policy_fields, "rules": f.Field(f.STRING)}, policy_ops),
            Path("mfa/validate", {"mfa_request_id": f.Field(f.STRING), "mfa_payload": f.Field(f.MAP)},
                 {UPDATE: lambda request, data: self.core.login_mfa.validate(request, data)}),
            Path("wrapping/(?P<operation>unwrap|lookup)",
                 {"token": f.Field(f.STRING), "operation": f.Field(f.STRING)},
                 {UPDATE: lambda request, data: self.core.wrapping.handle_sys(
                     request, data, data.get("operation"))}),
        ]

    @property
    def state(self):
        return self.core.state

    @staticmethod
    def no_tuning(_request, _data):
        raise ErrorResponse("the Vault stand-in does not support mount tuning")

    # ------------------------------------------------------------------ mounts

    def list_mounts(self, _request, _data):
        listing = {path: mount_info(entry) for path, entry in self.state["mounts"].items()}
        for path in ("sys/", "identity/"):
            listing[path] = mount_info(self.core.builtin_mounts[path])
        return Response(data=listing)

    def read_mount(self, _request, data):
        path = sanitize_mount_path(data.get("path"))
        entry = self.state["mounts"].get(path)
        if entry is None:
            raise ErrorResponse(f"No secret engine mount at {path}")
        return Response(data=mount_info(entry))

    def enable_mount(self, _request, data):
        path = sanitize_mount_path(data.get("path"))
        config = _mount_config(data.get("config"))
        if not data.get("type"):
            raise ErrorResponse("backend type must be specified as a string")
        for protected in PROTECTED_MOUNTS:
            if path.startswith(protected):
                raise ErrorResponse(f'cannot mount "{path}"')
        _check_conflicts(self.state["mounts"], path)
        if data.get("type") != "ssh":
            raise ErrorResponse(
                f"the Vault stand-in does not implement secrets engine type \"{data.get('type')}\"")
        entry = new_mount_entry("ssh", "ssh", data.get("description"), config)
        entry.update(ca=None, roles={})
        self.state["mounts"][path] = entry

    def disable_mount(self, _request, data):
        path = sanitize_mount_path(data.get("path"))
        if path in ("sys/",):
            raise ErrorResponse(f'cannot unmount "{path}"')
        self.state["mounts"].pop(path, None)

    # ------------------------------------------------------------------ auth methods

    def list_auth(self, _request, _data):
        listing = {path: mount_info(entry) for path, entry in self.state["auth"].items()}
        listing["token/"] = mount_info(self.core.builtin_mounts["auth/token/"])
        return Response(data=listing)

    def read_auth(self, _request, data):
        path = sanitize_mount_path(data.get("path"))
        entry = self.state["auth"].get(path)
        if entry is None:
            raise ErrorResponse(f"No auth engine at {path}")
        return Response(data=mount_info(entry))

    def enable_auth(self, _request, data):
        path = sanitize_mount_path(data.get("path"))
        config = _mount_config(data.get("config"))
        if not data.get("type"):
            raise ErrorResponse("backend type must be specified as a string")
        _check_conflicts(["token/", *self.state["auth"]], path)
        kind = data.get("type")
        if kind not in _AUTH_ENTRIES:
            raise ErrorResponse(f"the Vault stand-in does not implement auth method type \"{kind}\"")
        entry = new_mount_entry(kind, f"auth_{kind}", data.get("description"), config)
        entry.update(_AUTH_ENTRIES[kind]())
        self.state["auth"][path] = entry

    def disable_auth(self, _request, data):
        path = sanitize_mount_path(data.get("path"))
        if self.state["auth"].pop(path, None) is not None:
            # Disabling an auth method revokes every token it issued.
            self.core.tokens.revoke_path_prefix("auth/" + path)

    # ------------------------------------------------------------------ policies

    def list_policies(self, request, _data):
        names = sorted({*self.state["policies"], *BUILTIN_POLICIES})
        if request.path.startswith("sys/policy"):
            return Response(data={"keys": names, "policies": names})
        return Response(data={"keys": names})

    def read_policy(self, request, data):
        name = data.get("name").lower()
        if name == "root":
            text = ""
        else:
            text = self.state["policies"].get(name, DEFAULT_POLICY if name == "default" else None)
        if text is None:
            return None
        key = "rules" if request.path.startswith("sys/policy/") else "policy"
        return Response(data={"name": name, key: text})

    def write_policy(self, request, data):
        """handlePoliciesSet, including the "rules" alias of the old sys/policy path."""
        name = data.get("name").lower()
        response = Response()
        if name != data.get("name"):
            response.warnings.append(f"policy name was converted to {name}")
        text = data.get("policy")
        if not text and request.path.startswith("sys/policy/"):
            text = data.get("rules")
            response.warnings.append("'rules' is deprecated, please use 'policy' instead")
        if not text:
            raise ErrorResponse("'policy' parameter not supplied or empty")
        text = _maybe_base64(text)
        if name == "root":
            raise ErrorResponse('cannot update "root" policy')
        try:
            parse_policy(text)
        except PolicyError as err:
            raise ErrorResponse(str(err)) from None
        self.state["policies"][name] = text
        return response if response.warnings else None

    def delete_policy(self, _request, data):
        name = data.get("name").lower()
        if name == "root":
            raise ErrorResponse('cannot delete "root" policy')
        if name == "default":
            raise ErrorResponse("cannot delete default policy")
        self.state["policies"].pop(name, None)
