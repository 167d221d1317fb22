# SPDX-License-Identifier: Apache-2.0
"""What the benchmarks share: the Vault stand-in with role "bench", and sshcertd logged in
to it with one profile "bench", in a temporary directory; every process stopped by PID and
the directory removed when done."""

import contextlib
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import LOGIN_USER, PASSWORD, Daemon, Vault, make_workdir, profile_toml  # noqa: E402


@contextlib.contextmanager
def logged_in_daemon(hosts, allowed_users=LOGIN_USER, **profile):
    """Yields (daemon, workdir, cleanup): cleanup(fn, *args) runs fn(*args) at the end, last first;
    daemon.vault is the stand-in it is logged in to."""
    cleanups, work = [], make_workdir()
    cleanup = lambda fn, *a: cleanups.append(lambda: fn(*a))  # noqa: E731  (addCleanup's signature)
    try:
        vault = Vault(work, cleanup)
        vault.enable_ssh("ssh")
        vault.write_role("ssh", "bench", allowed_users=allowed_users, ttl="1h")
        vault.write_policy("bench", 'path "ssh/sign/*" { capabilities = ["update"] }')
        vault.enable_userpass("userpass")
        vault.add_user("userpass", "bench", PASSWORD, ["bench"])
        d = Daemon(work, vault.addr, profile_toml("bench", hosts, "bench", **profile), cleanup)
        r = d.sshcert("login", "--method", "userpass", "--username", "bench", "--password-stdin", input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        d.vault = vault
        yield d, work, cleanup
    finally:
        for c in reversed(cleanups):
            c()
        shutil.rmtree(work, True)
