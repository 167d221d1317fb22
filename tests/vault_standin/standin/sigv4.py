"""AWS Signature Version 4, checked the way an AWS service checks it.

The canonical request follows AWS's rules for services other than S3: the
URI path normalised (dot segments removed, repeated slashes collapsed) and
percent-encoded as it arrived, query parameters decoded, re-encoded and
sorted, signed header values trimmed with inner runs of spaces collapsed and
repeated headers joined with ",". Only the Authorization header form is
checked (no presigned URLs).
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .http_api import go_clean_path

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SPACES = re.compile(r" +")
_AUTH_PART = re.compile(r"\s*(Credential|SignedHeaders|Signature)=([^,\s]*)\s*")


class SignatureError(Exception):
    """A refused signature: AWS's HTTP status, error code and message."""

    def __init__(self, code, message, status=403):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Authorization:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list
    signature: str

    @property
    def scope(self):
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value):
    if not value.startswith(ALGORITHM + " "):
        raise SignatureError("IncompleteSignature",
                             f"Unsupported AWS 'algorithm': '{value.split(' ')[0]}'", 400)
    parts = {}
    for piece in value[len(ALGORITHM) + 1:].split(","):
        match = _AUTH_PART.fullmatch(piece)
        if match:
            parts[match.group(1)] = match.group(2)
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if name not in parts]
    if missing:
        text = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        raise SignatureError("IncompleteSignature", f"{text} Authorization={value}", 400)
    credential = parts["Credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        raise SignatureError("IncompleteSignature",
                             f"Credential must have exactly 5 slash-delimited elements, "
                             f"e.g. keyid/date/region/service/term, got '{parts['Credential']}'",
                             400)
    return Authorization(credential[0], credential[1], credential[2], credential[3],
                         parts["SignedHeaders"].split(";"), parts["Signature"])


def canonical_uri(path, normalize=True):
    path = path or "/"
    return quote(go_clean_path(path) if normalize else path, safe="/~")


def canonical_query(query):
    pairs = []
    for item in query.split("&") if query else []:
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def canonical_headers(headers, signed_headers):
    """headers: (name, value) pairs as received, repeats allowed."""
    values = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(_SPACES.sub(" ", value.strip()))
    return "".join(f"{name}:{','.join(values.get(name, []))}\n" for name in signed_headers)


def canonical_request(method, path, query, headers, signed_headers, payload_hash, normalize=True):
    return "\n".join([method, canonical_uri(path, normalize), canonical_query(query),
                      canonical_headers(headers, signed_headers), ";".join(signed_headers),
                      payload_hash])


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature(secret, auth, amz_date, creq):
    key = _hmac(("AWS4" + secret).encode(), auth.date)
    for part in (auth.region, auth.service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign(amz_date, auth.scope, creq).encode(),
                    hashlib.sha256).hexdigest()


def header_value(headers, name):
    """The first value of a header (name case-insensitive), or None."""
    return next((value for key, value in headers if key.lower() == name), None)


def parse_target(target):
    path, _, query = target.partition("?")
    return path, query


def check_signature(method, target, headers, body, secret, auth, normalize=True):
    """Raise SignatureDoesNotMatch unless the request is signed with this secret."""
    path, query = parse_target(target)
    body_hash = hashlib.sha256(body).hexdigest()
    payload = header_value(headers, "x-amz-content-sha256") or body_hash
    if payload != body_hash:
        raise SignatureError("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
                             "header does not match what was computed.", 400)
    creq = canonical_request(method, path, query, headers, auth.signed_headers, payload, normalize)
    amz_date = header_value(headers, "x-amz-date") or ""
    expected = signature(secret, auth, amz_date, creq)
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")
