# SPDX-License-Identifier: Apache-2.0
"""Logging in the way teams do: ldap, login MFA (a TOTP passcode typed at a
real pseudo-terminal or given with --mfa-passcode, a push approved or not),
the Vault CLI's token helper, and logout leaving a token the user brought
valid at Vault. Every password, token and passcode used stays out of the
daemon's log."""

import base64
import fcntl
import hashlib
import hmac
import os
import pty
import select
import struct
import subprocess
import termios
import time
import unittest
from urllib.parse import parse_qs, urlparse

import harness
from harness import PASSWORD, VaultSshTestCase, standin_only


def totp_code(secret, at=None, period=30, digits=6):
    """RFC 6238 with HMAC-SHA1, what an authenticator app shows for `secret` (base32) at `at`."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // period)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return str((int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


def wrong_code(secret):
    """A code Vault cannot accept now: none of the codes of this period or the ones either side."""
    valid = {totp_code(secret, time.time() + step) for step in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in valid)


class Terminal:
    """A program whose controlling terminal is a pseudo-terminal: what it shows is read, answers are typed."""

    def __init__(self, argv, env, cleanup):
        self.main, sub = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=sub, stdout=sub, stderr=sub, env=env, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(sub)
        cleanup(self._close)
        self.shown, self.seen = "", 0

    def _read(self, timeout):
        ready, _, _ = select.select([self.main], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.main, 4096)
        except OSError:
            return False  # the terminal closed: the program is done
        self.shown += chunk.decode(errors="replace")
        return bool(chunk)

    def expect(self, text, timeout=30):
        """Waits until `text` is shown after what was expected before; returns what came up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.shown[self.seen:]:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{self.shown}")
        end = self.shown.index(text, self.seen) + len(text)
        before, self.seen = self.shown[self.seen:end], end
        return before

    def type(self, text):
        os.write(self.main, text.encode())

    def finish(self, timeout=60):
        """Reads to the end; the exit status."""
        deadline = time.monotonic() + timeout
        while self._read(0.2) and time.monotonic() < deadline:
            pass
        return self.proc.wait(timeout=5)

    def _close(self):
        harness.stop_process(self.proc)
        os.close(self.main)


