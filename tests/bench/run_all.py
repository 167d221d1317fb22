# SPDX-License-Identifier: Apache-2.0
"""Every benchmark in one run on one machine, and one table of what it found
against issue 12's targets, as Markdown (BENCHMARKS.md holds a copy). Each
benchmark also runs alone (see its file). Asserts nothing; the exit code is 0
whether targets are met or not. The team load takes about 15 minutes of the
25; --quick runs it with 50 daemons for 4 minutes.

    SSHCERT_BUILD_DIR=build python3 tests/bench/run_all.py [--quick] [--png team_load.png]
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import daemon_bench  # noqa: E402
import ensure_bench  # noqa: E402
import run_bench  # noqa: E402
import ssh_bench  # noqa: E402
import team_load  # noqa: E402


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    openssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, {openssh}, {openssl}"


def verdict(ok):
    return "" if ok is None else "yes" if ok else "**no**"


def agent_rows(requests):
    rows = {(r["agent"], r["clients"]): r for r in run_bench.measure("ed25519", requests)}
    out = []
    for clients in run_bench.CLIENTS:
        ours, floor, openssh = (rows[(a, clients)] for a in ("sshcertd", "floor", "ssh-agent"))
        for name, r in (("sshcertd", ours), ("floor (bare OpenSSL agent)", floor), ("OpenSSH ssh-agent", openssh)):
            out.append((f"agent, Ed25519, {clients} client(s): {name}",
                        f"{r['per_second']:,} sig/s, p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us", "", ""))
        if clients == 1:
            ratio = ours["per_second"] / floor["per_second"]
            out.append(("agent, 1 client: sshcertd / floor", f"{ratio:.2f}", ">= 0.90", verdict(ratio >= 0.9)))
        else:
            ratio = ours["per_second"] / openssh["per_second"]
            out.append((f"agent, {clients} clients: sshcertd / ssh-agent", f"{ratio:.1f}x", ">= 10x", verdict(ratio >= 10)))
    return out


def ssh_rows(runs):
    rows = ssh_bench.measure(runs)
    out = []
    for r in rows:
        if r["ratio"] is not None:
            out.append((f"{r['name'][2:]} vs plain ssh, p50 ratio ({r['runs']} runs each)",
                        f"{r['ratio']:.3f} ({r['p50_ms']:.1f} ms)", "1.01", verdict(r["ratio"] <= 1.01)))
        if r["overhead_ms"] is not None:
            out.append((f"cold sshcert ssh - plain ssh - one Vault sign ({r['runs']} runs)", f"{r['overhead_ms']:+.1f} ms",
                        "<= 5 ms", verdict(r["overhead_ms"] <= 5)))
    return out


def ensure_rows(runs):
    results = ensure_bench.measure(runs)
    base = statistics.median(results["/bin/true"])
    warm = statistics.median(results["sshcert ensure --quiet (warm)"])
    cold = results["sshcert ensure --quiet (cold)"]
    sign = statistics.median(results["Vault sign, asked directly"])
    extra = (statistics.median(cold) - sign) / 1000
    return [(f"warm sshcert ensure / /bin/true, start to exit ({runs} runs)",
             f"{warm / base:.2f}x ({warm / 1000:.2f} ms vs {base / 1000:.2f} ms)", "3x", verdict(warm / base <= 3)),
            (f"cold sshcert ensure - one Vault sign asked directly ({len(cold)} runs)",
             f"{extra:+.1f} ms ({statistics.median(cold) / 1000:.1f} ms vs {sign / 1000:.1f} ms)", "<= 5 ms", verdict(extra <= 5))]


def daemon_rows():
    return [(what, measured, target, verdict(met)) for what, measured, target, met in daemon_bench.rows(daemon_bench.measure())]


def team_rows(quick, png):
    daemons, minutes, outage = (50, 4, 30) if quick else (200, 10, 60)
    r = team_load.measure(daemons, minutes, 60, outage, png)
    team = f"{daemons} daemons x 3 profiles, 60-s certificates, {minutes} min"
    after = r["after_restart_peak"] or 0
    return [(f"team load: {team}, Vault requests/s", f"mean {r['mean']:.1f}, peak {r['peak']:.1f} "
             f"({r['peak'] / r['mean']:.2f}x)", "peak <= 2x mean", verdict(r["peak"] <= 2 * r["mean"])),
            (f"team load: the 30 s after Vault returned from {outage} s stopped", f"peak {after:.1f}/s "
             f"({after / r['mean']:.2f}x the mean), {r['alive']} of {daemons} daemons alive", "no stampede (<= 2x)",
             verdict(after <= 2 * r["mean"]))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs, and a smaller team for less time")
    parser.add_argument("--png", default=os.path.join(HERE, "..", "..", "team_load.png"), help="where the team load's plot goes")
    args = parser.parse_args()
    began, rows = time.time(), []
    rows += agent_rows(2000 if args.quick else 5000)
    rows += ssh_rows(10 if args.quick else 40)
    rows += ensure_rows(200 if args.quick else 1000)
    rows += daemon_rows()
    rows += team_rows(args.quick, args.png)
    print(f"\n{machine()}; {time.strftime('%Y-%m-%d')}, {(time.time() - began) / 60:.0f} min\n")
    print("| Benchmark | Measured | Target | Met |\n|---|---|---|---|")
    for what, measured, target, met in rows:
        print(f"| {what} | {measured} | {target} | {met} |")


if __name__ == "__main__":
    main()
