# SPDX-License-Identifier: Apache-2.0
"""`sshcert setup`: enables the socket units through systemctl (a stand-in here that
records its arguments), checks that the daemon answers, and prints ~/.ssh/config
lines that ssh itself reads back as intended."""

import os
import stat
import subprocess
import unittest

from harness import Daemon, Workdir, profile_toml

PROFILES = (profile_toml("prod", ["*.prod.example.com", "10.20.*", "!bastion.prod.example.com"], "prod") +
            profile_toml("dev", ["*"], "dev"))


class Setup(unittest.TestCase):
    def setUp(self):
        self.work = Workdir(self)
        self.bin = os.path.join(self.work.path, "bin")
        os.makedirs(self.bin)
        self.calls = os.path.join(self.work.path, "systemctl-calls")

    def daemon(self, start=True, systemctl_status=0):
        script = os.path.join(self.bin, "systemctl")
        with open(script, "w") as f:
            f.write(f'#!/bin/sh\necho "$@" >> {self.calls}\nexit {systemctl_status}\n')
        os.chmod(script, stat.S_IRWXU)
        d = Daemon(self.work.path, "http://127.0.0.1:9", PROFILES, self.work.cleanup, start=start)
        d.env["PATH"] = self.bin + ":" + d.env["PATH"]
        return d

    def systemctl_calls(self):
        with open(self.calls) as f:
            return f.read().splitlines()

    def test_enables_both_sockets_and_prints_host_blocks_ssh_reads_as_intended(self):
        d = self.daemon()
        r = d.sshcert("setup")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.systemctl_calls(), ["--user enable --now sshcertd.socket sshcertd-control.socket"])
        self.assertIn(f"sshcertd answers on {d.control_socket}", r.stdout)
        block = r.stdout[r.stdout.index("# sshcert profile prod"):r.stdout.index("\nPlain ssh")]
        prod_socket, dev_socket = f"{d.socket_dir}/agent-prod.sock", f"{d.socket_dir}/agent-dev.sock"
        self.assertIn(f"Host *.prod.example.com 10.20.* !bastion.prod.example.com\n    IdentityAgent {prod_socket}\n", block)

        ssh_config = os.path.join(self.work.path, "ssh_config")
        with open(ssh_config, "w") as f:
            f.write(block + "\n")
        for host, socket in (("web-1.prod.example.com", prod_socket), ("bastion.prod.example.com", dev_socket),
                             ("anything", dev_socket)):
            shown = subprocess.run(["ssh", "-G", "-F", ssh_config, host], capture_output=True, text=True, check=True).stdout
            self.assertIn(f"identityagent {socket}\n", shown, host)

    def test_a_failing_systemctl_is_a_local_error_that_names_the_alternative(self):
        d = self.daemon(start=False, systemctl_status=1)
        r = d.sshcert("setup")
        self.assertEqual(r.returncode, 1)
        self.assertIn("systemctl --user enable --now sshcertd.socket sshcertd-control.socket` failed", r.stderr)
        self.assertIn("`sshcertd &`", r.stderr)

    def test_a_daemon_that_does_not_answer_after_enabling_is_reported(self):
        d = self.daemon(start=False)
        r = d.sshcert("setup")
        self.assertEqual(r.returncode, 2)
        self.assertIn("sshcertd does not answer", r.stderr)
        self.assertIn("journalctl --user -u sshcertd", r.stderr)


if __name__ == "__main__":
    unittest.main()
