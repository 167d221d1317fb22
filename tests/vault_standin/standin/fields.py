"""Request field schemas, mirroring Vault's sdk/framework FieldData.

Vault converts each request parameter to the type its path declares
("weak" mapstructure decoding), validates every supplied field before the
handler runs and warns about parameters the path does not know.
"""

import base64
import binascii
import json
from dataclasses import dataclass

from .gocompat import (JsonNumber, fmt_v, go_type_name, parse_bool, parse_duration_seconds,
                       parse_int)

STRING = "string"
BOOL = "bool"
INT = "int"
MAP = "map"
DURATION = "duration (seconds)"
COMMA_STRINGS = "comma-separated strings"
KV_PAIRS = "key/value pairs"
HEADER = "header"


class FieldError(ValueError):
    """A parameter that cannot be converted to its declared type."""


@dataclass(frozen=True)
class Field:
    kind: str
    default: object = None


def _unconvertible(value, target):
    return FieldError(f"'' expected type '{target}', got unconvertible type "
                      f"'{go_type_name(value)}', value: '{fmt_v(value)}'")


def to_string(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (str, int)):
        return str(value)
    raise _unconvertible(value, "string")


def to_bool(value):
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        if value == "":
            return False
        try:
            return parse_bool(value)
        except ValueError as err:
            raise FieldError(f"cannot parse '' as bool: {err}") from None
    raise _unconvertible(value, "bool")


def to_int(value):
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, JsonNumber):
        try:
            return parse_int(value)
        except ValueError as err:
            raise FieldError(f"error decoding json.Number into : {err}") from None
    if isinstance(value, str):
        if value == "":
            return 0
        try:
            return parse_int(value)
        except ValueError as err:
            raise FieldError(f"cannot parse '' as int: {err}") from None
    raise _unconvertible(value, "int")


def to_map(value):
    """A JSON object; a list of objects is merged, as weak decoding does."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        merged = {}
        for item in value:
            merged.update(item)
        return merged
    kind = "slice" if isinstance(value, list) else go_type_name(value)
    raise FieldError(f"'' expected a map, got '{kind}'")


def to_duration(value):
    try:
        seconds = parse_duration_seconds(value)
    except ValueError as err:
        raise FieldError(str(err)) from None
    if seconds < 0:
        raise FieldError(f"cannot provide negative value '{seconds}'")
    return seconds


def to_comma_strings(value):
    """parseutil.ParseCommaStringSlice: a comma list or a JSON array, each item trimmed."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [to_string(item).strip() for item in value]
    return [item.strip() for item in to_string(value).split(",")]


def to_kv_pairs(value):
    """A map of strings, or a list of "key=value" strings."""
    if isinstance(value, dict):
        return {key: to_string(item) for key, item in value.items()}
    pairs = {}
    for item in value if isinstance(value, list) else [value]:
        key, sep, val = to_string(item).partition("=")
        if not sep or not key:
            raise FieldError(f"invalid key pair \"{item}\"")
        pairs[key] = val
    return pairs


def to_header(value):
    """TypeHeader: {name: [values]} from a JSON object (values a string or a list of
    strings), from a string holding one (optionally base64-encoded), or from
    HTTP-style "Name: value" lines."""
    if value is None:
        return {}
    if isinstance(value, str):
        text = value
        try:
            text = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            pass
        try:
            value = json.loads(text)
        except ValueError:
            value = _header_lines(text)
    if not isinstance(value, dict):
        raise FieldError(f"'' expected a map, got '{go_type_name(value)}'")
    headers = {}
    for name, item in value.items():
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(v, str) for v in items):
            raise FieldError(f"header {name!r} must be a string or a list of strings")
        # http.Header.Add: the canonical name, values of differently spelt names merged.
        headers.setdefault(_canonical_header_name(name), []).extend(items)
    return headers


def _canonical_header_name(name):
    """textproto.CanonicalMIMEHeaderKey: "x-amz-date" -> "X-Amz-Date"."""
    if not name or any(c in name for c in " :\t\r\n"):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _header_lines(text):
    headers = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        name, sep, val = line.partition(":")
        if not sep:
            raise FieldError("headers must be a JSON object or HTTP header lines")
        headers.setdefault(name.strip(), []).append(val.strip())
    return headers


_CONVERTERS = {
    STRING: to_string,
    BOOL: to_bool,
    INT: to_int,
    MAP: to_map,
    DURATION: to_duration,
    COMMA_STRINGS: to_comma_strings,
    KV_PAIRS: to_kv_pairs,
    HEADER: to_header,
}

_ZERO = {STRING: "", BOOL: False, INT: 0, MAP: {}, DURATION: 0,
         COMMA_STRINGS: [], KV_PAIRS: {}, HEADER: {}}


class FieldData:
    """The request parameters of one path, typed by its schema."""

    def __init__(self, schema, raw):
        self.schema = schema
        self.raw = raw

    def validate(self):
        """Convert every supplied field once, raising the first failure like Vault."""
        for name in sorted(self.raw):
            if name in self.schema:
                try:
                    self._convert(name)
                except FieldError as err:
                    raise FieldError(
                        f"error converting input for field \"{name}\": {err}") from None

    def unknown(self):
        """Supplied parameters the path does not declare, sorted."""
        return sorted(name for name in self.raw if name not in self.schema)

    def get_ok(self, name):
        """(value, True) if the request supplied the field, else (default, False)."""
        if name in self.raw:
            value = self._convert(name)
            if value is not None:
                return value, True
        return self._default(name), False

    def get(self, name):
        return self.get_ok(name)[0]

    def _convert(self, name):
        field = self.schema[name]
        if field.kind == DURATION and self.raw[name] is None:
            return None
        return _CONVERTERS[field.kind](self.raw[name])

    def _default(self, name):
        field = self.schema[name]
        if field.default is not None:
            return field.default
        zero = _ZERO[field.kind]
        return type(zero)(zero)
