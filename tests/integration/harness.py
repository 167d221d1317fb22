# SPDX-License-Identifier: Apache-2.0
"""Real parts for end-to-end tests: a Vault (the stand-in, or a real one when
SSHCERT_TEST_VAULT_ADDR and SSHCERT_TEST_VAULT_TOKEN are set), a real OpenSSH
sshd on 127.0.0.1 trusting the Vault CA, and sshcertd in a private temporary
home. Every process started here is stopped by PID when the test ends.

Vault is configured only through its real HTTP API, so the same setup runs
against a real server.
"""

import ctypes
import ctypes.util
import fcntl
import functools
import getpass
import json
import os
import pty
import pwd
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import urllib.error
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
STANDIN = os.path.join(SOURCE_DIR, "tests", "vault_standin", "vault_standin.py")
BUILD_DIR = os.environ.get("SSHCERT_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
SSHCERT = os.path.join(BUILD_DIR, "client", "sshcert")
SSHCERTD = os.path.join(BUILD_DIR, "daemon", "sshcertd")
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
LOGIN_USER = getpass.getuser()


# What must never reach a terminal or a log from outside: C0 controls but newline and tab, DEL, C1 controls.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]")
STANDIN_ONLY = "needs the Vault stand-in's faults or request log (SSHCERT_TEST_VAULT_ADDR is set)"


def standin_only(test):
    """Skips a test that needs the stand-in's admin API when a real Vault is used."""
    return unittest.skipIf(os.environ.get("SSHCERT_TEST_VAULT_ADDR"), STANDIN_ONLY)(test)


def recv_exact(sock, n):
    """Exactly n bytes from sock; ConnectionError when the peer closes first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def recv_frame(sock):
    """One length-prefixed frame (agent and control protocol) from sock: its body."""
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    return recv_exact(sock, length)


def sanitized_build():
    """True when BUILD_DIR was configured with SSHCERT_SANITIZE (ASan and UBSan)."""
    try:
        with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
            return "SSHCERT_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        return False


def cpu_seconds(pid):
    """User plus system CPU time a process has used (/proc/PID/stat utime and stime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    """A process's resident memory (VmRSS) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def memory_copies(pid, needles):
    """Which of `needles` (bytes) occur in the readable memory of process `pid`, and where.

    Needs root: the daemon is not dumpable. Regions over 16 GiB are AddressSanitizer's shadow
    (one metadata byte per 8 bytes of memory, never a copy of data) and are skipped; in regions
    over 64 MiB only the pages present (per /proc/PID/pagemap) are read."""
    found = {}
    page = os.sysconf("SC_PAGE_SIZE")
    overlap = max(len(n) for n in needles) - 1
    with open(f"/proc/{pid}/maps") as maps:
        regions = [line.split() for line in maps]
    with open(f"/proc/{pid}/mem", "rb", 0) as mem, open(f"/proc/{pid}/pagemap", "rb", 0) as pagemap:
        for fields in regions:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            if fields[1][0] != "r" or name in ("[vvar]", "[vvar_vclock]", "[vsyscall]") or end - start > 16 << 30:
                continue
            spans = [(start, end)]
            if end - start > 64 << 20:
                pagemap.seek(start // page * 8)
                entries = pagemap.read((end - start) // page * 8)
                spans = [(start + i * page, start + (i + 1) * page) for i in range(len(entries) // 8)
                         if int.from_bytes(entries[i * 8:i * 8 + 8], "little") >> 62]
            for lo, hi in spans:
                pos, tail = lo, b""
                while pos < hi:
                    try:
                        mem.seek(pos)
                        chunk = mem.read(min(hi - pos, 8 << 20))
                    except OSError:
                        break
                    if not chunk:
                        break
                    data = tail + chunk
                    for n in needles:
                        if n in data:
                            found.setdefault(n, []).append(f"{fields[0]} {fields[1]} {name}")
                    tail = data[-overlap:] if overlap else b""
                    pos += len(chunk)
    return found


def files_changed_since(roots, since, skip=()):
    """(path, bytes) of each regular file under `roots` changed since `since` (Unix seconds), up to 8 MiB,
    leaving out the directories in `skip`: where a secret written by mistake would be."""
    for root in roots:
        for top, dirs, files in os.walk(root, onerror=lambda e: None):
            dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
            for name in files:
                path = os.path.join(top, name)
                try:
                    st = os.lstat(path)
                    if not os.path.isfile(path) or os.path.islink(path) or st.st_mtime < since or st.st_size > 8 << 20:
                        continue
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                yield path, data


def raise_descriptor_limit():
    """Lets this test process hold thousands of connections (the soft limit is often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, timeout=15.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def stop_process(proc, timeout=5.0):
    """SIGTERM, then SIGKILL, by PID; never leaves a child behind."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def run_in_terminal(argv, env, answers=None, timeout=30, stdin=None):
    """Runs argv with a pseudo-terminal as its controlling terminal and its stdout and stderr (and stdin,
    unless `stdin` is given: subprocess.DEVNULL is what ssh gives a Match exec command), typing each
    answer when its prompt appears; returns everything the terminal showed and the exit status. A
    program still running at the timeout is stopped by PID."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(argv, stdin=sub if stdin is None else stdin, stdout=sub, stderr=sub, env=env,
                            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(2, termios.TIOCSCTTY, 0))
    os.close(sub)
    shown, pending, deadline = b"", dict(answers or {}), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break  # the terminal closed: the program is done
            if not chunk:
                break
            shown += chunk
            for prompt in [p for p in pending if p in shown]:
                os.write(main, pending.pop(prompt))
        elif proc.poll() is not None:
            break
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        stop_process(proc)
    os.close(main)
    return shown.decode(errors="replace"), proc.returncode


class VaultError(Exception):
    def __init__(self, status, errors):
        super().__init__(f"HTTP {status}: {errors}")
        self.status = status
        self.errors = errors


class Vault:
    """A Vault to test against, configured through the real API with a root token."""

    def __init__(self, workdir, cleanup, tls=None, record_secrets=False, sts=False):
        """`tls` (stand-in only): (server certificate, its key, client CA or None) PEM paths; the stand-in then
        also serves HTTPS at self.tls_addr, asking for client certificates issued by that CA. `record_secrets`:
        the request log keeps tokens and secrets, for tests that look for them where they must not be. `sts`:
        the stand-in also serves its AWS STS and IMDSv2 look-alikes, at self.sts_addr and self.imds_addr."""
        self.is_standin = not os.environ.get("SSHCERT_TEST_VAULT_ADDR")
        if self.is_standin:
            self.root_token = "hvs.root-" + os.urandom(8).hex()
            port_file = os.path.join(workdir, "vault.port")
            tls_port_file = os.path.join(workdir, "vault-tls.port")
            sts_port_file = os.path.join(workdir, "sts.port")
            imds_port_file = os.path.join(workdir, "imds.port")
            tls_args = ["--sts-port-file", sts_port_file, "--imds-port-file", imds_port_file] if sts else []
            tls_args += [] if tls is None else ["--tls-cert", tls[0], "--tls-key", tls[1], "--tls-port-file", tls_port_file]
            tls_args += ["--tls-client-ca", tls[2]] if tls and tls[2] else []
            self.log = open(os.path.join(workdir, "vault.log"), "w")
            self.proc = subprocess.Popen(
                [PYTHON, STANDIN, "--port", "0", "--port-file", port_file, "--root-token", self.root_token, *tls_args,
                 *(["--record-secrets"] if record_secrets else [])],
                stdout=self.log, stderr=subprocess.STDOUT)
            cleanup(lambda: stop_process(self.proc))
            cleanup(self.log.close)
            wait_for(lambda: os.path.exists(port_file) and (tls is None or os.path.exists(tls_port_file))
                     and (not sts or (os.path.exists(sts_port_file) and os.path.exists(imds_port_file))),
                     "the Vault stand-in to listen", proc=self.proc)
            with open(port_file) as f:
                self.addr = f"http://127.0.0.1:{f.read().strip()}"
            if tls is not None:
                with open(tls_port_file) as f:
                    self.tls_addr = f"https://127.0.0.1:{f.read().strip()}"
            if sts:
                with open(sts_port_file) as f:
                    self.sts_addr = f"http://127.0.0.1:{f.read().strip()}"
                with open(imds_port_file) as f:
                    self.imds_addr = f"http://127.0.0.1:{f.read().strip()}"
        else:
            self.addr = os.environ["SSHCERT_TEST_VAULT_ADDR"].rstrip("/")
            self.root_token = os.environ["SSHCERT_TEST_VAULT_TOKEN"]
        # Unique mount names keep tests independent on a shared real Vault.
        self.suffix = os.urandom(3).hex()

    def api(self, method, path, body=None, token=None, expect_error=False):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.addr}/v1/{path}", data=data, method=method)
        req.add_header("X-Vault-Token", self.root_token if token is None else token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                text = resp.read().decode()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            payload = e.read().decode()
            errors = json.loads(payload).get("errors") if payload.startswith("{") else payload
            if expect_error:
                return VaultError(e.code, errors)
            raise VaultError(e.code, errors) from None

    def enable_ssh(self, mount, key_type="ssh-ed25519"):
        self.api("POST", f"sys/mounts/{mount}", {"type": "ssh"})
        return self.api("POST", f"{mount}/config/ca", {"generate_signing_key": True, "key_type": key_type})["data"]["public_key"]

    def write_role(self, mount, role, **options):
        body = {"key_type": "ca", "allow_user_certificates": True}
        body.update(options)
        self.api("POST", f"{mount}/roles/{role}", body)

    def machine_ssh_ca(self):
        """An SSH CA at ssh-<suffix> whose role "ci" signs for the login user, and policy ci-<suffix>
        allowing it, as the machine-login tests want: (mount, policy, CA public key)."""
        mount, policy = f"ssh-{self.suffix}", f"ci-{self.suffix}"
        ca = self.enable_ssh(mount)
        self.write_role(mount, "ci", allowed_users=LOGIN_USER, default_extensions={"permit-pty": ""}, ttl="30m")
        self.write_policy(policy, f'path "{mount}/sign/*" {{ capabilities = ["update"] }}')
        return mount, policy, ca

    def enable_userpass(self, mount):
        self.api("POST", f"sys/auth/{mount}", {"type": "userpass"})

    def add_user(self, mount, user, password, policies, **options):
        body = {"password": password, "token_policies": policies}
        body.update(options)
        self.api("POST", f"auth/{mount}/users/{user}", body)

    def write_policy(self, name, hcl):
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def create_token(self, policies, **options):
        body = {"policies": policies}
        body.update(options)
        return self.api("POST", "auth/token/create", body)["auth"]["client_token"]

    def requests(self):
        """The requests the stand-in received (stand-in only)."""
        return self._admin("GET", "requests")

    def _admin(self, method, path, body=None):
        """The stand-in's test-only admin API (/_standin/..., not Vault's)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.addr}/_standin/{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
            return json.loads(text) if text else None

    def tokens_used(self):
        """Every Vault token but the root token that requests carried (stand-in with record_secrets)."""
        return {r["headers"]["x-vault-token"] for r in self.requests()
                if r["headers"].get("x-vault-token") not in (None, "", self.root_token)}

    def clear_requests(self):
        self._admin("DELETE", "requests")

    def admin(self, method, path, body=None):
        """Any other admin endpoint of the stand-in (see tests/vault_standin/README.md)."""
        return self._admin(method, path, body)

    def set_faults(self, **faults):
        """Merges these faults into the stand-in's (see tests/vault_standin/README.md)."""
        return self._admin("POST", "faults", faults)

    def clear_faults(self):
        self._admin("DELETE", "faults")

    def set_time_offset(self, seconds):
        """Moves the stand-in's clock by `seconds` from the real one."""
        self._admin("POST", "time_offset", {"seconds": seconds})


class Sshd:
    """OpenSSH's sshd on 127.0.0.1 accepting only certificates signed by the given CA keys.

    With ca_keys=None the configuration names no CA; with start=False the caller
    may build its own configuration from self.config_path and pass it to start()."""

    def __init__(self, workdir, ca_keys, cleanup, extra_config="", start=True):
        self.dir = os.path.join(workdir, "sshd")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.host_key = host_key = os.path.join(self.dir, "host_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key], check=True)
        trusted = ""
        if ca_keys is not None:
            ca_file = os.path.join(self.dir, "trusted_user_ca_keys")
            with open(ca_file, "w") as f:
                f.write("".join(k if k.endswith("\n") else k + "\n" for k in ca_keys))
            trusted = f"TrustedUserCAKeys {ca_file}\n"
        self.config_path = config = os.path.join(self.dir, "sshd_config")
        with open(config, "w") as f:
            f.write(f"""ListenAddress 127.0.0.1:{self.port}
HostKey {host_key}
PidFile none
{trusted}AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
LogLevel VERBOSE
{extra_config}
""")
        self.log_path = os.path.join(self.dir, "sshd.log")
        self._cleanup = cleanup
        if start:
            self.start()

    def start(self, config=None, env=None):
        """`env` is added to sshd's environment (faketime's, to give the host another clock)."""
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", config or self.config_path, "-E", self.log_path],
                                     env={**os.environ, **(env or {})})
        self._cleanup(lambda: stop_process(self.proc))

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_for(listening, "sshd to listen", proc=self.proc)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def ssh_options(self):
        """ssh options that reach this sshd without touching the user's own ssh config or known_hosts."""
        return ["-F", "/dev/null", "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                "-o", "IdentitiesOnly=no",
                # OpenSSH 9's default sntrup761 exchange costs ~0.2 s of CPU per connection; tests need no post-quantum KEX.
                "-o", "KexAlgorithms=curve25519-sha256"]


PASSWORD = "correct horse battery staple"


class LoginSetup:
    """What the login journey needs: a Vault with an SSH CA at mount ssh-<suffix>, role "dev"
    signing for `allowed_users`, policy ssh-user-<suffix> allowing it, userpass user alice with
    PASSWORD at userpass-<suffix>, and an sshd trusting the CA, with `sshd_config` added to its configuration."""

    def __init__(self, workdir, cleanup, allowed_users=LOGIN_USER, sshd_config="", tls=None, **role_options):
        self.vault = v = Vault(workdir, cleanup, tls=tls)
        self.mount = f"ssh-{v.suffix}"
        self.userpass = f"userpass-{v.suffix}"
        self.policy = f"ssh-user-{v.suffix}"
        self.ca_key = v.enable_ssh(self.mount)
        v.write_role(self.mount, "dev", allowed_users=allowed_users, **{
            "default_extensions": {"permit-pty": ""}, "ttl": "30m", **role_options})
        v.write_policy(self.policy, f'path "{self.mount}/sign/*" {{ capabilities = ["create", "update"] }}')
        v.enable_userpass(self.userpass)
        v.add_user(self.userpass, "alice", PASSWORD, [self.policy])
        self.sshd = Sshd(workdir, [self.ca_key], cleanup, extra_config=sshd_config)

    def config_toml(self, profiles=None, username=None):
        """A config that logs in with userpass (as `username`, else $USER, by default), with profile "local"
        for 127.0.0.1 unless given others."""
        if profiles is None:
            profiles = profile_toml("local", ["127.0.0.1", "localhost"], "dev", mount=self.mount)
        user = f'username = "{username}"\n' if username else ""
        return f'[auth]\nmethod = "userpass"\n{user}mount = "{self.userpass}"\n\n' + profiles


class Daemon:
    """sshcertd with its own HOME, XDG_RUNTIME_DIR and config, and a way to run sshcert against it."""

    def __init__(self, workdir, vault_addr, config_toml, cleanup, start=True, env=None, sshcertd=SSHCERTD, sshcert=SSHCERT):
        self.sshcertd_path = sshcertd
        self.sshcert_path = sshcert
        self.home = os.path.join(workdir, "home")
        self.runtime = os.path.join(workdir, "run")
        self.config_dir = os.path.join(self.home, ".config", "sshcert")
        os.makedirs(self.config_dir, exist_ok=True)
        os.makedirs(self.runtime, mode=0o700, exist_ok=True)
        self.config_path = os.path.join(self.config_dir, "config.toml")
        with open(self.config_path, "w") as f:
            f.write(config_toml)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "USER": LOGIN_USER,
            "XDG_RUNTIME_DIR": self.runtime,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "VAULT_ADDR": vault_addr,
            "LANG": "C.UTF-8",
        }
        self.env.update(env or {})
        self.socket_dir = os.path.join(self.runtime, "sshcert")
        self.agent_socket = os.path.join(self.socket_dir, "agent.sock")
        self.control_socket = os.path.join(self.socket_dir, "control.sock")
        self.log_path = os.path.join(workdir, "sshcertd.log")
        self.proc = None
        self._killed = set()
        self._cleanup = cleanup
        # Registered first, so it runs after every stop: no kept login outlives the test.
        cleanup(forget_kept_login, self.socket_dir, self.env["VAULT_ADDR"])
        if start:
            self.start()

    def start(self, *args, prefix=()):
        """Starts sshcertd; `prefix` runs it through a wrapper such as setpriv."""
        self.log_file = open(self.log_path, "a")
        self.proc = subprocess.Popen([*prefix, self.sshcertd_path, "--verbose", *args], env=self.env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        self._cleanup(self.log_file.close)
        self._cleanup(self._stop_and_check, self.proc)
        wait_for(lambda: os.path.exists(self.control_socket) and os.path.exists(self.agent_socket),
                 "sshcertd's sockets", proc=self.proc)

    def wait_for_clock_probe(self):
        """Until the sys/health that measures clock skew at start has been answered: a test that clears
        the stand-in's request log after this sees only the requests its own steps cause."""
        wait_for(lambda: "clock_skew_seconds" in self.control("status").get("result", {}), "sshcertd's clock skew probe",
                 proc=self.proc)

    def start_socket_activated(self, names=("agent", "control"), notify=None):
        """systemd-socket-activate listens on both sockets under the given FileDescriptorName=s and execs
        sshcertd (same PID) on the first connection, as a socket unit would start sshcertd.service."""
        os.makedirs(self.socket_dir, mode=0o700, exist_ok=True)
        env = dict(self.env)
        if notify is not None:
            env["NOTIFY_SOCKET"] = notify.path
        # systemd-socket-activate passes on only what -E names (and PATH, HOME, USER, TERM).
        passed = [a for name in env if name not in ("PATH", "HOME", "USER") for a in ("-E", name)]
        self.log_file = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            ["systemd-socket-activate", "-l", self.agent_socket, "-l", self.control_socket,
             "--fdname=" + ":".join(names), *passed, self.sshcertd_path, "--verbose"],
            env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        self._cleanup(lambda p=self.proc: stop_process(p))
        self._cleanup(self.log_file.close)
        wait_for(lambda: "Listening on " + self.control_socket in self.log(), "systemd-socket-activate to listen",
                 proc=self.proc)

    def program(self):
        """What runs as self.proc now: systemd-socket-activate until the first connection, then sshcertd."""
        return os.path.basename(os.readlink(f"/proc/{self.proc.pid}/exe"))

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        """SIGKILL, as the OOM killer or a crash would stop it: nothing is cleaned up."""
        self.proc.kill()
        self.proc.wait()
        self._killed.add(self.proc.pid)

    def _stop_and_check(self, proc):
        """Stops the daemon; a clean SIGTERM exits 0, and sanitizer reports fail the test."""
        rc = stop_process(proc)
        if proc.pid in self._killed:
            return
        log = self.log()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in log:
                raise AssertionError(f"sshcertd reported a sanitizer error:\n{log[log.index(marker) - 200:][:4000]}")
        if rc != 0:
            raise AssertionError(f"sshcertd exited with {rc} after SIGTERM; log:\n{log[-3000:]}")

    def sshcert(self, *args, input=None, env=None, timeout=60):
        full_env = dict(self.env)
        full_env.update(env or {})
        return subprocess.run([self.sshcert_path, *args], input=input, capture_output=True, text=True,
                              env=full_env, timeout=timeout)

    def control(self, op, **fields):
        """One request on the control socket, as sshcert sends it; returns the decoded reply."""
        body = json.dumps({"version": 1, "op": op, **fields}).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(self.control_socket)
            s.sendall(struct.pack(">I", len(body)) + body)
            return json.loads(recv_frame(s))

    def leaks(self, *secrets):
        """Where under HOME and in the daemon's log any of `secrets` appears: (place, secret) pairs."""
        places = [(self.log_path, self.log())]
        for root, _dirs, files in os.walk(self.home):
            for name in files:
                path = os.path.join(root, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, errors="replace") as f:
                    places.append((path, f.read()))
        return [(place, secret) for place, text in places for secret in secrets if secret and secret in text]

    def agent_env(self):
        env = dict(self.env)
        env["SSH_AUTH_SOCK"] = self.agent_socket
        return env


@functools.lru_cache(maxsize=None)
def keyutils_lib():
    """libkeyutils through ctypes, or None where it is missing."""
    name = ctypes.util.find_library("keyutils")
    if not name:
        return None
    lib = ctypes.CDLL(name, use_errno=True)
    lib.keyctl_search.argtypes = [ctypes.c_int32, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32]
    lib.keyctl_search.restype = ctypes.c_long
    lib.keyctl_get_persistent.argtypes = [ctypes.c_int, ctypes.c_int32]
    lib.keyctl_get_persistent.restype = ctypes.c_long
    lib.keyctl_invalidate.argtypes = [ctypes.c_int32]
    lib.keyctl_invalidate.restype = ctypes.c_long
    return lib


KEY_SPEC_PROCESS_KEYRING = -2


def kept_login_key(runtime_dir, vault_addr, namespace="", uid=-1):
    """The id of the login sshcertd keeps in uid's persistent keyring for that runtime dir and
    Vault (LoginStore::name_for), or None."""
    lib = keyutils_lib()
    if lib is None:
        return None
    keyring = lib.keyctl_get_persistent(uid, KEY_SPEC_PROCESS_KEYRING)
    if keyring < 0:
        return None
    name = f"sshcert:{runtime_dir}:{vault_addr}" + (f"#{namespace}" if namespace else "")
    key = lib.keyctl_search(keyring, b"user", name.encode(), 0)
    return key if key >= 0 else None


def forget_kept_login(runtime_dir, vault_addr):
    """Removes what a test's sshcertd kept in the keyring (the current user's and, for root, nobody's),
    so no test leaves a key behind on the machine."""
    lib = keyutils_lib()
    if lib is None:
        return
    uids = [-1]
    if os.geteuid() == 0:
        try:
            uids.append(pwd.getpwnam("nobody").pw_uid)
        except KeyError:
            pass
    for uid in uids:
        key = kept_login_key(runtime_dir, vault_addr, uid=uid)
        if key is not None:
            lib.keyctl_invalidate(key)


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET; collects what sd_notify sends."""

    def __init__(self, workdir, cleanup):
        self.path = os.path.join(workdir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        cleanup(self.sock.close)
        self.messages = []

    def wait_for(self, field, timeout=10.0):
        """Every message received up to and including the first with a line starting with `field`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.messages):
                if any(line.startswith(field) for line in m.split("\n")):
                    taken, self.messages = self.messages[:i + 1], self.messages[i + 1:]
                    return taken
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {field} among the notifications {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def statuses(self, taken):
        return [line[len("STATUS="):] for m in taken for line in m.split("\n") if line.startswith("STATUS=")]


def profile_toml(name, hosts, role, mount="ssh", **extra):
    lines = ["[[profile]]", f'name = "{name}"', "hosts = [" + ", ".join(f'"{h}"' for h in hosts) + "]",
             f'role = "{role}"', f'mount = "{mount}"']
    for key, value in extra.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def make_workdir():
    path = tempfile.mkdtemp(prefix="sshcert-it-")
    os.chmod(path, 0o755)  # sshd (as root) and `nobody` may need to traverse it
    return path


def class_workdir(cls):
    """A temporary directory for a test class (unittest's setUpClass)."""
    path = make_workdir()
    cls.addClassCleanup(shutil.rmtree, path, True)
    return path


class Workdir:
    """A temporary directory plus a LIFO list of cleanups, for unittest's addCleanup."""

    def __init__(self, testcase):
        self.path = make_workdir()
        testcase.addCleanup(shutil.rmtree, self.path, True)
        self.cleanup = testcase.addCleanup



class VaultSshTestCase(unittest.TestCase):
    """A LoginSetup shared by a test class (role "dev" signs for the login user and "deploy"),
    and a fresh sshcertd per test. `sshd_config` is added to the sshd's configuration; `vault_tls(workdir)`,
    when a class defines it, gives the stand-in's HTTPS listener its (certificate, key, client CA)."""

    sshd_config = ""
    vault_tls = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        tls = cls.vault_tls(cls.tmp) if cls.vault_tls else None
        cls.fixture = f = LoginSetup(cls.tmp, cls.addClassCleanup, allowed_users=f"{LOGIN_USER},deploy", max_ttl="1h",
                                     sshd_config=cls.sshd_config, tls=tls)
        cls.vault, cls.mount, cls.userpass, cls.ca_key, cls.sshd = f.vault, f.mount, f.userpass, f.ca_key, f.sshd

    def setUp(self):
        self.work = Workdir(self)

    def daemon(self, profiles=None, username=None, **kwargs):
        return Daemon(self.work.path, self.vault.addr, self.fixture.config_toml(profiles, username), self.work.cleanup, **kwargs)

    def login(self, d, password=PASSWORD, user="alice"):
        return d.sshcert("login", "--username", user, "--password-stdin", input=password + "\n")

    def ssh(self, d, *args, destination=None, sshd=None, options=()):
        """`sshcert ssh` to the class's sshd (or `sshd`); `options` go to ssh before the destination."""
        dest = destination or f"{LOGIN_USER}@127.0.0.1"
        return d.sshcert("ssh", *(sshd or self.sshd).ssh_options(), *options, dest, *args)

    def status(self, d):
        """`sshcert status --json`, decoded."""
        r = d.sshcert("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def logged_in_daemon(self, profiles=None, **kwargs):
        """A fresh sshcertd, logged in as alice."""
        d = self.daemon(profiles, **kwargs)
        r = self.login(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        return d

    def assert_ssh_echoes(self, d, word, **ssh_kwargs):
        """`sshcert ssh ... echo word` logs in and prints word; returns the finished process."""
        r = self.ssh(d, f"echo {word}", **ssh_kwargs)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, word), r.stderr)
        return r
