"""SSH public keys in wire format, parsed the way Vault's Go code parses them.

Vault parses a signing request's public_key with golang.org/x/crypto/ssh and
returns that library's error text inside its 400 responses, so the checks and
messages here follow x/crypto/ssh (keys.go, certs.go, messages.go).
"""

import base64
import hashlib
from dataclasses import dataclass

from .gocompat import Base64Error, go_base64_decode

SHORT_READ = "ssh: short read"
EMPTY_STRUCT = "ssh: parse error in message type 0"

# NIST curves: field prime p and coefficient b (a = -3) for the on-curve check
# that elliptic.Unmarshal does.
_CURVES = {
    "nistp256": (2**256 - 2**224 + 2**192 + 2**96 - 1,
                 int("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B", 16),
                 256),
    "nistp384": (2**384 - 2**128 - 2**96 + 2**32 - 1,
                 int("B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A"
                     "C656398D8A2ED19D2A85C8EDD3EC2AEF", 16),
                 384),
    "nistp521": (2**521 - 1,
                 int("0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF1"
                     "09E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00", 16),
                 521),
}

_CERT_KEY_TYPES = {
    "ssh-rsa-cert-v01@openssh.com": "ssh-rsa",
    "ssh-dss-cert-v01@openssh.com": "ssh-dss",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com": "ssh-ed25519",
    "sk-ssh-ed25519-cert-v01@openssh.com": "sk-ssh-ed25519@openssh.com",
}

# Signature algorithm names that are not key formats, and the format to use instead.
_SIGNATURE_ONLY = {
    "rsa-sha2-256": "ssh-rsa",
    "rsa-sha2-512": "ssh-rsa",
    "rsa-sha2-256-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
}


class KeyParseError(ValueError):
    pass


@dataclass
class PublicKey:
    type: str
    # The blob x/crypto's Marshal() produces; Vault hashes it for {{public_key_hash}}.
    blob: bytes
    # "rsa", "dsa", "ecdsa" or "ed25519" (Go's crypto key type); None for certificates.
    crypto: str
    bits: int = 0

    def authorized_key(self):
        return f"{self.type} {base64.b64encode(self.blob).decode()}"

    def sha256_hex(self):
        return hashlib.sha256(self.blob).hexdigest()


class _Reader:
    def __init__(self, data):
        self.data = data

    def string(self):
        if len(self.data) < 4:
            raise KeyParseError(SHORT_READ)
        length = int.from_bytes(self.data[:4], "big")
        if len(self.data) - 4 < length:
            raise KeyParseError(SHORT_READ)
        value, self.data = self.data[4:4 + length], self.data[4 + length:]
        return value

    def mpint(self):
        raw = self.string()
        if raw and raw[0] & 0x80:
            return int.from_bytes(raw, "big") - (1 << (8 * len(raw)))
        return int.from_bytes(raw, "big")

    def start_struct(self):
        """x/crypto's Unmarshal rejects an empty input before reading the first field."""
        if not self.data:
            raise KeyParseError(EMPTY_STRUCT)


def _string(value):
    return len(value).to_bytes(4, "big") + value


def _mpint(value):
    if value == 0:
        return _string(b"")
    length = (value.bit_length() + 8) // 8 if value > 0 else ((-value - 1).bit_length() + 8) // 8
    return _string(value.to_bytes(length, "big", signed=True))


def parse_vault_public_key(text):
    """Vault's parsePublicSSHKey: use the second space-separated field if there is one."""
    parts = text.split(" ")
    encoded = parts[1] if len(parts) > 1 else text
    try:
        blob = go_base64_decode(encoded)
    except Base64Error as err:
        raise KeyParseError(str(err)) from None
    return parse_public_key(blob)


def parse_public_key(blob):
    """x/crypto/ssh ParsePublicKey."""
    reader = _Reader(blob)
    algorithm = reader.string().decode("utf-8", "replace")
    key, rest = _parse_key_body(algorithm, reader)
    if rest:
        raise KeyParseError("ssh: trailing junk in public key")
    return key


def _parse_key_body(algorithm, reader):
    parsers = {
        "ssh-rsa": _parse_rsa,
        "ssh-dss": _parse_dsa,
        "ecdsa-sha2-nistp256": _parse_ecdsa,
        "ecdsa-sha2-nistp384": _parse_ecdsa,
        "ecdsa-sha2-nistp521": _parse_ecdsa,
        "sk-ecdsa-sha2-nistp256@openssh.com": _parse_sk_ecdsa,
        "ssh-ed25519": _parse_ed25519,
        "sk-ssh-ed25519@openssh.com": _parse_sk_ed25519,
    }
    if algorithm in parsers:
        return parsers[algorithm](algorithm, reader)
    if algorithm in _CERT_KEY_TYPES:
        return _parse_certificate(algorithm, reader)
    if algorithm in _SIGNATURE_ONLY:
        raise KeyParseError(
            f'ssh: signature algorithm "{algorithm}" isn\'t a key format; key is malformed '
            f'and should be re-encoded with type "{_SIGNATURE_ONLY[algorithm]}"')
    raise KeyParseError(f"ssh: unknown key algorithm: {algorithm}")


