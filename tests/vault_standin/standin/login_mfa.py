"""Login MFA (vault/login_mfa.go, vault/request_handling.go, identity/mfa/*).

MFA methods are configured at identity/mfa/method/totp and .../okta, and
login enforcements at identity/mfa/login-enforcement/<name> say which logins
need which methods (by auth mount accessor, auth method type or entity). A
login an enforcement matches answers with auth.mfa_requirement and no token;
Vault keeps the login for 5 minutes under its mfa_request_id, and
sys/mfa/validate with an answer per method completes it (a failed answer
keeps it for another try). Every matching enforcement must be met by one of
its methods. TOTP follows RFC 6238 (totp.py) with Vault's checks: the length,
codes used once, max_validation_attempts per period. The okta method has no
Okta behind it: its push waits until the test answers it through the admin
API (POST /_standin/mfa_pushes) or a minute passes. Not implemented: duo and
pingid methods, the single-phase X-Vault-MFA header, groups in enforcements,
QR code images (admin-generate's barcode is "").
"""

import threading
import time
import uuid
from dataclasses import dataclass

from . import fields as f
from .framework import (DELETE, LIST, NAME, READ, UPDATE, ErrorResponse, HandlerError, LoginAuth,
                        Path, Response)
from .gocompat import Struct, multierror
from . import totp

MFA_WARNING = ("A login request was issued that is subject to MFA validation. Please make sure to "
               "validate the login by sending another request to mfa/validate endpoint.")
# vault/core.go defaultMFAAuthResponseTTL: a login waits this long for its second factor.
REQUEST_TTL = 300
# How long an unanswered push waits (real seconds) before it fails as Okta's would.
PUSH_SECONDS = 60
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TOTP_FIELDS = {
    "method_name": f.Field(f.STRING), "method_id": f.Field(f.STRING),
    "max_validation_attempts": f.Field(f.INT), "issuer": f.Field(f.STRING),
    "period": f.Field(f.DURATION, default=30), "key_size": f.Field(f.INT, default=20),
    "qr_size": f.Field(f.INT, default=200), "algorithm": f.Field(f.STRING, default="SHA1"),
    "digits": f.Field(f.INT, default=6), "skew": f.Field(f.INT, default=1),
}
_OKTA_FIELDS = {
    "method_name": f.Field(f.STRING), "method_id": f.Field(f.STRING),
    "username_format": f.Field(f.STRING), "org_name": f.Field(f.STRING),
    "api_token": f.Field(f.STRING), "base_url": f.Field(f.STRING),
    "primary_email": f.Field(f.BOOL), "production": f.Field(f.BOOL),
}
_ENFORCEMENT_LISTS = ("mfa_method_ids", "auth_method_accessors", "auth_method_types",
                      "identity_group_ids", "identity_entity_ids")
_TOTP_DEFAULT_MAX_ATTEMPTS = 5


@dataclass
class PendingLogin:
    """MFACachedAuthResponse: the login's auth, kept until it is validated."""
    login: LoginAuth
    path: str
    mount_point: str
    mount_type: str
    accessor: str
    entity_id: str
    stored_at: float


def _method_id_entry(method):
    """logical.MFAMethodID; uses_passcode and name are omitempty."""
    entry = Struct(type=method["type"], id=method["id"])
    if method["type"] == "totp":
        entry["uses_passcode"] = True
    if method["name"]:
        entry["name"] = method["name"]
    return entry


def _parse_factors(creds):
    """parseMfaFactors: the passcode among the answers; "" is a push."""
    passcode = ""
    for cred in creds:
        if cred == "":
            continue
        if cred.startswith("passcode="):
            value = cred.split("=", 1)[1]
            if passcode:
                raise ValueError("found multiple passcodes for the same MFA method")
            if not value:
                raise ValueError("invalid passcode")
            passcode = value
        elif "=" in cred:
            raise ValueError(f"found an invalid MFA cred: {cred}")
        else:
            if passcode:
                raise ValueError("found multiple passcodes for the same MFA method")
            passcode = cred
    return passcode


