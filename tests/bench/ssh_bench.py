# SPDX-License-Identifier: Apache-2.0
"""What `sshcert ssh` adds to a real ssh login: start-to-exit time of `sshcert ssh ... true`
to an OpenSSH sshd on 127.0.0.1 next to plain ssh with a certificate of the same Vault role
in files (`-i KEY -o CertificateFile=CERT`, no agent). sshcert writes no key to disk, so
the plain certificate is a fresh key signed by the same role through Vault's HTTP API:
same CA, sshd, principal and extensions. Four cases, each interleaved with plain ssh so
drift hits both alike:

- warm, user@127.0.0.1 typed: the daemon holds the certificate;
- warm, a Host alias from an ssh_config (-F), the user and port coming from it;
- warm, plain `ssh ALIAS` through the Match exec hook of `sshcert ssh-config --install`;
- cold: nothing cached. No op drops only certificates (logout ends the login), so each run
  names its own profile (--profile cold-N, same role), which holds none yet. Overhead is
  cold - plain - one Vault sign, timed directly with urllib and a fresh key.

Prints one table; asserts nothing about speed.

    SSHCERT_BUILD_DIR=build python3 tests/bench/ssh_bench.py [--runs 30]

measure() gives the rows to another script.
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

from harness import LOGIN_USER, PASSWORD, SSHCERT, Daemon, LoginSetup, make_workdir, profile_toml  # noqa: E402

ALIAS = "benchhost"
# The child opens /dev/null itself for stdin, stdout and stderr: nothing for Python to set up per run.
QUIET = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]


def run_ms(argv, env):
    """Start-to-exit time of argv in ms, through posix_spawn so Python adds little; it must exit 0."""
    begin = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=QUIET)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    elapsed = (time.perf_counter_ns() - begin) / 1e6
    if code != 0:
        why = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60).stderr.strip()
        raise RuntimeError(f"{' '.join(argv)} exited with {code}: {why}")
    return elapsed


def sign_ms(vault, token, mount, public_key):
    """(signed certificate, ms) for one POST <mount>/sign/dev, the body sshcertd sends."""
    body = {"public_key": public_key, "cert_type": "user", "valid_principals": LOGIN_USER}
    begin = time.perf_counter_ns()
    reply = vault.api("POST", f"{mount}/sign/dev", body, token=token)
    return reply["data"]["signed_key"], (time.perf_counter_ns() - begin) / 1e6


def new_public_key(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    with open(path + ".pub") as f:
        return f.read().strip()


def alias_config(path, sshd, first=()):
    """An ssh_config whose Host alias reaches `sshd` with Sshd.ssh_options()'s -o settings;
    `first` lines come before them, since ssh keeps the first value it reads."""
    opts = sshd.ssh_options()
    settings = [value.replace("=", " ", 1) for flag, value in zip(opts, opts[1:]) if flag == "-o"]
    lines = ["HostName 127.0.0.1", f"Port {sshd.port}", f"User {LOGIN_USER}", *first, *settings]
    with open(path, "w") as f:
        f.write(f"Host {ALIAS}\n" + "".join(f"    {line}\n" for line in lines))
    return path


def stats(name, xs, **extra):
    return {"name": name, "runs": len(xs), "p50_ms": statistics.median(xs), "p90_ms": statistics.quantiles(xs, n=10)[-1],
            "mean_ms": statistics.fmean(xs), "ratio": None, "overhead_ms": None, "target": "", **extra}


def pair(name, plain_name, ours, plain):
    """Rows for sshcert and plain ssh, the ratio of their p50s on sshcert's."""
    return [stats(name, ours, ratio=statistics.median(ours) / statistics.median(plain), target="1.01"),
            stats(plain_name, plain)]


def interleaved(argvs, env, runs):
    """runs of each argv, taken in turn (a, b, a, b, ...); one list of ms per argv."""
    out = [[] for _ in argvs]
    for _ in range(runs):
        for times, argv in zip(out, argvs):
            times.append(run_ms(argv, env))
    return out


