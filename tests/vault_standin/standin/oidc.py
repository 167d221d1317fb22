"""The OIDC side of the jwt auth method (vault-plugin-auth-jwt, type "oidc" or "jwt").

Configured through Vault's own endpoints: config (oidc_discovery_url,
oidc_client_id, oidc_client_secret (never read back), default_role) and
role/<name> (role_type, user_claim, allowed_redirect_uris, claim_mappings and
the token_* parameters). The login follows path_oidc.go:

- POST oidc/auth_url {role, redirect_uri, client_nonce}: a state (single-use,
  kept 10 minutes, or the oidc_state_ttl_seconds fault) and the identity
  provider's URL in data.auth_url; a redirect_uri the role does not allow
  answers 200 with an empty auth_url, as Vault does.
- GET oidc/callback?state&code&client_nonce: the state taken, the code
  exchanged at the provider, the user_claim of its claims the user's name.

The identity provider is the stand-in itself (OidcProvider, test-only): its
page GET /_standin/oidc/authorize signs the browser in at once as the user the
admin API set (POST /_standin/oidc_user) and redirects (302) to the
redirect_uri with the state and a one-time code.
"""

import secrets
import threading
from urllib.parse import parse_qs, urlencode

from . import fields as f
from .framework import CREATE, DELETE, LIST, READ, UPDATE, Backend, ErrorResponse, LoginAuth, Path, Response
from .replies import Reply, error_reply
from .tokenutil import TOKEN_FIELDS, apply_token_fields, new_token_settings, token_settings_data

LOGIN_FAILED = "Vault login failed."
STATE_SECONDS = 600  # oidcRequestTimeout
AUTHORIZE_PATH = "/_standin/oidc/authorize"
DEFAULT_CLAIMS = {"sub": "alice", "email": "alice@example.com"}


def new_oidc_entry():
    return {"oidc_config": None, "roles": {}, "states": {}}


class OidcProvider:
    """The stand-in's identity provider: who signs in, and the codes it has handed out."""

    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.claims = dict(DEFAULT_CLAIMS)
        self.error = None  # (error, description): the provider refuses the sign-in
        self._codes = {}

    def set_user(self, claims=None, error=None, description=""):
        with self.lock:
            if claims is not None:
                self.claims = dict(claims)
            self.error = (error, description) if error else None

    def authorize(self, query):
        """GET /_standin/oidc/authorize: 302 to redirect_uri?code=...&state=... (or ?error=...)."""
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        redirect_uri, state = params.get("redirect_uri", ""), params.get("state", "")
        if not redirect_uri or not state or params.get("response_type") != "code":
            return error_reply(400, ["invalid_request: redirect_uri, state and response_type=code are required"])
        with self.lock:
            if self.error:
                answer = {"error": self.error[0], "error_description": self.error[1], "state": state}
            else:
                code = secrets.token_urlsafe(24)
                self._codes[code] = {"nonce": params.get("nonce", ""), "redirect_uri": redirect_uri,
                                     "client_id": params.get("client_id", ""), "claims": dict(self.claims)}
                answer = {"code": code, "state": state}
        separator = "&" if "?" in redirect_uri else "?"
        return Reply(302, b"", "text/html", headers={"Location": redirect_uri + separator + urlencode(answer)})

    def exchange(self, code, redirect_uri):
        """The claims of the ID token a code is exchanged for; None for an unknown or used code."""
        with self.lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant["redirect_uri"] != redirect_uri:
            return None
        return grant


