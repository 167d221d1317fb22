# SPDX-License-Identifier: Apache-2.0
"""sshcertd under socket activation, as its systemd units run it: systemd-socket-activate
holds both sockets under their FileDescriptorName= values and starts the daemon on the
first connection; a datagram socket of ours stands in for systemd's NOTIFY_SOCKET."""

import os
import shutil
import signal
import subprocess
import unittest

from harness import LOGIN_USER, PASSWORD, SOURCE_DIR, Daemon, LoginSetup, NotifySocket, Workdir, class_workdir

UNITS = os.path.join(SOURCE_DIR, "packaging", "systemd")


@unittest.skipUnless(shutil.which("systemd-socket-activate"), "needs systemd-socket-activate (package systemd)")
class SocketActivation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fixture = LoginSetup(class_workdir(cls), cls.addClassCleanup)
        cls.userpass, cls.sshd = cls.fixture.userpass, cls.fixture.sshd

    def setUp(self):
        self.work = Workdir(self)
        config = self.fixture.config_toml()
        self.d = Daemon(self.work.path, self.fixture.vault.addr, config, self.work.cleanup, start=False)
        self.notify = NotifySocket(self.work.path, self.work.cleanup)

    def activate(self, names=("agent", "control")):
        self.d.start_socket_activated(names, notify=self.notify)
        self.assertEqual(self.d.program(), "systemd-socket-activate", "nothing starts the daemon before a connection")

    def statuses_until(self, status):
        return self.notify.statuses(self.notify.wait_for("STATUS=" + status))

    def test_the_first_connection_starts_the_daemon_which_then_serves_both_sockets(self):
        self.activate()
        r = self.d.sshcert("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Logged in as: nobody", r.stdout)
        self.assertEqual(self.d.program(), "sshcertd", "the same process became sshcertd")
        self.notify.wait_for("READY=1")
        self.statuses_until("not logged in, 0 certificates")
        agent = subprocess.run(["ssh-add", "-l"], env=self.d.agent_env(), capture_output=True, text=True)
        self.assertEqual(agent.returncode, 1, agent.stderr)  # served, and holding no identities
        self.assertIn("The agent has no identities", agent.stdout)
        for path in (self.d.agent_socket, self.d.control_socket):
            self.assertIn(f"serving {path} on the socket systemd passed", self.d.log())

    def test_login_ssh_and_logout_through_the_activated_daemon_show_in_its_status(self):
        self.activate()
        r = self.d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.statuses_until(f"logged in as {self.userpass}-alice, 0 certificates")
        r = self.d.sshcert("ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo via-activated-agent")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "via-activated-agent")
        self.statuses_until(f"logged in as {self.userpass}-alice, 1 certificate")
        self.assertEqual(self.d.sshcert("logout").returncode, 0)
        self.statuses_until("not logged in, 0 certificates")

    def test_sighup_reloads_between_reloading_and_ready(self):
        self.activate()
        self.assertEqual(self.d.sshcert("status").returncode, 0)
        self.notify.wait_for("READY=1")
        self.d.proc.send_signal(signal.SIGHUP)
        reloading = self.notify.wait_for("RELOADING=1")[-1].split("\n")
        self.assertTrue(any(line.startswith("MONOTONIC_USEC=") for line in reloading), reloading)
        self.notify.wait_for("READY=1")
        self.assertIn("configuration reloaded", self.d.log())

    def test_sigterm_exits_0_after_stopping_and_leaves_systemds_sockets_in_place(self):
        self.activate()
        self.assertEqual(self.d.sshcert("status").returncode, 0)
        self.notify.wait_for("READY=1")
        self.d.proc.send_signal(signal.SIGTERM)
        self.notify.wait_for("STOPPING=1")
        self.assertEqual(self.d.proc.wait(10), 0)
        self.assertTrue(os.path.exists(self.d.agent_socket) and os.path.exists(self.d.control_socket),
                        "sockets the daemon did not create are not its to remove")

    def test_a_socket_with_another_name_is_closed_and_the_daemon_binds_that_one_itself(self):
        self.activate(names=("agent", "sshcertd-control.socket"))
        agent = subprocess.run(["ssh-add", "-l"], env=self.d.agent_env(), capture_output=True, text=True)
        self.assertEqual(agent.returncode, 1, agent.stderr)
        self.notify.wait_for("READY=1")
        self.assertIn("closing socket 'sshcertd-control.socket'", self.d.log())
        self.assertNotIn(f"serving {self.d.control_socket} on the socket systemd passed", self.d.log())
        r = self.d.sshcert("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.d.proc.wait(10), 0)
        self.assertFalse(os.path.exists(self.d.control_socket), "the socket it bound itself is removed")
        self.assertTrue(os.path.exists(self.d.agent_socket), "systemd's socket stays")

    def test_without_a_daemon_the_client_names_the_start_command_and_starts_nothing(self):
        # The units installed for this user, as `systemctl --user link` or the package would.
        unit_dir = os.path.join(self.d.env["XDG_CONFIG_HOME"], "systemd", "user")
        shutil.copytree(UNITS, unit_dir)
        r = self.d.sshcert("status")
        self.assertEqual(r.returncode, 2)
        expected = ("systemctl --user start sshcertd.socket sshcertd-control.socket"
                    if os.path.isdir("/run/systemd/system") else "sshcertd &")
        self.assertIn(f"Start it with `{expected}`", r.stderr)
        self.assertFalse(os.path.exists(self.d.control_socket), "the client never starts a daemon")


if __name__ == "__main__":
    unittest.main()
