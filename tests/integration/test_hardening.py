# SPDX-License-Identifier: Apache-2.0
"""Process hygiene of a running sshcertd, read from /proc as an attacker on
the same machine would see it."""

import os
import pwd
import resource
import shutil
import subprocess
import unittest

from harness import LOGIN_USER, PASSWORD, VaultSshTestCase

O_CLOEXEC = 0o2000000
SECURE_HEAP_BYTES = 4 * 1024 * 1024  # daemon/platform/hygiene.hpp kSecureHeapBytes
SIGPIPE = 13


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class Hardening(VaultSshTestCase):
    def as_nobody(self, d):
        """Gives the daemon's files to `nobody`; returns the prefix that starts it as `nobody`."""
        nobody = pwd.getpwnam("nobody")
        for path in (d.home, d.runtime):
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid)
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.work.path, 0o755)
        return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]

    @unittest.skipUnless(shutil.which("prlimit"), "needs prlimit to lower RLIMIT_MEMLOCK")
    def test_a_memlock_limit_below_the_secure_heap_is_a_warning_and_keys_still_work(self):
        d = self.daemon(start=False)
        user = []
        if os.geteuid() == 0:
            # Root locks memory whatever the limit says (CAP_IPC_LOCK): the daemon and its clients run as nobody.
            if not shutil.which("setpriv"):
                self.skipTest("needs setpriv to run the daemon as an unprivileged user")
            user = self.as_nobody(d)
        d.start(prefix=["prlimit", "--memlock=65536:65536", *user])
        self.assertIn("secure heap for private keys could not be locked in memory (RLIMIT_MEMLOCK is 64 KiB)", d.log())
        self.assertIn("LimitMEMLOCK=4M", d.log())

        def sshcert(*args, input=None):
            return subprocess.run([*user, d.sshcert_path, *args], input=input, env=d.env, capture_output=True, text=True,
                                  timeout=60)
        login = sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(login.returncode, 0, login.stderr)
        r = sshcert("ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo", "signed")
        self.assertEqual(r.stdout.strip(), "signed", r.stderr)

    def running_daemon(self):
        """A daemon that has logged in and signed, so Vault connections and keys exist."""
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        return d

    @unittest.skipUnless(os.geteuid() == 0, "reading another process's fdinfo and smaps needs root here")
    def test_every_descriptor_is_close_on_exec(self):
        d = self.running_daemon()
        fds = [int(n) for n in os.listdir(f"/proc/{d.proc.pid}/fd") if int(n) > 2]
        self.assertGreaterEqual(len(fds), 5, "listeners, epoll, timers and a Vault connection")
        for fd in fds:
            with open(f"/proc/{d.proc.pid}/fdinfo/{fd}") as f:
                flags = int(next(l for l in f if l.startswith("flags:")).split()[1], 8)
            target = os.readlink(f"/proc/{d.proc.pid}/fd/{fd}")
            self.assertTrue(flags & O_CLOEXEC, f"fd {fd} ({target}) is inherited by exec")

    def test_no_core_dumps_and_sigpipe_ignored(self):
        d = self.running_daemon()
        with open(f"/proc/{d.proc.pid}/limits") as f:
            core = next(l for l in f if l.startswith("Max core file size")).split()
        self.assertEqual(core[4:6], ["0", "0"])
        ignored = int(proc_status(d.proc.pid)["SigIgn"], 16)
        self.assertTrue(ignored & (1 << (SIGPIPE - 1)))

    @unittest.skipUnless(os.geteuid() == 0, "reading another process's smaps needs root here")
    def test_key_memory_is_locked_and_left_out_of_core_dumps(self):
        _, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        if hard != resource.RLIM_INFINITY and hard < SECURE_HEAP_BYTES:
            self.skipTest(f"RLIMIT_MEMLOCK allows {hard} bytes; the daemon then keeps keys in unlocked memory")
        d = self.running_daemon()
        self.assertGreaterEqual(int(proc_status(d.proc.pid)["VmLck"].split()[0]), SECURE_HEAP_BYTES // 1024)
        self.assertNotIn("could not be locked", d.log())
        with open(f"/proc/{d.proc.pid}/smaps") as f:
            flags = [l.split()[1:] for l in f if l.startswith("VmFlags:")]
        self.assertTrue(any("lo" in v and "dd" in v for v in flags), "a locked, do-not-dump region holds the keys")

    def test_the_daemon_is_not_dumpable(self):
        # The kernel hands /proc/PID files of a non-dumpable process to root, so another
        # process of the same user cannot read its memory or attach a debugger.
        if os.geteuid() != 0:
            d = self.running_daemon()
            self.assertEqual(os.stat(f"/proc/{d.proc.pid}/status").st_uid, 0)
            return
        if not shutil.which("setpriv"):
            self.skipTest("needs setpriv to run the daemon as an unprivileged user")
        nobody = pwd.getpwnam("nobody")
        d = self.daemon(start=False)
        d.start(prefix=self.as_nobody(d))
        st = os.stat(f"/proc/{d.proc.pid}/status")
        self.assertEqual(proc_status(d.proc.pid)["Uid"].split()[0], str(nobody.pw_uid))
        self.assertEqual(st.st_uid, 0, "a dumpable process's /proc files belong to its own user")
        # Same uid, still refused: another process of `nobody` cannot read the daemon's memory.
        r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
                            "cat", f"/proc/{d.proc.pid}/environ"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)


if __name__ == "__main__":
    unittest.main()
