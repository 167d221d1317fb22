# SPDX-License-Identifier: Apache-2.0
"""A machine's login with AppRole: the role_id and secret_id read from files by
the daemon, a response-wrapped secret_id unwrapped once, and the daemon logging in
again by itself when the token ends, with a rotated secret_id picked up."""

import json
import os
import unittest
import urllib.request

from harness import (LOGIN_USER, Daemon, Sshd, Vault, Workdir, class_workdir, profile_toml, standin_only,
                     wait_for)

TOKEN_TTL = 4  # seconds: the token ends soon, so the test sees the daemon log in again


class AppRoleLogin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        cls.vault = v = Vault(cls.tmp, cls.addClassCleanup, record_secrets=True)
        cls.mount, policy, ca = v.machine_ssh_ca()
        cls.approle = f"approle-{v.suffix}"
        v.api("POST", f"sys/auth/{cls.approle}", {"type": "approle"})
        for role, ttl in (("build", "1h"), ("short", f"{TOKEN_TTL}s")):
            v.api("POST", f"auth/{cls.approle}/role/{role}",
                  {"token_policies": [policy], "token_ttl": ttl, "token_max_ttl": ttl, "secret_id_num_uses": 1})
        cls.sshd = Sshd(cls.tmp, [ca], cls.addClassCleanup)

    def setUp(self):
        self.work = Workdir(self)
        if self.vault.is_standin:
            self.vault.clear_requests()

    def role_id(self, role):
        return self.vault.api("GET", f"auth/{self.approle}/role/{role}/role-id")["data"]["role_id"]

    def secret_id(self, role):
        return self.vault.api("POST", f"auth/{self.approle}/role/{role}/secret-id", {})["data"]["secret_id"]

    def wrapped_secret_id(self, role):
        req = urllib.request.Request(f"{self.vault.addr}/v1/auth/{self.approle}/role/{role}/secret-id", data=b"{}",
                                     method="POST", headers={"X-Vault-Token": self.vault.root_token,
                                                             "X-Vault-Wrap-TTL": "5m"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)["wrap_info"]["token"]

    def write(self, name, text):
        path = os.path.join(self.work.path, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def daemon(self, role, secret_text, wrapped=False):
        self.role_file = self.write("role_id", self.role_id(role))
        self.secret_file = self.write("secret_id", secret_text)
        auth = (f'[auth]\nmethod = "approle"\nmount = "{self.approle}"\nrole_id_file = "{self.role_file}"\n'
                f'secret_id_file = "{self.secret_file}"\n' + ("secret_id_wrapped = true\n" if wrapped else ""))
        return Daemon(self.work.path, self.vault.addr, auth + profile_toml("local", ["127.0.0.1"], "ci", mount=self.mount),
                      self.work.cleanup)

    def logins(self):
        return [r for r in self.vault.requests() if r["path"].endswith(f"auth/{self.approle}/login")]

    def ssh_works(self, d):
        r = d.sshcert("ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo approle-ok")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "approle-ok"), r.stderr)

    def test_login_from_files_gives_certificates_and_no_secret_reaches_the_log_or_home(self):
        secret = self.secret_id("build")
        d = self.daemon("build", secret)
        r = d.sshcert("login")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("as approle", r.stdout)
        self.ssh_works(d)
        self.assertNotIn(secret, d.log())
        if self.vault.is_standin:
            tokens = self.vault.tokens_used()
            self.assertTrue(tokens)
            self.assertEqual(d.leaks(secret, *tokens), [])

    @standin_only
    def test_the_daemon_logs_in_again_by_itself_reading_the_rotated_secret_id(self):
        d = self.daemon("short", self.secret_id("short"))
        self.assertEqual(d.sshcert("login").returncode, 0)
        # Each secret_id works once: the next login succeeds only with the new file's.
        self.write("secret_id", self.secret_id("short"))
        wait_for(lambda: len([r for r in self.logins() if r["status"] == 200]) >= 2, "the daemon to log in again",
                 timeout=TOKEN_TTL * 3)
        wait_for(lambda: json.loads(d.sshcert("status", "--json").stdout)["logged_in"], "the new login in status")
        self.assertIn("logging in again with approle", d.log())
        self.ssh_works(d)

    @standin_only
    def test_a_wrapped_secret_id_is_unwrapped_once_and_kept_in_memory_for_the_next_logins(self):
        token = self.wrapped_secret_id("build")
        d = self.daemon("build", token, wrapped=True)
        r = d.sshcert("login")
        self.assertEqual(r.returncode, 0, r.stderr)
        unwraps = [q for q in self.vault.requests() if q["path"].endswith("sys/wrapping/unwrap")]
        self.assertEqual(len(unwraps), 1)
        self.ssh_works(d)
        # The wrapping token is spent: a login from the file again says what to do.
        again = d.sshcert("login")
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("would not unwrap the secret_id in " + self.secret_file, again.stderr)
        self.assertIn("freshly wrapped secret_id", again.stderr)

    def test_missing_files_and_a_wrong_secret_id_say_what_to_fix(self):
        d = self.daemon("build", "not-the-secret-id")
        r = d.sshcert("login")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("Vault rejected the approle login", r.stderr)
        self.assertIn("invalid role or secret ID", r.stderr)
        os.unlink(self.secret_file)
        r = d.sshcert("login")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"cannot read secret_id_file {self.secret_file}", r.stderr)


if __name__ == "__main__":
    unittest.main()
