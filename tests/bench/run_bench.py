# SPDX-License-Identifier: Apache-2.0
"""Signing speed of sshcertd's agent next to OpenSSH's ssh-agent holding the
same key type: the same agent-protocol load (agent_bench), 1 and 4 concurrent
clients. Prints one table; asserts nothing about speed.

    SSHCERT_BUILD_DIR=build python3 tests/bench/run_bench.py [--key-type ed25519] [--requests 5000]
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from bench_daemon import logged_in_daemon  # noqa: E402
from harness import BUILD_DIR, LOGIN_USER, stop_process, wait_for  # noqa: E402

KEYGEN = {"ed25519": ["-t", "ed25519"], "ecdsa-p256": ["-t", "ecdsa", "-b", "256"],
          "ecdsa-p384": ["-t", "ecdsa", "-b", "384"], "rsa-3072": ["-t", "rsa", "-b", "3072"],
          "rsa-4096": ["-t", "rsa", "-b", "4096"]}


def control(path, request):
    body = json.dumps({"version": 1, **request}).encode()
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(struct.pack(">I", len(body)) + body)
        (n,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        return json.loads(s.recv(n, socket.MSG_WAITALL))


def run(bench, sock, clients, requests):
    out = subprocess.run([bench, sock, str(clients), str(requests)], capture_output=True, text=True, check=True).stdout
    return dict(kv.split("=") for kv in out.split())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--key-type", default="ed25519", choices=sorted(KEYGEN))
    parser.add_argument("--requests", type=int, default=5000, help="signatures per client")
    args = parser.parse_args()
    bench = os.path.join(BUILD_DIR, "tests", "bench", "agent_bench")

    with logged_in_daemon(["*"], key_type=args.key_type) as (d, work, cleanup):
        reply = control(d.control_socket, {"op": "ensure", "host": "bench", "user": LOGIN_USER})
        assert reply["ok"], reply

        agent_sock = os.path.join(work, "ssh-agent.sock")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", agent_sock], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        cleanup(stop_process, agent)
        wait_for(lambda: os.path.exists(agent_sock), "ssh-agent", proc=agent)
        key = os.path.join(work, "id_bench")
        subprocess.run(["ssh-keygen", "-q", *KEYGEN[args.key_type], "-N", "", "-f", key], check=True)
        subprocess.run(["ssh-add", "-q", key], env={"SSH_AUTH_SOCK": agent_sock}, check=True)

        openssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.split(",")[0].split()[0]
        print(f"{args.key_type} signatures over the agent protocol, {args.requests} per client, {os.cpu_count()} CPUs")
        print(f"{'agent':<28}{'clients':>8}{'p50 us':>10}{'p99 us':>10}{'sig/s':>10}")
        for name, sock in (("sshcertd", d.agent_socket), (f"ssh-agent ({openssh})", agent_sock)):
            for clients in (1, 4):
                r = run(bench, sock, clients, args.requests)
                print(f"{name:<28}{clients:>8}{float(r['p50_us']):>10.1f}{float(r['p99_us']):>10.1f}{int(r['per_second']):>10}")


if __name__ == "__main__":
    main()
