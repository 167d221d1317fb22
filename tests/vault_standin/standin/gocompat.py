"""Parsing and formatting that Vault does with Go's standard library.

Vault's error strings and JSON bodies are produced by Go code (encoding/json,
encoding/base64, time.ParseDuration, go-multierror, ...). Clients match on those
strings, so the stand-in reproduces them here instead of using Python's own
wording.
"""

import datetime
import json
import re

# --------------------------------------------------------------------------
# JSON


class JsonNumber(str):
    """A JSON number kept as its literal text.

    Vault decodes request bodies with json.Decoder.UseNumber(), so a number
    reaches the handlers as its source text ("1.5", "3600"). Field conversions
    and error messages depend on that text, not on a float.
    """


class Struct(dict):
    """A JSON object whose keys keep their insertion order (a Go struct).

    Plain dicts are Go maps, which encoding/json always writes with sorted keys.
    """


_JSON_WHITESPACE = " \t\r\n"
_HTML_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _reject_constant(name):
    raise ValueError(f"invalid JSON constant {name}")


_REQUEST_DECODER = json.JSONDecoder(parse_int=JsonNumber, parse_float=JsonNumber,
                                    parse_constant=_reject_constant)


def decode_request_json(text):
    """Decode a request body like Vault: only the first JSON value counts.

    Go's json.Decoder stops after the first value, so trailing bytes are
    ignored. An empty body means "no data". Anything but an object or null
    cannot be decoded into Vault's map and raises ValueError.
    """
    text = text.lstrip(_JSON_WHITESPACE)
    if not text:
        return None
    value, _end = _REQUEST_DECODER.raw_decode(text)
    if value is not None and not isinstance(value, dict):
        raise ValueError("JSON body is not an object")
    return value


def _go_ordered(value):
    if isinstance(value, Struct):
        return {key: _go_ordered(item) for key, item in value.items()}
    if isinstance(value, dict):
        return {key: _go_ordered(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_go_ordered(item) for item in value]
    return value


def go_json(value):
    """Encode like Go's json.Encoder.Encode: compact, maps sorted, HTML-escaped, newline."""
    text = json.dumps(_go_ordered(value), ensure_ascii=False, separators=(",", ":"))
    for char, escape in _HTML_ESCAPES:
        text = text.replace(char, escape)
    return (text + "\n").encode("utf-8")


# --------------------------------------------------------------------------
# Error formatting


def multierror(*messages):
    """Format errors the way hashicorp/go-multierror's default formatter does."""
    if len(messages) == 1:
        return f"1 error occurred:\n\t* {messages[0]}\n\n"
    points = "\n\t".join(f"* {message}" for message in messages)
    return f"{len(messages)} errors occurred:\n\t{points}\n\n"


def go_quote(text):
    """Go's strconv.Quote for the printable ASCII subset that error messages carry."""
    return json.dumps(text, ensure_ascii=False)


def fmt_v(value):
    """Go's fmt "%v" for values decoded from JSON."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(fmt_v(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{fmt_v(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def go_type_name(value):
    """The Go type name a JSON-decoded value has inside Vault (for mapstructure errors)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, JsonNumber):
        return "json.Number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


# --------------------------------------------------------------------------
# base64 (encoding/base64.StdEncoding.DecodeString)

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUES = {byte: index for index, byte in enumerate(_B64_ALPHABET)}
_NEWLINES = (0x0A, 0x0D)
_PAD = ord("=")


class Base64Error(ValueError):
    def __init__(self, offset):
        super().__init__(f"illegal base64 data at input byte {offset}")


def go_base64_decode(text):
    """Decode padded standard base64 exactly as Go does, including its error offsets.

    Go skips CR and LF anywhere, requires correct padding and reports the byte
    offset of the first problem ("illegal base64 data at input byte N").
    """
    src = text.encode("utf-8")
    out = bytearray()
    pos = 0
    while True:
        quantum = [0, 0, 0, 0]
        count = 0
        padded = False
        while count < 4:
            if pos == len(src):
                if count == 0:
                    return bytes(out)
                raise Base64Error(pos - count)
            byte = src[pos]
            pos += 1
            if byte in _B64_VALUES:
                quantum[count] = _B64_VALUES[byte]
                count += 1
            elif byte in _NEWLINES:
                continue
            elif byte != _PAD or count < 2:
                raise Base64Error(pos - 1)
            else:
                pos = _consume_padding(src, pos, count)
                padded = True
                break
        value = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        out += value.to_bytes(3, "big")[:count - 1 if padded else 3]
        if padded:
            return bytes(out)


def _consume_padding(src, pos, count):
    """Check the padding after a short quantum; return the position after it."""
    if count == 2:
        while pos < len(src) and src[pos] in _NEWLINES:
            pos += 1
        if pos == len(src):
            raise Base64Error(len(src))
        if src[pos] != _PAD:
            raise Base64Error(pos - 1)
        pos += 1
    while pos < len(src) and src[pos] in _NEWLINES:
        pos += 1
    if pos < len(src):
        raise Base64Error(pos)
    return pos


# --------------------------------------------------------------------------
# Integers, booleans and durations

_GO_INT = re.compile(r"[+-]?[0-9]+")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_int(text):
    """strconv.ParseInt(text, 10, 64)."""
    if _GO_INT.fullmatch(text):
        return int(text)
    raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")


def parse_bool(text):
    """strconv.ParseBool."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"strconv.ParseBool: parsing {go_quote(text)}: invalid syntax")


_DURATION_UNITS_NS = {
    "ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
    "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_go_duration_ns(text):
    """time.ParseDuration, returning nanoseconds."""
    original = text
    negative = text[:1] == "-"
    if text[:1] in ("-", "+"):
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f"time: invalid duration {go_quote(original)}")
    total = 0
    while text:
        match = _DURATION_PART.match(text)
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not fraction:
            raise ValueError(f"time: invalid duration {go_quote(original)}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {go_quote(original)}")
        if unit not in _DURATION_UNITS_NS:
            raise ValueError(
                f"time: unknown unit {go_quote(unit)} in duration {go_quote(original)}")
        scale = _DURATION_UNITS_NS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        text = text[match.end():]
    return -total if negative else total


def parse_duration_seconds(value):
    """go-secure-stdlib parseutil.ParseDurationSecond, truncated to whole seconds.

    Accepts integers (seconds), numeric strings (seconds), "<n>d" (days) and Go
    duration strings ("90m", "1h30m").
    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError("could not parse duration from input")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError("could not parse duration from input")
    if value == "":
        return 0
    if _GO_INT.fullmatch(value):
        return int(value)
    if value.endswith("d"):
        return parse_int(value[:-1]) * 86400
    nanoseconds = parse_go_duration_ns(value)
    return int(nanoseconds / 1_000_000_000)


def go_duration_string(seconds):
    """time.Duration.String() for a whole number of seconds ("768h0m0s", "1m30s")."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def human_duration(seconds):
    """The short duration form Vault puts in TTL warnings ("768h", "1h30m")."""
    if seconds == 0:
        return "0s"
    text = go_duration_string(seconds)
    if text.endswith("m0s"):
        text = text[:-2]
    index = text.find("h0m")
    if index > 0:
        text = text[:index + 1] + text[index + 3:]
    return text


# --------------------------------------------------------------------------
# Time


def rfc3339(timestamp):
    """Format a Unix timestamp like Go's time.Time JSON encoding (RFC 3339, UTC)."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return text + (f".{fraction}" if fraction else "") + "Z"
