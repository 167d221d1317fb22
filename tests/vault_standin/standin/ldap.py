"""The ldap auth method (builtin/credential/ldap), without an LDAP server.

Configured through Vault's own endpoints: config (url, userdn, groupdn, ...,
and the token_* parameters), users/<name> and groups/<name> (local groups and
policies). The directory itself, which Vault would bind to, is test-only: the
admin API sets its users, passwords and groups (POST /_standin/ldap_directory).
Logins follow path_login.go and backend.go Login: the user name is trimmed and
lower-cased (unless case_sensitive_names), a failed bind is
"ldap operation failed: failed to bind as user" (400), and policies come from
the config, the user and every group (local or from the directory). Vault's
user lockout applies as for userpass.
"""

from . import fields as f
from .framework import DELETE, LIST, READ, UPDATE, Backend, ErrorResponse, Path, Response
from .passwords import password_matches, set_password
from .tokens import sanitize_policies
from .tokenutil import (TOKEN_FIELDS, Lockout, apply_token_fields, login_auth, new_token_settings,
                        refuse_changed_policies, token_settings_data)

BIND_FAILED = "ldap operation failed: failed to bind as user"
_CONFIG_STRINGS = ("url", "userdn", "userattr", "groupdn", "groupattr", "groupfilter", "binddn",
                   "upndomain")
_CONFIG_FIELDS = {
    **{name: f.Field(f.STRING) for name in _CONFIG_STRINGS},
    "bindpass": f.Field(f.STRING), "case_sensitive_names": f.Field(f.BOOL),
    "deny_null_bind": f.Field(f.BOOL, default=True), "username_as_alias": f.Field(f.BOOL),
    **TOKEN_FIELDS,
}


def new_ldap_entry():
    return {"ldap_config": None, "users": {}, "groups": {}, "lockouts": {}, "directory": {}}


def set_directory_user(entry, username, password, groups):
    """Test-only: the directory's record of a user (None password removes the user)."""
    directory = entry.setdefault("directory", {})
    if password is None:
        directory.pop(username, None)
        return
    record = {"groups": list(groups)}
    set_password(record, password)
    directory[username] = record


class LdapBackend(Backend):
    mount_type = "ldap"
    unauthenticated = ("login/*",)

    def paths(self):
        named = {"name": f.Field(f.STRING), "policies": f.Field(f.COMMA_STRINGS)}
        return [
            Path("config", _CONFIG_FIELDS, {READ: self.read_config, UPDATE: self.write_config}),
            Path("users/?", {}, {LIST: self.lister("users")}),
            Path("users/(?P<name>.+)", {**named, "groups": f.Field(f.COMMA_STRINGS)},
                 {READ: self.read_user, UPDATE: self.write_user, DELETE: self.deleter("users")}),
            Path("groups/?", {}, {LIST: self.lister("groups")}),
            Path("groups/(?P<name>.+)", named,
                 {READ: self.read_group, UPDATE: self.write_group, DELETE: self.deleter("groups")}),
            Path("login/(?P<username>.+)", {"username": f.Field(f.STRING), "password": f.Field(f.STRING)},
                 {UPDATE: self.login}),
        ]

    @property
    def config(self):
        return self.entry.get("ldap_config")

    def _case_sensitive(self):
        return bool(self.config and self.config["case_sensitive_names"])

    def _key(self, name):
        return name if self._case_sensitive() else name.lower()

    # ------------------------------------------------------------------ config

    def read_config(self, _request, _data):
        if self.config is None:
            return None
        shown = {k: v for k, v in self.config.items() if k != "bindpass"}
        return Response(data={**shown, **token_settings_data(self.config)})

    def write_config(self, _request, data):
        config = dict(self.config or {"userattr": "cn", "deny_null_bind": True,
                                      "case_sensitive_names": False, "username_as_alias": False,
                                      **new_token_settings()})
        for name in (*_CONFIG_STRINGS, "bindpass", "case_sensitive_names", "deny_null_bind",
                     "username_as_alias"):
            value, supplied = data.get_ok(name)
            if supplied:
                config[name] = value
        apply_token_fields(config, data)
        self.entry["ldap_config"] = config

    # ------------------------------------------------------------------ users and groups

    def lister(self, kind):
        def list_names(_request, _data):
            names = sorted(self.entry[kind])
            return Response(data={"keys": names}) if names else None
        return list_names

    def deleter(self, kind):
        def delete(_request, data):
            self.entry[kind].pop(self._key(data.get("name")), None)
        return delete

    def read_user(self, _request, data):
        user = self.entry["users"].get(self._key(data.get("name")))
        if user is None:
            return None
        return Response(data={"groups": ",".join(user["groups"]), "policies": user["policies"]})

    def write_user(self, _request, data):
        groups = [g if self._case_sensitive() else g.lower() for g in data.get("groups")]
        self.entry["users"][self._key(data.get("name"))] = {
            "groups": sorted(set(groups)), "policies": sanitize_policies(data.get("policies"), False)}

    def read_group(self, _request, data):
        group = self.entry["groups"].get(self._key(data.get("name")))
        return None if group is None else Response(data={"policies": group["policies"]})

    def write_group(self, _request, data):
        self.entry["groups"][self._key(data.get("name"))] = {
            "policies": sanitize_policies(data.get("policies"), False)}

    # ------------------------------------------------------------------ login

    def login(self, _request, data):
        if self.config is None:
            raise ErrorResponse("auth method not configured")
        username = self._key(data.get("username").strip())
        lockout = Lockout(self.entry, self.core.clock)
        lockout.refuse_if_locked(username)
        password = data.get("password")
        if self.config["deny_null_bind"] and not password:
            raise ErrorResponse("password cannot be of zero length when passwordless binds are "
                                "being denied")
        record = self.entry.get("directory", {}).get(username)
        if not password_matches(record, password):
            lockout.failed(username)
            raise ErrorResponse(BIND_FAILED)
        lockout.succeeded(username)
        policies, warnings = self._policies(username, record)
        auth = login_auth(self.config, policies, username)
        return Response(login=auth, warnings=warnings)

    def _policies(self, username, record):
        """Policies from the config, the local user and every group it is in; with Vault's warning."""
        warnings = []
        if not record["groups"]:
            warnings.append(f'no LDAP groups found in groupDN "{self.config.get("groupdn", "")}"; '
                            "only policies from locally-defined groups available")
        user = self.entry["users"].get(username) or {"groups": [], "policies": []}
        policies = list(self.config["token_policies"])
        for group in [*user["groups"], *(self._key(g) for g in record["groups"])]:
            policies += (self.entry["groups"].get(group) or {"policies": []})["policies"]
        policies += user["policies"]
        return list(dict.fromkeys(policies)), warnings

    def renew_login(self, token):
        """pathLoginRenew: the config's TTLs while the user and the policies are unchanged."""
        username = (token["meta"] or {}).get("username", "")
        record = self.entry.get("directory", {}).get(username)
        if self.config is None or record is None:
            raise ErrorResponse(BIND_FAILED)
        policies, _warnings = self._policies(username, record)
        refuse_changed_policies(policies, token)
        return self.config["token_ttl"], self.config["token_max_ttl"], self.config.get("token_period", 0)
