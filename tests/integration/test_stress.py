# SPDX-License-Identifier: Apache-2.0
"""Two clients sign without pause while a third throws malformed, truncated,
zero-length, oversized and unknown messages at the agent: not one signature
may fail, and the daemon must still be serving afterwards."""

import socket
import struct
import threading
import time
import unittest

from harness import VaultSshTestCase

DURATION_SECONDS = 3.0
AGENT_MAX = 256 * 1024


def frame(body):
    return struct.pack(">I", len(body)) + body


def string(b):
    return struct.pack(">I", len(b)) + b


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("agent closed the connection")
        data += chunk
    return data


def recv_frame(s):
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    return recv_exact(s, length)


# (bytes sent, whether a reply comes back before we hang up)
GARBAGE = [
    (b"\x00\x00\x00\x00", True),                                  # zero-length frame
    (frame(b"\xc8"), True),                                       # unknown type
    (frame(b"\x0d\x00\x00\x00\x09abc"), True),                    # truncated sign request
    (frame(b"\x0d" + string(b"x" * 10) + string(b"d")), True),    # sign request without flags
    (frame(b"\x1b" + string(b"session-bind@openssh.com") + b"\x00"), True),  # malformed session-bind
    (struct.pack(">I", AGENT_MAX + 1), False),                    # oversized: the agent hangs up
    (struct.pack(">I", 40) + b"\x0b\x00", False),                 # 40 bytes announced, 2 sent, then we hang up
]
SIGNATURE_TYPE = string(b"ssh-ed25519")


class Stress(VaultSshTestCase):
    def test_signatures_never_fail_while_another_client_sends_garbage(self):
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(d.agent_socket)
            s.sendall(frame(b"\x0b"))
            answer = recv_frame(s)
        (count,) = struct.unpack(">I", answer[1:5])
        self.assertEqual(count, 1)
        (blob_len,) = struct.unpack(">I", answer[5:9])
        cert_blob = answer[9:9 + blob_len]

        deadline = time.monotonic() + DURATION_SECONDS
        results = {"signed": 0, "failed": [], "garbage_sent": 0}
        lock = threading.Lock()

        def signer(n):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(d.agent_socket)
                i = 0
                while time.monotonic() < deadline:
                    data = f"client {n} request {i}".encode()
                    s.sendall(frame(b"\x0d" + string(cert_blob) + string(data) + b"\x00\x00\x00\x00"))
                    reply = recv_frame(s)
                    # SIGN_RESPONSE: string(string "ssh-ed25519", string signature[64])
                    ok = reply[0] == 14 and reply[5:20] == SIGNATURE_TYPE and len(reply) == 1 + 4 + 15 + 4 + 64
                    with lock:
                        if ok:
                            results["signed"] += 1
                        else:
                            results["failed"].append(reply[:8])
                    i += 1

        def vandal():
            while time.monotonic() < deadline:
                for bad, replies in GARBAGE:
                    try:
                        with socket.socket(socket.AF_UNIX) as s:
                            s.settimeout(2)
                            s.connect(d.agent_socket)
                            s.sendall(bad)
                            if replies:
                                recv_frame(s)
                    except (ConnectionError, socket.timeout, OSError):
                        pass
                    with lock:
                        results["garbage_sent"] += 1

        threads = [threading.Thread(target=signer, args=(n,)) for n in range(2)] + [threading.Thread(target=vandal)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DURATION_SECONDS + 30)
        self.assertEqual(results["failed"], [])
        self.assertGreater(results["signed"], 100)
        self.assertGreater(results["garbage_sent"], 50)
        self.assertIsNone(d.proc.poll(), "the daemon is still running")
        self.assertEqual(self.ssh(d, "echo still-serving").stdout.strip(), "still-serving")
        print(f"\n{results['signed']} signatures, {results['garbage_sent']} bad messages in {DURATION_SECONDS:.0f} s")


if __name__ == "__main__":
    unittest.main()
