# SPDX-License-Identifier: Apache-2.0
"""What sshcertd itself costs: start to ready, resident memory idle and after
100,000 agent signatures and 10,000 `ensure` calls, its own CPU per new
Ed25519 certificate (key, request, parse; Vault's time is another process's),
and 100 `ensure` calls at once on a cold cache (how many reach Vault, and their
p99). Prints one table; asserts nothing about speed.

    SSHCERT_BUILD_DIR=build python3 tests/bench/daemon_bench.py [--signatures 100000] [--ensures 10000]
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from bench_daemon import logged_in_daemon  # noqa: E402
from harness import BUILD_DIR, LOGIN_USER, SSHCERTD, Daemon, cpu_seconds, make_workdir, rss_kb, stop_process, wait_for  # noqa: E402,E501


def start_to_ready_ms(runs):
    """Spawn to READY=1 on NOTIFY_SOCKET (what systemd waits for), a fresh daemon each time."""
    work, cleanups, out = make_workdir(), [], []
    try:
        d = Daemon(work, "http://127.0.0.1:9", "", lambda fn, *a: cleanups.append(lambda: fn(*a)), start=False)
        notify_path = os.path.join(work, "notify.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(notify_path)
            notify.settimeout(10)
            for _ in range(runs):
                start = time.perf_counter()
                proc = subprocess.Popen([SSHCERTD], env={**d.env, "NOTIFY_SOCKET": notify_path},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while b"READY=1" not in notify.recv(4096):
                    pass
                out.append((time.perf_counter() - start) * 1000)
                stop_process(proc)
    finally:
        for c in reversed(cleanups):
            c()
    return out


def rss_anon_kb(pid):
    """The part of RSS that is the process's own (heap, stacks, written library data), not file pages."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))


def ssh_agent_rss_kb(work):
    """OpenSSH's ssh-agent holding one Ed25519 key: what users would otherwise run."""
    sock, key = os.path.join(work, "ssh-agent.sock"), os.path.join(work, "id_ed25519")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(sock), "ssh-agent", proc=agent)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        subprocess.run(["ssh-add", "-q", key], env={"SSH_AUTH_SOCK": sock}, check=True, stderr=subprocess.DEVNULL)
        return rss_kb(agent.pid), rss_anon_kb(agent.pid)
    finally:
        stop_process(agent)


def sign(agent_socket, count):
    bench = os.path.join(BUILD_DIR, "tests", "bench", "agent_bench")
    subprocess.run([bench, agent_socket, "1", str(count)], check=True, stdout=subprocess.DEVNULL)


def vault_signs(d):
    return sum("/sign/" in r["path"] for r in d.vault.requests())


def concurrent_ensures(d, n, user):
    """n control connections asking for one new certificate at the same moment; their latencies in ms."""
    barrier, latencies, replies = threading.Barrier(n), [0.0] * n, [None] * n

    def one(i):
        barrier.wait()
        start = time.perf_counter()
        replies[i] = d.control("ensure", host="bench", user=user)
        latencies[i] = (time.perf_counter() - start) * 1000

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [r for r in replies if not r.get("ok")]
    assert not failed, failed[0]
    return latencies


def measure(signatures=100_000, ensures=10_000, new_certs=100):
    """The figures, by name (times in ms, memory in KiB)."""
    m = {"signatures": signatures, "ensures": ensures, "new_certs": new_certs}
    ready = start_to_ready_ms(20)
    m.update(ready_p50=statistics.median(ready), ready_max=max(ready))
    with logged_in_daemon(["*"], allowed_users="*") as (d, work, _):
        pid = d.proc.pid
        assert d.control("ensure", host="bench", user=LOGIN_USER)["ok"]
        time.sleep(2)  # the spare key is made and the Vault calls of login are done
        m.update(rss_idle=rss_kb(pid), rss_idle_anon=rss_anon_kb(pid))
        m["ssh_agent_rss"], m["ssh_agent_rss_anon"] = ssh_agent_rss_kb(work)

        sign(d.agent_socket, signatures)
        for _ in range(ensures):
            assert d.control("ensure", host="bench", user=LOGIN_USER)["ok"]
        m["rss_after"] = rss_kb(pid)

        before_cpu, before_signs = cpu_seconds(pid), vault_signs(d)
        for i in range(new_certs):
            assert d.control("ensure", host="bench", user=f"cpu{i}")["ok"]
        m["cpu_per_cert"] = (cpu_seconds(pid) - before_cpu) / new_certs * 1000
        assert vault_signs(d) - before_signs == new_certs

        before_signs = vault_signs(d)
        latencies = concurrent_ensures(d, 100, "together")
        m.update(together_vault=vault_signs(d) - before_signs, together_p50=statistics.median(latencies),
                 together_p99=statistics.quantiles(latencies, n=100)[-1])
    return m


def rows(m):
    """(what, measured, target, met) for the summary table."""
    mib = lambda kib: kib / 1024  # noqa: E731
    growth = m["rss_after"] - m["rss_idle"]
    return [
        ("start to ready (READY=1), 20 starts", f"p50 {m['ready_p50']:.1f} ms, max {m['ready_max']:.1f} ms", "<= 50 ms",
         m["ready_p50"] <= 50),
        ("RSS idle, logged in, one certificate", f"{mib(m['rss_idle']):.1f} MiB, of which {mib(m['rss_idle_anon']):.1f} "
         f"its own and the rest shared library pages", "<= 10 MB", m["rss_idle"] * 1024 <= 10e6),
        ("RSS of OpenSSH ssh-agent holding one key, for comparison", f"{mib(m['ssh_agent_rss']):.1f} MiB, of which "
         f"{mib(m['ssh_agent_rss_anon']):.1f} its own", "", None),
        (f"RSS after {m['signatures']:,} signatures and {m['ensures']:,} ensures", f"{mib(m['rss_after']):.1f} MiB "
         f"({mib(growth):+.2f} MiB)", "within 1 MB", abs(growth) * 1024 <= 1e6),
        (f"daemon CPU per new Ed25519 certificate ({m['new_certs']} in a row)", f"{m['cpu_per_cert']:.2f} ms", "<= 1 ms",
         m["cpu_per_cert"] <= 1),
        ("100 concurrent ensures, cold cache", f"{m['together_vault']} Vault request(s), p50 {m['together_p50']:.1f} ms, "
         f"p99 {m['together_p99']:.1f} ms", "1 request", m["together_vault"] == 1),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--signatures", type=int, default=100_000)
    parser.add_argument("--ensures", type=int, default=10_000)
    args = parser.parse_args()
    print(f"sshcertd's own costs, {os.cpu_count()} CPUs")
    print(f"{'what':<60}{'measured':<64}{'target':<12}met")
    for what, measured, target, met in rows(measure(args.signatures, args.ensures)):
        print(f"{what:<60}{measured:<64}{target:<12}{'' if met is None else 'yes' if met else 'no'}")


if __name__ == "__main__":
    main()