class LoginMfa:
    """Methods and enforcements live in core.state["mfa"]; pending logins, used codes and pushes in memory."""

    def __init__(self, core):
        self.core = core
        self.pending = {}
        self.used_codes = {}
        self.attempts = {}
        self.pushes = {}
        # Shares the core's lock: a push waits with it released, so Vault keeps serving.
        self.changed = threading.Condition(core.lock)
        self.stopping = False

    @property
    def store(self):
        return self.core.state.setdefault("mfa", {"methods": {}, "enforcements": {},
                                                  "totp_secrets": {}})

    # ------------------------------------------------------------------ the login

    def _enforcements(self, entity_id, mount_type, accessor):
        """buildMFAEnforcementConfigList, in Vault's order (by ID)."""
        matched = []
        for e in sorted(self.store["enforcements"].values(), key=lambda e: e["id"]):
            if (entity_id in e["identity_entity_ids"] or accessor in e["auth_method_accessors"]
                    or mount_type in e["auth_method_types"]):
                matched.append(e)
        return matched

    def requirement(self, login, path, backend, entity_id):
        """The auth block of a login that needs MFA (the login kept for validate), or None."""
        entry = backend.entry
        matched = self._enforcements(entity_id, entry["type"], entry["accessor"])
        if not matched:
            return None
        request_id = str(uuid.uuid4())
        self.pending[request_id] = PendingLogin(login, path, backend.mount_point, entry["type"],
                                                entry["accessor"], entity_id, self.core.clock.now())
        methods = self.store["methods"]
        constraints = {e["name"]: Struct(any=[_method_id_entry(methods[mid])
                                              for mid in e["mfa_method_ids"] if mid in methods])
                       for e in matched}
        return Struct(client_token="", accessor="", policies=None, metadata=None, lease_duration=0,
                      renewable=False, entity_id="", token_type="default", orphan=False,
                      mfa_requirement=Struct(mfa_request_id=request_id, mfa_constraints=constraints),
                      num_uses=0)

    def validate(self, _request, data):
        """handleMFALoginValidate: the login's token once every enforcement is met."""
        request_id = data.get("mfa_request_id")
        if not request_id:
            raise ErrorResponse("missing request ID")
        payload = data.get("mfa_payload")
        if not all(isinstance(v, list) and all(isinstance(c, str) for c in v) for v in payload.values()):
            raise ErrorResponse("invalid mfa payload")
        pending = self.pending.pop(request_id, None)
        if pending is None or self.core.clock.now() >= pending.stored_at + REQUEST_TTL:
            raise ErrorResponse("invalid request ID")
        try:
            matched = self._enforcements(pending.entity_id, pending.mount_type, pending.accessor)
            if not matched:
                raise HandlerError("found nil or empty MFAEnforcement configuration")
            for enforcement in matched:
                error = self._satisfy(enforcement, pending.entity_id, payload)
                if error is not None:
                    raise ErrorResponse(f"failed to satisfy enforcement {enforcement['name']}. "
                                        f"error: {error}", 403)
        except (ErrorResponse, HandlerError):
            # A failed validation keeps the login for another try, as Vault pushes it back.
            if not self.stopping:
                self.pending[request_id] = pending
            raise
        auth, warnings = self.core.issue_login(pending.login, pending.path, pending.mount_point,
                                               pending.entity_id)
        return Response(auth=auth, warnings=warnings)

    def _satisfy(self, enforcement, entity_id, payload):
        """validateLoginMFA: None when one of the enforcement's methods accepts its answer."""
        ids = enforcement["mfa_method_ids"]
        failed_for = f"login MFA validation failed for methodID: [{' '.join(ids)}]"
        creds, problems = {}, []
        for method_id in ids:
            method = self.store["methods"].get(method_id)
            if method_id in payload:
                creds[method_id] = payload[method_id]
            elif method is None:
                problems.append(f"failed to find MFA config for method ID {method_id}")
            elif method["name"] in payload:
                creds[method_id] = payload[method["name"]]
            else:
                problems.append(f"failed to find MFA credentials associated with an MFA method ID "
                                f"{method_id}, method name {method['name']}")
        if not creds:
            return f"failed to sanitize MFA creds, {multierror(*problems)}" if problems else failed_for
        errors = []
        for method_id in ids:
            if method_id not in creds:
                continue
            error = self._check_method(method_id, entity_id, creds[method_id])
            if error is None:
                return None
            errors.append(error)
        return multierror(*errors, failed_for)

    def _check_method(self, method_id, entity_id, creds):
        """validateLoginMFAInternal: None, or why the answer was not accepted."""
        method = self.store["methods"].get(method_id)
        if method is None:
            return "MFA method configuration not present"
        try:
            passcode = _parse_factors(creds)
        except ValueError as err:
            return f"failed to parse MFA factor, {err}"
        if method["type"] == "totp":
            return self._check_totp(method, entity_id, passcode)
        return self._wait_for_push(method, entity_id)

    def _check_totp(self, method, entity_id, passcode):
        """validateTOTP (Vault 1.19+): one generic error for every wrong code."""
        secrets_of = self.store["totp_secrets"]
        if not any(entity_id in by_entity for by_entity in secrets_of.values()):
            return f'MFA secret for method ID "{method["id"]}" not present in entity "{entity_id}"'
        secret = secrets_of.get(method["id"], {}).get(entity_id)
        if secret is None:
            return f'MFA secret for method name "{method["name"]}" not present in entity "{entity_id}"'
        if not passcode:
            return "MFA credentials not supplied"
        now = self.core.clock.now()
        self._forget_expired(now)
        wrong = "failed to validate TOTP passcode"
        if len(passcode) != method["digits"] or (method["id"], passcode) in self.used_codes:
            return wrong
        period, limit = method["period"], method["max_validation_attempts"]
        key = (method["id"], entity_id)
        count, expires = self.attempts.get(key, (0, now + period))
        if count == limit:
            return (f"maximum TOTP validation attempts {count + 1} exceeded the allowed attempts "
                    f"{limit}. Please try again in {period}s seconds")
        self.attempts[key] = (count + 1, expires)
        if not totp.valid(passcode, secret, now, period, method["skew"], method["digits"],
                          method["algorithm"]):
            return wrong
        self.used_codes[(method["id"], passcode)] = now + period * (2 + method["skew"])
        self.attempts.pop(key, None)
        return None

    def _forget_expired(self, now):
        self.used_codes = {k: t for k, t in self.used_codes.items() if t > now}
        self.attempts = {k: v for k, v in self.attempts.items() if v[1] > now}

    def _wait_for_push(self, method, entity_id):
        """validateOkta's polling: the push is answered through the admin API, or times out."""
        entity = self.core.identity.entity(entity_id) or {"aliases": []}
        push = {"id": str(uuid.uuid4()), "method_id": method["id"], "method_type": method["type"],
                "method_name": method["name"], "entity_id": entity_id,
                "user": next((a["name"] for a in entity["aliases"]), ""), "answer": None}
        self.pushes[push["id"]] = push
        deadline = time.monotonic() + PUSH_SECONDS
        try:
            while push["answer"] is None and not self.stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "push verification timed out"
                self.changed.wait(left)
        finally:
            self.pushes.pop(push["id"], None)
        if self.stopping:
            return "push verification operation canceled"
        return {"approve": None, "reject": "push verification explicitly rejected",
                "timeout": "push verification timed out"}[push["answer"]]

    # ------------------------------------------------------------------ admin API (tests only)

    def pending_pushes(self):
        with self.core.lock:
            return [{k: v for k, v in p.items() if k != "answer"} for p in self.pushes.values()]

    def answer_pushes(self, answer, push_id=None):
        if answer not in ("approve", "reject", "timeout"):
            raise ValueError('"answer" must be "approve", "reject" or "timeout"')
        with self.core.lock:
            chosen = [p for p in self.pushes.values() if push_id in (None, p["id"])]
            for push in chosen:
                push["answer"] = answer
            self.changed.notify_all()
            return len(chosen)

    def stop(self):
        with self.core.lock:
            self.stopping = True
            self.changed.notify_all()

    # ------------------------------------------------------------------ identity/mfa/ endpoints

    def paths(self):
        totp_id = f"mfa/method/totp(?:/(?P<method_id>{UUID}))?"
        okta_id = f"mfa/method/okta(?:/(?P<method_id>{UUID}))?"
        entity_fields = {"method_id": f.Field(f.STRING), "entity_id": f.Field(f.STRING)}
        enforcement_fields = {"name": f.Field(f.STRING),
                              **{name: f.Field(f.COMMA_STRINGS) for name in _ENFORCEMENT_LISTS}}
        # In Vault's order: the first pattern that matches serves the request.
        return [
            Path(f"mfa/method/(?P<method_id>{UUID})", {"method_id": f.Field(f.STRING)},
                 {READ: lambda r, d: self._read(d, None)}),
            Path("mfa/method/?", {}, {LIST: lambda r, d: self._list(None)}),
            Path(totp_id, _TOTP_FIELDS, {READ: lambda r, d: self._read(d, "totp"),
                                         UPDATE: lambda r, d: self._write(d, "totp"),
                                         DELETE: lambda r, d: self._delete(d, "totp")}),
            Path("mfa/method/totp/?", {}, {LIST: lambda r, d: self._list("totp")}),
            Path("mfa/method/totp/generate", {"method_id": f.Field(f.STRING)},
                 {UPDATE: lambda r, d: self._generate(d.get("method_id"), r.entity_id)}),
            Path("mfa/method/totp/admin-generate", entity_fields,
                 {UPDATE: lambda r, d: self._generate(d.get("method_id"), d.get("entity_id"))}),
            Path("mfa/method/totp/admin-destroy", entity_fields, {UPDATE: self._destroy}),
            Path(okta_id, _OKTA_FIELDS, {READ: lambda r, d: self._read(d, "okta"),
                                         UPDATE: lambda r, d: self._write(d, "okta"),
                                         DELETE: lambda r, d: self._delete(d, "okta")}),
            Path("mfa/method/okta/?", {}, {LIST: lambda r, d: self._list("okta")}),
            Path(f"mfa/login-enforcement/(?P<name>{NAME})", enforcement_fields,
                 {READ: self._read_enforcement, UPDATE: self._write_enforcement,
                  DELETE: self._delete_enforcement}),
            Path("mfa/login-enforcement/?", {}, {LIST: self._list_enforcements}),
        ]

    def _shown(self, method):
        """mfaConfigToMap: no secrets (the Okta API token is never shown)."""
        data = {k: v for k, v in method.items() if k not in ("api_token", "primary_email")}
        return {**data, "namespace_id": "root", "namespace_path": ""}

    def _list(self, kind):
        methods = [m for m in self.store["methods"].values() if kind in (None, m["type"])]
        if not methods:
            return None
        return Response(data={"keys": [m["id"] for m in methods],
                              "key_info": {m["id"]: self._shown(m) for m in methods}})

    def _read(self, data, kind):
        method_id = data.get("method_id")
        if not method_id:
            raise ErrorResponse("missing method ID")
        method = self.store["methods"].get(method_id)
        if method is None:
            return None
        if kind is not None and method["type"] != kind:
            raise ErrorResponse(f"failed to find the method ID under MFA type {kind}.")
        return Response(data=self._shown(method))

    def _write(self, data, kind):
        """handleMFAMethodWriteCommon: create (answering its method_id) or update."""
        methods = self.store["methods"]
        method_id, name = data.get("method_id"), data.get("method_name")
        method = None
        if method_id:
            method = methods.get(method_id)
            if method is None:
                return None
        named = next((m for m in methods.values() if name and m["name"] == name), None)
        if named is not None:
            if method is None:
                method = named
            elif method["id"] != named["id"]:
                raise HandlerError(f"a login MFA method configuration with the method name {name} "
                                   "already exists")
        method = dict(method or {"id": str(uuid.uuid4()), "name": ""})
        if name:
            method["name"] = name
        method.update(_parse_totp(data) if kind == "totp" else _parse_okta(data), type=kind)
        methods[method["id"]] = method
        return None if method_id else Response(data={"method_id": method["id"]})

    def _delete(self, data, kind):
        method_id = data.get("method_id")
        if not method_id:
            raise ErrorResponse("missing method ID")
        for e in self.store["enforcements"].values():
            if method_id in e["mfa_method_ids"]:
                raise HandlerError("methodID is still used by an enforcement configuration with ID: "
                                   + e["id"])
        method = self.store["methods"].get(method_id)
        if method is None:
            return
        if method["type"] != kind:
            raise HandlerError("method type does not match the MFA config type")
        del self.store["methods"][method_id]
        self.store["totp_secrets"].pop(method_id, None)

    def _generate(self, method_id, entity_id):
        """handleLoginMFAGenerateCommon + handleMFAGenerateTOTP."""
        if not method_id:
            raise ErrorResponse("missing method ID")
        if not entity_id:
            raise ErrorResponse("missing entityID")
        method = self.store["methods"].get(method_id)
        if method is None:
            raise ErrorResponse(f'configuration for method ID "{method_id}" does not exist')
        if self.core.identity.entity(entity_id) is None:
            raise ErrorResponse("invalid entity ID")
        if method["type"] != "totp":
            raise ErrorResponse(f'generate not available for MFA type "{method["type"]}"')
        by_entity = self.store["totp_secrets"].setdefault(method_id, {})
        if entity_id in by_entity:
            return Response(warnings=[f'Entity already has a secret for MFA method "{method["name"]}"'])
        by_entity[entity_id] = secret = totp.new_secret(method["key_size"])
        url = totp.key_url(method["issuer"], entity_id, secret, method["period"], method["digits"],
                           method["algorithm"])
        return Response(data={"url": url, "barcode": ""})

    def _destroy(self, _request, data):
        method_id, entity_id = data.get("method_id"), data.get("entity_id")
        if not method_id:
            raise ErrorResponse("missing method ID")
        if not entity_id:
            raise ErrorResponse("missing entity ID")
        if self.core.identity.entity(entity_id) is None:
            raise ErrorResponse("invalid entity ID")
        method = self.store["methods"].get(method_id)
        if method is None:
            raise ErrorResponse(f'configuration for method ID "{method_id}" does not exist')
        if method["type"] != "totp":
            raise HandlerError("method ID does not match TOTP type")
        self.store["totp_secrets"].get(method_id, {}).pop(entity_id, None)

    # ------------------------------------------------------------------ login enforcements

    def _list_enforcements(self, _request, _data):
        names = sorted(self.store["enforcements"])
        if not names:
            return None
        return Response(data={"keys": names, "key_info": {
            n: self._shown_enforcement(self.store["enforcements"][n]) for n in names}})

    @staticmethod
    def _shown_enforcement(e):
        return {**e, "namespace_id": "root", "namespace_path": ""}

    def _read_enforcement(self, _request, data):
        e = self.store["enforcements"].get(data.get("name"))
        return None if e is None else Response(data=self._shown_enforcement(e))

    def _write_enforcement(self, _request, data):
        """handleMFALoginEnforcementUpdate, in Vault's order of checks."""
        name = data.get("name")
        e = dict(self.store["enforcements"].get(name) or {
            "name": name, "id": str(uuid.uuid4()), **{k: [] for k in _ENFORCEMENT_LISTS}})
        method_ids, supplied = data.get_ok("mfa_method_ids")
        if not supplied:
            raise ErrorResponse("missing method ids")
        if any(mid not in self.store["methods"] for mid in method_ids):
            raise ErrorResponse("one of the provided method ids doesn't exist")
        e["mfa_method_ids"] = method_ids
        mounts = [entry for entry in self.core.state["auth"].values()]
        mounts.append(self.core.builtin_mounts["auth/token/"])
        checks = (
            ("auth_method_accessors", {m["accessor"] for m in mounts},
             "one of the auth method accessors provided is invalid"),
            ("auth_method_types", {m["type"] for m in mounts},
             "one of the auth method types provided is invalid"),
            ("identity_group_ids", set(), "one of the provided group ids doesn't exist"),
            ("identity_entity_ids", set(self.core.state["identity"]["entities"]),
             "one of the provided entity ids doesn't exist"),
        )
        any_target = False
        for field, known, error in checks:
            values, given = data.get_ok(field)
            if given:
                if any(v not in known for v in values):
                    raise ErrorResponse(error)
                e[field] = values
                any_target = True
        if not any_target:
            raise ErrorResponse("One of auth_method_accessors, auth_method_types, "
                                "identity_group_ids, identity_entity_ids must be specified")
        self.store["enforcements"][name] = e

    def _delete_enforcement(self, _request, data):
        self.store["enforcements"].pop(data.get("name"), None)


