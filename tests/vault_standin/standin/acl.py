"""ACL policies: the HCL subset policies are written in, and Vault's matching rules.

Supported policy syntax: `path "<glob>" { capabilities = [...] }` blocks (or the
old `policy = "read"` form), `name = "..."`, comments, and the JSON form.
Paths may end in `*` (prefix) and contain `+` (one segment). Matching follows
vault/acl.go: exact rules first, then the most specific prefix or segment
wildcard rule; `deny` overrides everything on the rule it appears in.
"""

import json
import re
from dataclasses import dataclass, field

from .framework import CREATE, DELETE, LIST, PATCH, READ, UPDATE
from .gocompat import multierror

CAPABILITIES = ("create", "read", "update", "delete", "list", "sudo", "patch", "scan", "deny")
OLD_POLICIES = {
    "deny": ["deny"],
    "read": ["read", "list"],
    "write": ["create", "read", "update", "delete", "list"],
    "sudo": ["create", "read", "update", "delete", "list", "sudo"],
}
# Path keys Vault accepts but the stand-in does not enforce; refusing them keeps
# the stand-in from being more permissive than Vault.
UNSUPPORTED_PATH_KEYS = ("allowed_parameters", "denied_parameters", "required_parameters",
                         "min_wrapping_ttl", "max_wrapping_ttl", "mfa_methods", "control_group",
                         "pagination_limit", "expiration", "list_scan_response_keys_filter_path")

DEFAULT_POLICY = """# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
"""


class PolicyError(ValueError):
    pass


# --------------------------------------------------------------------------
# HCL subset parser

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+|\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.-]*)
  | (?P<punct>[={}\[\],])
""", re.VERBOSE | re.DOTALL)


@dataclass
class _Item:
    keys: list
    value: object
    line: int


@dataclass
class _Object:
    items: list = field(default_factory=list)


class _Parser:
    def __init__(self, text):
        self.tokens = list(self._tokenize(text))
        self.index = 0

    @staticmethod
    def _tokenize(text):
        position, line = 0, 1
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match:
                raise PolicyError(f"At {line}: illegal character {text[position]!r}")
            kind = match.lastgroup
            if kind != "space":
                yield kind, match.group(), line
            line += match.group().count("\n")
            position = match.end()

    def _peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None, None)

    def _next(self):
        token = self._peek()
        if token[0] is None:
            raise PolicyError("unexpected end of policy")
        self.index += 1
        return token

    def _expect(self, text):
        kind, value, line = self._next()
        if value != text:
            raise PolicyError(f"At {line}: expected {text!r} but found {value!r}")

    def parse(self):
        return _Object(self._items(end=None))

    def _items(self, end):
        items = []
        while True:
            kind, value, _line = self._peek()
            if kind is None:
                if end is None:
                    return items
                raise PolicyError(f"unexpected end of policy, expected {end!r}")
            if kind == "punct" and value == end:
                return items
            if value == ",":
                self.index += 1
                continue
            items.append(self._item())

    def _item(self):
        keys = []
        kind, value, line = self._peek()
        while kind in ("ident", "string"):
            keys.append(json.loads(value) if kind == "string" else value)
            self.index += 1
            kind, value, _ = self._peek()
        if not keys:
            raise PolicyError(f"At {line}: expected a key but found {value!r}")
        if value == "=":
            self.index += 1
            return _Item(keys, self._value(), line)
        if value == "{":
            return _Item(keys, self._value(), line)
        raise PolicyError(f"At {line}: expected '=' or '{{' after {keys[-1]!r}")

    def _value(self):
        kind, value, line = self._next()
        if kind == "string":
            return json.loads(value)
        if kind == "number":
            return json.loads(value)
        if kind == "ident" and value in ("true", "false"):
            return value == "true"
        if value == "[":
            values = []
            while self._peek()[1] != "]":
                values.append(self._value())
                if self._peek()[1] == ",":
                    self.index += 1
            self._expect("]")
            return values
        if value == "{":
            items = self._items(end="}")
            self._expect("}")
            return _Object(items)
        raise PolicyError(f"At {line}: unexpected {value!r}")


def _from_json(value):
    if isinstance(value, dict):
        return _Object([_Item([key], _from_json(item), 0) for key, item in value.items()])
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def _parse_document(text):
    if text.lstrip().startswith("{"):
        try:
            return _from_json(json.loads(text))
        except ValueError as err:
            raise PolicyError(str(err)) from None
    return _Parser(text).parse()


# --------------------------------------------------------------------------
# Policies


@dataclass
class PathRule:
    path: str
    capabilities: frozenset
    prefix: bool = False
    segment_wildcards: bool = False


def _check_keys(obj, valid, prefix=""):
    for item in obj.items:
        if item.keys[0] not in valid:
            message = f'{prefix}invalid key "{item.keys[0]}" on line {item.line}'
            raise PolicyError(multierror(message))


def _path_blocks(document):
    """Yield (path, body) for every path block, in HCL or JSON nesting."""
    for item in document.items:
        if item.keys[0] != "path":
            continue
        if len(item.keys) >= 2:
            yield item.keys[1], item.value
        elif isinstance(item.value, _Object):
            for sub in item.value.items:
                yield sub.keys[0], sub.value


def _path_rule(path, body):
    if not isinstance(body, _Object):
        raise PolicyError(f'path "{path}": expected a block')
    label = f'path "{path}": '
    _check_keys(body, ("comment", "policy", "capabilities") + UNSUPPORTED_PATH_KEYS, label)
    capabilities = []
    for item in body.items:
        key = item.keys[0]
        if key in UNSUPPORTED_PATH_KEYS:
            raise PolicyError(f"{label}the Vault stand-in does not support \"{key}\"")
        if key == "capabilities":
            capabilities += item.value if isinstance(item.value, list) else [item.value]
        elif key == "policy":
            if item.value not in OLD_POLICIES:
                raise PolicyError(f'{label}invalid policy "{item.value}"')
            capabilities += OLD_POLICIES[item.value]
    for capability in capabilities:
        if capability not in CAPABILITIES:
            raise PolicyError(f'{label}invalid capability "{capability}"')
    if "deny" in capabilities:
        capabilities = ["deny"]
    return _normalise_rule(path, frozenset(capabilities))


def _normalise_rule(path, capabilities):
    path = path[1:] if path.startswith("/") else path
    if "+*" in path:
        raise PolicyError(f'path "{path}": invalid use of wildcards (\'+*\' is forbidden)')
    wildcards = path == "+" or "/+" in path or path.startswith("+/")
    prefix = path.endswith("*") and not wildcards
    if prefix:
        path = path[:-1]
    return PathRule(path, capabilities, prefix, wildcards)


def parse_policy(text):
    """Parse a policy document into path rules; PolicyError carries Vault's wording."""
    try:
        document = _parse_document(text)
        _check_keys(document, ("name", "path"))
        return [_path_rule(path, body) for path, body in _path_blocks(document)]
    except PolicyError as err:
        raise PolicyError(f"failed to parse policy: {err}") from None


