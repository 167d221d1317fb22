"""RFC 6238 time-based one-time passwords, as github.com/pquerna/otp (Vault's library) does them."""

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote, urlencode

ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def new_secret(key_size):
    """A random key as otp keeps it: base32 without padding."""
    return base64.b32encode(secrets.token_bytes(key_size)).decode().rstrip("=")


def _key_bytes(secret):
    secret = secret.strip().upper()
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def hotp(key, counter, digits, algorithm):
    """RFC 4226: HMAC of the counter, dynamically truncated to `digits` decimal digits."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), ALGORITHMS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def valid(code, secret, now, period, skew, digits, algorithm):
    """totp.ValidateCustom: the code of this period or of `skew` periods either side."""
    counter = int(now // period)
    key = _key_bytes(secret)
    return any(hmac.compare_digest(hotp(key, counter + step, digits, algorithm), code)
               for step in range(-skew, skew + 1) if counter + step >= 0)


def key_url(issuer, account, secret, period, digits, algorithm):
    """otp.Key.String(): otpauth://totp/<issuer>:<account>?algorithm=...&digits=...&issuer=...&period=...&secret=..."""
    query = urlencode({"algorithm": algorithm, "digits": digits, "issuer": issuer,
                       "period": period, "secret": secret})
    return f"otpauth://totp/{quote(issuer)}:{quote(account)}?{query}"