def measure(runs=30):
    """The table's rows: dicts of name, runs, p50_ms, p90_ms, mean_ms, ratio, overhead_ms (None where not theirs), target."""
    cleanups, work = [], make_workdir()
    cleanup = lambda fn, *a: cleanups.append(lambda: fn(*a))  # noqa: E731  (addCleanup's signature)
    try:
        setup = LoginSetup(work, cleanup)
        vault, sshd, mount = setup.vault, setup.sshd, setup.mount
        # "local" first: it is the one 127.0.0.1 and the alias match; the cold ones are reached by --profile only.
        profiles = profile_toml("local", ["127.0.0.1", ALIAS], "dev", mount=mount) + "".join(
            profile_toml(f"cold-{i}", [f"cold-{i}.invalid"], "dev", mount=mount) for i in range(runs))
        d = Daemon(work, vault.addr, setup.config_toml(profiles), cleanup)
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        token = vault.api("POST", f"auth/{setup.userpass}/login/alice", {"password": PASSWORD}, token="")["auth"]["client_token"]

        # The plain side's certificate, in files as a user of plain ssh keeps it.
        key = os.path.join(work, "plain")
        cert, _ = sign_ms(vault, token, mount, new_public_key(key))
        with open(key + "-cert.pub", "w") as f:
            f.write(cert)
        in_files = ["-i", key, "-o", f"CertificateFile={key}-cert.pub", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
        ssh, dest, opts = shutil.which("ssh", path=d.env["PATH"]), f"{LOGIN_USER}@127.0.0.1", sshd.ssh_options()
        typed = [SSHCERT, "ssh", *opts, dest, "true"]
        plain = [ssh, *in_files, *opts, dest, "true"]
        ours_config = alias_config(os.path.join(work, "alias.conf"), sshd)
        plain_config = alias_config(os.path.join(work, "alias-plain.conf"), sshd,
                                    [f"IdentityFile {key}", f"CertificateFile {key}-cert.pub", "IdentitiesOnly yes",
                                     "IdentityAgent none"])
        by_alias = [SSHCERT, "ssh", "-F", ours_config, ALIAS, "true"]
        plain_alias = [ssh, "-F", plain_config, ALIAS, "true"]
        for argv in (typed, plain, by_alias, plain_alias):  # the first fetches the certificate; all warm the page cache
            run_ms(argv, d.env)

        rows = pair(f"A sshcert ssh {dest} (warm)", "A plain ssh -i key+cert", *interleaved([typed, plain], d.env, runs))
        rows += pair(f"B sshcert ssh {ALIAS} (warm)", f"B plain ssh -F conf {ALIAS}",
                     *interleaved([by_alias, plain_alias], d.env, runs))
        cold, cold_plain, signs = [], [], []
        for i in range(runs):
            public_key = new_public_key(os.path.join(work, f"fresh-{i}"))  # made before the clock starts
            cold.append(run_ms([SSHCERT, "ssh", "--profile", f"cold-{i}", *opts, dest, "true"], d.env))
            cold_plain.append(run_ms(plain, d.env))
            signs.append(sign_ms(vault, token, mount, public_key)[1])
        overhead = statistics.median(cold) - statistics.median(cold_plain) - statistics.median(signs)
        rows += [stats(f"C sshcert ssh {dest} (cold)", cold, overhead_ms=overhead, target="<= 5 ms"),
                 stats("C plain ssh -i key+cert", cold_plain), stats("C Vault sign (urllib)", signs)]
        # Last, as it changes ~/.ssh/config for all that follows. Plain ssh through the hook `sshcert ssh-config --install` puts in ~/.ssh/config (Match exec: sshcert ensure).
        os.makedirs(os.path.join(d.home, ".ssh"), mode=0o700, exist_ok=True)
        user_config = alias_config(os.path.join(d.home, ".ssh", "config"), sshd)
        r = d.sshcert("ssh-config", "--install")
        assert r.returncode == 0, r.stderr
        hooked = [ssh, "-F", user_config, ALIAS, "true"]  # ssh finds ~/.ssh through passwd, not HOME
        run_ms(hooked, d.env)
        rows += pair(f"D plain ssh {ALIAS} via the ssh-config hook (warm)", f"D plain ssh -F conf {ALIAS}",
                     *interleaved([hooked, plain_alias], d.env, runs))

        return rows
    finally:
        for c in reversed(cleanups):
            c()
        shutil.rmtree(work, True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30, help="runs of each case (at least 2)")
    args = parser.parse_args()
    rows = measure(args.runs)
    print(f"`ssh ... true` to sshd on 127.0.0.1, start to exit, {args.runs} runs each, {os.cpu_count()} CPUs")
    print("ratio: p50 / plain's p50; overhead: cold p50 - plain p50 - Vault sign p50")
    print(f"{'name':<42}{'runs':>6}{'p50 ms':>9}{'p90 ms':>9}{'mean ms':>9}{'ratio/overhead':>16}{'target':>10}")
    for row in rows:
        vs = (f"{row['ratio']:.3f}" if row["ratio"] is not None else
              f"{row['overhead_ms']:+.1f} ms" if row["overhead_ms"] is not None else "")
        print(f"{row['name']:<42}{row['runs']:>6}{row['p50_ms']:>9.1f}{row['p90_ms']:>9.1f}{row['mean_ms']:>9.1f}"
              f"{vs:>16}{row['target']:>10}")


if __name__ == "__main__":
    main()