class OidcBackend(Backend):
    mount_type = "oidc"
    unauthenticated = ("oidc/auth_url", "oidc/callback", "login")

    def paths(self):
        role_fields = {"name": f.Field(f.STRING), "role_type": f.Field(f.STRING),
                       "user_claim": f.Field(f.STRING),
                       "allowed_redirect_uris": f.Field(f.COMMA_STRINGS),
                       "claim_mappings": f.Field(f.MAP), "oidc_scopes": f.Field(f.COMMA_STRINGS),
                       "bound_audiences": f.Field(f.COMMA_STRINGS), **TOKEN_FIELDS}
        config_fields = {name: f.Field(f.STRING) for name in (
            "oidc_discovery_url", "oidc_client_id", "oidc_client_secret", "default_role",
            "oidc_discovery_ca_pem", "oidc_response_mode")}
        return [
            Path("config", config_fields, {READ: self.read_config, UPDATE: self.write_config}),
            Path("role/?", {}, {LIST: self.list_roles}),
            Path("role/(?P<name>\\w(?:[\\w.-]*\\w)?)", role_fields,
                 {READ: self.read_role, CREATE: self.write_role, UPDATE: self.write_role,
                  DELETE: self.delete_role}),
            Path("oidc/auth_url", {"role": f.Field(f.STRING), "redirect_uri": f.Field(f.STRING),
                                   "client_nonce": f.Field(f.STRING)},
                 {UPDATE: self.auth_url}),
            Path("oidc/callback", {"state": f.Field(f.STRING), "code": f.Field(f.STRING),
                                   "id_token": f.Field(f.STRING), "client_nonce": f.Field(f.STRING)},
                 {READ: self.callback}),
        ]

    @property
    def config(self):
        return self.entry.get("oidc_config")

    @property
    def roles(self):
        return self.entry["roles"]

    # ------------------------------------------------------------------ config and roles

    def read_config(self, _request, _data):
        if self.config is None:
            return None
        return Response(data={k: v for k, v in self.config.items() if k != "oidc_client_secret"})

    def write_config(self, _request, data):
        config = dict(self.config or {})
        for name in ("oidc_discovery_url", "oidc_client_id", "oidc_client_secret", "default_role",
                     "oidc_discovery_ca_pem", "oidc_response_mode"):
            value, supplied = data.get_ok(name)
            if supplied:
                config[name] = value
        if config.get("oidc_client_secret") and not config.get("oidc_client_id"):
            raise ErrorResponse("both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC")
        config["default_role"] = config.get("default_role", "").lower()
        self.entry["oidc_config"] = config

    def list_roles(self, _request, _data):
        return Response(data={"keys": sorted(self.roles)}) if self.roles else None

    def read_role(self, _request, data):
        role = self.roles.get(data.get("name").lower())
        if role is None:
            return None
        shown = {k: v for k, v in role.items() if not k.startswith("token_")}
        return Response(data={**shown, **token_settings_data(role)})

    def write_role(self, _request, data):
        name = data.get("name").lower()
        role = dict(self.roles.get(name) or {"role_type": "oidc", "user_claim": "",
                                             "allowed_redirect_uris": [], "claim_mappings": {},
                                             **new_token_settings()})
        for key in ("role_type", "user_claim", "allowed_redirect_uris", "claim_mappings"):
            value, supplied = data.get_ok(key)
            if supplied:
                role[key] = value
        role["role_type"] = role["role_type"] or "oidc"
        if role["role_type"] not in ("oidc", "jwt"):
            raise ErrorResponse(f"invalid 'role_type': {role['role_type']}")
        if not role["user_claim"]:
            raise ErrorResponse("a user claim must be defined on the role")
        if role["role_type"] == "oidc" and not role["allowed_redirect_uris"]:
            raise ErrorResponse("'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.")
        apply_token_fields(role, data)
        self.roles[name] = role

    def delete_role(self, _request, data):
        self.roles.pop(data.get("name").lower(), None)

    # ------------------------------------------------------------------ login

    def _state_seconds(self):
        ttl = self.core.faults.get("oidc_state_ttl_seconds")
        return STATE_SECONDS if ttl is None else ttl

    def _forget_old_states(self):
        now = self.core.clock.now()
        for state, request in list(self.entry["states"].items()):
            if now - request["created"] >= self._state_seconds():
                del self.entry["states"][state]

    def auth_url(self, _request, data):
        if self.config is None:
            raise ErrorResponse("could not load configuration")
        if not self.config.get("oidc_discovery_url"):
            raise ErrorResponse("OIDC login is not configured for this mount")
        role_name = data.get("role").lower() or self.config.get("default_role", "")
        if not role_name:
            raise ErrorResponse("missing role")
        redirect_uri = data.get("redirect_uri")
        if not redirect_uri:
            raise ErrorResponse("missing redirect_uri")
        role = self.roles.get(role_name)
        if role is None:
            raise ErrorResponse(f'role "{role_name}" could not be found')
        if role["role_type"] != "oidc":
            raise ErrorResponse(f'role "{role_name}" is not an OIDC role')
        if redirect_uri not in role["allowed_redirect_uris"]:
            # path_oidc.go logs the refusal and answers with an empty URL.
            return Response(data={"auth_url": ""})
        self._forget_old_states()
        state, nonce = "st_" + secrets.token_hex(16), "n_" + secrets.token_hex(16)
        self.entry["states"][state] = {
            "role": role_name, "redirect_uri": redirect_uri, "nonce": nonce,
            "client_nonce": data.get("client_nonce"), "created": self.core.clock.now()}
        query = urlencode({"client_id": self.config.get("oidc_client_id", ""), "nonce": nonce,
                           "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "openid", "state": state})
        return Response(data={"auth_url": f"{self.core.address}{AUTHORIZE_PATH}?{query}"})

    def callback(self, _request, data):
        self._forget_old_states()
        request = self.entry["states"].pop(data.get("state"), None)  # single-use
        if request is None:
            raise ErrorResponse(f"{LOGIN_FAILED} Expired or missing OAuth state.")
        if request["client_nonce"] and data.get("client_nonce") != request["client_nonce"]:
            raise ErrorResponse("invalid client_nonce")
        role = self.roles.get(request["role"])
        if role is None:
            raise ErrorResponse(f"{LOGIN_FAILED} Role could not be found")
        code = data.get("code")
        if not code and not data.get("id_token"):
            raise ErrorResponse(f"{LOGIN_FAILED} No code or id_token received.")
        grant = self.core.oidc_provider.exchange(code, request["redirect_uri"])
        if grant is None:
            raise ErrorResponse(f'{LOGIN_FAILED} Error exchanging oidc code: "oauth2: '
                                '\\"invalid_grant\\" \\"The authorization code is invalid or has expired.\\"".')
        if grant["nonce"] != request["nonce"]:
            raise ErrorResponse("Token verification failed. nonce mismatch")
        claims = grant["claims"]
        user = claims.get(role["user_claim"])
        if not isinstance(user, str) or not user:
            raise ErrorResponse(f'claim "{role["user_claim"]}" not found in token')
        metadata = {"role": request["role"]}
        for claim, key in (role.get("claim_mappings") or {}).items():
            if claim in claims:
                metadata[key] = str(claims[claim])
        return Response(login=LoginAuth(
            policies=list(role["token_policies"]), metadata=metadata, display_name=user,
            alias_name=user, ttl=role["token_ttl"], max_ttl=role["token_max_ttl"],
            explicit_max_ttl=role["token_explicit_max_ttl"], num_uses=role["token_num_uses"],
            no_default_policy=role["token_no_default_policy"],
            token_type="batch" if role.get("token_type") == "batch" else "service",
            period=role.get("token_period", 0)))

    def renew_login(self, token):
        """pathLoginRenew: the role's TTLs while the role exists."""
        role = self.roles.get((token["meta"] or {}).get("role", ""))
        if role is None:
            raise ErrorResponse(f'role "{(token["meta"] or {}).get("role", "")}" could not be found during renewal')
        return role["token_ttl"], role["token_max_ttl"], role.get("token_period", 0)
