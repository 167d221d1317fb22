"""What every auth method shares (sdk/helper/tokenutil, vault/core's user lockout).

The token_* parameters of users and configs, applied as tokenutil.ParseTokenFields
does (only the supplied ones change), and the user lockout Vault applies to
userpass and ldap logins by default since 1.13: after 5 wrong passwords for a
user, logins for that user are refused with "permission denied" for 15 minutes.
"""

from . import fields as f
from .framework import ErrorResponse, HandlerError, LoginAuth
from .tokens import sanitize_policies

LOCKOUT_THRESHOLD = 5
LOCKOUT_SECONDS = 15 * 60

TOKEN_FIELDS = {
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
# The token_type values a user or config may have.
_TOKEN_TYPES = {"": "default", "default": "default", "service": "service", "batch": "batch"}
# Older parameter names, used when the token_* parameter is not supplied.
_LEGACY = {"token_policies": "policies", "token_ttl": "ttl", "token_max_ttl": "max_ttl"}


def new_token_settings():
    return {"token_policies": [], "token_ttl": 0, "token_max_ttl": 0, "token_explicit_max_ttl": 0,
            "token_no_default_policy": False, "token_num_uses": 0, "token_period": 0,
            "token_type": "default"}


def token_settings_data(settings):
    """The token_* fields as a read of the user or config shows them."""
    return {"token_bound_cidrs": [], "token_explicit_max_ttl": settings["token_explicit_max_ttl"],
            "token_max_ttl": settings["token_max_ttl"],
            "token_no_default_policy": settings["token_no_default_policy"],
            "token_num_uses": settings["token_num_uses"],
            "token_period": settings.get("token_period", 0),
            "token_policies": settings["token_policies"], "token_ttl": settings["token_ttl"],
            "token_type": settings.get("token_type", "default")}


def _refuse_unsupported(name, value):
    """Token parameters the stand-in does not implement are refused, not ignored."""
    if name in ("token_bound_cidrs", "bound_cidrs") and value:
        raise ErrorResponse("the Vault stand-in does not support bound CIDRs")
    if name == "token_type" and value not in _TOKEN_TYPES:
        raise ErrorResponse(f"invalid 'token_type' value \"{value}\"")
    if name == "token_num_uses" and value < 0:
        raise ErrorResponse("'token_num_uses' cannot be negative")


def apply_token_fields(settings, data):
    """tokenutil.ParseTokenFields: only the supplied parameters change."""
    for name in TOKEN_FIELDS:
        value, supplied = data.get_ok(name)
        if supplied:
            _refuse_unsupported(name, value)
    for name in _STORED_FIELDS:
        value, supplied = data.get_ok(name)
        if not supplied and name in _LEGACY:
            value, supplied = data.get_ok(_LEGACY[name])
        if supplied:
            settings[name] = _TOKEN_TYPES[value] if name == "token_type" else value
    if settings.get("token_type") == "batch":
        if settings.get("token_period"):
            raise ErrorResponse("'token_type' cannot be 'batch' or 'default_batch' when set "
                                "to generate periodic tokens")
        if settings["token_num_uses"]:
            raise ErrorResponse("'token_type' cannot be 'batch' or 'default_batch' when set "
                                "to generate tokens with limited use count")
    if 0 < settings["token_max_ttl"] < settings["token_ttl"]:
        raise ErrorResponse("'token_ttl' cannot be greater than 'token_max_ttl'")


def refuse_changed_policies(policies, token):
    """pathLoginRenew's policyutil.EquivalentPolicies check ("default" does not count)."""
    current = set(sanitize_policies(policies, False)) - {"default"}
    if current != set(token["policies"]) - {"default"}:
        raise HandlerError("policies have changed, not renewing")


def login_auth(settings, policies, username, metadata=None):
    """The LoginAuth of a login with these token settings (PopulateTokenAuth)."""
    return LoginAuth(
        policies=policies, metadata=metadata or {"username": username},
        display_name=username, alias_name=username, ttl=settings["token_ttl"],
        max_ttl=settings["token_max_ttl"], explicit_max_ttl=settings["token_explicit_max_ttl"],
        num_uses=settings["token_num_uses"], no_default_policy=settings["token_no_default_policy"],
        token_type="batch" if settings.get("token_type") == "batch" else "service",
        period=settings.get("token_period", 0))


class Lockout:
    """Failed logins per user of one mount, kept in the mount entry's "lockouts"."""

    def __init__(self, entry, clock):
        self.records = entry["lockouts"]
        self.clock = clock

    def refuse_if_locked(self, username):
        record = self.records.get(username)
        if record is None or record["count"] < LOCKOUT_THRESHOLD:
            return
        if self.clock.now() >= record["last"] + LOCKOUT_SECONDS:
            del self.records[username]
            return
        raise HandlerError("permission denied", 403)

    def failed(self, username):
        now = self.clock.now()
        record = self.records.get(username)
        if record is None or now >= record["last"] + LOCKOUT_SECONDS:
            record = {"count": 0}
        self.records[username] = {"count": record["count"] + 1, "last": now}

    def succeeded(self, username):
        self.records.pop(username, None)
