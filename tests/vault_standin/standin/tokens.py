"""Service and batch tokens: the token store and its auth/token/ endpoints.

Follows vault/token_store.go and the expiration manager: every token except
the initial root token has a lease (issue time, expiry, renewability); TTLs
are computed by framework.CalculateTTL (periodic tokens included) against the
system default and maximum of 768 hours; tokens expire in (stand-in) real
time. Batch tokens ("hvb.") have no accessor and can be neither renewed nor
revoked; they die with their TTL or their parent.
"""

import base64
import re
import secrets
import string

from . import fields as f
from .framework import (READ, UPDATE, Backend, ErrorResponse, HandlerError, Path, Response,
                        VaultError)
from .gocompat import Struct, human_duration, multierror, parse_duration_seconds, rfc3339

SYSTEM_DEFAULT_TTL = 768 * 3600
SYSTEM_MAX_TTL = 768 * 3600

# A request without a token: fetchACLTokenEntryAndEntity's plain ErrPermissionDenied.
NO_TOKEN = "permission denied"
# A policy denial: CheckToken appends ErrPermissionDenied to a multierror.
PERMISSION_DENIED = multierror("permission denied")
# An unknown, expired or revoked token since Vault 1.17 (PR #25953): ErrPermissionDenied
# and ErrInvalidToken in one multierror. Vault 1.16 and older (and OpenBao) send NO_TOKEN.
INVALID_TOKEN = multierror("permission denied", "invalid token")
SERVICE, BATCH = "service", "batch"

_BASE62 = string.ascii_letters + string.digits
_DISPLAY_NAME_SANITIZE = re.compile(r"[^a-zA-Z0-9-]")


def random_base62(length):
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def sanitize_policies(policies, add_default):
    """policyutil.SanitizePolicies: trimmed, lower-case, sorted, "root" alone, maybe + default."""
    cleaned = [p.strip().lower() for p in policies if p.strip()]
    if "root" in cleaned:
        return ["root"]
    if add_default and "default" not in cleaned:
        cleaned.append("default")
    return sorted(set(cleaned))


def calculate_ttl(now, increment, backend_ttl, backend_max, explicit_max, start, period=0):
    """framework.CalculateTTL; returns (ttl, warnings)."""
    limit = SYSTEM_MAX_TTL
    if 0 < backend_max < limit:
        limit = backend_max
    if 0 < explicit_max < limit:
        limit = explicit_max
    warnings = []
    if period > 0:
        if period > limit:
            warnings.append(f'period of "{human_duration(period)}" exceeded the effective '
                            f'max_ttl of "{human_duration(limit)}"; period value is capped '
                            'accordingly')
            period = limit
        ttl = period
        if explicit_max <= 0:
            return ttl, warnings
        limit = explicit_max
    else:
        ttl = (increment if increment > 0 else backend_ttl if backend_ttl > 0
               else SYSTEM_DEFAULT_TTL)
    remaining = int(start) + limit - int(now)
    if remaining <= 0:
        raise HandlerError("past the max TTL, cannot renew")
    if remaining < ttl:
        warnings.append(f'TTL of "{human_duration(ttl)}" exceeded the effective max_ttl of '
                        f'"{human_duration(remaining)}"; TTL value is capped accordingly')
        ttl = remaining
    return ttl, warnings


