# SPDX-License-Identifier: Apache-2.0
"""Vault as it really behaves, beyond the happy path: dead tokens on Vault
before 1.17, SHA-1 certificates from RSA CAs, clock skew, tokens without the
default policy, roles without extensions or TTL, identity templates and batch
tokens. Each case is met as a user meets it: `sshcert` output, status and a
real ssh login to a real sshd."""

import os
import subprocess
import time
import unittest

from harness import (CONTROL_CHARACTERS, LOGIN_USER, PASSWORD, Daemon, Sshd, VaultSshTestCase, profile_toml, run_in_terminal,
                     standin_only, stop_process)



class VaultFidelity(VaultSshTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        v, f = cls.vault, cls.fixture
        cls.rsa_mount = f"sshrsa-{v.suffix}"
        cls.rsa_ca_key = v.enable_ssh(cls.rsa_mount, key_type="ssh-rsa")
        v.write_policy(f.policy, "\n".join(f'path "{m}/sign/*" {{ capabilities = ["create", "update"] }}'
                                           for m in (cls.mount, cls.rsa_mount)))
        pty = {"permit-pty": ""}
        v.write_role(cls.rsa_mount, "sha1", allowed_users=LOGIN_USER, algorithm_signer="ssh-rsa", default_extensions=pty, ttl="30m")
        v.write_role(cls.rsa_mount, "sha2", allowed_users=LOGIN_USER, algorithm_signer="rsa-sha2-256", default_extensions=pty, ttl="30m")
        v.write_role(cls.mount, "bare", allowed_users=LOGIN_USER, ttl="30m")  # no default_extensions
        v.write_role(cls.mount, "untimed", allowed_users=LOGIN_USER, default_extensions=pty)  # no ttl, no max_ttl
        # The test's sshd keeps this machine's time, not Vault's: certificates are backdated past the skew.
        v.write_role(cls.mount, "skewed", allowed_users=LOGIN_USER, default_extensions=pty, ttl="30m", not_before_duration="10m")
        auth = v.api("GET", "sys/auth")
        accessor = auth.get("data", auth)[f"{cls.userpass}/"]["accessor"]
        v.write_role(cls.mount, "self", allowed_users=f"{{{{identity.entity.aliases.{accessor}.name}}}}",
                     allowed_users_template=True, default_extensions=pty, ttl="30m")

    def setUp(self):
        super().setUp()
        if self.vault.is_standin:
            self.vault.clear_faults()
            self.vault.clear_requests()
            self.vault.set_time_offset(0)
            self.addCleanup(self.vault.set_time_offset, 0)
            self.addCleanup(self.vault.clear_faults)

    def ensure(self, d, host="127.0.0.1", user=LOGIN_USER):
        reply = d.control("ensure", host=host, user=user)
        self.assertTrue(reply["ok"], reply)
        return reply["result"]

    def login_token(self, d, token):
        r = d.sshcert("login", "--method", "token", "--token-stdin", input=token + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    # Dead tokens --------------------------------------------------------------------------------

    def test_a_token_revoked_at_vault_means_log_in_again_even_on_vault_before_1_17(self):
        if self.vault.is_standin:
            self.vault.set_faults(legacy_token_errors=True)  # a dead token gets a bare "permission denied"
        token = self.vault.create_token([self.fixture.policy], ttl="1h")
        d = self.daemon()
        self.login_token(d, token)
        self.vault.api("POST", "auth/token/revoke", {"token": token})
        reply = d.control("ensure", host="127.0.0.1", user=LOGIN_USER)
        self.assertFalse(reply["ok"], reply)
        self.assertEqual(reply["error"]["code"], "not_logged_in", reply)
        self.assertIn("sshcert login", reply["error"]["message"])
        self.assertFalse(self.status(d)["logged_in"])
        self.assertIn("nobody", d.sshcert("status").stdout)
        r = self.ssh(d, "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("run: sshcert login", r.stderr)

    @standin_only
    def test_ssh_at_a_terminal_asks_for_a_new_login_when_vault_before_1_17_denies_a_dead_token(self):
        self.vault.set_faults(legacy_token_errors=True)
        token = self.vault.create_token([self.fixture.policy], ttl="1h")
        d = self.daemon(username="alice")
        self.login_token(d, token)
        self.vault.api("POST", "auth/token/revoke", {"token": token})
        shown, _ = run_in_terminal([d.sshcert_path, "ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo remote-ok"],
                                   d.env, answers={b"Vault password for alice": PASSWORD.encode() + b"\n"})
        self.assertIn("Vault password for alice", shown)
        self.assertIn("remote-ok", shown)
        self.assertTrue(self.status(d)["logged_in"])

    # SHA-1 from an RSA CA -----------------------------------------------------------------------

    def test_an_rsa_ca_signing_with_sha1_is_refused_naming_the_role_setting(self):
        sshd = Sshd(self.work.path, [self.rsa_ca_key], self.work.cleanup)
        d = self.daemon(profile_toml("old-rsa", ["127.0.0.1"], "sha1", mount=self.rsa_mount) +
                        profile_toml("new-rsa", ["localhost"], "sha2", mount=self.rsa_mount))
        self.assertEqual(self.login(d).returncode, 0)
        r = self.ssh(d, "echo should-not-run", sshd=sshd)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertNotIn("should-not-run", r.stdout)
        self.assertIn("algorithm_signer=rsa-sha2-256", r.stderr)
        self.assertIn("'sha1'", r.stderr)
        self.assertEqual(self.status(d)["certificates"], [])
        # What the message says to do works: the same CA with rsa-sha2-256 logs in.
        self.assert_ssh_echoes(d, "sha2-ok", sshd=sshd, options=["-o", "HostName=127.0.0.1"], destination=f"{LOGIN_USER}@localhost")

    # Clock skew ---------------------------------------------------------------------------------

    @standin_only
    def test_certificates_work_with_vaults_clock_five_minutes_ahead_or_behind(self):
        for offset in (300, -300):
            with self.subTest(vault_clock=offset):
                self.vault.set_time_offset(offset)
                self.vault.clear_requests()
                work = os.path.join(self.work.path, f"skew{offset}")
                os.makedirs(work)
                d = Daemon(work, self.vault.addr,
                           self.fixture.config_toml(profile_toml("local", ["127.0.0.1"], "skewed", mount=self.mount)),
                           self.work.cleanup)
                self.assertEqual(self.login(d).returncode, 0)
                for attempt in ("first", "second"):
                    self.assert_ssh_echoes(d, attempt)
                signs = [q for q in self.vault.requests() if q["path"].endswith(f"{self.mount}/sign/skewed")]
                self.assertEqual(len(signs), 1, "the second ssh reused the certificate")
                status = self.status(d)
                self.assertIn("clock_skew_seconds", status)
                self.assertLessEqual(abs(status["clock_skew_seconds"] - offset), 10, status)
                self.assertEqual(len(status["certificates"]), 1)
                stop_process(d.proc)

    # Policies -----------------------------------------------------------------------------------

    def test_a_token_without_the_default_policy_logs_in_and_signs(self):
        self.vault.add_user(self.userpass, "nodefault", PASSWORD, [self.fixture.policy], token_no_default_policy=True)
        d = self.daemon()
        r = self.login(d, user="nodefault")
        self.assertEqual(r.returncode, 0, r.stderr)
        status = self.status(d)
        self.assertTrue(status["logged_in"])
        self.assertNotIn("default", status["token"]["policies"])
        self.assert_ssh_echoes(d, "no-default-policy")

    # What the role leaves out -------------------------------------------------------------------

    def test_a_role_without_default_extensions_gives_a_warning(self):
        d = self.logged_in_daemon(profile_toml("bare", ["127.0.0.1"], "bare", mount=self.mount))
        result = self.ensure(d)
        self.assertEqual(result["certificate"]["extensions"], [])
        warnings = result.get("warnings", [])
        self.assertTrue(any("default_extensions" in w for w in warnings), result)
        r = self.assert_ssh_echoes(d, "bare")
        self.assertRegex(r.stderr, r"warning: .*default_extensions")

    @standin_only
    def test_vaults_own_warnings_on_a_signature_are_shown_cleaned(self):
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/", sign_warnings=["role dev is deprecated \x1b[31msoon\x1b[0m"])
        d = self.logged_in_daemon()
        r = subprocess.run([d.sshcert_path, "ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo warned"],
                           env=d.env, capture_output=True, timeout=60)
        stderr = r.stderr.decode()
        self.assertEqual((r.returncode, r.stdout.decode().strip()), (0, "warned"), stderr)
        self.assertRegex(stderr, r"warning: .*role dev is deprecated")
        self.assertEqual(CONTROL_CHARACTERS.findall(stderr.replace("\n", "")), [], repr(stderr))

    def test_no_ttl_in_profile_or_role_gives_a_32_day_certificate_and_a_warning(self):
        d = self.logged_in_daemon(profile_toml("untimed", ["127.0.0.1"], "untimed", mount=self.mount))
        result = self.ensure(d)
        cert = result["certificate"]
        self.assertGreaterEqual(cert["valid_before"] - cert["valid_after"], 31 * 86400)
        warnings = result.get("warnings", [])
        self.assertTrue(any("ttl" in w for w in warnings), result)
        r = self.assert_ssh_echoes(d, "untimed")
        self.assertRegex(r.stderr, r"warning: .*ttl")

    # Identity templates -------------------------------------------------------------------------

    def test_an_identity_template_lets_a_user_sign_for_their_own_name_only(self):
        principals = os.path.join(self.work.path, "principals")
        with open(principals, "w") as f:
            f.write("alice\n")
        sshd = Sshd(self.work.path, [self.ca_key], self.work.cleanup, extra_config=f"AuthorizedPrincipalsFile {principals}")
        d = self.daemon(profile_toml("mine", ["127.0.0.1"], "self", mount=self.mount, principals=["alice"]) +
                        profile_toml("theirs", ["localhost"], "self", mount=self.mount, principals=["bob"]))
        self.assertEqual(self.login(d).returncode, 0)
        self.assert_ssh_echoes(d, "as-alice", sshd=sshd)
        self.assertEqual([c["principals"] for c in self.status(d)["certificates"]], [["alice"]])
        r = self.ssh(d, "true", sshd=sshd, options=["-o", "HostName=127.0.0.1"], destination=f"{LOGIN_USER}@localhost")
        self.assertEqual(r.returncode, 2)
        self.assertIn("bob is not a valid value for valid_principals", r.stderr)

    # Batch tokens -------------------------------------------------------------------------------

    def test_a_batch_token_logs_in_shows_as_not_renewable_and_ends_with_its_lifetime(self):
        self.vault.add_user(self.userpass, "batchy", PASSWORD, [self.fixture.policy], token_type="batch", token_ttl="6s")
        d = self.daemon()
        r = self.login(d, user="batchy")
        self.assertEqual(r.returncode, 0, r.stderr)
        logged_in = time.monotonic()
        status = self.status(d)
        self.assertTrue(status["logged_in"])
        self.assertFalse(status["token"]["renewable"])
        self.assertIn("not renewable", d.sshcert("status").stdout)
        self.assert_ssh_echoes(d, "batch")
        # Not renewable: once its 6 s are up, the daemon is logged out (not "expires in 1s" for ever).
        time.sleep(max(0.0, logged_in + 7.5 - time.monotonic()))
        self.assertFalse(self.status(d)["logged_in"])
        self.assertIn("nobody", d.sshcert("status").stdout)
        r = self.ssh(d, "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("sshcert login", r.stderr)
        if self.vault.is_standin:
            self.assertEqual([q for q in self.vault.requests() if "renew" in q["path"]], [], "no renewal was tried")

if __name__ == "__main__":
    unittest.main()
