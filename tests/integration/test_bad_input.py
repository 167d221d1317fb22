# SPDX-License-Identifier: Apache-2.0
"""Malformed, oversized and foreign input against the running daemon: each
bad connection gets an error or is closed, and everyone else is still served."""

import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import time
import unittest

from harness import Daemon, Workdir

AGENT_MAX = 256 * 1024
CONTROL_MAX = 64 * 1024
FAILURE = b"\x00\x00\x00\x01\x05"
REQUEST_IDENTITIES = b"\x00\x00\x00\x01\x0b"


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def recv_frame(s):
    header = recv_exact(s, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    return recv_exact(s, length)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def control_request(path, obj):
    with connect(path) as s:
        body = json.dumps(obj).encode()
        s.sendall(struct.pack(">I", len(body)) + body)
        return json.loads(recv_frame(s))


class BadInput(unittest.TestCase):
    def setUp(self):
        self.work = Workdir(self)
        # No Vault is needed to serve (or refuse) malformed requests.
        self.d = Daemon(self.work.path, "http://127.0.0.1:9", "", self.work.cleanup)

    def assert_agent_alive(self):
        with connect(self.d.agent_socket) as s:
            s.sendall(REQUEST_IDENTITIES)
            self.assertEqual(recv_frame(s), b"\x0c\x00\x00\x00\x00")  # IDENTITIES_ANSWER, zero keys

    def test_sockets_are_private(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.d.socket_dir).st_mode), 0o700)
        for path in (self.d.agent_socket, self.d.control_socket):
            st = os.stat(path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_oversized_agent_frame_closes_only_that_connection(self):
        with connect(self.d.agent_socket) as other, connect(self.d.agent_socket) as bad:
            bad.sendall(struct.pack(">I", AGENT_MAX + 1) + b"\x0b")
            self.assertEqual(bad.recv(16), b"", "an oversized frame closes the connection")
            other.sendall(REQUEST_IDENTITIES)
            self.assertEqual(recv_frame(other)[:1], b"\x0c")
        self.assert_agent_alive()

    def test_a_frame_of_exactly_the_limit_is_answered(self):
        with connect(self.d.agent_socket) as s:
            s.sendall(struct.pack(">I", AGENT_MAX) + b"\x0b" + b"\x00" * (AGENT_MAX - 1))
            self.assertEqual(recv_frame(s)[:1], b"\x0c")

    def test_zero_length_unknown_and_truncated_messages_get_failure_and_the_connection_stays_usable(self):
        s = connect(self.d.agent_socket)
        self.addCleanup(s.close)
        for bad in (b"\x00\x00\x00\x00",                      # zero-length frame (ssh-agent hangs here)
                    b"\x00\x00\x00\x01\xc8",                  # unknown type 200
                    b"\x00\x00\x00\x05\x0d\x00\x00\x00\x09",  # sign request cut inside the key blob
                    b"\x00\x00\x00\x03\x11\x00\x00",          # ADD_IDENTITY: never accepted
                    b"\x00\x00\x00\x0a\x1b\x00\x00\x00\x05nope!"):  # extension we do not offer
            s.sendall(bad)
            self.assertEqual(recv_frame(s), b"\x05", bad)
        s.sendall(REQUEST_IDENTITIES)
        self.assertEqual(recv_frame(s)[:1], b"\x0c")

    def test_a_client_that_never_reads_cannot_make_the_daemon_buffer(self):
        def rss_kb():
            with open(f"/proc/{self.d.proc.pid}/status") as f:
                return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])
        before = rss_kb()
        flooder = connect(self.d.agent_socket)
        self.addCleanup(flooder.close)
        flooder.setblocking(False)
        sent, deadline = 0, time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                sent += flooder.send(REQUEST_IDENTITIES * 4096)
            except BlockingIOError:
                time.sleep(0.01)  # the daemon stopped reading us: its reply to us is not being read
        self.assertLess(sent, 8 * 1024 * 1024, "the daemon kept reading from a client that does not read")
        self.assert_agent_alive()
        self.assertLess(rss_kb() - before, 4096)

    def test_control_frames_over_the_limit_get_an_error_then_close(self):
        s = connect(self.d.control_socket)
        self.addCleanup(s.close)
        s.sendall(struct.pack(">I", CONTROL_MAX + 1))
        reply = json.loads(recv_frame(s))
        self.assertFalse(reply["ok"])
        self.assertEqual(reply["error"]["code"], "message_too_large")
        self.assertEqual(s.recv(16), b"")
        self.assertTrue(control_request(self.d.control_socket, {"version": 1, "op": "status"})["ok"])

    def test_malformed_control_messages_get_error_replies(self):
        cases = [b"not json", b"[1]", b'{"op":"status"}', b'{"version":1}', b'{"version":1,"op":"explode"}',
                 b'{"version":1,"op":"login","method":"token"}', b'{"version":1,"op":"ensure","host":5}']
        for body in cases:
            with connect(self.d.control_socket) as s:
                s.sendall(struct.pack(">I", len(body)) + body)
                reply = json.loads(recv_frame(s))
            self.assertFalse(reply["ok"], body)
            self.assertTrue(reply["error"]["message"], body)
        self.assertTrue(control_request(self.d.control_socket, {"version": 1, "op": "status"})["ok"])

    def test_the_sshcert_client_reports_a_daemon_error_in_plain_words(self):
        r = self.d.sshcert("ssh", "-F", "/dev/null", "127.0.0.1", "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not logged in to Vault; run: sshcert login", r.stderr)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv to act as another user")
    def test_another_uid_is_refused_even_when_file_modes_allow_it(self):
        # Open the file permissions on purpose: the uid check must hold on its own (as OpenSSH's agent-getpeereid.sh).
        os.chmod(self.d.runtime, 0o711)
        os.chmod(self.d.socket_dir, 0o711)
        os.chmod(self.d.agent_socket, 0o666)
        os.chmod(self.d.control_socket, 0o666)
        env = {"SSH_AUTH_SOCK": self.d.agent_socket, "PATH": os.environ["PATH"]}
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "ssh-add", "-l"],
                           env=env, capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0, r.stdout)  # an error, or SIGPIPE when it writes after the refusal
        self.assertNotIn("no identities", r.stdout)
        self.assertIn("refused a connection from uid 65534", self.d.log())
        self.assert_agent_alive()


if __name__ == "__main__":
    unittest.main()