class TokenStore:
    """Token entries live in core.state["tokens"]; the root token only in memory."""

    def __init__(self, core, root_token):
        self.core = core
        now = core.clock.now()
        self.root = {
            "id": root_token, "accessor": random_base62(24), "policies": ["root"],
            "path": "auth/token/root", "meta": None, "display_name": "root", "num_uses": 0,
            "parent": "", "creation_time": int(now), "creation_ttl": 0, "explicit_max_ttl": 0,
            "entity_id": "", "lease": None, "renewer": None, "type": SERVICE, "period": 0,
        }

    @property
    def _tokens(self):
        return self.core.state["tokens"]

    def find(self, token_id):
        """The live entry for a token, or None (expired tokens are revoked on sight)."""
        if self.root is not None and token_id == self.root["id"]:
            return self.root
        entry = self._tokens.get(token_id)
        if entry is not None and self._expired(entry):
            self.revoke(entry)
            return None
        return entry

    def authenticate(self, token_id):
        if not token_id:
            raise VaultError(403, [NO_TOKEN])
        entry = self.find(token_id)
        if entry is None:
            legacy = self.core.faults.get("legacy_token_errors")
            raise VaultError(403, [NO_TOKEN if legacy else INVALID_TOKEN])
        return entry

    def use(self, entry):
        """Count one use of a limited-use token; True when it was the last one."""
        if entry["num_uses"] <= 0:
            return False
        entry["num_uses"] -= 1
        return entry["num_uses"] == 0

    def revoke(self, entry):
        """Revoke a token and, like Vault, every token created under it."""
        if entry is self.root:
            self.root = None
        children = [child for child in self._tokens.values() if child["parent"] == entry["id"]]
        self._tokens.pop(entry["id"], None)
        for child in children:
            self.revoke(child)

    def revoke_path_prefix(self, prefix):
        for entry in [e for e in self._tokens.values() if e["path"].startswith(prefix)]:
            self.revoke(entry)

    def _expired(self, entry):
        lease = entry["lease"]
        return bool(lease and lease["expire_time"] is not None
                    and self.core.clock.now() >= lease["expire_time"])

    def issue(self, *, policies, path, display_name, meta, num_uses, parent, ttl,
              explicit_max_ttl, renewable, entity_id="", renewer=None, token_id=None,
              token_type=SERVICE, period=0):
        now = self.core.clock.now()
        batch = token_type == BATCH
        if batch:
            # A batch token carries its own encrypted entry: long, base64url, no accessor.
            token_id = "hvb.AAAAAQ" + base64.urlsafe_b64encode(
                secrets.token_bytes(96)).decode().rstrip("=")
            # Its lease times are the ones encoded in it: whole seconds.
            now = int(now)
        entry = {
            "id": token_id or "hvs." + random_base62(24),
            "accessor": "" if batch else random_base62(24),
            "policies": policies, "path": path, "meta": meta, "display_name": display_name,
            "num_uses": num_uses, "parent": parent, "creation_time": int(now),
            "creation_ttl": ttl, "explicit_max_ttl": explicit_max_ttl, "entity_id": entity_id,
            "renewer": renewer, "type": token_type, "period": period,
            "lease": {"issue_time": now, "expire_time": now + ttl if ttl else None, "ttl": ttl,
                      "renewable": renewable and ttl > 0 and not batch,
                      "last_renewal_time": None},
        }
        self._tokens[entry["id"]] = entry
        return entry

    def login(self, login, path, mount_point, entity_id):
        """LoginCreateToken: turn an auth method's LoginAuth into a token; (auth, warnings)."""
        source = mount_point[len("auth/"):].replace("/", "-")
        now = self.core.clock.now()
        ttl, warnings = calculate_ttl(now, 0, login.ttl, login.max_ttl, login.explicit_max_ttl,
                                      now, login.period)
        policies = sanitize_policies(login.policies, add_default=not login.no_default_policy)
        if "root" in policies:
            raise ErrorResponse("auth methods cannot create root tokens")
        entry = self.issue(
            policies=policies, path=path,
            display_name=(source + login.display_name).removesuffix("-"),
            meta=dict(login.metadata), num_uses=login.num_uses, parent="", ttl=ttl,
            explicit_max_ttl=login.explicit_max_ttl, renewable=True, entity_id=entity_id,
            renewer=mount_point, token_type=login.token_type, period=login.period)
        return self.auth_block(entry, ttl), warnings

    def auth_block(self, entry, ttl):
        lease = entry["lease"]
        return Struct(
            client_token=entry["id"], accessor=entry["accessor"], policies=entry["policies"],
            token_policies=entry["policies"], metadata=entry["meta"], lease_duration=ttl,
            renewable=bool(lease and lease["renewable"]), entity_id=entry["entity_id"],
            token_type=entry.get("type", SERVICE), orphan=not entry["parent"],
            mfa_requirement=None, num_uses=entry["num_uses"])

    def lookup_data(self, entry):
        now = self.core.clock.now()
        data = {
            "id": entry["id"], "accessor": entry["accessor"], "policies": entry["policies"],
            "path": entry["path"], "meta": entry["meta"], "display_name": entry["display_name"],
            "num_uses": entry["num_uses"], "orphan": not entry["parent"],
            "creation_time": entry["creation_time"], "creation_ttl": entry["creation_ttl"],
            "expire_time": None, "ttl": 0, "explicit_max_ttl": entry["explicit_max_ttl"],
            "entity_id": entry["entity_id"], "type": entry.get("type", SERVICE),
        }
        if entry.get("period"):
            data["period"] = entry["period"]
        lease = entry["lease"]
        if lease is None:
            return data
        if lease["last_renewal_time"] is not None:
            data["last_renewal_time"] = int(lease["last_renewal_time"])
            data["last_renewal"] = rfc3339(lease["last_renewal_time"])
        expire = lease["expire_time"]
        if expire is not None:
            data["expire_time"] = rfc3339(expire)
            data["ttl"] = int(expire - round(now))
        data["renewable"] = bool(lease["renewable"] and expire is not None and expire > now)
        data["issue_time"] = rfc3339(lease["issue_time"])
        return data

    def renew(self, entry, increment, declined=False):
        """handleRenew + expiration.RenewToken.

        Returns None (Vault then answers 204 and the lease is unchanged) when the
        auth method declines: the user was deleted, or declined (the renew_204 fault).
        """
        if entry.get("type") == BATCH:
            raise ErrorResponse("batch tokens cannot be renewed")
        lease = entry["lease"]
        if lease is None:
            raise ErrorResponse("invalid lease ID")
        if lease["expire_time"] is None or not lease["renewable"]:
            raise ErrorResponse("lease is not renewable")
        basis = None if declined else self._renewal_basis(entry)
        if basis is None:
            return None
        backend_ttl, backend_max, period = basis
        now = self.core.clock.now()
        ttl, warnings = calculate_ttl(now, increment, backend_ttl, backend_max,
                                      entry["explicit_max_ttl"], lease["issue_time"], period)
        lease.update(expire_time=now + ttl, ttl=ttl, last_renewal_time=now)
        return Response(auth=self.auth_block(entry, ttl), warnings=warnings)

    def _renewal_basis(self, entry):
        """(TTL, max TTL, period) the issuing auth method grants on renewal."""
        if entry["renewer"] is None:
            return entry["lease"]["ttl"], 0, entry.get("period", 0)
        backend = self.core.auth_backend(entry["renewer"])
        return None if backend is None else backend.renew_login(entry)


