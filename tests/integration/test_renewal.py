# SPDX-License-Identifier: Apache-2.0
"""Certificates in use are renewed in the background before two thirds of
their life, with a fresh key, so no ssh waits on Vault; certificates nobody
uses are left to expire; with Vault down the held certificate keeps serving."""

import time

from harness import LOGIN_USER, VaultSshTestCase, profile_toml, standin_only, wait_for

TTL = 20  # seconds: renewal is due 12-13.3 s after the certificate arrives


class BackgroundRenewal(VaultSshTestCase):
    def setUp(self):
        super().setUp()
        if self.vault.is_standin:
            self.vault.clear_faults()
            self.addCleanup(self.vault.clear_faults)
            self.vault.clear_requests()

    def daemon_with(self, renew_window):
        profiles = profile_toml("local", ["127.0.0.1"], "dev", mount=self.mount, ttl=f"{TTL}s")
        d = self.daemon(profiles + f'\n[agent]\nrenew_window = "{renew_window}"\n')
        r = self.login(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        return d

    def signs(self):
        return [r for r in self.vault.requests() if r["path"].endswith(f"{self.mount}/sign/dev")]

    def held(self, d):
        certs = self.status(d)["certificates"]
        self.assertEqual(len(certs), 1, certs)
        return certs[0]

    @standin_only
    def test_a_certificate_in_use_is_renewed_with_a_fresh_key_before_it_runs_out(self):
        d = self.daemon_with("10m")
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        first = self.held(d)
        wait_for(lambda: len(self.signs()) >= 2, "a background renewal", timeout=TTL * 0.667 + 3)
        wait_for(lambda: self.held(d)["serial"] != first["serial"], "the renewed certificate in status")
        second = self.held(d)
        self.assertNotEqual(second["fingerprint"], first["fingerprint"], "renewal must use a fresh key")
        self.assertLess(second["valid_after"], first["valid_before"], "renewed only after it ran out")
        # The agent offers only the new one, and ssh keeps working through it without a new ensure.
        listed = self.run_agent_list(d)
        self.assertEqual(len(listed), 1, listed)
        self.assertIn(second["key_id"], listed[0])

    @standin_only
    def test_a_certificate_nobody_uses_is_left_to_expire(self):
        d = self.daemon_with("5s")
        reply = d.control("ensure", host="127.0.0.1", user=LOGIN_USER)
        self.assertTrue(reply["ok"], reply)
        time.sleep(TTL * 0.667 + 2)
        self.assertEqual(len(self.signs()), 1, "renewed a certificate that was not used within the window")

    @standin_only
    def test_with_vault_unreachable_the_held_certificate_keeps_serving_and_renewal_is_retried(self):
        d = self.daemon_with("10m")
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        first = self.held(d)
        self.vault.set_faults(path_prefix=f"{self.mount}/sign", status_once=[502] * 6)
        wait_for(lambda: "background renewals against Vault" in d.log(), "a failed renewal", timeout=TTL)
        self.assertEqual(self.held(d)["serial"], first["serial"])  # still served
        # status says Vault is out of reach, since when and why, and how long the certificates last.
        outage = self.status(d)["vault_unreachable"]
        self.assertAlmostEqual(outage["since"], time.time(), delta=TTL)
        self.assertIn("502", outage["error"])
        self.assertEqual(outage["certificates_valid_until"], first["valid_before"])
        text = d.sshcert("status").stdout
        self.assertIn("unreachable since", text)
        self.assertIn("keep serving until", text)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        wait_for(lambda: self.held(d)["serial"] != first["serial"], "renewal once Vault answers again", timeout=TTL)
        self.assertNotIn("vault_unreachable", self.status(d))

    def run_agent_list(self, d):
        import subprocess
        r = subprocess.run(["ssh-add", "-l"], env=d.agent_env(), capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip().splitlines()
