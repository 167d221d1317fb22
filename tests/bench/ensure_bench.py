# SPDX-License-Identifier: Apache-2.0
"""What the Match exec hook costs each plain ssh, scp, rsync or git: the start-to-exit
time of a warm `sshcert ensure --quiet` (the daemon holds the certificate: one control
round trip), next to /bin/true and `sshcert version` (the client's start-up alone).
Prints one table; asserts nothing about speed. The target is 3 times /bin/true.

    SSHCERT_BUILD_DIR=build python3 tests/bench/ensure_bench.py [--runs 1000]
"""

import argparse
import os
import statistics
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000, help="runs of each program")
    args = parser.parse_args()

    with logged_in_daemon(["*.bench.example"]) as (d, _, _):
        ensure = [SSHCERT, "ensure", "--host", "web-1.bench.example", "--user", LOGIN_USER, "--quiet"]
        times_us(ensure, d.env, 1)  # the one that fetches from Vault; the rest find it held

        rows = [("/bin/true", ["/bin/true"]), ("sshcert version", [SSHCERT, "version"]),
                ("sshcert ensure --quiet (warm)", ensure)]
        results = {name: times_us(argv, d.env, args.runs) for name, argv in rows}
    base = statistics.median(results["/bin/true"])
    print(f"start to exit, {args.runs} runs each, {os.cpu_count()} CPUs")
    print(f"{'program':<32}{'p50 us':>10}{'p90 us':>10}{'p50 / true':>12}")
    for name, xs in results.items():
        p50, p90 = statistics.median(xs), statistics.quantiles(xs, n=10)[-1]
        print(f"{name:<32}{p50:>10.0f}{p90:>10.0f}{p50 / base:>12.2f}")


if __name__ == "__main__":
    main()
