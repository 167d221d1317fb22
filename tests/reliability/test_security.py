# SPDX-License-Identifier: Apache-2.0
"""What must never leak, for every login method in turn (token, userpass, ldap,
oidc, approle, aws, cert): after a login, an ssh through `sshcert ssh` and a
logout, no password, token, secret_id, AWS secret, OIDC code or private key is
in the daemon's output, in the client's, in a file under HOME, XDG_RUNTIME_DIR
or TMPDIR, or in the environment of the ssh that `sshcert ssh` started; and
(as root, through /proc/PID/mem) none is left in the daemon's memory. Then the
end-to-end path under valgrind's memcheck: no error, no leak."""

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (LOGIN_USER, PYTHON, Daemon, Sshd, Vault, Workdir, class_workdir, memory_copies, profile_toml,
                     sanitized_build, standin_only)
from test_login_oidc import BROWSER_SCRIPT
from tls_fixture import TestPki

ACCOUNT = "123456789012"
SERVER_ID = "vault.test"
# Markers of private keys in any format a file could hold them in.
PRIVATE_KEY_MARKERS = ("PRIVATE KEY-----", "openssh-key-v1")


@standin_only  # ldap, oidc, aws and cert need the stand-in's directory, provider, STS and test CA
class NothingLeaks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        cls.pki = TestPki(cls.tmp)
        server = cls.pki.server("127.0.0.1")
        cls.vault = v = Vault(cls.tmp, cls.addClassCleanup, tls=(server.cert, server.key, cls.pki.ca.cert),
                              record_secrets=True, sts=True)
        cls.mount, cls.policy, ca = v.machine_ssh_ca()
        cls.sshd = Sshd(cls.tmp, [ca], cls.addClassCleanup)
        cls.password = "pw-" + os.urandom(12).hex()
        cls.mounts = {m: f"{m}-{v.suffix}" for m in ("userpass", "ldap", "oidc", "approle", "aws", "cert")}
        for method, mount in cls.mounts.items():
            v.api("POST", f"sys/auth/{mount}", {"type": method})
        v.add_user(cls.mounts["userpass"], "alice", cls.password, [cls.policy])
        ldap = cls.mounts["ldap"]
        v.api("POST", f"auth/{ldap}/config", {"url": "ldap://127.0.0.1", "userdn": "ou=users,dc=example,dc=com",
                                              "groupdn": "ou=groups,dc=example,dc=com"})
        v.api("POST", f"auth/{ldap}/groups/ops", {"policies": cls.policy})
        v.admin("POST", "ldap_directory", {"mount": ldap, "username": "alice", "password": cls.password, "groups": ["ops"]})
        cls.oidc_port = harness.free_port()
        oidc = cls.mounts["oidc"]
        v.api("POST", f"auth/{oidc}/config", {"oidc_discovery_url": "https://idp.example.com",
                                              "oidc_client_id": "sshcert", "oidc_client_secret": "idp-secret"})
        v.api("POST", f"auth/{oidc}/role/dev", {"user_claim": "email", "token_policies": [cls.policy],
                                                "allowed_redirect_uris": [f"http://localhost:{cls.oidc_port}/oidc/callback"]})
        v.api("POST", f"auth/{cls.mounts['approle']}/role/build", {"token_policies": [cls.policy]})
        aws = cls.mounts["aws"]
        v.api("POST", f"auth/{aws}/config/client", {"sts_endpoint": v.sts_addr, "iam_server_id_header_value": SERVER_ID})
        v.api("POST", f"auth/{aws}/role/builders", {"auth_type": "iam", "resolve_aws_unique_ids": False,
                                                     "bound_iam_principal_arn": [f"arn:aws:iam::{ACCOUNT}:user/ci-*"],
                                                     "token_policies": [cls.policy]})
        cls.aws_user = v.admin("POST", "sts_users", {"arn": f"arn:aws:iam::{ACCOUNT}:user/ci-runner"})
        v.api("POST", f"auth/{cls.mounts['cert']}/certs/machines",
              {"certificate": cls.pki.ca.pem(), "allowed_common_names": "machine-*", "token_policies": [cls.policy]})
        cls.client_cert = cls.pki.client("machine-1")

    def setUp(self):
        self.work = Workdir(self)
        self.started = time.time() - 1
        self.vault.clear_requests()

    # Each method: (the [auth] section, what the login command needs, the secrets it handles).

    def token(self):
        token = self.vault.create_token([self.policy], ttl="1h")
        return '[auth]\nmethod = "token"\n', {"args": ["--method", "token", "--token-stdin"], "input": token + "\n"}, [token]

    def userpass(self):
        return (f'[auth]\nmethod = "userpass"\nmount = "{self.mounts["userpass"]}"\nusername = "alice"\n',
                {"args": ["--password-stdin"], "input": self.password + "\n"}, [self.password])

    def ldap(self):
        return (f'[auth]\nmethod = "ldap"\nmount = "{self.mounts["ldap"]}"\nusername = "alice"\n',
                {"args": ["--password-stdin"], "input": self.password + "\n"}, [self.password])

    def oidc(self):
        browser = self.input_file("browser.py", BROWSER_SCRIPT)
        auth = (f'[auth]\nmethod = "oidc"\nmount = "{self.mounts["oidc"]}"\nrole = "dev"\n'
                f'oidc_listen_port = {self.oidc_port}\n')
        return auth, {"env": {"BROWSER": f"{PYTHON} {browser}"}, "secrets_after": lambda: self.oidc_code(browser)}, []

    def approle(self):
        mount = self.mounts["approle"]
        role_id = self.vault.api("GET", f"auth/{mount}/role/build/role-id")["data"]["role_id"]
        secret_id = self.vault.api("POST", f"auth/{mount}/role/build/secret-id", {})["data"]["secret_id"]
        auth = (f'[auth]\nmethod = "approle"\nmount = "{mount}"\nrole_id_file = "{self.input_file("role_id", role_id)}"\n'
                f'secret_id_file = "{self.input_file("secret_id", secret_id)}"\n')
        return auth, {}, [secret_id]

    def aws(self):
        auth = f'[auth]\nmethod = "aws"\nmount = "{self.mounts["aws"]}"\nrole = "builders"\nheader_value = "{SERVER_ID}"\n'
        env = {"AWS_ACCESS_KEY_ID": self.aws_user["access_key_id"],
               "AWS_SECRET_ACCESS_KEY": self.aws_user["secret_access_key"], "AWS_ENDPOINT_URL_STS": self.vault.sts_addr}
        return auth, {"env": env}, [self.aws_user["secret_access_key"]]

    def cert(self):
        auth = (f'[vault]\naddress = "{self.vault.tls_addr}"\nca_cert = "{self.pki.ca.cert}"\n\n[auth]\nmethod = "cert"\n'
                f'mount = "{self.mounts["cert"]}"\nrole = "machines"\nclient_cert = "{self.client_cert.cert}"\n'
                f'client_key = "{self.client_cert.key}"\n')
        with open(self.client_cert.key) as f:
            key_body = "".join(line.strip() for line in f if "-----" not in line)
        # The key stays in the user's file and is read again at every login: looked for everywhere but in memory.
        return auth, {"vault_addr": "", "kept_in_a_file": [key_body[:48]]}, []

    def input_file(self, name, text):
        """A file the user gave sshcert on purpose (left out of the search)."""
        path = os.path.join(self.work.path, "inputs", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def oidc_code(self, browser):
        with open(browser + ".seen") as f:
            final = json.load(f)["final"]
        query = dict(p.split("=", 1) for p in final.split("?", 1)[1].split("&"))
        return [query["code"]]  # the state is in the URL sshcert shows, by design

    # ---------------------------------------------------------------------------------------------

    def test_no_secret_of_any_login_method_is_left_anywhere(self):
        found = {}
        for method in ("token", "userpass", "ldap", "oidc", "approle", "aws", "cert"):
            with self.subTest(method):
                self.vault.clear_requests()
                found[method] = self.run_method(method)
                self.assertEqual(found[method], {}, f"{method}: secrets left where they must not be")
        where = "HOME, XDG_RUNTIME_DIR, TMPDIR, ssh's environment" + (" and sshcertd's memory" if os.geteuid() == 0 else "")
        print(f"\n  {len(found)} login methods, each logged in, through ssh and out; searched sshcertd's and sshcert's "
              f"output, {where}: {sum(map(bool, found.values()))} left a secret", end=" ")

    def run_method(self, method):
        auth, login, secrets = getattr(self, method)()
        work = os.path.join(self.work.path, method)
        os.makedirs(work)
        config = auth + "\n" + profile_toml("local", ["127.0.0.1"], "ci", mount=self.mount)
        d = Daemon(work, login.get("vault_addr", self.vault.addr), config, self.work.cleanup)
        outputs = []
        r = d.sshcert("login", *login.get("args", []), input=login.get("input"), env=login.get("env"))
        outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, f"{method} login: {r.stderr}\n{d.log()[-2000:]}")
        ssh_env = self.ssh_through_sshcert(d, work, outputs)
        secrets = secrets + login.get("secrets_after", lambda: [])() + sorted(self.vault.tokens_used())
        r = d.sshcert("logout")
        outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(secrets, f"{method}: the test found no secret to look for")

        places = {"sshcertd's log": d.log(), "sshcert's output": "\n".join(outputs), "ssh's environment": ssh_env}
        # Left out: the user's own input files, the class's Vault and CA, and other tests' directories
        # (tests run in parallel make host keys there).
        tmp = tempfile.gettempdir()
        others = [os.path.join(tmp, n) for n in os.listdir(tmp)
                  if n.startswith("sshcert-it-") and os.path.join(tmp, n) != self.work.path]
        places.update((path, data.decode("latin-1")) for path, data in
                      harness.files_changed_since((d.home, d.runtime, tmp), self.started,
                                                  skip=(self.tmp, os.path.join(self.work.path, "inputs"), *others)))
        file_secrets = login.get("kept_in_a_file", [])
        found = {place: [s[:12] + "..." for s in secrets + file_secrets if s in text] +
                        [m for m in PRIVATE_KEY_MARKERS if m in text and place != "ssh's environment"]
                 for place, text in places.items()}
        if os.geteuid() == 0:
            copies = memory_copies(d.proc.pid, [s.encode() for s in secrets])
            found["sshcertd's memory after logout"] = [k.decode()[:12] + "..." for k in copies]
        harness.stop_process(d.proc)
        return {place: what for place, what in found.items() if what}

    def ssh_through_sshcert(self, d, work, outputs):
        """`sshcert ssh` to the sshd, through a wrapper that records the environment ssh gets, then runs it."""
        seen = os.path.join(work, "ssh-environment")
        wrapper = os.path.join(work, "ssh-wrapper")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nenv > '{seen}'\nexec {shutil.which('ssh')} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        r = d.sshcert("ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo reached",
                      env={"SSHCERT_SSH": wrapper})
        outputs += [r.stdout, r.stderr]
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "reached"), r.stderr)
        with open(seen) as f:
            environment = f.read()
        os.unlink(seen)
        self.assertIn(f"HOME={d.home}", environment)
        return environment


