# SPDX-License-Identifier: Apache-2.0
"""The load a team's daemons put on Vault: DAEMONS separate sshcertd processes,
three profiles each, all logged in to one Vault stand-in, on a compressed clock
(certificates of TTL seconds, renewed in the background at 60-67 % of their
life). Halfway through, Vault is stopped for OUTAGE seconds and started again
on the same port with the same state, as a restart would. Prints Vault's
requests per second in 5-second buckets (mean, peak, peak against mean, and the
peak just after Vault came back) and plots them to a PNG with matplotlib
(Debian's python3-matplotlib), when it is there. Asserts nothing.

    SSHCERT_BUILD_DIR=build python3 tests/bench/team_load.py [--daemons 200] [--minutes 10] [--ttl 60] [--outage 60] \
        [--png team_load.png]
"""

import argparse
import collections
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from harness import PYTHON, STANDIN, Daemon, LoginSetup, free_port, make_workdir, profile_toml, raise_descriptor_limit, stop_process, wait_for  # noqa: E402,E501

BUCKET_SECONDS = 5


class RestartableStandin:
    """The stand-in on a fixed port with its state on disk, so it can be stopped and started again."""

    def __init__(self, work):
        self.port, self.state = free_port(), os.path.join(work, "vault-state")
        self.root_token = "hvs.root-" + os.urandom(8).hex()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(work, "vault.log"), "a")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([PYTHON, STANDIN, "--port", str(self.port), "--root-token", self.root_token,
                                      "--state-dir", self.state], stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self.answers, "the Vault stand-in to listen", proc=self.proc)

    def answers(self):
        try:
            harness.urllib.request.urlopen(self.addr + "/v1/sys/health", timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        stop_process(self.proc)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--daemons", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--ttl", type=int, default=60, help="certificate life in seconds")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds Vault is stopped, halfway through (0: none)")
    parser.add_argument("--png", default="team_load.png", help="where to write the plot")
    args = parser.parse_args()
    measure(args.daemons, args.minutes, args.ttl, args.outage, args.png)


def measure(daemons=200, minutes=10.0, ttl=60, outage=60.0, png="team_load.png"):
    """Runs the team and prints its report; returns the report's figures (see report)."""
    args = argparse.Namespace(daemons=daemons, minutes=minutes, ttl=ttl, outage=outage, png=png)
    raise_descriptor_limit()
    cleanups, work = [], make_workdir()
    cleanup = lambda fn, *a: cleanups.append(lambda: fn(*a))  # noqa: E731  (addCleanup's signature)
    vault = RestartableStandin(work)
    try:
        vault.start()
        cleanup(lambda: vault.stop())
        # The harness configures a real Vault through its API; the stand-in is one here.
        os.environ.update(SSHCERT_TEST_VAULT_ADDR=vault.addr, SSHCERT_TEST_VAULT_TOKEN=vault.root_token)
        setup = LoginSetup(work, cleanup)
        team = start_daemons(args, setup, work, cleanup)
        log, began = [], time.time()
        half = began + args.minutes * 30
        time.sleep(max(0.0, half - time.time()))
        stopped = None
        if args.outage:
            log += setup.vault.requests()
            vault.stop()
            stopped = (time.time(), time.time() + args.outage)
            time.sleep(args.outage)
            vault.start()
        time.sleep(max(0.0, began + args.minutes * 60 - time.time()))
        log += setup.vault.requests()
        alive = sum(d.proc.poll() is None for d in team)
        return report(args, [r for r in log if r["time"] >= began], began, stopped, alive)
    finally:
        for fn in reversed(cleanups):
            try:
                fn()
            except Exception as e:  # noqa: BLE001  (report, and go on stopping the rest)
                print(f"cleanup: {e}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


def start_daemons(args, setup, work, cleanup):
    """DAEMONS sshcertd processes, each logged in, holding and using three certificates."""
    daemons = []
    for i in range(args.daemons):
        profiles = "".join(profile_toml(f"p{k}", [f"h{i}-{k}.test"], "dev", mount=setup.mount, ttl=f"{args.ttl}s")
                           for k in range(3))
        config = setup.config_toml(profiles).replace("[auth]\n", "[auth]\npersist_login = false\n", 1)
        d = Daemon(os.path.join(work, f"d{i}"), setup.vault.addr, config + '\n[agent]\nrenew_window = "1h"\n', cleanup)
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input=harness.PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        for k in range(3):
            reply = d.control("ensure", host=f"h{i}-{k}.test", user=harness.LOGIN_USER)
            assert reply["ok"], reply
        daemons.append(d)
    return daemons


def report(args, log, began, outage, alive):
    """Prints the figures and plots them; returns {requests, mean, peak, after_restart_peak, alive} (per second)."""
    end = began + args.minutes * 60
    buckets = collections.Counter(int((r["time"] - began) // BUCKET_SECONDS) for r in log)
    n = int((end - began) // BUCKET_SECONDS)
    rates = [buckets.get(b, 0) / BUCKET_SECONDS for b in range(n)]
    in_outage = (lambda b: outage and outage[0] - began <= b * BUCKET_SECONDS < outage[1] - began)
    serving = [r for b, r in enumerate(rates) if not in_outage(b)]
    mean = sum(serving) / max(1, len(serving))
    peak = max(rates) if rates else 0.0
    kinds = collections.Counter("sign" if "/sign/" in r["path"] else r["path"].split("/v1/")[-1].split("/")[0]
                                for r in log)
    print(f"{args.daemons} daemons x 3 profiles, certificates of {args.ttl} s, {args.minutes:g} min; "
          f"{alive} daemons still running at the end")
    print(f"Vault requests: {len(log)} ({', '.join(f'{k} {v}' for k, v in kinds.most_common())})")
    print(f"requests/s in {BUCKET_SECONDS}-s buckets while Vault served: mean {mean:.1f}, peak {peak:.1f}, "
          f"peak/mean {peak / mean if mean else 0:.2f}")
    after = []
    if outage:
        back = int((outage[1] - began) // BUCKET_SECONDS)
        after = rates[back:back + 6]
        print(f"Vault stopped for {args.outage:g} s; the 30 s after it came back: peak {max(after, default=0):.1f}/s "
              f"({max(after, default=0) / mean if mean else 0:.2f} x the mean), buckets {after}")
    plot(args, rates, mean, outage, began)
    return {"requests": len(log), "mean": mean, "peak": peak, "after_restart_peak": max(after, default=None), "alive": alive}


def plot(args, rates, mean, outage, began):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is missing (apt-get install python3-matplotlib)")
        return
    xs = [b * BUCKET_SECONDS / 60 for b in range(len(rates))]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(xs, rates, label=f"Vault requests/s ({BUCKET_SECONDS}-s buckets)")
    ax.axhline(mean, linestyle="--", color="grey", label=f"mean while serving ({mean:.1f}/s)")
    ax.axhline(2 * mean, linestyle=":", color="red", label="twice the mean")
    if outage:
        ax.axvspan((outage[0] - began) / 60, (outage[1] - began) / 60, color="orange", alpha=0.2, label="Vault stopped")
    ax.set_xlabel("minutes")
    ax.set_ylabel("requests per second")
    ax.set_title(f"{args.daemons} sshcertd daemons x 3 profiles, {args.ttl}-s certificates")
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    print(f"plot: {args.png}")


if __name__ == "__main__":
    main()
