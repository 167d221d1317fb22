# SPDX-License-Identifier: Apache-2.0
"""The login outlives a restart of sshcertd through the kernel keyring, never on
disk; persist_login = false and logout forget it; status and `sshcert ssh` tell
when the token's maximum TTL ends the login; an open ssh session outlives it."""

import ctypes
import subprocess
import tempfile
import time
import unittest

from harness import (KEY_SPEC_PROCESS_KEYRING, LOGIN_USER, PASSWORD, NotifySocket, VaultSshTestCase, kept_login_key,
                     files_changed_since, keyutils_lib, run_in_terminal, standin_only, stop_process, wait_for)


def keyring_usable():
    lib = keyutils_lib()
    return lib is not None and lib.keyctl_get_persistent(-1, KEY_SPEC_PROCESS_KEYRING) >= 0


def read_key(key):
    """The payload and the permission mask of a key this process possesses."""
    lib = keyutils_lib()
    lib.keyctl_read_alloc.argtypes = [ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p)]
    lib.keyctl_read_alloc.restype = ctypes.c_long
    lib.keyctl_describe_alloc.argtypes = [ctypes.c_int32, ctypes.POINTER(ctypes.c_char_p)]
    lib.keyctl_describe_alloc.restype = ctypes.c_long
    buf = ctypes.c_void_p()
    n = lib.keyctl_read_alloc(key, ctypes.byref(buf))
    assert n >= 0, f"keyctl_read failed: errno {ctypes.get_errno()}"
    payload = ctypes.string_at(buf, n).decode()
    desc = ctypes.c_char_p()
    assert lib.keyctl_describe_alloc(key, ctypes.byref(desc)) >= 0
    perm = int(desc.value.decode().split(";")[3], 16)  # "type;uid;gid;perm;description"
    return payload, perm


def files_containing(secret, roots, since, skip=()):
    """Regular files under roots, changed since `since`, whose bytes contain secret."""
    return [path for path, data in files_changed_since(roots, since, skip) if secret.encode() in data]


