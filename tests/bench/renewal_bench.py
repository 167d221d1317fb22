# SPDX-License-Identifier: Apache-2.0
"""A renewal run: a user logs in to a real sshd every few seconds, the way plain ssh
does through the generated ssh-config (the `ensure` request `sshcert ensure --quiet`
sends, then ssh with the profile's agent socket), while certificates of a short life are renewed in the
background. Optionally Vault is made unreachable for a while in the middle. Prints
what a user and Vault saw: ssh logins, how many of them waited on Vault (the
ensure had to sign), sign requests Vault received, and failed logins. Asserts
nothing about speed.

    SSHCERT_BUILD_DIR=build python3 tests/bench/renewal_bench.py [--minutes 3] [--ttl 60] [--every 2] [--outage 20]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import LOGIN_USER, Daemon, LoginSetup, make_workdir, profile_toml  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the run")
    parser.add_argument("--ttl", type=int, default=60, help="certificate life in seconds")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between ssh logins")
    parser.add_argument("--outage", type=float, default=0.0,
                        help="seconds of Vault sealed (503 to every request) from the middle of the run on (0: none)")
    args = parser.parse_args()

    cleanups, work = [], make_workdir()
    cleanup = lambda fn, *a: cleanups.append(lambda: fn(*a))  # noqa: E731  (addCleanup's signature)
    try:
        setup = LoginSetup(work, cleanup)
        vault, sshd = setup.vault, setup.sshd
        profiles = profile_toml("local", ["127.0.0.1"], "dev", mount=setup.mount, ttl=f"{args.ttl}s")
        d = Daemon(work, vault.addr, setup.config_toml(profiles), cleanup)
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input="correct horse battery staple\n")
        assert r.returncode == 0, r.stderr
        vault.clear_requests()

        ssh = ["ssh", *sshd.ssh_options(), "-o", f"IdentityAgent={d.agent_socket}", f"{LOGIN_USER}@127.0.0.1", "true"]
        start, end = time.monotonic(), time.monotonic() + args.minutes * 60
        outage_from = start + args.minutes * 30 if args.outage else None
        in_outage = False
        logins, waited, failed, ensure_ms, failures = 0, 0, 0, [], {}
        while time.monotonic() < end:
            now = time.monotonic()
            if outage_from and not in_outage and outage_from <= now < outage_from + args.outage:
                vault.set_faults(sealed=True)
                in_outage = True
            elif in_outage and now >= outage_from + args.outage:
                vault.clear_faults()
                in_outage = False
            t0 = time.perf_counter()
            e = d.control("ensure", host="127.0.0.1", user=LOGIN_USER)  # what `sshcert ensure` asks
            ensure_ms.append((time.perf_counter() - t0) * 1000)
            s = subprocess.run(ssh, capture_output=True, text=True, timeout=30)
            logins += 1
            waited += e.get("ok", False) and not e["result"]["reused"]  # this login waited for a signature
            if not e.get("ok", False) or s.returncode != 0:
                failed += 1
                why = e["error"]["message"] if not e.get("ok", False) else s.stderr.strip()
                failures[why] = failures.get(why, 0) + 1
            time.sleep(max(0.0, args.every - (time.monotonic() - now)))
        if in_outage:
            vault.clear_faults()

        requests = vault.requests()
        signs = [q for q in requests if "/sign/" in q["path"]]
        auth = [q for q in requests if q["path"].startswith("auth/") and "/login" in q["path"]]
        renews = [q for q in requests if q["path"].endswith("token/renew-self")]
        minutes = (time.monotonic() - start) / 60
        print(f"renewal run: {minutes:.1f} min, certificates of {args.ttl} s, an ssh login every {args.every} s"
              + (f", Vault sealed for {args.outage:.0f} s from the middle" if args.outage else ""))
        rows = [("ssh logins", logins), ("logins that waited on Vault", waited), ("failed logins", failed),
                ("sign requests at Vault (all attempts)", len(signs)),
                ("sign requests answered 200", len([q for q in signs if q.get("status") == 200])),
                ("Vault logins", len(auth)), ("token renewals", len(renews)),
                ("ensure p50 ms", f"{statistics.median(ensure_ms):.1f}"),
                ("ensure max ms", f"{max(ensure_ms):.1f}")]
        for name, value in rows:
            print(f"{name:<40}{value:>10}")
        for why, count in failures.items():
            print(f"failed {count}x: {why}")
    finally:
        for c in reversed(cleanups):
            c()
        shutil.rmtree(work, True)


if __name__ == "__main__":
    main()
