# SPDX-License-Identifier: Apache-2.0
"""Load: eight agent clients sign without pause for a minute while 500 idle
connections sit on each socket, a hostile client throws malformed, truncated,
zero-length and oversized frames at the agent and control sockets, and another
opens and closes 1,000 connections. Not one signature may fail, nothing may
crash, `sshcert status` and `ssh-add -l` must answer within a second throughout,
and memory must stay bounded. Then 500 control connections ask at once.
Figures are printed, for the closing note; only correctness is asserted."""

import json
import os
import selectors
import socket
import struct
import subprocess
import threading
import time
import unittest

from harness import LOGIN_USER, VaultSshTestCase, raise_descriptor_limit, recv_frame, rss_kb, sanitized_build

DURATION_SECONDS = float(os.environ.get("SSHCERT_LOAD_SECONDS", "60"))
SIGNERS = 8
IDLE_PER_SOCKET = 500
CHURN_CONNECTIONS = 1000
RESPONSIVE_SECONDS = 1.0
AGENT_MAX = 256 * 1024    # proto/limits.hpp kMaxAgentMessageBytes
CONTROL_MAX = 64 * 1024   # proto/limits.hpp kMaxControlMessageBytes


def frame(body):
    return struct.pack(">I", len(body)) + body


def string(b):
    return struct.pack(">I", len(b)) + b


def connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s


def control_frame(op, **fields):
    return frame(json.dumps({"version": 1, "op": op, **fields}).encode())


def still_open(s):
    """False when the daemon has closed `s`."""
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


# (bytes, whether a reply comes back before we hang up), for the agent and the control socket
AGENT_GARBAGE = [
    (b"\x00\x00\x00\x00", True),                                   # zero-length frame
    (frame(b"\xc8"), True),                                        # unknown type
    (frame(b"\x0d\x00\x00\x00\x09abc"), True),                     # truncated sign request
    (frame(b"\x0d" + string(b"x" * 10) + string(b"d")), True),     # sign request without flags
    (frame(b"\x1b" + string(b"session-bind@openssh.com") + b"\x00"), True),  # malformed session-bind
    (struct.pack(">I", AGENT_MAX + 1), False),                     # oversized
    (struct.pack(">I", 40) + b"\x0b\x00", False),                  # 40 bytes announced, 2 sent
]
CONTROL_GARBAGE = [
    (frame(b"{not json"), True),
    (frame(b"[]"), True),
    (frame(b'{"version": 1, "op": "no-such-op"}'), True),
    (frame(b'{"version": 99, "op": "status"}'), True),
    (b"\x00\x00\x00\x00", True),
    (struct.pack(">I", CONTROL_MAX + 1), True),                    # an error, then the daemon hangs up
    (struct.pack(">I", 100) + b'{"ver', False),
]


