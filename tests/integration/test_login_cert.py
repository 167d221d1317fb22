# SPDX-License-Identifier: Apache-2.0
"""A machine's login with a TLS client certificate (Vault's cert method) over the
stand-in's HTTPS port, with a test CA made at run time: the certificate sshcertd
presents to Vault logs it in, renews its token and logs it in again by itself;
certificates Vault does not take, a missing one and a server certificate that does
not verify each say what to change."""

import json
import os
import shutil
import unittest

from harness import LOGIN_USER, Daemon, Sshd, Vault, Workdir, class_workdir, profile_toml, standin_only, wait_for
from tls_fixture import TestPki

SHORT_TTL = 3  # seconds: the token is renewed, then ends at its max TTL and the daemon logs in again


@standin_only  # a real Vault's listener would not know the test CA
class CertLogin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        os.makedirs(os.path.join(cls.tmp, "other"))
        cls.pki = TestPki(cls.tmp)
        cls.other_pki = TestPki(os.path.join(cls.tmp, "other"), name="another CA")
        server = cls.pki.server("127.0.0.1")
        # The listener takes certificates from either CA, leaving the choice to the cert method as Vault's does.
        client_cas = os.path.join(cls.tmp, "client-cas.pem")
        with open(client_cas, "w") as f:
            f.write(cls.pki.ca.pem() + cls.other_pki.ca.pem())
        cls.vault = v = Vault(cls.tmp, cls.addClassCleanup, tls=(server.cert, server.key, client_cas),
                                   record_secrets=True)
        cls.machine = cls.pki.client("machine-1")
        cls.mount, policy, ca = v.machine_ssh_ca()
        cls.cert_mount = f"cert-{v.suffix}"
        v.api("POST", f"sys/auth/{cls.cert_mount}", {"type": "cert"})
        for name, ttl, max_ttl in (("machines", "1h", "1h"), ("short", f"{SHORT_TTL}s", f"{3 * SHORT_TTL}s")):
            v.api("POST", f"auth/{cls.cert_mount}/certs/{name}",
                  {"certificate": cls.pki.ca.pem(), "allowed_common_names": "machine-*",
                   "token_policies": [policy], "token_ttl": ttl, "token_max_ttl": max_ttl})
        cls.sshd = Sshd(cls.tmp, [ca], cls.addClassCleanup)

    def setUp(self):
        self.work = Workdir(self)
        self.vault.clear_requests()

    def daemon(self, client=None, role="machines", addr=None, ca=True, in_config=False, **env):
        """sshcertd presenting `client` (default machine-1; False: none), named in VAULT_CACERT and
        VAULT_CLIENT_CERT/KEY, or with `in_config` in [vault] ca_cert and [auth] client_cert/client_key."""
        client = self.machine if client is None else client
        settings, vault, auth = {}, "", f'[auth]\nmethod = "cert"\nmount = "{self.cert_mount}"\nrole = "{role}"\n'
        if ca and in_config:  # as ~/vault-ca.pem, which sshcertd expands
            os.makedirs(os.path.join(self.work.path, "home"), exist_ok=True)
            shutil.copy(self.pki.ca.cert, os.path.join(self.work.path, "home", "vault-ca.pem"))
            vault = '[vault]\nca_cert = "~/vault-ca.pem"\n\n'
        elif ca:
            settings["VAULT_CACERT"] = self.pki.ca.cert
        if client and in_config:
            auth += f'client_cert = "{client.cert}"\nclient_key = "{client.key}"\n'
        elif client:
            settings.update(VAULT_CLIENT_CERT=client.cert, VAULT_CLIENT_KEY=client.key)
        settings.update(env)
        return Daemon(self.work.path, addr or self.vault.tls_addr,
                      vault + auth + "\n" + profile_toml("local", ["127.0.0.1"], "ci", mount=self.mount), self.work.cleanup,
                      env=settings)

    def requests(self, suffix, status=200):
        return [r for r in self.vault.requests() if r["path"].endswith(suffix) and r["status"] == status]

    def ssh_works(self, d):
        r = d.sshcert("ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo cert-ok")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "cert-ok"), r.stderr)

    def test_the_certificate_sshcertd_presents_logs_it_in_and_ssh_works(self):
        d = self.daemon()
        r = d.sshcert("login")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.cert_mount}-machines", r.stdout)
        self.assertEqual(len(self.requests(f"auth/{self.cert_mount}/login")), 1)
        self.ssh_works(d)
        status = json.loads(d.sshcert("status", "--json").stdout)
        self.assertTrue(status["logged_in"])
        tokens = self.vault.tokens_used()
        self.assertTrue(tokens)
        self.assertEqual(d.leaks(*tokens), [])

    def test_with_the_certificate_in_the_config_the_token_is_renewed_and_at_its_max_ttl_the_daemon_logs_in_again(self):
        d = self.daemon(role="short", in_config=True)
        self.assertEqual(d.sshcert("login").returncode, 0)
        # The stand-in renews only over a connection presenting the certificate that logged in.
        wait_for(lambda: self.requests("auth/token/renew-self"), "the token to be renewed", timeout=SHORT_TTL * 3)
        wait_for(lambda: len(self.requests(f"auth/{self.cert_mount}/login")) >= 2, "the daemon to log in again",
                 timeout=SHORT_TTL * 6)
        self.assertIn("logging in again with cert", d.log())
        wait_for(lambda: json.loads(d.sshcert("status", "--json").stdout)["logged_in"], "the new login in status")
        self.ssh_works(d)

    def refused(self, client, said):
        d = self.daemon(client)
        r = d.sshcert("login")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(said, r.stderr)
        self.assertIn(client.cert, r.stderr)
        self.assertTrue(d.control("status")["ok"])  # still serving

    def test_a_certificate_from_a_ca_vault_does_not_trust_says_so(self):
        self.refused(self.other_pki.client("machine-2"), "Vault does not trust the client certificate")

    def test_a_trusted_certificate_outside_the_allowed_names_says_which_constraints_to_check(self):
        self.refused(self.pki.client("laptop-1"), "meets no certs/ entry's constraints")

    def test_without_a_client_certificate_the_login_says_which_setting_to_add(self):
        d = self.daemon(client=False)
        r = d.sshcert("login")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the cert login needs a TLS client certificate", r.stderr)
        self.assertIn("[vault] client_cert", r.stderr)
        self.assertEqual(self.requests(f"auth/{self.cert_mount}/login", status=400), [])

    def test_a_login_command_with_another_certificate_is_told_to_change_the_config(self):
        d = self.daemon()
        other = self.pki.client("machine-3")
        r = d.sshcert("login", env={"VAULT_CLIENT_CERT": other.cert, "VAULT_CLIENT_KEY": other.key})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"VAULT_CLIENT_CERT is {other.cert}, but sshcertd presents {self.machine.cert}", r.stderr)
        self.assertIn(f'set [vault] client_cert = "{other.cert}" in {d.config_path} and run sshcert reload', r.stderr)

    def test_plain_http_is_refused_by_vault_with_the_address_to_use(self):
        d = self.daemon(addr=self.vault.addr)
        r = d.sshcert("login")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("needs a TLS connection", r.stderr)
        self.assertIn("https://", r.stderr)

    def test_a_server_certificate_that_does_not_verify_names_the_ca_setting(self):
        d = self.daemon(ca=False)
        r = d.sshcert("login")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("VAULT_CACERT or [vault] ca_cert", r.stderr)
        self.assertEqual(self.requests(f"auth/{self.cert_mount}/login"), [])

    def test_a_tls_server_name_the_certificate_is_not_for_is_named_in_the_error(self):
        # The stand-in's certificate is for IP 127.0.0.1 only; the name reaches curl from sshcertd's environment.
        d = self.daemon(VAULT_TLS_SERVER_NAME="vault.test")
        r = d.sshcert("login")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Vault's certificate is not for vault.test: check VAULT_TLS_SERVER_NAME", r.stderr)

    def test_skip_verify_works_and_warns_loudly(self):
        d = self.daemon(ca=False, VAULT_SKIP_VERIFY="true")
        r = d.sshcert("login")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("is OFF (VAULT_SKIP_VERIFY or [vault] skip_verify)", d.log())


if __name__ == "__main__":
    unittest.main()
