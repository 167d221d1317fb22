# SPDX-License-Identifier: Apache-2.0
"""Vault misbehaving, one way per test, while sshcertd holds a certificate: the
certificate keeps being served (ssh works through it), the request that needed
Vault fails with an error saying what happened, and `sshcert status` says it too.
Redirects and fallback addresses are followed where Vault's own client does."""

import os
import signal
import subprocess
import time
import unittest

from harness import LOGIN_USER, Daemon, Vault, VaultSshTestCase, free_port, profile_toml, rss_kb, standin_only, wait_for
from tls_fixture import TestPki

TIMEOUT = 2  # seconds: [vault] timeout for these daemons


@standin_only
class VaultFaults(VaultSshTestCase):
    @staticmethod
    def vault_tls(workdir):
        VaultFaults.pki = pki = TestPki(workdir)
        os.makedirs(os.path.join(workdir, "other"))
        VaultFaults.other_pki = TestPki(os.path.join(workdir, "other"), name="a CA nobody trusts")
        server = pki.server("127.0.0.1")
        # The stand-in reads these paths again on SIGHUP; a test swaps their contents.
        VaultFaults.server_cert = (server.cert, server.key)
        return server.cert, server.key, None

    def setUp(self):
        super().setUp()
        self.vault.clear_faults()
        self.addCleanup(self.vault.clear_faults)

    def daemon_holding_a_certificate(self, address=None, vault_toml="", env=None):
        """A logged-in sshcertd holding the login user's certificate for 127.0.0.1 (role dev)."""
        profiles = profile_toml("local", ["127.0.0.1"], "dev", mount=self.mount)
        config = f'[vault]\ntimeout = "{TIMEOUT}s"\n{vault_toml}\n' + self.fixture.config_toml(profiles)
        d = Daemon(self.work.path, self.vault.addr if address is None else address, config, self.work.cleanup, env=env)
        r = self.login(d)
        self.assertEqual(r.returncode, 0, r.stderr + d.log()[-2000:])
        held = d.control("ensure", host="127.0.0.1", user=LOGIN_USER)
        self.assertTrue(held["ok"], held)
        return d, held["result"]["certificate"]

    def new_certificate(self, d):
        """A certificate sshcertd does not hold yet (principal deploy): it has to ask Vault."""
        return d.control("ensure", host="127.0.0.1", user="deploy")

    def assert_still_served(self, d, held):
        listed = subprocess.run(["ssh-add", "-l"], env=d.agent_env(), capture_output=True, text=True, timeout=10)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(held["key_id"], listed.stdout)
        self.assert_ssh_echoes(d, "still-served")
        self.assertIsNone(d.proc.poll(), d.log()[-2000:])

    def assert_fails_saying(self, d, held, *words, status_says=True):
        """A new certificate fails with an error holding `words`; the held one keeps serving; status says why."""
        started = time.monotonic()
        reply = self.new_certificate(d)
        took = time.monotonic() - started
        self.assertFalse(reply["ok"], reply)
        message = reply["error"]["message"]
        for word in words:
            self.assertIn(word, message)
        print(f"\n  {self._testMethodName}: {message} ({took:.1f} s)", end=" ")
        self.assert_still_served(d, held)
        if status_says:
            problem = self.status(d).get("vault_unreachable")
            self.assertIsNotNone(problem, "status does not say Vault is failing; log:\n" + d.log()[-3000:])
            self.assertIn(words[0], problem["error"])
            self.assertIn("keep serving until", d.sshcert("status").stdout)
        return message, took

    def sign_path(self):
        return f"{self.mount}/sign/"

    # ---------------------------------------------------------------------------------------------

    def test_slower_than_the_timeout(self):
        d, held = self.daemon_holding_a_certificate()
        self.vault.set_faults(path_prefix=self.sign_path(), delay_ms=(TIMEOUT + 2) * 1000)
        message, took = self.assert_fails_saying(d, held, "timed out")
        self.assertLess(took, 60, "retries of a timed-out call are bounded")

    def test_malformed_json(self):
        d, held = self.daemon_holding_a_certificate()
        self.vault.set_faults(path_prefix=self.sign_path(), malformed_json=True)
        self.assert_fails_saying(d, held, "JSON")

    def test_a_100_mb_body_is_cut_off(self):
        d, held = self.daemon_holding_a_certificate()
        rss_before = rss_kb(d.proc.pid)
        self.vault.set_faults(path_prefix=self.sign_path(), huge_body_bytes=100 << 20)
        self.assert_fails_saying(d, held, "larger than")
        self.assertLess(rss_kb(d.proc.pid) - rss_before, 32 << 10, "the body was capped, not held in memory")

    def test_500s(self):
        d, held = self.daemon_holding_a_certificate()
        self.vault.set_faults(path_prefix=self.sign_path(), status_once=[500] * 20)
        self.assert_fails_saying(d, held, "500")

    def test_sealed(self):
        d, held = self.daemon_holding_a_certificate()
        self.vault.set_faults(sealed=True)
        self.assert_fails_saying(d, held, "sealed")

    def test_429_with_retry_after_is_honoured(self):
        d, held = self.daemon_holding_a_certificate()
        self.vault.clear_requests()
        self.vault.set_faults(path_prefix=self.sign_path(), rate_limited=True, retry_after="1")
        self.assert_fails_saying(d, held, "rate-limiting")
        signs = [r["time"] for r in self.vault.requests() if self.sign_path() in r["path"]]
        self.assertGreater(len(signs), 1, "a 429 is retried")
        gaps = [b - a for a, b in zip(signs, signs[1:])]
        self.assertGreaterEqual(min(gaps), 0.9, f"Retry-After: 1 was not honoured: {gaps}")
        # Once the quota lets it through, the same request succeeds.
        self.vault.clear_faults()
        self.assertTrue(self.new_certificate(d)["ok"])
        self.assertNotIn("vault_unreachable", self.status(d))

    def test_the_connection_dropped_mid_response(self):
        d, held = self.daemon_holding_a_certificate()
        self.vault.set_faults(path_prefix=self.sign_path(), drop_mid_body=True)
        self.assert_fails_saying(d, held, "Vault")

    def test_a_tls_certificate_that_no_longer_verifies(self):
        d, held = self.daemon_holding_a_certificate(self.vault.tls_addr, env={"VAULT_CACERT": self.pki.ca.cert})
        stranger = self.other_pki.server("127.0.0.1")
        saved = [read_bytes(p) for p in self.server_cert]
        self.addCleanup(self.swap_server_certificate, saved)
        self.swap_server_certificate([read_bytes(p) for p in (stranger.cert, stranger.key)])
        message, _ = self.assert_fails_saying(d, held, "certificate")
        self.assertIn("ca_cert", message + self.status(d)["vault_unreachable"]["error"])

    def test_a_redirect_from_https_to_http_is_refused(self):
        d, held = self.daemon_holding_a_certificate(self.vault.tls_addr, env={"VAULT_CACERT": self.pki.ca.cert})
        self.vault.clear_requests()
        self.vault.set_faults(standby_redirect=self.vault.addr)
        message, _ = self.assert_fails_saying(d, held, "http", status_says=False)
        self.assertIn(self.vault.addr, message)
        # Only the request over https arrived; a redirect followed over http would be a second.
        signs = [r for r in self.vault.requests() if self.sign_path() in r["path"]]
        self.assertEqual([r["status"] for r in signs], [307], "the token went out over plain http")

    def test_a_standby_redirecting_to_the_active_node_is_followed(self):
        standby = Vault(self.work.path, self.work.cleanup)
        standby.set_faults(standby_redirect=self.vault.addr)
        d, held = self.daemon_holding_a_certificate(standby.addr)
        self.assertTrue(self.new_certificate(d)["ok"])
        self.assertIn(f"/v1/{self.sign_path()}dev", [r["path"] for r in standby.requests()])
        self.assertEqual(self.status(d)["vault_addr"], standby.addr)

    def test_several_addresses_with_the_first_down(self):
        down = f"http://127.0.0.1:{free_port()}"
        # VAULT_ADDR would replace the file's addresses, fallbacks included.
        d, held = self.daemon_holding_a_certificate(
            "", vault_toml=f'address = "{down}"\nfallback_addresses = ["{self.vault.addr}"]\n')
        self.assertTrue(self.new_certificate(d)["ok"])
        self.assert_still_served(d, held)

    def swap_server_certificate(self, contents):
        for path, data in zip(self.server_cert, contents):
            with open(path, "wb") as f:
                f.write(data)
        self.vault.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.vault_log().count("reloaded the TLS certificate") > self.reloads, "the stand-in's reload")
        self.reloads = self.vault_log().count("reloaded the TLS certificate")

    reloads = 0

    def vault_log(self):
        with open(os.path.join(self.tmp, "vault.log"), errors="replace") as f:
            return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


if __name__ == "__main__":
    unittest.main()