def _parse_rsa(algorithm, reader):
    reader.start_struct()
    exponent, modulus = reader.mpint(), reader.mpint()
    if abs(modulus).bit_length() > 16384:
        raise KeyParseError("ssh: rsa modulus too large")
    if abs(exponent).bit_length() > 24:
        raise KeyParseError("ssh: exponent too large")
    if exponent < 3 or exponent % 2 == 0:
        raise KeyParseError("ssh: incorrect exponent")
    blob = _string(algorithm.encode()) + _mpint(exponent) + _mpint(modulus)
    return PublicKey(algorithm, blob, "rsa", modulus.bit_length()), reader.data


def _parse_dsa(algorithm, reader):
    reader.start_struct()
    p, q, g, y = reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint()
    if abs(p).bit_length() != 1024:
        raise KeyParseError(f"ssh: unsupported DSA key size {abs(p).bit_length()}")
    if abs(q).bit_length() != 160:
        raise KeyParseError(f"ssh: unsupported DSA sub-prime size {abs(q).bit_length()}")
    if g >= p:
        raise KeyParseError("ssh: DSA generator larger than modulus")
    if g <= 0:
        raise KeyParseError("ssh: DSA generator must be positive")
    if y <= 0 or y >= p:
        raise KeyParseError("ssh: DSA public value Y out of range")
    blob = _string(algorithm.encode()) + b"".join(_mpint(v) for v in (p, q, g, y))
    return PublicKey(algorithm, blob, "dsa", p.bit_length()), reader.data


def _check_curve_point(curve, point):
    """elliptic.Unmarshal: an uncompressed point that lies on the curve."""
    prime, b, bits = _CURVES[curve]
    size = (bits + 7) // 8
    if len(point) != 1 + 2 * size or point[0] != 4:
        raise KeyParseError("ssh: invalid curve point")
    x = int.from_bytes(point[1:1 + size], "big")
    y = int.from_bytes(point[1 + size:], "big")
    if x >= prime or y >= prime or (y * y - (x ** 3 - 3 * x + b)) % prime != 0:
        raise KeyParseError("ssh: invalid curve point")
    return bits


def _parse_ecdsa(algorithm, reader):
    reader.start_struct()
    curve = reader.string().decode("utf-8", "replace")
    point = reader.string()
    if algorithm != "ecdsa-sha2-" + curve:
        raise KeyParseError(f'ssh: algorithm type mismatch: expected "{algorithm}", found curve '
                            f'"{curve}" (type "ecdsa-sha2-{curve}")')
    if curve not in _CURVES:
        raise KeyParseError("ssh: unsupported curve")
    bits = _check_curve_point(curve, point)
    blob = _string(algorithm.encode()) + _string(curve.encode()) + _string(point)
    return PublicKey(algorithm, blob, "ecdsa", bits), reader.data


def _parse_sk_ecdsa(algorithm, reader):
    reader.start_struct()
    curve = reader.string().decode("utf-8", "replace")
    point = reader.string()
    application = reader.string()
    if curve != "nistp256":
        raise KeyParseError("ssh: unsupported curve")
    bits = _check_curve_point(curve, point)
    blob = (_string(algorithm.encode()) + _string(curve.encode()) + _string(point)
            + _string(application))
    return PublicKey(algorithm, blob, "ecdsa", bits), reader.data


def _parse_ed25519(algorithm, reader):
    reader.start_struct()
    key = reader.string()
    if len(key) != 32:
        raise KeyParseError(f"invalid size {len(key)} for Ed25519 public key")
    return PublicKey(algorithm, _string(algorithm.encode()) + _string(key), "ed25519"), reader.data


def _parse_sk_ed25519(algorithm, reader):
    reader.start_struct()
    key = reader.string()
    application = reader.string()
    if len(key) != 32:
        raise KeyParseError(f"invalid size {len(key)} for Ed25519 public key")
    blob = _string(algorithm.encode()) + _string(key) + _string(application)
    return PublicKey(algorithm, blob, "ed25519"), reader.data


def _parse_certificate(algorithm, reader):
    """A certificate parses as a key (its nonce and embedded public key are checked).

    The remaining certificate fields are taken as they are: Vault can never
    sign a certificate anyway (see SshBackend), so only parse errors matter.
    """
    start = reader.data
    reader.string()
    _parse_key_body(_CERT_KEY_TYPES[algorithm], reader)
    blob = _string(algorithm.encode()) + start
    return PublicKey(algorithm, blob, None), b""


def authorized_key_line(text):
    """Normalise an ssh-keygen .pub line to "type base64" (no comment)."""
    fields = text.split()
    return f"{fields[0]} {fields[1]}"
