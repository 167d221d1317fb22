# SPDX-License-Identifier: Apache-2.0
"""The README's first command: the whole sshcert journey on loopback, printed
step by step. A Vault stand-in with an SSH CA, a real sshd that trusts only
that CA, sshcertd in a throw-away home, then `sshcert login` and `sshcert ssh`."""

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile

from harness import LOGIN_USER, Daemon, Sshd, Vault, profile_toml

PASSWORD = "demo-password"


def step(title, command=None):
    print(f"\n== {title}")
    if command:
        print("$ " + (command if isinstance(command, str) else " ".join(shlex.quote(a) for a in command)))
    sys.stdout.flush()


def show(result):
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.stdout.flush()
    return result


def main():
    with contextlib.ExitStack() as stack:
        work = tempfile.mkdtemp(prefix="sshcert-demo-")
        os.chmod(work, 0o755)
        stack.callback(subprocess.run, ["rm", "-rf", work])
        cleanup = stack.callback

        step("Vault: an SSH secrets engine with a CA, role 'demo' and a userpass user")
        vault = Vault(work, cleanup)
        ca = vault.enable_ssh("ssh")
        vault.write_role("ssh", "demo", allowed_users=LOGIN_USER, default_extensions={"permit-pty": ""},
                         ttl="30m", max_ttl="8h")
        vault.write_policy("ssh-demo", 'path "ssh/sign/demo" { capabilities = ["create", "update"] }')
        vault.enable_userpass("userpass")
        vault.add_user("userpass", "demo", PASSWORD, ["ssh-demo"])
        print(f"Vault at {vault.addr}; CA key {ca.split()[0]} {ca.split()[1][:24]}...")

        step("sshd on 127.0.0.1 trusting only the Vault CA (TrustedUserCAKeys, AuthorizedKeysFile none)")
        sshd = Sshd(work, [ca], cleanup)
        print(f"sshd listening on 127.0.0.1:{sshd.port}")

        step("sshcertd with a profile for 127.0.0.1")
        config = '[auth]\nmethod = "userpass"\nusername = "demo"\n\n' + profile_toml("demo", ["127.0.0.1"], "demo")
        daemon = Daemon(work, vault.addr, config, cleanup)
        print(f"agent socket {daemon.agent_socket}")

        step("Log in (the password is read from stdin here; interactively it is prompted without echo)",
             ["sshcert", "login", "--password-stdin"])
        if show(daemon.sshcert("login", "--password-stdin", input=PASSWORD + "\n")).returncode != 0:
            return 1

        remote = 'echo "hello from $(hostname) as $(whoami), authenticated by a Vault-signed certificate"'
        argv = ["sshcert", "ssh", *sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", remote]
        step("Run a command remotely: sshcert ssh gets a certificate, then execs OpenSSH", argv)
        result = show(daemon.sshcert(*argv[1:]))
        print(f"(exit status {result.returncode})")

        step("What the daemon holds", ["sshcert", "status"])
        show(daemon.sshcert("status"))

        step("The certificate as OpenSSH sees it", "ssh-add -L | ssh-keygen -L -f -")
        listed = subprocess.run(["ssh-add", "-L"], env=daemon.agent_env(), capture_output=True, text=True)
        show(subprocess.run(["ssh-keygen", "-L", "-f", "-"], input=listed.stdout, capture_output=True, text=True))

        step("Log out: the token is revoked and the keys wiped", ["sshcert", "logout"])
        show(daemon.sshcert("logout"))
        return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
