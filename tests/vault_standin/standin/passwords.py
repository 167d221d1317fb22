"""Passwords as the stand-in keeps them: salted PBKDF2 hashes, never the text."""

import hashlib
import hmac
import secrets

# A low iteration count keeps logins fast in tests; these are throw-away passwords.
_PBKDF2_ITERATIONS = 1000


def _hash(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt),
                               _PBKDF2_ITERATIONS).hex()


def set_password(record, password):
    record["salt"] = secrets.token_hex(16)
    record["password_hash"] = _hash(password, record["salt"])


def password_matches(record, password):
    return bool(record is not None and record.get("password_hash") and hmac.compare_digest(
        _hash(password, record["salt"]), record["password_hash"]))