class SocketPrivacy(harness.VaultSshTestCase):
    def test_every_socket_is_0600_in_a_0700_directory_and_refuses_another_uid(self):
        profiles = (profile_toml("local", ["127.0.0.1"], "dev", mount=self.mount) +
                    profile_toml("prod", ["*.prod.example"], "dev", mount=self.mount))
        d = self.logged_in_daemon(profiles)
        self.assertEqual(stat.S_IMODE(os.stat(d.socket_dir).st_mode), 0o700)
        sockets = sorted(os.path.join(d.socket_dir, n) for n in os.listdir(d.socket_dir) if n.endswith(".sock"))
        self.assertEqual([os.path.basename(p) for p in sockets],
                         ["agent-local.sock", "agent-prod.sock", "agent.sock", "control.sock"])
        for path in os.listdir(d.socket_dir):
            st = os.lstat(os.path.join(d.socket_dir, path))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, path)
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to connect as another user")
        # Open the modes on purpose: the peer uid check must hold on its own.
        for path in (d.runtime, d.socket_dir):
            os.chmod(path, 0o711)
        for path in sockets:
            os.chmod(path, 0o666)
        probe = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.settimeout(5)\ns.connect(sys.argv[1])\n"
                 "try:\n    s.sendall(b'\\0\\0\\0\\1\\x0b')\n    print(len(s.recv(100)))\n"
                 "except OSError as e:\n    print(0)\n")
        for path in sockets:
            r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", PYTHON, "-c", probe, path],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.stdout.strip(), "0", f"{path} answered another uid: {r.stdout} {r.stderr}")
        self.assertEqual(d.log().count("refused a connection from uid 65534"), len(sockets))
        os.chmod(d.socket_dir, 0o700)  # sshcert itself refuses a directory others may enter
        self.assert_ssh_echoes(d, "still-ours")