class LoginMethodsTestCase(VaultSshTestCase):
    """The class's Vault with a TOTP method; users of their own per test, so no code is used twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        v = cls.vault
        cls.totp_name = f"totp-{v.suffix}"
        cls.totp_id = v.api("POST", "identity/mfa/method/totp",
                            {"issuer": "sshcert-tests", "method_name": cls.totp_name})["data"]["method_id"]
        cls.accessors = {path.rstrip("/"): m["accessor"] for path, m in v.api("GET", "sys/auth")["data"].items()}

    def new_user(self, mount=None, mfa=()):
        """A userpass user (password PASSWORD) with its entity; `mfa` method IDs enforced on its logins."""
        mount = mount or self.userpass
        user = "u" + os.urandom(4).hex()
        self.vault.add_user(mount, user, PASSWORD, [self.fixture.policy])
        entity = self.vault.api("POST", f"auth/{mount}/login/{user}", {"password": PASSWORD}, token="")["auth"]["entity_id"]
        if mfa:
            self.vault.api("POST", f"identity/mfa/login-enforcement/mfa-{user}",
                           {"mfa_method_ids": list(mfa), "identity_entity_ids": [entity]})
        return user, entity

    def totp_secret(self, entity):
        url = self.vault.api("POST", "identity/mfa/method/totp/admin-generate",
                             {"method_id": self.totp_id, "entity_id": entity})["data"]["url"]
        return parse_qs(urlparse(url).query)["secret"][0]

    def daemon_with(self, replace=(), auth=""):
        """A daemon whose config has each (old, new) of `replace` applied and `auth` added to [auth]."""
        d = self.daemon(start=False)
        with open(d.config_path) as f:
            config = f.read()
        for old, new in replace:
            config = config.replace(old, new)
        with open(d.config_path, "w") as f:
            f.write(config.replace("[auth]\n", "[auth]\n" + auth))
        d.start()
        return d

    def password_login(self, d, user, *args, **kwargs):
        return d.sshcert("login", "--username", user, "--password-stdin", *args, input=PASSWORD + "\n", **kwargs)

    def validations(self):
        return [r for r in self.vault.requests() if r["path"] == "/v1/sys/mfa/validate"]


class TotpTest(LoginMethodsTestCase):
    def test_the_test_computes_rfc_6238_codes(self):
        # RFC 6238 appendix B, SHA-1, 8 digits: the codes an authenticator app would show.
        secret = base64.b32encode(b"12345678901234567890").decode()
        for at, code in ((59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")):
            self.assertEqual(totp_code(secret, at, digits=8), code)

    def test_passcode_at_a_terminal_a_wrong_one_first_then_the_right_one(self):
        user, entity = self.new_user(mfa=[self.totp_id])
        secret = self.totp_secret(entity)
        d = self.daemon()
        t = Terminal([harness.SSHCERT, "login", "--username", user], d.env, self.work.cleanup)
        t.expect(f"Vault password for {user}")
        t.type(PASSWORD + "\n")
        t.expect(f"Vault MFA: TOTP passcode from your authenticator app ({self.totp_name}): ")
        wrong = wrong_code(secret)
        t.type(wrong + "\n")
        retry = t.expect(f"({self.totp_name}): ")
        self.assertIn("Vault did not accept the passcode", retry)
        self.assertIn("failed to validate TOTP passcode", retry)
        self.assertIn("try again", retry)
        t.type(totp_code(secret) + "\n")
        t.expect("Logged in to")
        self.assertEqual(t.finish(), 0, t.shown)
        for secret_text in (PASSWORD, wrong):
            self.assertNotIn(secret_text, t.shown, "typed without echo")
        self.assertEqual(self.status(d)["token"]["display_name"], f"{self.userpass}-{user}")

    def test_passcode_from_the_command_line(self):
        user, entity = self.new_user(mfa=[self.totp_id])
        secret = self.totp_secret(entity)
        d = self.daemon()
        r = self.password_login(d, user, "--mfa-passcode", totp_code(secret))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.userpass}-{user}", r.stdout)
        self.assert_ssh_echoes(d, "after-mfa")

    def test_a_wrong_passcode_from_the_command_line_fails_clearly(self):
        user, entity = self.new_user(mfa=[self.totp_id])
        d = self.daemon()
        r = self.password_login(d, user, "--mfa-passcode", wrong_code(self.totp_secret(entity)))
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("Vault did not accept the passcode: ", r.stderr)
        self.assertIn("run sshcert login again with the current passcode", r.stderr)
        self.assertFalse(self.status(d)["logged_in"])

    def test_without_a_terminal_or_a_passcode_says_how_to_give_one(self):
        user, _entity = self.new_user(mfa=[self.totp_id])
        d = self.daemon()
        r = subprocess.run([harness.SSHCERT, "login", "--username", user, "--password-stdin"], input=PASSWORD + "\n",
                           capture_output=True, text=True, env=d.env, timeout=60, start_new_session=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no terminal to ask for the MFA passcode; pass it with --mfa-passcode CODE", r.stderr)

    @standin_only
    def test_the_passcode_goes_to_sys_mfa_validate_once(self):
        user, entity = self.new_user(mfa=[self.totp_id])
        secret = self.totp_secret(entity)
        d = self.daemon()
        d.wait_for_clock_probe()
        self.vault.clear_requests()
        r = self.password_login(d, user, "--mfa-passcode", totp_code(secret))
        self.assertEqual(r.returncode, 0, r.stderr)
        paths = [q["path"] for q in self.vault.requests()]
        self.assertEqual(paths[:3], [f"/v1/auth/{self.userpass}/login/{user}", "/v1/sys/mfa/validate",
                                     "/v1/auth/token/lookup-self"])
        validate = self.validations()[0]
        self.assertFalse(validate["has_token"])
        self.assertEqual(set(validate["body"]), {"mfa_request_id", "mfa_payload"})


@standin_only
class PushTest(LoginMethodsTestCase):
    """A push-style method (Okta Verify in Vault; here approved through the stand-in's admin API)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.okta_name = f"okta-{cls.vault.suffix}"
        cls.okta_id = cls.vault.api("POST", "identity/mfa/method/okta",
                                    {"method_name": cls.okta_name, "org_name": "example",
                                     "api_token": "okta-api-token"})["data"]["method_id"]

    def push_for(self, user, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pushes = [p for p in self.vault.admin("GET", "mfa_pushes") if p["user"] == user]
            if pushes:
                return pushes[0]
            time.sleep(0.05)
        self.fail(f"no push for {user} reached Vault")

    def answer(self, push, answer):
        self.assertEqual(self.vault.admin("POST", "mfa_pushes", {"id": push["id"], "answer": answer}), {"answered": 1})

    def test_approved_push_logs_in_while_the_terminal_counts_down(self):
        user, _entity = self.new_user(mfa=[self.okta_id])
        d = self.daemon()
        t = Terminal([harness.SSHCERT, "login", "--username", user], d.env, self.work.cleanup)
        t.expect(f"Vault password for {user}")
        t.type(PASSWORD + "\n")
        t.expect(f"Vault MFA: approve the Okta Verify request ({self.okta_name}) on your phone; waiting up to 5m00s")
        push = self.push_for(user)
        self.assertEqual(push["method_id"], self.okta_id)
        t.expect("waiting for approval, 4m5")  # the countdown moves
        t.expect("left")
        self.answer(push, "approve")
        t.expect("Logged in to")
        self.assertEqual(t.finish(), 0, t.shown)
        self.assertTrue(self.status(d)["logged_in"])
        self.assertEqual(self.validations()[-1]["status"], 200)

    def test_a_push_nobody_approves_ends_at_the_deadline(self):
        user, _entity = self.new_user(mfa=[self.okta_id])
        d = self.daemon_with(auth='mfa_timeout = "3s"\n')
        started = time.monotonic()
        r = self.password_login(d, user)
        took = time.monotonic() - started
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("approve the Okta Verify request", r.stderr)
        self.assertRegex(r.stderr, r"on your phone; waiting up to [23]s")
        self.assertIn("was not approved in time", r.stderr)
        self.assertIn("run sshcert login again", r.stderr)
        self.assertLess(took, 15, "the daemon waits to its deadline, not to Vault's")
        self.assertGreater(took, 2.5)
        self.assertFalse(self.status(d)["logged_in"])
        self.answer(self.push_for(user), "approve")  # too late: nobody waits for it any more
        time.sleep(0.5)
        self.assertFalse(self.status(d)["logged_in"])

    def test_a_rejected_push_says_so(self):
        user, _entity = self.new_user(mfa=[self.okta_id])
        d = self.daemon()
        password_file = os.path.join(self.work.path, "password")
        with open(password_file, "w") as f:
            f.write(PASSWORD + "\n")
        with open(password_file) as stdin:
            login = subprocess.Popen([harness.SSHCERT, "login", "--username", user, "--password-stdin"], env=d.env,
                                     stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.work.cleanup(harness.stop_process, login)
        self.answer(self.push_for(user), "reject")
        out, err = login.communicate(timeout=30)
        self.assertEqual(login.returncode, 2, out)
        self.assertIn("push verification explicitly rejected", err)
        self.assertFalse(self.status(d)["logged_in"])


class LdapTestCase(LoginMethodsTestCase):
    """An ldap mount configured through Vault's API, whose group "ops" has the SSH policy; the
    directory Vault would bind to is the stand-in's (test-only), holding alice."""

    LDAP_PASSWORD = "directory pass phrase 7"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        v = cls.vault
        cls.ldap = f"ldap-{v.suffix}"
        v.api("POST", f"sys/auth/{cls.ldap}", {"type": "ldap"})
        v.api("POST", f"auth/{cls.ldap}/config", {"url": "ldap://127.0.0.1", "userdn": "ou=users,dc=example,dc=com",
                                                  "groupdn": "ou=groups,dc=example,dc=com"})
        v.api("POST", f"auth/{cls.ldap}/groups/ops", {"policies": cls.fixture.policy})
        v.admin("POST", "ldap_directory", {"mount": cls.ldap, "username": "alice", "password": cls.LDAP_PASSWORD,
                                           "groups": ["ops"]})

    def ldap_daemon(self):
        return self.daemon_with(replace=[('method = "userpass"', 'method = "ldap"'), (self.userpass, self.ldap)])


@standin_only
class LdapTest(LdapTestCase):
    def test_ldap_login_gets_the_groups_policies_and_signs(self):
        d = self.ldap_daemon()
        d.wait_for_clock_probe()
        self.vault.clear_requests()
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input=self.LDAP_PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.ldap}-alice", r.stdout)
        self.assertIn(self.fixture.policy, r.stdout)
        self.assertEqual(self.vault.requests()[0]["path"], f"/v1/auth/{self.ldap}/login/alice")
        self.assert_ssh_echoes(d, "over-ldap")
        r = d.sshcert("logout")
        self.assertIn("the Vault token was revoked", r.stdout)  # a token the daemon obtained itself

    def test_method_and_mount_from_the_command_line(self):
        d = self.daemon()  # its config says userpass
        r = d.sshcert("login", "--method", "ldap", "--mount", self.ldap, "--username", "alice", "--password-stdin",
                      input=self.LDAP_PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.ldap}-alice", r.stdout)

    def test_a_wrong_ldap_password_gives_vaults_reason(self):
        d = self.ldap_daemon()
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input="not it\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"Vault rejected the login of 'alice' at auth/{self.ldap}: ldap operation failed: failed to bind as user",
                      r.stderr)

    def test_no_ldap_at_the_mount_says_which_setting_to_check(self):
        d = self.daemon()
        r = d.sshcert("login", "--method", "ldap", "--username", "alice", "--password-stdin", input="x\n")
        self.assertEqual(r.returncode, 2)
        # Vault answers a login path with no method behind it as any path without a token: permission denied.
        self.assertIn("Vault rejected the login of 'alice' at auth/ldap: permission denied (either no ldap auth method is "
                      "enabled at auth/ldap: check [auth] mount or --mount;", r.stderr)

    def test_ldap_with_a_passcode(self):
        v = self.vault
        v.admin("POST", "ldap_directory", {"mount": self.ldap, "username": "bob", "password": self.LDAP_PASSWORD,
                                           "groups": ["ops"]})
        entity = v.api("POST", f"auth/{self.ldap}/login/bob", {"password": self.LDAP_PASSWORD}, token="")["auth"]["entity_id"]
        v.api("POST", "identity/mfa/login-enforcement/mfa-ldap-bob",
              {"mfa_method_ids": [self.totp_id], "identity_entity_ids": [entity]})
        d = self.ldap_daemon()
        r = d.sshcert("login", "--username", "bob", "--password-stdin", "--mfa-passcode",
                      totp_code(self.totp_secret(entity)), input=self.LDAP_PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.ldap}-bob", r.stdout)


class TokenSourceTest(LoginMethodsTestCase):
    def helper_script(self, d, body):
        path = os.path.join(d.home, "vault-token-helper")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o700)
        with open(os.path.join(d.home, ".vault"), "w") as f:
            f.write(f'# written by the test\ntoken_helper = "{path}"\n')
        return path

    def test_the_vault_cli_token_helper_gives_the_token(self):
        token = self.vault.create_token([self.fixture.policy], ttl="1h")
        d = self.daemon()
        args_file = os.path.join(self.work.path, "helper-args")
        self.helper_script(d, f'echo "$@" > {args_file}\necho {token}\n')
        with open(os.path.join(d.home, ".vault-token"), "w") as f:
            f.write("hvs.stale-token-the-helper-replaces\n")
        r = d.sshcert("login", "--method", "token")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(args_file) as f:
            self.assertEqual(f.read().strip(), "get")
        self.assertEqual(self.status(d)["token"]["policies"], sorted(["default", self.fixture.policy]))

    def test_a_failing_token_helper_says_what_went_wrong(self):
        d = self.daemon()
        path = self.helper_script(d, 'echo "the keychain is locked" >&2\nexit 4\n')
        r = d.sshcert("login", "--method", "token")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"the Vault token helper {path} failed (exit status 4): the keychain is locked", r.stderr)
        self.assertIn("--token-stdin", r.stderr)
        self.assertFalse(self.status(d)["logged_in"])

    def test_logout_leaves_a_token_the_user_brought_valid_unless_told_to_revoke_it(self):
        token = self.vault.create_token([self.fixture.policy], ttl="1h")
        d = self.daemon()
        self.assertEqual(d.sshcert("login", "--method", "token", env={"VAULT_TOKEN": token}).returncode, 0)
        r = d.sshcert("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("The Vault token stays valid", r.stdout)
        self.assertIn("sshcert logout --revoke", r.stdout)
        self.assertFalse(self.status(d)["logged_in"])
        self.assertEqual(self.vault.api("GET", "auth/token/lookup-self", token=token)["data"]["id"], token)

        self.assertEqual(d.sshcert("login", "--method", "token", env={"VAULT_TOKEN": token}).returncode, 0)
        r = d.sshcert("logout", "--revoke")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("the Vault token was revoked", r.stdout)
        gone = self.vault.api("GET", "auth/token/lookup-self", token=token, expect_error=True)
        self.assertIsInstance(gone, harness.VaultError)
        self.assertEqual(gone.status, 403)


@standin_only
class SecretsStayOutOfTheLog(LdapTestCase):
    """Every kind of login, then the daemon's whole log (at --verbose) is searched for every secret used."""

    def test_no_password_token_or_passcode_reaches_the_daemons_log(self):
        d = self.ldap_daemon()
        used = [self.LDAP_PASSWORD, PASSWORD]
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input=self.LDAP_PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

        user, entity = self.new_user(mfa=[self.totp_id])
        secret = self.totp_secret(entity)
        wrong, right = wrong_code(secret), totp_code(secret)
        used += [secret, wrong, right]
        for code, expected in ((wrong, 2), (right, 0)):
            r = d.sshcert("login", "--method", "userpass", "--mount", self.userpass, "--username", user,
                          "--password-stdin", "--mfa-passcode", code, input=PASSWORD + "\n")
            self.assertEqual(r.returncode, expected, r.stderr)

        token = self.vault.create_token([self.fixture.policy], ttl="1h")
        used.append(token)
        helper = os.path.join(d.home, "helper")
        with open(helper, "w") as f:
            f.write(f"#!/bin/sh\necho {token}\n")
        os.chmod(helper, 0o700)
        with open(os.path.join(d.home, ".vault"), "w") as f:
            f.write(f'token_helper = "{helper}"\n')
        self.assertEqual(d.sshcert("login", "--method", "token").returncode, 0)
        self.assertEqual(d.sshcert("logout", "--revoke").returncode, 0)

        log = d.log()
        self.assertIn("logged in to", log)  # the log is there, and says what happened
        self.assertIn("second factor", log)
        for secret_text in used:
            self.assertNotIn(secret_text, log)


if __name__ == "__main__":
    unittest.main()
