"""Requests, responses, errors and path routing shared by every backend.

Modelled on Vault's sdk/framework: a backend declares paths (a regex, a field
schema and one handler per operation); the framework validates the fields,
calls the handler and adds the "unrecognized parameters" warning.
"""

import re
from dataclasses import dataclass, field

from .fields import FieldData, FieldError

READ = "read"
LIST = "list"
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
PATCH = "patch"

# Path parameter patterns from Vault's framework.GenericNameRegex and
# GenericNameWithAtRegex (Go's \w is ASCII-only, hence re.ASCII below).
NAME = r"\w(?:(?:[\w.-]+)?\w)?"
NAME_WITH_AT = r"\w(?:(?:[\w.@-]+)?\w)?"


@dataclass
class Request:
    operation: str
    path: str
    data: dict
    client_token: str = ""
    token: dict = None
    mount_point: str = ""
    # Seconds from X-Vault-Wrap-TTL; 0 answers unwrapped.
    wrap_ttl: int = 0
    # {"tls": bool, "peer_certificate": DER bytes or None}, for the cert auth method.
    connection: dict = None

    @property
    def display_name(self):
        return self.token["display_name"] if self.token else ""

    @property
    def entity_id(self):
        return self.token["entity_id"] if self.token else ""


@dataclass
class LoginAuth:
    """What an auth method returns on a successful login; the core turns it into a token."""
    policies: list
    metadata: dict
    display_name: str
    alias_name: str
    ttl: int = 0
    max_ttl: int = 0
    explicit_max_ttl: int = 0
    num_uses: int = 0
    no_default_policy: bool = False
    token_type: str = "service"
    period: int = 0


@dataclass
class Response:
    data: dict = None
    auth: dict = None
    warnings: list = field(default_factory=list)
    # Non-JSON endpoints (ssh public_key) answer with (content type, body bytes).
    raw: tuple = None
    login: LoginAuth = None


class VaultError(Exception):
    """A finished error reply: HTTP status and the exact `errors` array to send."""

    def __init__(self, status, errors):
        super().__init__(f"{status} {errors}")
        self.status = status
        self.errors = errors


class ErrorResponse(Exception):
    """logical.ErrorResponse: a user error whose text is sent unchanged (400 by default)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


class HandlerError(Exception):
    """A plain Go error returned by a handler.

    Vault sends it with status 500 (or the status its text maps to) and, on
    authenticated requests, wrapped by go-multierror.
    """

    def __init__(self, message, status=500):
        super().__init__(message)
        self.message = message
        self.status = status


def unsupported_path():
    return HandlerError("unsupported path", 404)


def unsupported_operation():
    return HandlerError("unsupported operation", 405)


@dataclass
class Path:
    pattern: str
    fields: dict
    operations: dict
    # Vault asks a path with an existence check whether the object exists, so
    # that POST becomes "create" (new object) or "update" (existing one).
    exists: object = None

    def __post_init__(self):
        self.regex = re.compile(self.pattern, re.ASCII)


def special_path_regex(patterns):
    """Compile Vault "special path" globs: a trailing * is a prefix, + one segment."""
    parts = []
    for pattern in patterns:
        prefix = pattern.endswith("*")
        body = pattern[:-1] if prefix else pattern
        regex = "/".join("[^/]+" if seg == "+" else re.escape(seg) for seg in body.split("/"))
        parts.append(regex + (".*" if prefix else ""))
    return re.compile("|".join(parts) if parts else "(?!)")


class Backend:
    """A mounted backend. Subclasses list their paths in paths()."""

    mount_type = ""
    unauthenticated = ()
    root_protected = ()

    def __init__(self, core, mount_point, entry):
        self.core = core
        self.mount_point = mount_point
        self.entry = entry
        self._paths = self.paths()
        self._login_regex = special_path_regex(self.unauthenticated)
        self._root_regex = special_path_regex(self.root_protected)

    def paths(self):
        return []

    def relative(self, path):
        return path[len(self.mount_point):]

    def is_unauthenticated(self, path):
        return bool(self._login_regex.fullmatch(self.relative(path)))

    def is_root_protected(self, path):
        return bool(self._root_regex.fullmatch(self.relative(path)))

    def route(self, path):
        relative = self.relative(path)
        for candidate in self._paths:
            match = candidate.regex.fullmatch(relative)
            if match:
                captures = {k: v for k, v in match.groupdict().items() if v is not None}
                return candidate, captures
        return None, None

    def acl_operation(self, request):
        """The operation the ACL checks: POST to a path with an existence check may be create."""
        if request.operation != UPDATE:
            return request.operation
        path, captures = self.route(request.path)
        if path is None or path.exists is None:
            return UPDATE
        data = FieldData(path.fields, {**request.data, **captures})
        return UPDATE if path.exists(request, data) else CREATE

    def handle(self, request):
        path, captures = self.route(request.path)
        if path is None:
            raise unsupported_path()
        handler = path.operations.get(request.operation)
        if handler is None:
            raise unsupported_operation()
        data = FieldData(path.fields, {**request.data, **captures})
        try:
            data.validate()
        except FieldError as err:
            raise ErrorResponse(f"Field validation failed: {err}") from None
        response = handler(request, data)
        if response is not None:
            self._add_parameter_warnings(response, request.data, path.fields, captures)
        return response

    @staticmethod
    def _add_parameter_warnings(response, supplied, schema, captures):
        ignored = sorted(name for name in supplied if name not in schema)
        if ignored:
            response.warnings.append(
                f"Endpoint ignored these unrecognized parameters: [{' '.join(ignored)}]")
        replaced = sorted(name for name in supplied if name in captures)
        if replaced:
            response.warnings.append(
                "Endpoint replaced the value of these parameters with the values captured "
                f"from the endpoint's path: [{' '.join(replaced)}]")