def _parse_totp(data):
    """parseTOTPConfig; every field takes its default when not given, as in Vault."""
    algorithm, digits, skew = data.get("algorithm"), data.get("digits"), data.get("skew")
    if algorithm not in totp.ALGORITHMS:
        raise ErrorResponse("unrecognized algorithm")
    if digits not in (6, 8):
        raise ErrorResponse("digits can only be 6 or 8")
    if data.get("period") <= 0:
        raise ErrorResponse("period must be greater than zero")
    if skew not in (0, 1):
        raise ErrorResponse("skew must be 0 or 1")
    if data.get("key_size") <= 0:
        raise ErrorResponse("key_size must be greater than zero")
    if not data.get("issuer"):
        raise ErrorResponse("issuer must be set")
    attempts = data.get("max_validation_attempts")
    if attempts < 0:
        raise ErrorResponse("max_validation_attempts must be greater than zero")
    return {"issuer": data.get("issuer"), "period": data.get("period"), "algorithm": algorithm,
            "digits": digits, "skew": skew, "key_size": data.get("key_size"),
            "qr_size": data.get("qr_size"),
            "max_validation_attempts": attempts or _TOTP_DEFAULT_MAX_ATTEMPTS}


def _parse_okta(data):
    """parseOktaConfig."""
    if not data.get("org_name"):
        raise ErrorResponse("org_name must be set")
    if not data.get("api_token"):
        raise ErrorResponse("api_token must be set")
    production, given = data.get_ok("production")
    base_url, has_url = data.get_ok("base_url")
    config = {"org_name": data.get("org_name"), "api_token": data.get("api_token"),
              "primary_email": data.get("primary_email"), "mount_accessor": "",
              "username_format": data.get("username_format")}
    if has_url and base_url:
        config["base_url"] = base_url
    else:
        config["production"] = production if given else True
    return config
