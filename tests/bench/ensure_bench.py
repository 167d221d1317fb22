# SPDX-License-Identifier: Apache-2.0
"""What the Match exec hook costs each plain ssh, scp, rsync or git: the start-to-exit
time of a warm `sshcert ensure --quiet` (the daemon holds the certificate: one control
round trip), next to /bin/true and `sshcert version` (the client's start-up alone);
and a cold one (a principal not asked for before: a new key and a Vault signature)
next to one Vault sign request made directly. Prints one table; asserts nothing
about speed. The targets: warm at most 3 times /bin/true, cold at most one Vault
sign plus 5 ms.

    SSHCERT_BUILD_DIR=build python3 tests/bench/ensure_bench.py [--runs 1000]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from bench_daemon import logged_in_daemon  # noqa: E402
from harness import LOGIN_USER, SSHCERT  # noqa: E402


def times_us(argv, env, runs):
    """Start-to-exit times of argv in microseconds; posix_spawn, so Python adds little of its own."""
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)]
    out = []
    try:
        for _ in range(runs):
            start = time.perf_counter_ns()
            pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
            _, status = os.waitpid(pid, 0)
            out.append((time.perf_counter_ns() - start) / 1000)
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"{argv} exited with {os.waitstatus_to_exitcode(status)}")
    finally:
        os.close(devnull)
    return out


def sign_us(vault, runs, work):
    """One POST ssh/sign/bench each run, with a key made beforehand: Vault's part of a cold ensure."""
    key = os.path.join(work, "direct")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    with open(key + ".pub") as f:
        body = {"public_key": f.read().strip(), "valid_principals": LOGIN_USER}
    out = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        vault.api("POST", "ssh/sign/bench", body)
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def measure(runs=1000, cold_runs=200):
    """Start-to-exit times in us of each program of the table, by name."""
    with logged_in_daemon(["*.bench.example"], allowed_users="*") as (d, work, _):
        ensure = [SSHCERT, "ensure", "--host", "web-1.bench.example", "--user", LOGIN_USER, "--quiet"]
        times_us(ensure, d.env, 1)  # the one that fetches from Vault; the rest find it held

        rows = [("/bin/true", ["/bin/true"]), ("sshcert version", [SSHCERT, "version"]),
                ("sshcert ensure --quiet (warm)", ensure)]
        out = {name: times_us(argv, d.env, runs) for name, argv in rows}
        out["sshcert ensure --quiet (cold)"] = [
            times_us([*ensure[:-2], f"cold{i}", "--quiet"], d.env, 1)[0] for i in range(cold_runs)]
        out["Vault sign, asked directly"] = sign_us(d.vault, cold_runs, work)
        return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000, help="runs of each program")
    args = parser.parse_args()
    results = measure(args.runs)
    base = statistics.median(results["/bin/true"])
    print(f"start to exit, {args.runs} runs each, {os.cpu_count()} CPUs")
    print(f"{'program':<32}{'p50 us':>10}{'p90 us':>10}{'p50 / true':>12}")
    for name, xs in results.items():
        p50, p90 = statistics.median(xs), statistics.quantiles(xs, n=10)[-1]
        print(f"{name:<32}{p50:>10.0f}{p90:>10.0f}{p50 / base:>12.2f}")


if __name__ == "__main__":
    main()
