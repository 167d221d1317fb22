# SPDX-License-Identifier: Apache-2.0
"""Defects of the daemon's old core, each reproduced as a user meets it: a
misbehaving, slow or hostile Vault (the stand-in's faults), a logout in the
middle of a fetch, a reload without a config file, many certificates, and what
is left in the environment and in memory. Each test fails against the daemon
of commit 5a7e1e5, before its core was rebuilt from parts with one job each."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

from harness import (CONTROL_CHARACTERS, LOGIN_USER, PASSWORD, VaultSshTestCase, cpu_seconds, memory_copies, profile_toml,
                     standin_only, stop_process, wait_for)

HUGE_RETRY_AFTER = "99999999999999999999"  # more seconds than 64 bits hold
# Terminal escapes a hostile Vault could send: set the window title (OSC), clear the screen and
# colour (CSI), a C1 CSI, and a bell.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m \u009b31m \x07"


class CoreDefects(VaultSshTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Any principal, for many distinct certificates.
        cls.vault.write_role(cls.mount, "any", allowed_users="*", default_extensions={"permit-pty": ""}, ttl="30m")

    def setUp(self):
        super().setUp()
        if self.vault.is_standin:
            self.vault.clear_faults()
            self.vault.clear_requests()
            self.addCleanup(self.vault.clear_faults)  # registered first: runs after the daemon stopped

    def requests_to(self, fragment):
        return [r for r in self.vault.requests() if fragment in r["path"]]

    def wait_for_request(self, fragment, count=1, timeout=15):
        wait_for(lambda: len(self.requests_to(fragment)) >= count, f"{count} request(s) to {fragment} at Vault",
                 timeout=timeout)

    def background(self, d, *args, stdin=None):
        """sshcert started without waiting for it; stopped by PID when the test ends."""
        p = subprocess.Popen([d.sshcert_path, *args], env=d.env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (stop_process(p), p.stdout.close(), p.stderr.close()))
        if stdin:
            p.stdin.write(stdin)
            p.stdin.close()
            p.stdin = None
        return p

    def ssh_args(self, *args, destination=None, options=()):
        return ["ssh", *self.sshd.ssh_options(), *options, destination or f"{LOGIN_USER}@127.0.0.1", *args]

    def assert_running(self, d):
        self.assertIsNone(d.proc.poll(), f"sshcertd exited with {d.proc.returncode}; log:\n{d.log()[-3000:]}")

    # 1 ------------------------------------------------------------------------------------------

    @standin_only
    def test_a_retry_after_beyond_64_bits_is_capped_and_the_login_survives(self):
        profiles = "".join(profile_toml(f"p{i}", [f"h{i}.test"], "dev", mount=self.mount) for i in range(3))
        d = self.logged_in_daemon(profiles)
        # One 412, one 429 and one 502, each with a Retry-After of ~3 trillion years, for three signs at once.
        # (Not 503: its body is "Vault is sealed", which is rightly not retried.)
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/", status_once=[412, 429, 502], retry_after=HUGE_RETRY_AFTER)
        started = time.monotonic()
        # The profile is picked by the name typed; HostName sends ssh to the local sshd.
        procs = [self.background(d, *self.ssh_args("echo signed", destination=f"{LOGIN_USER}@h{i}.test",
                                                   options=["-o", "HostName=127.0.0.1"])) for i in range(3)]
        results = [p.communicate(timeout=90) for p in procs]
        elapsed = time.monotonic() - started
        self.assert_running(d)
        for p, (out, err) in zip(procs, results):
            self.assertEqual((p.returncode, out.strip()), (0, "signed"), err)
        self.assertLess(elapsed, 30, "Retry-After is capped (the request is retried within seconds)")
        status = self.status(d)
        self.assertTrue(status["logged_in"], "the login survives")
        self.assertEqual(len(status["certificates"]), 3)
        self.assertEqual(len(self.requests_to(f"{self.mount}/sign/")), 6, "each sign retried once")

    # 3 ------------------------------------------------------------------------------------------

    @standin_only
    def test_an_ensure_after_logout_and_login_does_not_join_a_fetch_from_before_the_logout(self):
        d = self.logged_in_daemon()
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/", delay_ms=4000)
        early = self.background(d, *self.ssh_args("true"))
        self.wait_for_request(f"{self.mount}/sign/")
        r = d.sshcert("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.login(d).returncode, 0)
        self.assertIsNone(self.requests_to(f"{self.mount}/sign/")[0]["status"], "the first sign is still under way")
        self.assert_ssh_echoes(d, "after-relogin")
        early.communicate(timeout=30)
        self.assertEqual(len(self.requests_to(f"{self.mount}/sign/")), 2, "the new login signed anew")

    # 5 ------------------------------------------------------------------------------------------

    @standin_only
    def test_a_certificate_valid_forever_leaves_the_daemon_idle(self):
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/", cert_validity="forever")
        d = self.logged_in_daemon()
        self.assert_ssh_echoes(d, "forever")
        certs = self.status(d)["certificates"]
        self.assertEqual(len(certs), 1)
        self.assertGreaterEqual(certs[0]["valid_before"], 2**63)
        time.sleep(0.5)  # the reply and ssh's agent connection are done
        before = cpu_seconds(d.proc.pid)
        time.sleep(3)
        used = cpu_seconds(d.proc.pid) - before
        print(f"\nCPU of sshcertd holding a certificate valid forever: {used:.2f} s in 3 s", file=sys.stderr)
        self.assertLess(used, 0.3, "an idle daemon uses (almost) no CPU")
        self.assert_running(d)

    # 6 ------------------------------------------------------------------------------------------

    @standin_only
    def test_sigterm_does_not_wait_for_a_hung_vault(self):
        d = self.logged_in_daemon()
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/", hang=True)
        self.background(d, *self.ssh_args("true"))
        self.wait_for_request(f"{self.mount}/sign/")
        started = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(40)
        except subprocess.TimeoutExpired:
            rc = None
        elapsed = time.monotonic() - started
        print(f"\nsshcertd stopped {elapsed:.2f} s after SIGTERM with a Vault call hung", file=sys.stderr)
        self.assertLess(elapsed, 3.0, "SIGTERM abandons the hung Vault call")
        self.assertEqual(rc, 0)

    @standin_only
    def test_forty_slow_logins_do_not_delay_a_new_certificate_or_status(self):
        d = self.logged_in_daemon()
        self.vault.set_faults(path_prefix=f"auth/{self.userpass}/login/", delay_ms=8000)
        earlier = len(self.requests_to(f"auth/{self.userpass}/login/"))
        logins = [self.background(d, "login", "--username", "alice", "--password-stdin", stdin=PASSWORD + "\n")
                  for _ in range(40)]
        try:
            self.wait_for_request(f"auth/{self.userpass}/login/", count=earlier + 40, timeout=4)
        except TimeoutError:
            pass  # a daemon that queues them sends few at once; what follows measures the harm
        arrived = len(self.requests_to(f"auth/{self.userpass}/login/")) - earlier

        started = time.monotonic()
        status = d.sshcert("status", timeout=30)
        status_latency = time.monotonic() - started
        started = time.monotonic()
        try:
            r = d.sshcert(*self.ssh_args("echo fresh-certificate"), timeout=30)
        except subprocess.TimeoutExpired:
            r = None
        ensure_latency = time.monotonic() - started
        waiting = sum(p.poll() is None for p in logins)
        print(f"\nwith 40 logins waiting on Vault ({arrived} sent to it): status answered in {status_latency:.2f} s, "
              f"a new certificate and ssh in {ensure_latency:.2f} s; {waiting} logins still waiting", file=sys.stderr)
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertLess(status_latency, 3.0)
        self.assertIsNotNone(r, "sshcert ssh did not finish within 30 s")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "fresh-certificate"), r.stderr)
        self.assertLess(ensure_latency, 8.0, "the new certificate does not wait behind the logins")
        self.assertGreaterEqual(waiting, 30, "the logins were still waiting meanwhile")
        for p in logins:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
        self.assert_running(d)

    # 8 ------------------------------------------------------------------------------------------

    @standin_only
    def test_a_user_name_cannot_take_the_password_outside_the_login_path(self):
        d = self.daemon()
        r = d.sshcert("login", "--username", "../../../sys/seal", "--password-stdin", input=PASSWORD + "\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("../../../sys/seal", r.stderr, "the error names the user name it refused")
        login_path = f"/v1/auth/{self.userpass}/login/"
        sent = [q["path"] for q in self.vault.requests() if q["path"] not in ("/v1/sys/health",)]
        self.assertEqual([p for p in sent if not p.startswith(login_path)], [], "the password went nowhere else")
        self.assertIn("nobody", d.sshcert("status").stdout)

    @standin_only
    def test_a_user_name_is_escaped_into_one_path_segment(self):
        d = self.daemon()
        self.vault.clear_requests()
        r = d.sshcert("login", "--username", "alice?x=1#frag", "--password-stdin", input=PASSWORD + "\n")
        # Vault has no such user (nor route): logging in as alice would mean '?' started a query.
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("alice?x=1#frag", r.stderr)
        logins = [q for q in self.vault.requests() if "/login/" in q["path"]]
        self.assertEqual([(q["path"], q["query"]) for q in logins],
                         [(f"/v1/auth/{self.userpass}/login/alice?x=1#frag", "")])
        self.assertIn("nobody", d.sshcert("status").stdout)

    # 9 ------------------------------------------------------------------------------------------

    @standin_only
    def test_logout_does_not_claim_a_revocation_vault_did_not_confirm(self):
        d = self.logged_in_daemon()
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        self.vault.set_faults(path_prefix="auth/token/revoke-self", cut_after_headers=True)
        r = d.sshcert("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The reply was cut off after "200 OK": whether Vault revoked the token is unknown (the stand-in,
        # like Vault, acted before the reply broke), so the output claims neither outcome.
        self.assertNotIn("revoked", r.stdout)
        self.assertNotRegex(r.stderr, r"did not revoke|was revoked|not revoked")
        self.assertRegex(r.stderr, r"warning: .*revocation")
        self.assertIn("wiped", r.stdout)
        self.assertFalse(self.status(d)["logged_in"])
        self.assertEqual(self.status(d)["certificates"], [])

    # 10 -----------------------------------------------------------------------------------------

    def test_reload_without_a_config_file_keeps_the_old_config_and_says_so(self):
        d = self.logged_in_daemon()
        away = d.config_path + ".away"
        for case in ("missing", "a directory"):
            with self.subTest(config=case):
                os.rename(d.config_path, away)
                if case == "a directory":
                    os.mkdir(d.config_path)
                try:
                    failures = d.log().count("reload failed")
                    os.kill(d.proc.pid, signal.SIGHUP)
                    wait_for(lambda: d.log().count("reload failed") > failures, "the reload to fail", timeout=10)
                    self.assertIn(d.config_path, d.log().split("reload failed")[-1].splitlines()[0])
                    reply = d.control("reload")
                    self.assertFalse(reply["ok"], reply)
                    self.assertIn(d.config_path, reply["error"]["message"])
                    self.assert_ssh_echoes(d, "still-configured")
                    self.assertEqual(self.status(d)["config"], d.config_path)
                finally:
                    if os.path.isdir(d.config_path):
                        os.rmdir(d.config_path)
                    os.rename(away, d.config_path)
        reply = d.control("reload")
        self.assertTrue(reply["ok"], reply)
        self.assertIn("configuration reloaded: 1 profile(s)", d.log())

    # 11 -----------------------------------------------------------------------------------------

    @standin_only
    def test_a_900_kb_vault_error_is_cut_short(self):
        d = self.logged_in_daemon()
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/",
                              error_reply={"status": 400, "text": "role says no-", "repeat": 70000})  # 910 KB
        r = self.ssh(d, "true")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("role says no-role says no-", r.stderr, "Vault's words, shortened")
        self.assertLess(len(r.stderr), 8192)
        reply = d.control("ensure", host="127.0.0.1", user=LOGIN_USER)
        self.assertFalse(reply["ok"])
        self.assertLess(len(reply["error"]["message"]), 4096)
        # A failed login is also logged: the log is not flooded either.
        log_before = len(d.log())
        self.vault.set_faults(path_prefix=f"auth/{self.userpass}/login/")
        r = self.login(d)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertLess(len(r.stderr), 8192)
        logged = d.log()[log_before:]
        self.assertIn("role says no-", logged)
        self.assertLess(len(logged), 64 * 1024)
        self.assert_running(d)

    @standin_only
    def test_terminal_escapes_from_vault_reach_neither_the_terminal_nor_the_log(self):
        d = self.logged_in_daemon()
        for what, path, command, typed in (
                ("sign", f"{self.mount}/sign/", self.ssh_args("true"), None),
                ("login", f"auth/{self.userpass}/login/", ["login", "--username", "alice", "--password-stdin"],
                 PASSWORD.encode() + b"\n")):
            with self.subTest(vault_error_on=what):
                self.vault.set_faults(path_prefix=path, error_reply={"status": 400, "text": f"start {ESCAPES} end"})
                log_before = len(d.log())
                r = subprocess.run([d.sshcert_path, *command], env=d.env, input=typed, capture_output=True, timeout=60)
                self.assertEqual(r.returncode, 2)
                shown = (r.stdout + r.stderr).decode("utf-8", errors="strict")
                self.assertIn("start", shown)
                self.assertIn("end", shown)
                self.assertEqual(CONTROL_CHARACTERS.findall(shown.replace("\n", "")), [], repr(shown))
                logged = d.log()[log_before:]
                self.assertEqual(CONTROL_CHARACTERS.findall(logged.replace("\n", "").replace("\t", "")), [], repr(logged))
                if what == "login":
                    self.assertIn("start", logged, "a failed login is logged with Vault's words")

    @standin_only
    def test_a_vault_echoing_the_login_request_never_puts_the_password_in_the_log(self):
        d = self.daemon()
        self.vault.set_faults(path_prefix=f"auth/{self.userpass}/login/",
                              error_reply={"status": 400, "text": "could not decode {{request_body}}"})
        r = self.login(d)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("could not decode", d.log(), "the login failure is logged")
        self.assertNotIn(PASSWORD, d.log())

    # 12 -----------------------------------------------------------------------------------------

    def test_status_lists_two_hundred_certificates(self):
        d = self.logged_in_daemon(profile_toml("many", ["many.test"], "any", mount=self.mount))
        users = [f"user{i:03d}" for i in range(200)]
        failures, lock = [], threading.Lock()

        def ensure(chunk):
            for u in chunk:
                reply = d.control("ensure", host="many.test", user=u)
                if not reply["ok"]:
                    with lock:
                        failures.append((u, reply))

        threads = [threading.Thread(target=ensure, args=(users[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(failures, [])
        r = d.sshcert("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(re.findall(r"^  many: ssh-ed25519 for (\S+),", r.stdout, re.M)), users)
        certs = self.status(d)["certificates"]
        self.assertEqual(sorted(c["principals"][0] for c in certs), users)

    # 15 -----------------------------------------------------------------------------------------

    def test_ssh_does_not_inherit_vault_token(self):
        d = self.logged_in_daemon()
        seen = os.path.join(self.work.path, "ssh-environment")
        fake_ssh = os.path.join(self.work.path, "fake-ssh")
        with open(fake_ssh, "w") as f:
            f.write(f"#!/bin/sh\nenv > '{seen}'\n")
        os.chmod(fake_ssh, 0o755)
        r = d.sshcert("ssh", f"{LOGIN_USER}@127.0.0.1", "true",
                      env={"SSHCERT_SSH": fake_ssh, "VAULT_TOKEN": "hvs.a-token-for-the-vault-cli"})
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(seen) as f:
            environment = f.read()
        self.assertIn(f"HOME={d.home}", environment, "the file is ssh's environment")
        self.assertNotIn("hvs.a-token-for-the-vault-cli", environment)
        self.assertNotIn("VAULT_TOKEN", environment)

    @unittest.skipUnless(os.geteuid() == 0, "reading the memory of the (non-dumpable) daemon needs root")
    def test_after_logout_no_copy_of_the_password_or_token_is_left_in_memory(self):
        password = "pw-" + os.urandom(12).hex()
        self.vault.add_user(self.userpass, "memo", password, [self.fixture.policy])
        token = self.vault.create_token([self.fixture.policy], ttl="1h")
        d = self.daemon()
        r = self.login(d, password, user="memo")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        self.assertEqual(d.sshcert("logout").returncode, 0)
        r = d.sshcert("login", "--method", "token", "--token-stdin", input=token + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        self.assertEqual(d.sshcert("logout").returncode, 0)
        copies = memory_copies(d.proc.pid, [password.encode(), token.encode()])
        named = {("password" if k == password.encode() else "token"): v for k, v in copies.items()}
        self.assertEqual(named, {}, "regions of sshcertd's memory holding a secret after logout")

    # 16 -----------------------------------------------------------------------------------------

    @standin_only
    def test_a_token_ttl_of_2_to_the_63_is_shown_sanely(self):
        self.vault.set_faults(path_prefix="auth/", token_ttl=9223372036854775807)
        d = self.logged_in_daemon()
        time.sleep(1)  # a renewal timer gone wrong fires at once
        status = self.status(d)
        self.assertTrue(status["logged_in"], status)
        ttl = status["token"]["ttl_seconds"]
        self.assertGreater(ttl, 0)
        self.assertLessEqual(ttl, 20 * 365 * 86400, "a TTL no Vault gives is not believed")
        shown = re.search(r"^Token: +(.*)$", d.sshcert("status").stdout, re.M).group(1)
        self.assertRegex(shown, r"^expires in \d+d\d+h, renewed automatically$")
        self.assert_ssh_echoes(d, "token-works")
        self.assert_running(d)

    @standin_only
    def test_an_already_expired_certificate_from_vault_is_an_error(self):
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/", cert_validity="expired")
        d = self.logged_in_daemon()
        r = self.ssh(d, "echo should-not-run")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertNotIn("should-not-run", r.stdout)
        self.assertIn("expired", r.stderr)
        self.assertEqual(self.status(d)["certificates"], [])

    @standin_only
    def test_a_renewal_answered_with_204_is_not_called_a_bad_reply(self):
        self.vault.add_user(self.userpass, "brief204", PASSWORD, [self.fixture.policy], token_ttl="6s", token_max_ttl="1h")
        self.vault.set_faults(path_prefix="auth/token/renew-self", renew_204=True)
        d = self.daemon()
        r = self.login(d, user="brief204")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_for_request("auth/token/renew-self", timeout=10)
        wait_for(lambda: any(m in d.log() for m in ("did not extend", "renewal failed", "renewed for")),
                 "the renewal's outcome in the log", timeout=5)
        log = d.log()
        self.assertIn("did not extend", log)
        self.assertNotIn("bad reply", log)
        self.assertNotIn("no auth block", log)
        self.assert_running(d)


if __name__ == "__main__":
    unittest.main()
