# SPDX-License-Identifier: Apache-2.0
"""Host trust: an sshd with a host certificate from a Vault host CA mount. Plain ssh
through agent.sock binds the connection to the host certificate without a refused
session-bind; a bound connection is offered only the certificates of the profiles for
that host; `sshcert known-hosts` writes the @cert-authority lines that let ssh with
StrictHostKeyChecking=yes accept the host, rewrites them when the CA changes, and names
a wrong mount."""

import os
import subprocess
import unittest

from harness import LOGIN_USER, PASSWORD, Daemon, LoginSetup, Sshd, Workdir, class_workdir, profile_toml


def run(argv, env, **kwargs):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, **kwargs)


def host_certified_sshd(vault, workdir, user_ca_key, host_mount, cleanup):
    """An sshd trusting the user CA whose host key Vault's `host_mount` certified for 127.0.0.1 and localhost."""
    sshd = Sshd(workdir, [user_ca_key], cleanup, start=False)
    with open(sshd.host_key + ".pub") as f:
        signed = vault.api("POST", f"{host_mount}/sign/hosts", {
            "public_key": f.read(), "cert_type": "host", "valid_principals": "127.0.0.1,localhost"})["data"]["signed_key"]
    cert = sshd.host_key + "-cert.pub"
    with open(cert, "w") as f:
        f.write(signed)
    with open(sshd.config_path, "a") as f:
        f.write(f"HostCertificate {cert}\n")
    sshd.start()
    return sshd


