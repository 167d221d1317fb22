# SPDX-License-Identifier: Apache-2.0
"""The daemon's sockets under pressure: clients that hold connections, trickle
bytes or never read, a reload that closes a socket under a pending write, the
process running out of descriptors, and a runtime directory taken by another
user. After each, ordinary clients (ssh-add, sshcert status) are still served."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import unittest

from harness import (SSHCERTD, Daemon, Workdir, cpu_seconds, profile_toml, raise_descriptor_limit, sanitized_build,
                     stop_process, wait_for)

REQUEST_IDENTITIES = b"\x00\x00\x00\x01\x0b"
MAX_CONNECTIONS = 1024         # proto/limits.hpp kMaxConnections
MESSAGE_DEADLINE_SECONDS = 10  # proto/limits.hpp kMessageDeadline


def connect(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def closed_by_peer(s):
    """True when the daemon has closed `s` (whatever it sent before is read and dropped)."""
    s.setblocking(False)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


class Sockets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise_descriptor_limit()

    def setUp(self):
        self.work = Workdir(self)

    def daemon(self, config="", **kwargs):
        # No Vault is needed to list (no) identities or to report status.
        return Daemon(self.work.path, "http://127.0.0.1:9", config, self.work.cleanup, **kwargs)

    def hold(self, path, n):
        socks = []
        for _ in range(n):
            socks.append(connect(path))
            self.addCleanup(socks[-1].close)
        return socks

    def assert_ssh_add_served(self, d, socket_path=None):
        env = d.agent_env()
        if socket_path:
            env["SSH_AUTH_SOCK"] = socket_path
        r = subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True, timeout=30)
        self.assertIn("no identities", r.stdout + r.stderr, f"ssh-add -l exited {r.returncode}: {r.stderr}")

    def assert_status_served(self, d):
        r = d.sshcert("status", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Agent socket:", r.stdout)

    def test_connections_held_open_do_not_lock_out_new_agent_clients(self):
        d = self.daemon()
        holders = self.hold(d.agent_socket, MAX_CONNECTIONS)
        self.assert_ssh_add_served(d)
        self.assertTrue(closed_by_peer(holders[0]), "the connection that waited longest made room")
        self.assertFalse(closed_by_peer(holders[-1]))
        self.assertIn("closing the one that has waited longest", d.log())

    def test_connections_held_open_do_not_lock_out_status(self):
        d = self.daemon()
        self.hold(d.control_socket, 300)
        self.assert_status_served(d)
        self.assert_ssh_add_served(d)

    def test_a_client_trickling_one_byte_at_a_time_is_closed_at_the_message_deadline(self):
        d = self.daemon()
        agent, control = connect(d.agent_socket), connect(d.control_socket)
        self.addCleanup(agent.close)
        self.addCleanup(control.close)
        frame = struct.pack(">I", 64) + b"\x0b" * 64  # would take over two minutes at this pace
        start, sent = time.monotonic(), 0
        open_ = {"agent": agent, "control": control}
        while open_ and time.monotonic() - start < 3 * MESSAGE_DEADLINE_SECONDS:
            for name, s in list(open_.items()):
                try:
                    s.send(frame[sent:sent + 1])
                except OSError:
                    del open_[name]
                    continue
                if closed_by_peer(s):
                    del open_[name]
            sent += 1
            time.sleep(2)
        self.assertEqual(open_, {}, f"still open after {time.monotonic() - start:.0f} s and {sent} bytes")
        self.assertLess(sent, len(frame))
        self.assertEqual(d.log().count(f"did not arrive whole within {MESSAGE_DEADLINE_SECONDS} s"), 2)
        self.assert_ssh_add_served(d)
        self.assert_status_served(d)

    def test_a_reload_that_removes_a_profile_under_a_pending_write_keeps_serving(self):
        profiles = (profile_toml("local", ["127.0.0.1"], "dev") + "\n" +
                    profile_toml("extra", ["extra.example"], "dev"))
        d = self.daemon(profiles)
        extra = os.path.join(d.socket_dir, "agent-extra.sock")
        self.assertTrue(os.path.exists(extra))
        flooder = connect(extra)
        self.addCleanup(flooder.close)
        flooder.setblocking(False)
        # Requests without reading replies: the daemon's reply write blocks, then it stops reading us.
        blocked_since = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                flooder.send(REQUEST_IDENTITIES * 1024)
                blocked_since = None
            except BlockingIOError:
                blocked_since = blocked_since or time.monotonic()
                if time.monotonic() - blocked_since > 0.5:
                    break
                time.sleep(0.01)
        self.assertIsNotNone(blocked_since, "the daemon never stopped reading the flooder")

        with open(d.config_path, "w") as f:
            f.write(profile_toml("local", ["127.0.0.1"], "dev"))
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded: 1 profile(s)" in d.log(), "the reload", proc=d.proc)
        wait_for(lambda: not os.path.exists(extra), "agent-extra.sock to go", proc=d.proc)
        wait_for(lambda: closed_by_peer(flooder), "the flooder to be closed", proc=d.proc)
        time.sleep(0.5)  # the aborted write's completion runs after the server is gone
        self.assertIsNone(d.proc.poll(), "the daemon is still running")
        self.assert_ssh_add_served(d)
        self.assert_status_served(d)

        # And the profile can come back.
        with open(d.config_path, "w") as f:
            f.write(profiles)
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(extra), "agent-extra.sock to return", proc=d.proc)
        self.assert_ssh_add_served(d, extra)

    @unittest.skipUnless(shutil.which("prlimit"), "needs prlimit to start the daemon with few descriptors")
    @unittest.skipIf(sanitized_build(), "UBSan's vptr check opens a pipe of its own, so out of descriptors it reports "
                                        "objects as invalid that are not")
    def test_out_of_descriptors_pauses_accepting_without_spinning_then_recovers(self):
        d = self.daemon(start=False)
        d.start(prefix=["prlimit", "--nofile=32:32"])
        hogs = self.hold(d.agent_socket, 48)  # more than the daemon has descriptors for
        wait_for(lambda: len(os.listdir(f"/proc/{d.proc.pid}/fd")) >= 32, "the daemon to run out of descriptors",
                 proc=d.proc)
        time.sleep(0.5)
        lines_before, cpu_before = d.log().count("\n"), cpu_seconds(d.proc.pid)
        time.sleep(4)
        lines, cpu = d.log().count("\n") - lines_before, cpu_seconds(d.proc.pid) - cpu_before
        print(f"\nout of descriptors for 4 s: {lines} log lines, {cpu:.2f} s of CPU")
        self.assertLess(lines, 10, d.log()[-2000:])
        self.assertLess(cpu, 1.0, "the daemon spins while it cannot accept")
        self.assertEqual(d.log().count("cannot accept connections"), 1)

        for s in hogs:
            s.close()
        wait_for(lambda: "accepting connections again" in d.log(), "accepting to resume", proc=d.proc)
        self.assert_ssh_add_served(d)
        self.assert_status_served(d)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"),
                         "needs root to give a directory to another user, and unshare for a private /tmp")
    def test_a_runtime_directory_taken_by_another_user_stops_the_daemon_with_what_to_do(self):
        d = self.daemon(start=False)
        env = dict(d.env)
        del env["XDG_RUNTIME_DIR"]  # the daemon falls back to /tmp/sshcert-<uid>
        taken = f"/tmp/sshcert-{os.getuid()}"
        # A private /tmp, so the machine's own is left alone; there "nobody" has taken our directory.
        # (The test's files under /tmp are hidden there too: the daemon runs on its default configuration.)
        script = f'mount -t tmpfs tmpfs /tmp && mkdir -m 700 {taken} && chown nobody {taken} && exec "$0"'
        proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, SSHCERTD],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(stop_process, proc)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the daemon started in a runtime directory that another user owns")
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertIn(f"{taken} belongs to user nobody (uid 65534), mode 0700", out)
        self.assertIn("set XDG_RUNTIME_DIR", out)
        self.assertIn("as root", out)


if __name__ == "__main__":
    unittest.main()
