"""Key generation and certificate signing with OpenSSH's ssh-keygen.

Certificates must be real (tests check them with ssh-keygen -L and sshd), and
the Python standard library has no Ed25519/ECDSA/RSA signing, so every
cryptographic operation runs ssh-keygen in a private temporary directory.
"""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from .sshwire import authorized_key_line

SSH_KEYGEN = "/usr/bin/ssh-keygen" if os.path.exists("/usr/bin/ssh-keygen") else (
    shutil.which("ssh-keygen") or "ssh-keygen")

_TIMEOUT_SECONDS = 60


class KeygenError(RuntimeError):
    pass


@dataclass
class CertificateSpec:
    key_id: str
    principals: list
    valid_after: int
    valid_before: int
    serial: int
    host: bool
    critical_options: dict
    extensions: dict
    # An RSA signature algorithm for ssh-keygen -t ("rsa-sha2-256"); None keeps the CA's own.
    signature_algorithm: str = None


def _run(args, workdir):
    try:
        result = subprocess.run([SSH_KEYGEN, *args], cwd=workdir, capture_output=True,
                                text=True, timeout=_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise KeygenError(f"ssh-keygen failed: {err}") from None
    if result.returncode != 0:
        raise KeygenError(result.stderr.strip() or f"ssh-keygen exited with {result.returncode}")
    return result


def _write_private(path, text):
    # ssh-keygen refuses private key files that others can read.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")


def generate_keypair(algorithm, bits, parent_dir=None):
    """Generate a key pair; returns ("type base64\\n", private key text).

    algorithm is an ssh-keygen -t value: "rsa", "ecdsa" or "ed25519".
    """
    with tempfile.TemporaryDirectory(dir=parent_dir) as workdir:
        args = ["-q", "-t", algorithm, "-N", "", "-C", "", "-f", "key"]
        if bits:
            args[3:3] = ["-b", str(bits)]
        _run(args, workdir)
        with open(os.path.join(workdir, "key.pub"), encoding="utf-8") as handle:
            public = authorized_key_line(handle.read()) + "\n"
        with open(os.path.join(workdir, "key"), encoding="utf-8") as handle:
            private = handle.read()
    return public, private


def public_key_of(private_key, parent_dir=None):
    """The public half of a private key, or KeygenError if ssh-keygen cannot load it."""
    with tempfile.TemporaryDirectory(dir=parent_dir) as workdir:
        path = os.path.join(workdir, "key")
        _write_private(path, private_key)
        result = _run(["-y", "-P", "", "-f", path], workdir)
    return authorized_key_line(result.stdout)


def _option_args(spec):
    # "clear" drops ssh-keygen's default permit-* extensions, so the
    # certificate carries exactly the options Vault decided on.
    args = ["-O", "clear"]
    for prefix, options in (("critical", spec.critical_options), ("extension", spec.extensions)):
        for name in sorted(options):
            value = options[name]
            args += ["-O", f"{prefix}:{name}={value}" if value else f"{prefix}:{name}"]
    return args


def sign(ca_private_key, subject_key_line, spec, parent_dir=None):
    """Certify subject_key_line ("type base64") with the CA key; returns "type base64\\n"."""
    with tempfile.TemporaryDirectory(dir=parent_dir) as workdir:
        ca_path = os.path.join(workdir, "ca")
        _write_private(ca_path, ca_private_key)
        with open(os.path.join(workdir, "subject.pub"), "w", encoding="utf-8") as handle:
            handle.write(subject_key_line + "\n")
        args = ["-q", "-s", ca_path, "-I", spec.key_id, "-z", str(spec.serial),
                "-V", f"0x{spec.valid_after:x}:0x{spec.valid_before:x}"]
        if spec.host:
            args.append("-h")
        if spec.principals:
            args += ["-n", ",".join(spec.principals)]
        if spec.signature_algorithm:
            args += ["-t", spec.signature_algorithm]
        args += _option_args(spec)
        _run([*args, "subject.pub"], workdir)
        with open(os.path.join(workdir, "subject-cert.pub"), encoding="utf-8") as handle:
            return authorized_key_line(handle.read()) + "\n"
