# SPDX-License-Identifier: Apache-2.0
"""`sshcert setup`: enables the socket units through systemctl (a stand-in here that
records its arguments), checks that the daemon answers, and installs the ssh_config
blocks (sshcert ssh-config --install) that ssh itself reads back as intended."""

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

    def test_enables_both_sockets_and_installs_the_ssh_config_that_ssh_reads_as_intended(self):
        d = self.daemon()
        r = d.sshcert("setup")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.systemctl_calls(), ["--user enable --now sshcertd.socket sshcertd-control.socket"])
        self.assertIn(f"sshcertd answers on {d.control_socket}", r.stdout)
        ours, ssh_config = os.path.join(d.config_dir, "ssh_config"), os.path.join(d.home, ".ssh", "config")
        self.assertIn(f"Wrote {ours} for profiles prod, dev.\n", r.stdout)
        self.assertIn(f"Wrote {ssh_config} with `Include {ours}`.\n", r.stdout)
        with open(ours) as f:
            self.assertEqual(f.read(), d.sshcert("ssh-config").stdout, "what `sshcert ssh-config` prints")

        prod_socket, dev_socket = f"{d.socket_dir}/agent-prod.sock", f"{d.socket_dir}/agent-dev.sock"
        for host, socket in (("web-1.prod.example.com", prod_socket), ("bastion.prod.example.com", dev_socket),
                             ("anything", dev_socket)):
            shown = subprocess.run(["ssh", "-G", "-F", ssh_config, host], env=d.env, capture_output=True, text=True, check=True)
            self.assertIn(f"identityagent {socket}\n", shown.stdout, host)
            # The daemon is not logged in (its Vault is a closed port): the hook says so, once.
            self.assertEqual(shown.stderr.splitlines().count("sshcert: not logged in to Vault; run: sshcert login"), 1, host)

        r = d.sshcert("setup")  # again: nothing changes
        self.assertIn(f"{ours} is up to date", r.stdout)
        self.assertIn(f"{ssh_config} includes it already.", r.stdout)

    def test_a_failing_systemctl_is_a_local_error_that_names_the_alternative(self):
        d = self.daemon(start=False, systemctl_status=1)
        r = d.sshcert("setup")
        self.assertEqual(r.returncode, 1)
        self.assertIn("systemctl --user enable --now sshcertd.socket sshcertd-control.socket` failed", r.stderr)
        self.assertIn("`sshcertd &`", r.stderr)
        self.assertIn("`sshcert ssh-config --install`", r.stderr)

    def test_a_daemon_that_does_not_answer_after_enabling_is_reported(self):
        d = self.daemon(start=False)
        r = d.sshcert("setup")
        self.assertEqual(r.returncode, 2)
        self.assertIn("sshcertd does not answer", r.stderr)
        self.assertIn("journalctl --user -u sshcertd", r.stderr)


if __name__ == "__main__":
    unittest.main()