class HostTrust(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        cls.fixture = f = LoginSetup(cls.tmp, cls.addClassCleanup)
        cls.vault = v = f.vault
        cls.host_mount = f"ssh-host-signer-{v.suffix}"
        cls.host_ca_key = v.enable_ssh(cls.host_mount)
        v.write_role(cls.host_mount, "hosts", allow_user_certificates=False, allow_host_certificates=True,
                     allowed_domains="127.0.0.1,localhost", allow_bare_domains=True, ttl="1h")
        cls.sshd = host_certified_sshd(v, os.path.join(cls.tmp, "certified"), f.ca_key, cls.host_mount, cls.addClassCleanup)

    def setUp(self):
        self.work = Workdir(self)

    def daemon(self, host_ca_mount=None, other_profile=False):
        """Logged in, with profile "local" for 127.0.0.1 (and "other" for *.example.test first, if asked)."""
        extra = {"host_ca_mount": host_ca_mount or self.host_mount}
        profiles = profile_toml("local", ["127.0.0.1", "localhost"], "dev", mount=self.fixture.mount, **extra)
        if other_profile:
            profiles = profile_toml("other", ["*.example.test"], "dev", mount=self.fixture.mount) + "\n" + profiles
        d = Daemon(self.work.path, self.vault.addr, self.fixture.config_toml(profiles), self.work.cleanup)
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        return d

    def ensure(self, d, profile, host):
        r = d.sshcert("ensure", "--profile", profile, "--host", host, "--user", LOGIN_USER, "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)

    def known_hosts(self, d):
        return os.path.join(d.config_dir, "known_hosts")

    def plain_ssh(self, d, known_hosts, *extra, sshd=None):
        """ssh through agent.sock with StrictHostKeyChecking=yes and only `known_hosts`, verbose."""
        sshd = sshd or self.sshd
        return run(["ssh", "-v", "-F", "/dev/null", "-p", str(sshd.port), "-o", "StrictHostKeyChecking=yes",
                    "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                    "-o", "BatchMode=yes", "-o", "IdentitiesOnly=no", "-o", "KexAlgorithms=curve25519-sha256",
                    *extra, f"{LOGIN_USER}@127.0.0.1", "echo host-trust-ok"], d.agent_env())

    def test_known_hosts_lets_strict_ssh_accept_the_host_certificate(self):
        d = self.daemon()
        self.ensure(d, "local", "127.0.0.1")
        refused = self.plain_ssh(d, "/dev/null")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("Host key verification failed", refused.stderr)

        r = d.sshcert("known-hosts")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Wrote " + self.known_hosts(d), r.stdout)
        with open(self.known_hosts(d)) as f:
            text = f.read()
        self.assertIn(f"@cert-authority 127.0.0.1,localhost,[127.0.0.1]:*,[localhost]:* {self.host_ca_key.strip()}", text)
        r = self.plain_ssh(d, self.known_hosts(d))
        self.assertEqual((r.returncode, r.stdout), (0, "host-trust-ok\n"), r.stderr)
        self.assertIn("Server host certificate: ssh-ed25519-cert-v01@openssh.com", r.stderr)
        # The agent verified the binding to the host certificate, and knows the host by its principals.
        self.assertNotIn("session-bind refused", d.log())
        self.assertRegex(d.log(), r"agent connection \d+ bound to host 127\.0\.0\.1, localhost")

    def test_bound_connection_is_offered_only_the_hosts_profile(self):
        d = self.daemon(other_profile=True)
        self.ensure(d, "other", "web.example.test")
        self.ensure(d, "local", "127.0.0.1")
        listed = run(["ssh-add", "-l"], d.agent_env())
        self.assertIn("sshcert:other", listed.stdout)  # unbound: everything, as before
        self.assertIn("sshcert:local", listed.stdout)
        self.assertEqual(d.sshcert("known-hosts").returncode, 0)

        r = self.plain_ssh(d, self.known_hosts(d))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Will attempt key: sshcert:local", r.stderr)
        self.assertNotIn("sshcert:other", r.stderr)

        # Without a host certificate, the user's ~/.ssh/known_hosts names the host by its plain key.
        plain = Sshd(os.path.join(self.work.path, "plain"), [self.fixture.ca_key], self.work.cleanup)
        with open(plain.host_key + ".pub") as f:
            key = " ".join(f.read().split()[:2])
        os.makedirs(os.path.join(d.home, ".ssh"), mode=0o700, exist_ok=True)
        user_known_hosts = os.path.join(d.home, ".ssh", "known_hosts")
        with open(user_known_hosts, "w") as f:
            f.write(f"[127.0.0.1]:{plain.port} {key}\n")
        r = self.plain_ssh(d, user_known_hosts, sshd=plain)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Will attempt key: sshcert:local", r.stderr)
        self.assertNotIn("sshcert:other", r.stderr)
        self.assertNotIn("session-bind refused", d.log())

    def test_known_hosts_is_rewritten_only_when_the_ca_changes(self):
        mount = f"ssh-host-rotate-{self.vault.suffix}"
        first = self.vault.enable_ssh(mount)
        d = self.daemon(host_ca_mount=mount)
        printed = d.sshcert("known-hosts", "--print")
        self.assertEqual(printed.returncode, 0, printed.stderr)
        self.assertIn(first.strip(), printed.stdout)
        self.assertFalse(os.path.exists(self.known_hosts(d)))  # --print writes nothing

        self.assertEqual(d.sshcert("known-hosts").returncode, 0)
        before = os.stat(self.known_hosts(d))
        again = d.sshcert("known-hosts")
        self.assertEqual((again.returncode, again.stdout), (0, f"{self.known_hosts(d)} is up to date.\n"), again.stderr)
        self.assertEqual(os.stat(self.known_hosts(d)).st_ino, before.st_ino)

        self.vault.api("DELETE", f"{mount}/config/ca")
        second = self.vault.api("POST", f"{mount}/config/ca", {"generate_signing_key": True})["data"]["public_key"]
        r = d.sshcert("known-hosts")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Wrote", r.stdout)
        with open(self.known_hosts(d)) as f:
            text = f.read()
        self.assertIn(second.strip(), text)
        self.assertNotIn(first.strip(), text)
        self.assertEqual(printed.stdout.replace(first.strip(), second.strip()), text)

    def test_wrong_mount_says_there_is_no_ssh_engine(self):
        d = self.daemon(host_ca_mount="no-such-mount")
        r = d.sshcert("known-hosts")
        self.assertEqual(r.returncode, 1, r.stderr)  # the profile's mount is wrong: a local problem
        self.assertIn("no SSH secrets engine at 'no-such-mount'", r.stderr)
        self.assertNotIn("permission denied", r.stderr)
        self.assertFalse(os.path.exists(self.known_hosts(d)))

    def test_ssh_config_names_the_managed_known_hosts_after_the_users(self):
        d = self.daemon()
        r = d.sshcert("ssh-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"    UserKnownHostsFile ~/.ssh/known_hosts {self.known_hosts(d)}\n", r.stdout)


if __name__ == "__main__":
    unittest.main()
