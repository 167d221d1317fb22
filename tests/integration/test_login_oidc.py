# SPDX-License-Identifier: Apache-2.0
"""OIDC login as `vault login -method=oidc` does it: sshcert opens the
identity provider's page in a browser ($BROWSER: here a script that follows
the provider's redirect as a browser would), the browser comes back to
sshcert's loopback listener with state and code, and the daemon completes the
login at Vault. With --no-browser the person pastes the address the browser
ended on. The identity provider is the stand-in's own page. The code, the state
and the token stay out of the daemon's log."""

import json
import os
import select
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import harness
from harness import VaultSshTestCase, standin_only

# Follows the sign-in URL and its redirects, as a browser would, and tells the test what it saw.
BROWSER_SCRIPT = """import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=60) as r:
        seen = {"final": r.geturl(), "status": r.status, "page": r.read().decode()}
except urllib.error.HTTPError as e:
    seen = {"final": e.geturl(), "status": e.code, "page": e.read().decode()}
except OSError as e:
    seen = {"final": "", "status": 0, "page": str(e)}
seen["opened"] = sys.argv[1]
with open(sys.argv[0] + ".seen", "w") as f:
    json.dump(seen, f)
"""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def provider_redirect(url):
    """Where the identity provider's page sends the browser: its 302's Location."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(url, timeout=30)
    except urllib.error.HTTPError as e:
        if e.code == 302:
            return e.headers["Location"]
        raise
    raise AssertionError("the identity provider's page did not redirect")


@standin_only
class OidcLoginTest(VaultSshTestCase):
    """An oidc mount whose role "dev" gives the SSH policy to whoever the provider signs in
    (the stand-in's alice@example.com), for the callback on a port chosen for the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        v = cls.vault
        cls.oidc = f"oidc-{v.suffix}"
        cls.port = harness.free_port()
        cls.redirect_uri = f"http://localhost:{cls.port}/oidc/callback"
        v.api("POST", f"sys/auth/{cls.oidc}", {"type": "oidc"})
        v.api("POST", f"auth/{cls.oidc}/config", {"oidc_discovery_url": "https://idp.example.com",
                                                  "oidc_client_id": "sshcert", "oidc_client_secret": "idp-secret"})
        v.api("POST", f"auth/{cls.oidc}/role/dev", {"user_claim": "email", "allowed_redirect_uris": [cls.redirect_uri],
                                                    "token_policies": [cls.fixture.policy], "token_ttl": "1h"})

    def setUp(self):
        super().setUp()
        self.browser = os.path.join(self.work.path, "browser.py")
        with open(self.browser, "w") as f:
            f.write(BROWSER_SCRIPT)
        self.addCleanup(self.vault.clear_faults)

    def oidc_daemon(self, auth=""):
        d = self.daemon(start=False)
        with open(d.config_path) as f:
            config = f.read()
        config = config.replace('method = "userpass"', 'method = "oidc"').replace(self.userpass, self.oidc)
        config = config.replace("[auth]\n", f'[auth]\nrole = "dev"\noidc_listen_port = {self.port}\n{auth}')
        with open(d.config_path, "w") as f:
            f.write(config)
        d.start()
        return d

    def login_in_browser(self, d, *args):
        return d.sshcert("login", *args, env={"BROWSER": f"{harness.PYTHON} {self.browser}"})

    def seen_by_browser(self):
        with open(self.browser + ".seen") as f:
            return json.load(f)

    def assert_kept_secret(self, d, *outputs):
        """The code the browser carried back is in no log and no output; the state (in the URL the
        person is shown) and the token are not in the daemon's log."""
        final = self.seen_by_browser()["final"]
        query = dict(p.split("=", 1) for p in final.split("?", 1)[1].split("&"))
        self.assertGreater(len(query["code"]), 8)
        for out in (d.log(), *outputs):
            self.assertNotIn(query["code"], out)
        self.assertNotIn(query["state"], d.log())
        self.assertNotIn("hvs.", d.log())

    def test_browser_login_gets_a_token_that_signs_for_sshd(self):
        d = self.oidc_daemon()
        d.wait_for_clock_probe()
        self.vault.clear_requests()
        r = self.login_in_browser(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.oidc}-alice@example.com", r.stdout)
        self.assertIn(self.fixture.policy, r.stdout)
        # The URL is printed as well as opened, for a browser that does not come up.
        seen = self.seen_by_browser()
        self.assertIn(seen["opened"], r.stderr)
        self.assertTrue(seen["opened"].startswith(self.vault.addr + "/_standin/oidc/authorize?"), seen)
        self.assertTrue(seen["final"].startswith(self.redirect_uri + "?"), seen)
        self.assertEqual(seen["status"], 200, seen)
        self.assertIn("Signed in to Vault", seen["page"])
        self.assertIn("You can close this window", seen["page"])
        # One OIDC login costs Vault three requests, and the sys/health that measures clock skew after every login.
        calls = [(q["method"], q["path"]) for q in self.vault.requests()]
        self.assertEqual(calls, [("POST", f"/v1/auth/{self.oidc}/oidc/auth_url"),
                                 ("GET", f"/v1/auth/{self.oidc}/oidc/callback"),
                                 ("GET", "/v1/auth/token/lookup-self"),
                                 ("GET", "/v1/sys/health")])
        auth_url = self.vault.requests()[0]["body"]
        self.assertEqual((auth_url["role"], auth_url["redirect_uri"]), ("dev", self.redirect_uri))
        self.assertEqual(len(auth_url["client_nonce"]), 20)
        self.assertIn("client_nonce=<redacted>", self.vault.requests()[1]["query"])
        self.assert_kept_secret(d, r.stdout, r.stderr)
        self.assert_ssh_echoes(d, "over-oidc")

    def test_no_browser_reads_the_callback_address_pasted_on_stdin(self):
        d = self.oidc_daemon()
        proc = subprocess.Popen([d.sshcert_path, "login", "--no-browser"], env=d.env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(harness.stop_process, proc)
        shown, deadline = "", time.monotonic() + 30
        while "paste it here" not in shown:  # the question ends without a newline
            ready, _, _ = select.select([proc.stderr], [], [], 1)
            chunk = os.read(proc.stderr.fileno(), 4096).decode() if ready else ""
            self.assertTrue(chunk or not ready, f"sshcert ended before asking for the address:\n{shown}")
            self.assertLess(time.monotonic(), deadline, f"sshcert never asked for the address:\n{shown}")
            shown += chunk
        url = next(l.strip() for l in shown.splitlines() if l.strip().startswith("http"))
        # Nothing listens: the browser elsewhere ends on a localhost page that fails to load.
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", self.port)), 0)
        callback = provider_redirect(url)
        self.assertTrue(callback.startswith(self.redirect_uri + "?"))
        out, err = proc.communicate(callback + "\n", timeout=60)
        self.assertEqual(proc.returncode, 0, shown + err)
        self.assertIn(f"as {self.oidc}-alice@example.com", out)
        code = callback.split("code=", 1)[1].split("&")[0]
        self.assertNotIn(code, d.log())

    def test_a_pasted_address_of_another_login_is_refused(self):
        d = self.oidc_daemon()
        r = d.sshcert("login", "--no-browser", input=self.redirect_uri + "?state=st_other&code=abc\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("that callback belongs to another login (its state is not this login's); "
                      "run `sshcert login --method oidc` again", r.stderr)
        r = d.sshcert("login", "--no-browser", input="https://example.com/\n")
        self.assertIn("that is not the OIDC callback: it has no state and code", r.stderr)

    def test_an_expired_state_says_to_log_in_again(self):
        d = self.oidc_daemon()
        self.vault.set_faults(oidc_state_ttl_seconds=0)
        r = self.login_in_browser(d)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the OIDC login expired before the browser finished; run `sshcert login --method oidc` again",
                      r.stderr)
        seen = self.seen_by_browser()
        self.assertIn("The Vault login failed", seen["page"])
        self.assertIn("expired before the browser finished", seen["page"])
        self.assertIn("Logged in as: nobody", d.sshcert("status").stdout)

    def test_the_callback_port_in_use_names_the_setting(self):
        d = self.oidc_daemon()
        d.wait_for_clock_probe()
        with socket.socket() as busy:
            busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past earlier tests' TIME_WAIT
            busy.bind(("127.0.0.1", self.port))
            busy.listen()
            self.vault.clear_requests()
            r = self.login_in_browser(d)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"cannot listen for the OIDC callback on 127.0.0.1:{self.port}: the port is in use", r.stderr)
        self.assertIn("[auth] oidc_listen_port", r.stderr)
        self.assertIn("--no-browser", r.stderr)
        self.assertEqual(self.vault.requests(), [])  # found out before Vault is asked anything
        self.assertFalse(os.path.exists(self.browser + ".seen"))

    def test_a_role_vault_does_not_have(self):
        d = self.oidc_daemon()
        r = self.login_in_browser(d, "--role", "nosuch")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"Vault has no OIDC role 'nosuch' at auth/{self.oidc}; check [auth] role or --role", r.stderr)
        self.assertFalse(os.path.exists(self.browser + ".seen"))

    def test_a_callback_the_role_does_not_allow(self):
        d = self.oidc_daemon(auth='oidc_callback_host = "127.0.0.1"\n')
        r = self.login_in_browser(d)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"with redirect_uri http://127.0.0.1:{self.port}/oidc/callback: the role's allowed_redirect_uris "
                      "must list it", r.stderr)

    def test_the_provider_refusing_the_sign_in(self):
        self.vault.admin("POST", "oidc_user", {"error": "access_denied", "error_description": "not in the group"})
        self.addCleanup(self.vault.admin, "POST", "oidc_user", {"claims": {"sub": "alice", "email": "alice@example.com"}})
        d = self.oidc_daemon()
        r = self.login_in_browser(d)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the identity provider refused the sign-in (access_denied: not in the group)", r.stderr)


if __name__ == "__main__":
    unittest.main()