@unittest.skipUnless(keyring_usable(), "the kernel keyring is not usable here (keyctl filtered, or no libkeyutils)")
class LoginPersistence(VaultSshTestCase):
    def setUp(self):
        super().setUp()
        self.started = time.time() - 1
        if self.vault.is_standin:
            self.vault.clear_requests()

    def restart(self, d):
        stop_process(d.proc)
        d.start()

    def kept(self, d, addr=None):
        return kept_login_key(d.socket_dir, addr or self.vault.addr)

    def token_daemon(self, **token_options):
        """A daemon logged in with a token the user brought (VAULT_TOKEN); returns it and the token."""
        token = self.vault.create_token([self.fixture.policy], **token_options)
        d = self.daemon()
        self.assertEqual(d.sshcert("login", "--method", "token", env={"VAULT_TOKEN": token}).returncode, 0)
        return d, token

    def logins_seen(self):
        return [r["path"] for r in self.vault.requests() if "/login" in r["path"]]

    def test_the_login_survives_a_restart_in_the_keyring_and_nowhere_on_disk(self):
        d = self.logged_in_daemon()
        self.assert_ssh_echoes(d, "before")
        key = self.kept(d)
        self.assertIsNotNone(key, "the login is not in the kernel keyring")
        payload, perm = read_key(key)
        self.assertEqual(perm & 0x00FFFFFF, 0, f"the key is not possessor-only: {perm:08x}")
        token = payload.splitlines()[-1]
        self.assertTrue(token.startswith("hvs."), "the key holds no token")

        if self.vault.is_standin:
            self.vault.clear_requests()
        self.restart(d)
        wait_for(lambda: self.status(d)["logged_in"], "the login resumed after the restart")
        self.assertEqual(self.status(d)["token"]["display_name"], f"{self.userpass}-alice")
        self.assert_ssh_echoes(d, "after")
        self.assertIn("resumed the login kept in the kernel keyring", d.log())
        if self.vault.is_standin:
            self.assertEqual(self.logins_seen(), [], "the restart logged in again")
            self.assertIn("/v1/auth/token/lookup-self", [r["path"] for r in self.vault.requests()])

        roots = [d.home, d.runtime, tempfile.gettempdir()]
        self.assertEqual(files_containing(token, roots, self.started, skip=(self.tmp,)), [])
        self.assertNotIn(token, d.log())

    def test_persist_login_false_forgets_the_login_at_a_restart(self):
        config = self.fixture.config_toml().replace("[auth]\n", "[auth]\npersist_login = false\n", 1)
        from harness import Daemon
        d = Daemon(self.work.path, self.vault.addr, config, self.work.cleanup)
        self.assertEqual(self.login(d).returncode, 0)
        self.assertIsNone(self.kept(d))
        self.restart(d)
        self.assertFalse(self.status(d)["logged_in"])

    def test_logout_removes_the_kept_login(self):
        d = self.logged_in_daemon()
        self.assertIsNotNone(self.kept(d))
        self.assertEqual(d.sshcert("logout").returncode, 0)
        self.assertIsNone(self.kept(d))
        self.restart(d)
        self.assertFalse(self.status(d)["logged_in"])

    def test_an_imported_token_is_kept_as_imported_and_stays_valid_at_vault_after_logout(self):
        d, token = self.token_daemon(ttl="1h")
        self.restart(d)
        wait_for(lambda: self.status(d)["logged_in"], "the imported login resumed")
        r = d.sshcert("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("stays valid", r.stdout)
        self.vault.api("GET", "auth/token/lookup-self", token=token)  # raises when Vault rejects it
        self.assertIsNone(self.kept(d))
        self.restart(d)
        self.assertFalse(self.status(d)["logged_in"])

    def test_a_token_vault_no_longer_accepts_is_removed_at_start(self):
        d, token = self.token_daemon(ttl="1h")
        stop_process(d.proc)
        self.vault.api("POST", "auth/token/revoke-self", {}, token=token)
        d.start()
        wait_for(lambda: self.kept(d) is None, "the dead login removed from the keyring")
        self.assertFalse(self.status(d)["logged_in"])
        self.assertIn("no longer valid at Vault", d.log())

    @standin_only
    def test_status_and_ssh_tell_when_the_maximum_ttl_ends_the_login(self):
        # A token issued 100 minutes ago with an explicit max TTL of 2 hours: 20 minutes are left.
        self.addCleanup(self.vault.set_time_offset, 0)
        self.vault.set_time_offset(-6000)
        token = self.vault.create_token([self.fixture.policy], ttl="2h", explicit_max_ttl="2h")
        self.vault.set_time_offset(0)
        notify = NotifySocket(self.work.path, self.work.cleanup)
        d = self.daemon(env={"NOTIFY_SOCKET": notify.path})
        self.assertEqual(d.sshcert("login", "--method", "token", env={"VAULT_TOKEN": token}).returncode, 0)
        t = self.status(d)["token"]
        hhmm = time.strftime("%H:%M", time.localtime(t["login_required_at"]))
        lines = []
        while not any("login required at " + hhmm in line for line in lines):
            lines += notify.statuses(notify.wait_for("STATUS="))  # raises once none comes
        self.assertIn("logged in as token", lines[-1])
        self.assertAlmostEqual(t["login_required_at"], time.time() + 1200, delta=10)
        self.assertTrue(t["login_end_near"])
        text = d.sshcert("status").stdout
        self.assertIn("login required at " + time.strftime("%Y-%m-%d %H:%M", time.localtime(t["login_required_at"])), text)

        shown, rc = run_in_terminal([d.sshcert_path, "ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1",
                                     "echo", "warned"], d.env)
        self.assertEqual(rc, 0, shown)
        self.assertIn("your Vault login ends at", shown)
        self.assertEqual(shown.count("your Vault login ends at"), 1, shown)
        quiet = self.ssh(d, "echo", "unwarned")  # no terminal: nobody to read it
        self.assertEqual(quiet.stdout.strip(), "unwarned", quiet.stderr)
        self.assertNotIn("login ends", quiet.stderr)

    @standin_only
    def test_a_capped_renewal_tells_the_end_and_an_open_ssh_session_outlives_the_login(self):
        # Renewed at about 4 s, when only 5 s remain of the 9 s maximum: Vault caps it and says so.
        self.vault.add_user(self.userpass, "brief", PASSWORD, [self.fixture.policy], token_ttl="6s",
                            token_max_ttl="9s")
        d = self.daemon(username="brief")
        begun = time.time()
        self.assertEqual(self.login(d, user="brief").returncode, 0)
        self.assertEqual(self.status(d)["token"]["login_required_at"], 0, "claimed an end Vault never told")
        session = subprocess.Popen([d.sshcert_path, "ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "cat"],
                                   env=d.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(stop_process, session)
        self.addCleanup(session.stdout.close)
        self.addCleanup(session.stdin.close)
        session.stdin.write("before\n")
        session.stdin.flush()
        self.assertEqual(session.stdout.readline(), "before\n")

        wait_for(lambda: "/v1/auth/token/renew-self" in [r["path"] for r in self.vault.requests()], "a renewal", timeout=8)
        wait_for(lambda: self.status(d).get("token", {}).get("login_required_at", 0) > 0, "the end told by the renewal")
        self.assertAlmostEqual(self.status(d)["token"]["login_required_at"], begun + 9, delta=2)

        wait_for(lambda: not self.status(d)["logged_in"], "the login's end", timeout=10)
        self.assertIsNone(self.kept(d), "the kept login outlived its token")
        r = d.sshcert("ensure", "--host", "127.0.0.1", "--user", LOGIN_USER)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("sshcert login", r.stderr)
        session.stdin.write("after\n")
        session.stdin.flush()
        self.assertEqual(session.stdout.readline(), "after\n", "the open ssh session ended with the login")
        session.stdin.close()
        self.assertEqual(session.wait(10), 0)


if __name__ == "__main__":
    unittest.main()