def _display_name(requested):
    if not requested:
        return "token"
    return _DISPLAY_NAME_SANITIZE.sub("-", "token-" + requested).removesuffix("-")


def _parse_duration_field(value, name):
    try:
        seconds = parse_duration_seconds(value)
    except ValueError as err:
        raise ErrorResponse(str(err)) from None
    if seconds < 0:
        raise ErrorResponse(f"{name} must be positive")
    return seconds


class TokenBackend(Backend):
    """auth/token/: create, lookup, renew and revoke tokens."""

    mount_type = "token"

    def paths(self):
        create_fields = {
            "id": f.Field(f.STRING), "policies": f.Field(f.COMMA_STRINGS),
            "meta": f.Field(f.KV_PAIRS), "no_parent": f.Field(f.BOOL),
            "no_default_policy": f.Field(f.BOOL), "lease": f.Field(f.STRING),
            "ttl": f.Field(f.STRING), "type": f.Field(f.STRING),
            "explicit_max_ttl": f.Field(f.STRING), "display_name": f.Field(f.STRING),
            "num_uses": f.Field(f.INT), "renewable": f.Field(f.BOOL, default=True),
            "period": f.Field(f.STRING), "entity_alias": f.Field(f.STRING),
        }
        token_field = {"token": f.Field(f.STRING)}
        return [
            Path("create", create_fields, {UPDATE: self.create}),
            Path("create-orphan", create_fields, {UPDATE: self.create_orphan}),
            Path("lookup-self", token_field, {READ: self.lookup_self, UPDATE: self.lookup_self}),
            Path("lookup", token_field, {READ: self.lookup, UPDATE: self.lookup}),
            Path("renew-self", {"token": f.Field(f.STRING), "increment": f.Field(f.DURATION)},
                 {UPDATE: self.renew_self}),
            Path("revoke-self", {}, {UPDATE: self.revoke_self}),
            Path("revoke", token_field, {UPDATE: self.revoke}),
        ]

    @property
    def store(self):
        return self.core.tokens

    def lookup_self(self, request, _data):
        return Response(data=self.store.lookup_data(request.token))

    def lookup(self, request, data):
        token_id = data.get("token") or request.client_token
        entry = self.store.find(token_id)
        if entry is None:
            raise ErrorResponse("bad token", status=403)
        return Response(data=self.store.lookup_data(entry))

    def renew_self(self, request, data):
        return self.store.renew(request.token, data.get("increment"),
                                declined=self.core.faults.scoped("renew_204", request.path))

    def revoke_self(self, request, _data):
        self._revoke(request.token)

    def revoke(self, _request, data):
        token_id = data.get("token")
        if not token_id:
            raise ErrorResponse("missing token ID")
        entry = self.store.find(token_id)
        if entry is not None:
            self._revoke(entry)

    def _revoke(self, entry):
        """revokeCommon."""
        if entry.get("type") == BATCH:
            raise ErrorResponse("batch tokens cannot be revoked")
        self.store.revoke(entry)

    def create(self, request, data):
        return self._create(request, data, orphan=False)

    def create_orphan(self, request, data):
        return self._create(request, data, orphan=True)

    def _create(self, request, data, orphan):
        """handleCreateCommon, in Vault's order of checks."""
        parent = request.token
        if parent.get("type") == BATCH:
            raise ErrorResponse("batch tokens cannot create more tokens")
        if parent["num_uses"] > 0:
            raise ErrorResponse("restricted use token cannot generate child tokens")
        sudo = self.core.acl_for(parent).has_sudo(request.path)
        token_type = _token_type(data)
        if data.get("entity_alias"):
            raise ErrorResponse("'entity_alias' is only allowed in combination with token role")
        num_uses = data.get("num_uses")
        if num_uses < 0:
            raise ErrorResponse("number of uses cannot be negative")
        token_id = data.get("id")
        if token_id and not sudo:
            raise ErrorResponse("root or sudo privileges required to specify token id")
        if token_id and token_id in self.core.state["tokens"]:
            raise ErrorResponse("cannot create a token with a duplicate ID")
        policies = self._resolve_policies(data, parent, sudo)
        if "root" in policies and token_type == BATCH:
            raise ErrorResponse("batch tokens cannot be root tokens")
        if data.get("no_parent"):
            if not sudo:
                raise ErrorResponse("root or sudo privileges required to create orphan token")
            orphan = True
        ttl, explicit_max, period, renewable, warnings = self._lifetime(data, parent, policies,
                                                                        sudo)
        meta, has_meta = data.get_ok("meta")
        entry = self.store.issue(
            policies=policies, path=request.path,
            display_name=_display_name(data.get("display_name")),
            meta=meta if has_meta else None, num_uses=num_uses,
            parent="" if orphan else parent["id"], ttl=ttl, explicit_max_ttl=explicit_max,
            renewable=renewable, entity_id="" if orphan else parent["entity_id"],
            token_id=token_id, token_type=token_type, period=period)
        if token_id:
            warnings.append("Supplying a custom ID for the token uses the weaker SHA1 hashing "
                            "instead of the more secure SHA2-256 HMAC for token obfuscation. SHA1 "
                            "hashed tokens on the wire leads to less secure lookups.")
        warnings += [f'Policy "{name}" does not exist' for name in policies
                     if name not in ("root", "default") and name not in self.core.state["policies"]]
        return Response(auth=self.store.auth_block(entry, ttl), warnings=warnings)

    @staticmethod
    def _resolve_policies(data, parent, sudo):
        requested, no_default = data.get("policies"), data.get("no_default_policy")
        if not requested:
            policies = sanitize_policies(parent["policies"], add_default=False)
        elif sudo:
            policies = sanitize_policies(requested, add_default=not no_default)
        else:
            wanted = sanitize_policies(requested, add_default=False)
            if not set(wanted) <= set(sanitize_policies(parent["policies"], add_default=False)):
                raise ErrorResponse("child policies must be subset of parent")
            policies = sanitize_policies(
                requested, add_default=not no_default and "default" in parent["policies"])
        if no_default:
            policies = [p for p in policies if p != "default"]
        if "root" in policies and "root" not in parent["policies"]:
            raise ErrorResponse("root tokens may not be created without parent token being root")
        return policies

    def _lifetime(self, data, parent, policies, sudo):
        """parseAndMergeTTLPeriod and the TTL calculation of handleCreateCommon."""
        explicit_max = _parse_duration_field(data.get("explicit_max_ttl"), "explicit_max_ttl")
        period = _parse_duration_field(data.get("period"), "period")
        if period and not sudo:
            raise ErrorResponse("root or sudo privileges required to create periodic token")
        ttl = _parse_duration_field(data.get("ttl"), "ttl") if data.get("ttl") else \
            _parse_duration_field(data.get("lease"), "lease")
        warnings = []
        if period > 0 or ttl > 0 or "root" not in policies:
            now = self.core.clock.now()
            ttl, warnings = calculate_ttl(now, 0, ttl, 0, explicit_max, now, period)
        if ttl == 0 and explicit_max > 0:
            ttl = explicit_max
        renewable = data.get("renewable")
        if ttl == 0:
            parent_lease = parent["lease"]
            if parent_lease and parent_lease["expire_time"] is not None:
                raise ErrorResponse("expiring root tokens cannot create non-expiring root tokens")
            renewable = False
        return ttl, explicit_max, period, renewable, warnings


def _token_type(data):
    """The "type" parameter; batch tokens refuse what only a service token can have."""
    requested = data.get("type")
    if requested in ("", SERVICE):
        return SERVICE
    if requested != BATCH:
        raise ErrorResponse("invalid 'token_type' value")
    # Vault's switch looks at the first parameter given, in this order.
    bad = None
    if data.get("explicit_max_ttl") != "":
        bad = "explicit_max_ttl" if _batch_duration(data, "explicit_max_ttl") else None
    elif data.get("num_uses") != 0:
        bad = "num_uses"
    elif data.get("period") != "":
        bad = "period" if _batch_duration(data, "period") else None
    if bad:
        raise ErrorResponse(f'batch tokens cannot have "{bad}" set')
    return BATCH


def _batch_duration(data, name):
    try:
        return parse_duration_seconds(data.get(name))
    except ValueError:
        raise ErrorResponse(f'"{name}" value could not be parsed') from None
