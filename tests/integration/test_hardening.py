# SPDX-License-Identifier: Apache-2.0
"""Process hygiene of a running sshcertd, read from /proc as an attacker on
the same machine would see it."""

import os
import pwd
import resource
import shutil
import subprocess
import unittest

from harness import VaultSshTestCase

O_CLOEXEC = 0o2000000
SIGPIPE = 13


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class Hardening(VaultSshTestCase):
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
        soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        if soft != resource.RLIM_INFINITY and soft < 256 * 1024:
            self.skipTest(f"RLIMIT_MEMLOCK is {soft} bytes; the daemon then keeps keys in ordinary memory")
        d = self.running_daemon()
        self.assertGreaterEqual(int(proc_status(d.proc.pid)["VmLck"].split()[0]), 256)
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
        for path in (d.home, d.runtime):
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid)
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.work.path, 0o755)
        d.start(prefix=["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"])
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