class Load(VaultSshTestCase):
    @classmethod
    def setUpClass(cls):
        raise_descriptor_limit()
        super().setUpClass()

    def daemon_holding_a_certificate(self):
        d = self.logged_in_daemon()
        reply = d.control("ensure", host="127.0.0.1", user=LOGIN_USER)
        self.assertTrue(reply["ok"], reply)
        with connect(d.agent_socket) as s:
            s.sendall(frame(b"\x0b"))
            answer = recv_frame(s)
        (count,) = struct.unpack(">I", answer[1:5])
        self.assertEqual(count, 1)
        (blob_len,) = struct.unpack(">I", answer[5:9])
        return d, reply["result"]["agent_socket"], answer[9:9 + blob_len]

    def hold(self, path, n):
        held = [connect(path) for _ in range(n)]
        for s in held:
            self.addCleanup(s.close)
        return held

    def test_signers_never_fail_through_idle_hostile_and_churning_clients(self):
        d, profile_socket, cert_blob = self.daemon_holding_a_certificate()
        rss_start = rss_kb(d.proc.pid)
        sockets = {"agent.sock": d.agent_socket, "agent-local.sock": profile_socket, "control.sock": d.control_socket}
        idle = {name: self.hold(path, IDLE_PER_SOCKET) for name, path in sockets.items()}
        rss_idle = rss_kb(d.proc.pid)
        deadline = time.monotonic() + DURATION_SECONDS
        lock = threading.Lock()
        figures = {"signed": 0, "failed": [], "worst_sign": 0.0, "garbage": 0, "churned": 0, "probes": 0,
                   "worst_status": 0.0, "worst_ssh_add": 0.0, "slow": [], "rss_max": rss_idle}

        def signer(n):
            path = d.agent_socket if n % 2 else profile_socket
            with connect(path) as s:
                i = 0
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    s.sendall(frame(b"\x0d" + string(cert_blob) + string(f"{n}/{i}".encode()) + b"\x00\x00\x00\x00"))
                    reply = recv_frame(s)
                    took = time.monotonic() - started
                    # SIGN_RESPONSE: string(string "ssh-ed25519", string signature[64])
                    ok = reply[0] == 14 and reply[5:20] == string(b"ssh-ed25519") and len(reply) == 88
                    with lock:
                        figures["worst_sign"] = max(figures["worst_sign"], took)
                        if ok:
                            figures["signed"] += 1
                        else:
                            figures["failed"].append(reply[:8])
                    i += 1

        def vandal():
            while time.monotonic() < deadline:
                for path, garbage in ((d.agent_socket, AGENT_GARBAGE), (d.control_socket, CONTROL_GARBAGE)):
                    for bad, replies in garbage:
                        try:
                            with connect(path, timeout=2) as s:
                                s.sendall(bad)
                                if replies:
                                    recv_frame(s)
                        except OSError:
                            pass
                        with lock:
                            figures["garbage"] += 1

        def churner():
            paths = list(sockets.values())
            for i in range(CHURN_CONNECTIONS):
                connect(paths[i % len(paths)]).close()
                with lock:
                    figures["churned"] += 1
                time.sleep(DURATION_SECONDS / CHURN_CONNECTIONS / 2)

        def timed(argv, env):
            started = time.monotonic()
            r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
            return r, time.monotonic() - started

        def prober():
            while time.monotonic() < deadline:
                status, took_status = timed([d.sshcert_path, "status"], d.env)
                listed, took_list = timed(["ssh-add", "-l"], d.agent_env())
                with lock:
                    figures["probes"] += 1
                    figures["worst_status"] = max(figures["worst_status"], took_status)
                    figures["worst_ssh_add"] = max(figures["worst_ssh_add"], took_list)
                    figures["rss_max"] = max(figures["rss_max"], rss_kb(d.proc.pid))
                    if status.returncode or "Certificates:" not in status.stdout:
                        figures["slow"].append(f"status failed: {status.stderr}")
                    if listed.returncode or "CERT" not in listed.stdout:
                        figures["slow"].append(f"ssh-add -l failed: {listed.stdout}{listed.stderr}")
                    for what, took in (("status", took_status), ("ssh-add -l", took_list)):
                        if took > RESPONSIVE_SECONDS:
                            figures["slow"].append(f"{what} took {took:.2f} s")
                time.sleep(0.5)

        threads = ([threading.Thread(target=signer, args=(n,)) for n in range(SIGNERS)]
                   + [threading.Thread(target=f) for f in (vandal, churner, prober)])
        for t in threads:
            t.start()
        for t in threads:
            t.join(DURATION_SECONDS + 60)
        rss_end = rss_kb(d.proc.pid)
        dropped = {name: sum(not still_open(s) for s in held) for name, held in idle.items()}

        print(f"\n  {DURATION_SECONDS:.0f} s: {figures['signed']} signatures by {SIGNERS} clients "
              f"({figures['signed'] / DURATION_SECONDS:.0f}/s), {len(figures['failed'])} failed, worst "
              f"{figures['worst_sign'] * 1000:.0f} ms; {IDLE_PER_SOCKET} idle connections on each of {len(idle)} sockets, "
              f"dropped {dropped}; {figures['garbage']} hostile messages; {figures['churned']} connections opened "
              f"and closed; {figures['probes']} probes, worst status {figures['worst_status'] * 1000:.0f} ms, worst "
              f"ssh-add -l {figures['worst_ssh_add'] * 1000:.0f} ms; RSS {rss_start} KiB at start, {rss_idle} KiB "
              f"holding the idle connections, {figures['rss_max']} KiB at most, {rss_end} KiB at the end", end=" ")
        self.assertIsNone(d.proc.poll(), "sshcertd died under load:\n" + d.log()[-3000:])
        self.assertFalse(any(t.is_alive() for t in threads), "a load thread hung")
        self.assertEqual(figures["failed"], [])
        self.assertGreater(figures["signed"], 1000)
        self.assertEqual(figures["churned"], CHURN_CONNECTIONS)
        self.assertEqual(figures["slow"], [])
        self.assertGreater(figures["probes"], DURATION_SECONDS / 3)
        # Agent connections may idle for 10 minutes, control ones for 60 s: none was closed to make room.
        self.assertEqual(dropped["agent.sock"] + dropped["agent-local.sock"], 0)
        self.assertNotIn("closing the one that has waited longest", d.log())
        if not sanitized_build():  # ASan's quarantine holds freed memory on purpose
            self.assertLess(rss_end - rss_idle, 8 << 10, "memory grew under load")
        self.assert_ssh_echoes(d, "after-the-load")

    def test_500_control_connections_asking_at_once_all_get_their_answer(self):
        d, _profile_socket, _blob = self.daemon_holding_a_certificate()
        clients = self.hold(d.control_socket, 500)
        selector = selectors.DefaultSelector()
        sent = {}
        for i, s in enumerate(clients):
            request = control_frame("status") if i % 2 else control_frame("ensure", host="127.0.0.1", user=LOGIN_USER)
            s.sendall(request)
            s.setblocking(False)
            sent[s] = (time.monotonic(), i % 2)
            selector.register(s, selectors.EVENT_READ, bytearray())
        latencies, answers, until = [], {0: 0, 1: 0}, time.monotonic() + 120
        while selector.get_map() and time.monotonic() < until:
            for key, _ in selector.select(timeout=1):
                chunk = key.fileobj.recv(65536)
                buffer = key.data
                buffer += chunk
                complete = len(buffer) >= 4 and len(buffer) >= 4 + struct.unpack(">I", buffer[:4])[0]
                if not chunk or complete:
                    selector.unregister(key.fileobj)
                    started, kind = sent[key.fileobj]
                    latencies.append(time.monotonic() - started)
                    if complete and json.loads(buffer[4:]).get("ok"):
                        answers[kind] += 1
        latencies.sort()
        print(f"\n  500 control connections at once: {answers[1]} status and {answers[0]} ensure answered ok; "
              f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, "
              f"worst {latencies[-1] * 1000:.0f} ms", end=" ")
        self.assertEqual(answers, {0: 250, 1: 250})
        self.assertIsNone(d.proc.poll())
        self.assertNotIn("closing the one that has waited longest", d.log())


if __name__ == "__main__":
    unittest.main()
