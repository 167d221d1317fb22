"""Test certificates made at run time with the openssl command-line tool.

    pki = TestPki(directory)          # a CA (ca.pem, ca.key)
    server = pki.server("127.0.0.1")  # server certificate with an IP SAN
    client = pki.client("machine-1")  # client certificate (clientAuth)

Each call returns a Bundle with the paths of the PEM certificate and its key.
Nothing is checked in: keys live in the directory the test made and removes.
"""

import ipaddress
import os
import subprocess
from dataclasses import dataclass

OPENSSL = "openssl"


@dataclass
class Bundle:
    cert: str
    key: str

    def pem(self):
        with open(self.cert, encoding="ascii") as handle:
            return handle.read()


def _run(*args):
    subprocess.run([OPENSSL, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class TestPki:
    """A test CA in `directory` that issues server and client certificates."""

    def __init__(self, directory, name="sshcert test CA"):
        self.directory = directory
        self._serial = 1
        self.ca = self._self_signed("ca", name)

    def _path(self, name, suffix):
        return os.path.join(self.directory, f"{name}.{suffix}")

    def _new_key(self, name):
        key = self._path(name, "key")
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        os.chmod(key, 0o600)
        return key

    def _self_signed(self, name, common_name):
        key = self._new_key(name)
        cert = self._path(name, "pem")
        _run("req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2", "-subj",
             f"/CN={common_name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash")
        return Bundle(cert, key)

    def _issue(self, name, common_name, extensions):
        key = self._new_key(name)
        csr, cert, ext = (self._path(name, suffix) for suffix in ("csr", "pem", "ext"))
        with open(ext, "w", encoding="ascii") as handle:
            handle.write("\n".join(["basicConstraints=CA:FALSE",
                                    "subjectKeyIdentifier=hash",
                                    "authorityKeyIdentifier=keyid", *extensions]) + "\n")
        _run("req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={common_name}")
        self._serial += 1
        _run("x509", "-req", "-in", csr, "-CA", self.ca.cert, "-CAkey", self.ca.key,
             "-set_serial", str(self._serial), "-days", "1", "-out", cert, "-extfile", ext)
        return Bundle(cert, key)

    def server(self, host="127.0.0.1"):
        try:
            san = f"IP:{ipaddress.ip_address(host)}"
        except ValueError:
            san = f"DNS:{host}"
        return self._issue(f"server-{host}", host, [f"subjectAltName={san}",
                                                    "extendedKeyUsage=serverAuth"])

    def client(self, common_name):
        return self._issue(f"client-{common_name}", common_name, ["extendedKeyUsage=clientAuth"])
