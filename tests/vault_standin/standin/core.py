"""The stand-in's core: mount table, routing, authentication and authorisation.

Follows vault/request_handling.go. A request to an unauthenticated ("login")
path goes straight to its backend and errors are sent as they are. Every other
request needs a valid token whose policies allow the operation (checked
before routing, so a denied request never learns whether the path exists);
plain handler errors are then sent wrapped by go-multierror, as Vault does.
"""

import json
import os
import threading

from .acl import ACL, DEFAULT_POLICY, parse_policy
from .framework import ErrorResponse, HandlerError, Request, UPDATE, VaultError
from .gocompat import multierror
from .identity import IdentityBackend, IdentityStore
from .ldap import LdapBackend
from .login_mfa import MFA_WARNING, LoginMfa
from .machine_auth import MACHINE_AUTH_METHODS
from .oidc import OidcBackend, OidcProvider
from .ssh_engine import SshBackend
from .sys_backend import SysBackend, new_mount_entry
from .tokens import PERMISSION_DENIED, TokenBackend, TokenStore
from .userpass import UserpassBackend
from .wrapping import UNWRAP_PATH, ResponseWrapping

_SECRET_ENGINES = {"ssh": SshBackend}
_AUTH_METHODS = {"userpass": UserpassBackend, "ldap": LdapBackend, "oidc": OidcBackend,
                 "jwt": OidcBackend}

# approle, aws and cert: the logins of machines (machine_auth.py).
_AUTH_METHODS.update({name: method[0] for name, method in MACHINE_AUTH_METHODS.items()})


class Clock:
    """Wall-clock time plus an offset that tests move to make tokens and certificates age."""

    def __init__(self, time_source):
        self._time = time_source
        self.offset = 0.0

    def now(self):
        return self._time() + self.offset


def fresh_state():
    return {"mounts": {}, "auth": {}, "policies": {}, "tokens": {}, "identity": {"entities": {}},
            "mfa": {"methods": {}, "enforcements": {}, "totp_secrets": {}}}