# --------------------------------------------------------------------------
# ACL

_OPERATION_CAPABILITY = {READ: "read", LIST: "list", UPDATE: "update", CREATE: "create",
                         DELETE: "delete", PATCH: "patch"}


class ACL:
    """The union of a token's policies."""

    def __init__(self, rule_sets, root=False):
        self.root = root
        self.exact, self.prefix, self.wildcard = {}, {}, {}
        for rules in rule_sets:
            for rule in rules:
                table = self.wildcard if rule.segment_wildcards else (
                    self.prefix if rule.prefix else self.exact)
                table[rule.path] = _merge(table.get(rule.path), rule.capabilities)

    def allows(self, operation, path):
        if self.root:
            return True
        return _OPERATION_CAPABILITY.get(operation, "") in self.capabilities(operation, path)

    def has_sudo(self, path):
        return self.root or "sudo" in self.capabilities(UPDATE, path)

    def capabilities(self, operation, path):
        path = path.lstrip("/")
        if path in self.exact:
            return self.exact[path]
        if operation == LIST and path.rstrip("/") in self.exact:
            return self.exact[path.rstrip("/")]
        found = self._non_exact(path)
        if found is None and operation == LIST and path.endswith("/"):
            found = self._non_exact(path[:-1])
        return found if found is not None else frozenset()

    def _non_exact(self, path):
        candidates = []
        prefixes = [key for key in self.prefix if path.startswith(key)]
        if prefixes:
            longest = max(prefixes, key=len)
            priority = (len(longest), True, 0, len(longest), longest)
            candidates.append((priority, self.prefix[longest]))
        parts = path.split("/")
        for pattern, capabilities in self.wildcard.items():
            priority = _wildcard_priority(pattern, parts)
            if priority is not None:
                candidates.append((priority, capabilities))
        if not candidates:
            return None
        return max(candidates, key=_rule_rank)[1]


def _merge(existing, capabilities):
    if existing is None:
        return capabilities
    if "deny" in existing or "deny" in capabilities:
        return frozenset({"deny"})
    return existing | capabilities


def _wildcard_priority(pattern, parts):
    """Match a `+` pattern against path segments; return its priority tuple or None."""
    is_prefix = pattern.endswith("*")
    body = pattern[:-1] if is_prefix else pattern
    segments = body.split("/")
    if len(parts) < len(segments) or (not is_prefix and len(parts) != len(segments)):
        return None
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "+" or segment == parts[index]:
            continue
        if is_prefix and last and parts[index].startswith(segment):
            continue
        return None
    return (pattern.index("+"), is_prefix, segments.count("+"), len(body), body)


def _rule_rank(candidate):
    """Order candidates so that max() picks the rule Vault considers most specific.

    Later first wildcard or glob wins; then a non-prefix rule over a prefix
    rule; then fewer `+` segments; then the longer path; then the larger string.
    """
    first_wildcard, is_prefix, wildcards, length, text = candidate[0]
    return (first_wildcard, not is_prefix, -wildcards, length, text)
