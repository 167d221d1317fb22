# SPDX-License-Identifier: Apache-2.0
"""The first user journey end to end: log in to Vault, get a Vault-signed
certificate, ssh into a real sshd that trusts only the Vault CA."""

import json
import os
import re
import subprocess
import time
import unittest

import harness
from harness import LOGIN_USER, PASSWORD, SSHCERTD, VaultSshTestCase, free_port, profile_toml, run_in_terminal


class LoginAndSsh(VaultSshTestCase):
    def test_ssh_runs_a_remote_command_and_returns_its_output_and_exit_status(self):
        d = self.daemon()
        r = self.login(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.userpass}-alice", r.stdout)  # Vault's display name: mount path, then user
        r = self.ssh(d, "echo hello-from-sshd; exit 7")
        self.assertEqual(r.stdout.strip(), "hello-from-sshd", r.stderr)
        self.assertEqual(r.returncode, 7)
        self.assertRegex(self.sshd.log(), r"Accepted publickey for \S+ from 127\.0\.0\.1 .*ED25519-CERT")

    def test_ssh_at_a_terminal_logs_in_first_and_never_echoes_the_password(self):
        d = self.daemon(username="alice")
        out, _ = run_in_terminal([harness.SSHCERT, "ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo remote-ok"],
                              d.env, answers={b"Vault password for alice": PASSWORD.encode() + b"\n"})
        self.assertIn("not logged in to Vault", out)
        self.assertIn("remote-ok", out)
        self.assertNotIn(PASSWORD, out)

    def test_agent_serves_the_certificate_with_the_principals_and_validity_the_role_allows(self):
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        listed = subprocess.run(["ssh-add", "-L"], env=d.agent_env(), capture_output=True, text=True)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        lines = listed.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith("ssh-ed25519-cert-v01@openssh.com "))
        cert_file = os.path.join(self.work.path, "cert.pub")
        with open(cert_file, "w") as f:
            f.write(lines[0] + "\n")
        shown = subprocess.run(["ssh-keygen", "-L", "-f", cert_file], capture_output=True, text=True, check=True).stdout
        principals = re.search(r"Principals:\s*\n((?:\s{16}\S+\n)+)", shown).group(1).split()
        self.assertEqual(principals, [LOGIN_USER])
        self.assertRegex(shown, rf'Key ID: "vault-{self.userpass}-alice-[0-9a-f]{{64}}"')
        self.assertIn("permit-pty", shown)
        valid = re.search(r"Valid: from (\S+) to (\S+)", shown)
        status = json.loads(d.sshcert("status", "--json").stdout)
        cert = status["certificates"][0]
        # Role ttl 30m, backdated by the default not_before_duration of 30 s.
        self.assertEqual(cert["valid_before"] - cert["valid_after"], 30 * 60 + 30)
        self.assertTrue(valid.group(1) < valid.group(2))

    def test_a_principal_the_role_refuses_gives_vaults_reason_and_no_login(self):
        profiles = profile_toml("local", ["127.0.0.1"], "dev", mount=self.mount, principals=["intruder"])
        d = self.daemon(profiles)
        self.assertEqual(self.login(d).returncode, 0)
        accepted_before = self.sshd.log().count("Accepted publickey")
        r = self.ssh(d, "echo should-not-run")
        self.assertEqual(r.returncode, 2)
        self.assertNotIn("should-not-run", r.stdout)
        self.assertIn("Vault refused to sign for role 'dev'", r.stderr)
        self.assertIn("intruder is not a valid value for valid_principals", r.stderr)
        self.assertEqual(self.sshd.log().count("Accepted publickey"), accepted_before)

    def test_a_wrong_password_is_reported_clearly(self):
        d = self.daemon()
        r = self.login(d, password="wrong")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid username or password", r.stderr)
        self.assertIn("alice", r.stderr)
        self.assertIn("nobody", d.sshcert("status").stdout)

    def test_token_login_and_status(self):
        token = self.vault.create_token([f"ssh-user-{self.vault.suffix}"], ttl="2h")
        d = self.daemon()
        r = d.sshcert("login", "--method", "token", "--token-stdin", input=token + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        status = d.sshcert("status")
        self.assertEqual(status.returncode, 0)
        self.assertIn(f"ssh-user-{self.vault.suffix}", status.stdout)
        self.assertRegex(status.stdout, r"expires in 1h5\dm|expires in 2h00m")
        data = json.loads(d.sshcert("status", "--json").stdout)
        self.assertTrue(data["logged_in"])
        self.assertEqual(data["token"]["display_name"], "token")
        self.assertNotIn(token, d.log())

    def test_the_daemon_renews_its_vault_token_before_it_expires(self):
        self.vault.add_user(self.userpass, "brief", PASSWORD, [self.fixture.policy], token_ttl="8s", token_max_ttl="1h")
        d = self.daemon()
        r = d.sshcert("login", "--username", "brief", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        harness.wait_for(lambda: "Vault token renewed for" in d.log(), "the token renewal", timeout=12)
        time.sleep(3)  # past the original 8 s lifetime
        self.assertEqual(self.ssh(d, "echo still-logged-in").stdout.strip(), "still-logged-in")

    def test_token_from_vault_token_variable(self):
        token = self.vault.create_token([f"ssh-user-{self.vault.suffix}"])
        d = self.daemon()
        r = d.sshcert("login", "--method", "token", env={"VAULT_TOKEN": token})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ssh(d, "true").returncode, 0)

    def test_a_rejected_token_says_what_to_do(self):
        d = self.daemon()
        r = d.sshcert("login", "--method", "token", "--token-stdin", input="hvs.not-a-real-token\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("Vault rejected the token", r.stderr)
        self.assertIn("vault login", r.stderr)

    @unittest.skipUnless(os.environ.get("SSHCERT_TEST_VAULT_ADDR") is None, "needs the stand-in's request log")
    def test_a_cached_certificate_is_reused_without_asking_vault_again(self):
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        for _ in range(3):
            self.assertEqual(self.ssh(d, "true").returncode, 0)
        signs = [r for r in self.vault.requests() if r["path"].endswith(f"{self.mount}/sign/dev")]
        self.assertEqual(len(signs), 1)
        self.assertEqual(signs[0]["body"]["valid_principals"], LOGIN_USER)

    def test_principal_defaults_to_the_remote_user(self):
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        r = self.ssh(d, "true", destination="deploy@127.0.0.1")
        # sshd has no account 'deploy', so the login fails, but the certificate was made for it.
        self.assertNotEqual(r.returncode, 0)
        data = json.loads(d.sshcert("status", "--json").stdout)
        self.assertEqual([c["principals"] for c in data["certificates"]], [["deploy"]])

    def test_logout_revokes_the_token_and_empties_the_agent(self):
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        r = d.sshcert("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("revoked", r.stdout)
        listed = subprocess.run(["ssh-add", "-l"], env=d.agent_env(), capture_output=True, text=True)
        self.assertEqual(listed.returncode, 1, "ssh-add -l exits 1 for an agent without identities")
        r = self.ssh(d, "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("sshcert login", r.stderr)

    def test_no_profile_for_the_host(self):
        d = self.daemon(profile_toml("prod", ["*.prod.example.com"], "dev", mount=self.mount))
        self.assertEqual(self.login(d).returncode, 0)
        r = self.ssh(d, "true")
        self.assertEqual(r.returncode, 1, "a config problem is a local error")
        self.assertIn("no profile matches host '127.0.0.1'", r.stderr)
        self.assertIn("prod", r.stderr)

    def test_permission_denied_names_the_role_and_the_policies(self):
        token = self.vault.create_token(["default"])
        d = self.daemon()
        self.assertEqual(d.sshcert("login", "--method", "token", "--token-stdin", input=token + "\n").returncode, 0)
        r = self.ssh(d, "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("Vault denied signing with role 'dev'", r.stderr)
        self.assertIn("permission denied", r.stderr)

    def test_daemon_not_running_says_how_to_start_it(self):
        d = self.daemon(start=False)
        r = d.sshcert("status")
        self.assertEqual(r.returncode, 2)
        self.assertIn("sshcertd is not running", r.stderr)
        # Which command depends on the host (see test_socket_activation); never a daemon started for us.
        self.assertRegex(r.stderr, r"Start it with `(systemctl --user start sshcertd\.socket sshcertd-control\.socket|sshcertd &)`")
        self.assertFalse(os.path.exists(d.control_socket))

    def test_vault_unreachable_names_the_address_tried(self):
        addr = f"http://127.0.0.1:{free_port()}"
        d = self.daemon(env={"VAULT_ADDR": addr})
        r = self.login(d)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"cannot reach Vault at {addr}", r.stderr)

    def test_bad_config_is_reported_with_file_and_line(self):
        d = self.daemon(start=False)
        with open(d.config_path, "a") as f:
            f.write('\n[vault]\nadress = "typo"\n')
        p = subprocess.run([SSHCERTD], env=d.env, capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"config\.toml:\d+: unknown key 'adress' in \[vault\]")


if __name__ == "__main__":
    unittest.main()