class StateStore:
    """Keeps the state in <dir>/state.json, so a restarted stand-in remembers its setup."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "state.json")

    def load(self):
        if not os.path.exists(self.path):
            return None
        with open(self.path, encoding="utf-8") as handle:
            return json.load(handle)

    def save(self, state):
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(temporary, self.path)


class Core:
    def __init__(self, root_token, clock, faults, workdir=None, store=None):
        self.lock = threading.RLock()
        self.clock = clock
        # The test-only faults; backends read the few that change what they do.
        self.faults = faults
        self.workdir = workdir
        self.store = store
        self.state = (store.load() if store else None) or fresh_state()
        self.tokens = TokenStore(self, root_token)
        self.identity = IdentityStore(self)
        self.login_mfa = LoginMfa(self)
        self.wrapping = ResponseWrapping(self)
        self.current_connection = None
        self.oidc_provider = OidcProvider(clock)
        # The stand-in's own URL (set once it listens): its identity provider's page is there.
        self.address = "http://127.0.0.1"
        self.builtin_mounts = {
            "sys/": new_mount_entry("system", "system"),
            "identity/": new_mount_entry("identity", "identity"),
            "auth/token/": new_mount_entry("token", "auth_token"),
        }
        self._parsed_policies = {}

    # ------------------------------------------------------------------ routing

    def _mounts(self):
        yield "sys/", SysBackend, self.builtin_mounts["sys/"]
        yield "identity/", IdentityBackend, self.builtin_mounts["identity/"]
        yield "auth/token/", TokenBackend, self.builtin_mounts["auth/token/"]
        for path, entry in self.state["mounts"].items():
            yield path, _SECRET_ENGINES[entry["type"]], entry
        for path, entry in self.state["auth"].items():
            yield "auth/" + path, _AUTH_METHODS[entry["type"]], entry

    def backend_for(self, path):
        """The backend of the longest matching mount; "ssh" also finds the mount "ssh/"."""
        for candidate in (path, path + "/"):
            matches = [m for m in self._mounts() if candidate.startswith(m[0])]
            if matches:
                mount_point, backend_class, entry = max(matches, key=lambda m: len(m[0]))
                return backend_class(self, mount_point, entry)
        return None

    def auth_backend(self, mount_point):
        backend = self.backend_for(mount_point)
        return backend if backend is not None and backend.mount_point == mount_point else None

    def mount_of_accessor(self, accessor):
        """(mount path, type) of the mount with this accessor, or ("", "") if it is gone."""
        for mount_point, _backend_class, entry in self._mounts():
            if entry["accessor"] == accessor:
                return mount_point, entry["type"]
        return "", ""

    # ------------------------------------------------------------------ policies

    def acl_for(self, token):
        if "root" in token["policies"]:
            return ACL([], root=True)
        rule_sets = []
        for name in token["policies"]:
            text = self.state["policies"].get(name, DEFAULT_POLICY if name == "default" else None)
            if text is not None:
                if text not in self._parsed_policies:
                    self._parsed_policies[text] = parse_policy(text)
                rule_sets.append(self._parsed_policies[text])
        return ACL(rule_sets)

    # ------------------------------------------------------------------ requests

    def handle(self, request):
        """Serve a logical request: (Response or None, mount type), or raise VaultError."""
        with self.lock:
            # The connection of the request being served (cert auth renewals check it).
            self.current_connection = request.connection
            try:
                # Unwrapping with the wrapping token itself as the client token.
                if request.path == UNWRAP_PATH and not (request.data or {}).get("token"):
                    return self.wrapping.unwrap_own(request), ""
                backend = self.backend_for(request.path)
                if backend is not None and backend.is_unauthenticated(request.path):
                    return self._login_request(backend, request), ""
                response = self._authenticated_request(backend, request)
                return response, backend.mount_type
            finally:
                if self.store is not None:
                    self.store.save(self.state)

    def _login_request(self, backend, request):
        request.mount_point = backend.mount_point
        try:
            response = backend.handle(request)
            if response is not None and response.login is not None:
                login, response.login = response.login, None
                entity = self.identity.entity_for_alias(backend.entry["accessor"], login.alias_name)
                # A login an MFA enforcement matches gets no token yet (two-phase login MFA).
                response.auth = self.login_mfa.requirement(login, request.path, backend, entity)
                if response.auth is not None:
                    response.warnings.append(MFA_WARNING)
                else:
                    response.auth, warnings = self.issue_login(login, request.path,
                                                               backend.mount_point, entity)
                    response.warnings += warnings
            return response
        except (ErrorResponse, HandlerError) as err:
            raise VaultError(err.status, [err.message]) from None

    def issue_login(self, login, path, mount_point, entity_id):
        """LoginCreateToken: the token of a finished login; (auth block, warnings)."""
        return self.tokens.login(login, path, mount_point, entity_id)

    def stop(self):
        """Ends every wait (pushes): the server is shutting down."""
        self.login_mfa.stop()

    def _authenticated_request(self, backend, request):
        token = self.tokens.authenticate(request.client_token)
        request.token = token
        last_use = False
        try:
            operation = backend.acl_operation(request) if backend else request.operation
            acl = self.acl_for(token)
            allowed = acl.allows(operation, request.path)
            if allowed and backend is not None and backend.is_root_protected(request.path):
                allowed = acl.has_sudo(request.path)
            # Vault counts a use even when the request is then refused.
            last_use = self.tokens.use(token)
            if not allowed:
                raise VaultError(403, [PERMISSION_DENIED])
            if backend is None:
                raise VaultError(404, [f'no handler for route "{request.path}". '
                                       'route entry not found.'])
            request.operation = operation
            request.mount_point = backend.mount_point
            return backend.handle(request)
        except ErrorResponse as err:
            raise VaultError(err.status, [err.message]) from None
        except HandlerError as err:
            raise VaultError(err.status, [multierror(err.message)]) from None
        finally:
            if last_use:
                self.tokens.revoke(token)

    # ------------------------------------------------------------------ setup

    def bootstrap(self):
        """Create an "ssh" mount with an Ed25519 CA and a "userpass" auth method, if missing."""
        root = self.tokens.root["id"]
        steps = []
        if "ssh/" not in self.state["mounts"]:
            steps += [("sys/mounts/ssh", {"type": "ssh"}),
                      ("ssh/config/ca", {"key_type": "ed25519"})]
        if "userpass/" not in self.state["auth"]:
            steps.append(("sys/auth/userpass", {"type": "userpass"}))
        for path, data in steps:
            self.handle(Request(UPDATE, path, data, client_token=root))
