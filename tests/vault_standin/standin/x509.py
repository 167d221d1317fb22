"""X.509 facts and chain checks for the cert auth method, through the openssl tool.

Python's standard library cannot parse or verify certificates on its own;
openssl (already needed to make the test certificates) does both. Only
public certificates pass through it.
"""

import os
import re
import ssl
import subprocess
import tempfile

OPENSSL = "openssl"


class CertificateError(ValueError):
    pass


def _hex_id(text):
    """openssl's "AB:CD" key identifiers as Vault prints them (lower case)."""
    return text.strip().lower()


def describe(pem):
    """serial (decimal), common_name, subject_key_id, authority_key_id, is_ca of a PEM cert."""
    result = subprocess.run(
        [OPENSSL, "x509", "-noout", "-serial", "-subject", "-nameopt", "RFC2253", "-ext",
         "subjectKeyIdentifier,authorityKeyIdentifier,basicConstraints"],
        input=pem.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise CertificateError("failed to parse certificate")
    text = result.stdout.decode()
    serial = re.search(r"^serial=([0-9A-Fa-f]+)$", text, re.M)
    subject = re.search(r"^subject=(.*)$", text, re.M)
    common_name = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", subject.group(1) if subject else "")
    ski = re.search(r"Subject Key Identifier: *\n +(\S+)", text)
    aki = re.search(r"Authority Key Identifier: *\n +(?:keyid:)?(\S+)", text)
    return {"serial_number": str(int(serial.group(1), 16)) if serial else "",
            "common_name": common_name.group(1) if common_name else "",
            "subject_key_id": _hex_id(ski.group(1)) if ski else "",
            "authority_key_id": _hex_id(aki.group(1)) if aki else "",
            "is_ca": bool(re.search(r"Basic Constraints:.*\n +CA:TRUE", text))}


def der_to_pem(der):
    return ssl.DER_cert_to_PEM_cert(der)


def chains_to(client_pem, trusted_pem, at_time):
    """Whether the client certificate chains to the trusted one for client auth at that time."""
    with tempfile.TemporaryDirectory(prefix="standin-x509-") as directory:
        client, trusted = (os.path.join(directory, name) for name in ("client.pem", "ca.pem"))
        for path, text in ((client, client_pem), (trusted, trusted_pem)):
            with open(path, "w", encoding="ascii") as handle:
                handle.write(text)
        result = subprocess.run(
            [OPENSSL, "verify", "-partial_chain", "-purpose", "sslclient", "-attime",
             str(int(at_time)), "-CAfile", trusted, client], capture_output=True, check=False)
        return result.returncode == 0


def split_pem(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", text, re.S)