VALGRIND_SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "valgrind.supp")


@unittest.skipUnless(shutil.which("valgrind"), "needs valgrind (Debian package valgrind)")
@unittest.skipIf(sanitized_build(), "valgrind cannot run AddressSanitizer's binaries")
class Memcheck(harness.VaultSshTestCase):
    def test_login_ssh_a_second_certificate_status_and_logout_under_memcheck_have_no_error_and_no_leak(self):
        report = os.path.join(self.work.path, "memcheck.xml")
        d = self.daemon(start=False)
        d.start(prefix=["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                        "--show-leak-kinds=definite,indirect,possible", "--errors-for-leak-kinds=definite,indirect,possible",
                        f"--suppressions={VALGRIND_SUPPRESSIONS}", "--track-fds=no", f"--log-file={report}"])
        self.assertEqual(self.login(d).returncode, 0, d.log()[-2000:])
        self.assert_ssh_echoes(d, "under-valgrind")
        self.assertEqual(d.control("ensure", host="127.0.0.1", user="deploy")["ok"], True)
        self.assertEqual(d.sshcert("status").returncode, 0)
        self.assertEqual(d.sshcert("logout").returncode, 0)
        rc = harness.stop_process(d.proc, timeout=60)
        with open(report) as f:
            text = f.read()
        # "==PID==" lines are findings; "--PID--" ones are valgrind's own notes (mlock2, which it does
        # not know, fails with ENOSYS: the daemon then warns that the secure heap is not locked).
        findings = [line for line in text.splitlines() if line.startswith("==")]
        print(f"\n  memcheck over login, ssh, a second certificate, status and logout: exit {rc}, "
              f"{len(findings)} finding lines", end=" ")
        self.assertEqual(rc, 0, f"valgrind found errors or leaks:\n{text[:6000]}")
        self.assertEqual(findings, [], text[:6000])

if __name__ == "__main__":
    unittest.main()
