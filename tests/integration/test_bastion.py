# SPDX-License-Identifier: Apache-2.0
"""Bastions: a target sshd reached only through a bastion sshd (both on 127.0.0.1, the
bastion named "localhost", the target "127.0.0.1"), the bastion logged in to as `nobody`
and the target as the login user, each with its own profile, role and principal. The
user's ssh_config holds host-key settings only. `sshcert ssh -J`, ProxyJump,
`ProxyCommand ssh -W`, plain ssh through `sshcert ssh-config`, and a bastion whose role
refuses the user; then extensions = "auto"."""

import json
import os
import subprocess
import unittest

from harness import LOGIN_USER, PASSWORD, Daemon, LoginSetup, Sshd, Workdir, class_workdir, free_port, profile_toml

JUMP_USER = "nobody"  # a second account, with no shell: a bastion only forwards (-W)


def run(argv, env):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@unittest.skipUnless(os.geteuid() == 0, "logging in to the bastion as another user needs sshd running as root")
class Bastion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        cls.fixture = f = LoginSetup(cls.tmp, cls.addClassCleanup, allowed_users=LOGIN_USER)
        cls.vault, cls.mount, cls.target = f.vault, f.mount, f.sshd
        # The bastion's role signs for its user only, and lets its certificates forward (-W).
        cls.vault.write_role(cls.mount, "jump", allowed_users=JUMP_USER, ttl="30m",
                             default_extensions={"permit-port-forwarding": ""})
        bastion_dir = os.path.join(cls.tmp, "bastion")
        os.makedirs(bastion_dir)
        cls.bastion = Sshd(bastion_dir, [f.ca_key], cls.addClassCleanup, extra_config="AllowTcpForwarding yes")
        # Host keys only: every hop's user, port and jump come from the command line or the test's own lines.
        cls.host_keys = os.path.join(cls.tmp, "ssh_config")
        with open(cls.host_keys, "w") as out:
            out.write("StrictHostKeyChecking no\nUserKnownHostsFile /dev/null\nBatchMode yes\nLogLevel ERROR\n"
                      "KexAlgorithms curve25519-sha256\n")

    def setUp(self):
        self.work = Workdir(self)

    def profiles(self, target_extra=None, target_role="dev"):
        return (profile_toml("bastion", ["localhost"], "jump", mount=self.mount) + "\n" +
                profile_toml("target", ["127.0.0.1"], target_role, mount=self.mount, **(target_extra or {})))

    def logged_in_daemon(self, **profile_options):
        d = Daemon(self.work.path, self.vault.addr, self.fixture.config_toml(self.profiles(**profile_options)), self.work.cleanup)
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        return d

    def host_key_settings(self):
        with open(self.host_keys) as f:
            return f.read()

    def config_file(self, extra):
        path = os.path.join(self.work.path, "ssh_config")
        with open(path, "w") as out:
            out.write(self.host_key_settings() + extra)
        return path

    def jump(self, user=JUMP_USER):
        return f"{user}@localhost:{self.bastion.port}"

    def certificates(self, d):
        r = d.sshcert("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return {c["profile"]: c for c in json.loads(r.stdout)["certificates"]}

    def assert_each_hop_used_its_certificate(self, d):
        certs = self.certificates(d)
        self.assertEqual((certs["bastion"]["principals"], certs["target"]["principals"]), ([JUMP_USER], [LOGIN_USER]))
        self.assertRegex(self.bastion.log(), rf"Accepted publickey for {JUMP_USER} from 127\.0\.0\.1 .*ED25519-CERT")
        self.assertRegex(self.target.log(), rf"Accepted publickey for {LOGIN_USER} from 127\.0\.0\.1 .*ED25519-CERT")
        # The target was reached through the bastion's forwarding, not directly.
        self.assertRegex(self.bastion.log(), r"direct-tcpip|Connection from 127\.0\.0\.1")

    def test_ssh_help_lists_sshcerts_own_options_and_says_the_rest_goes_to_ssh(self):
        d = Daemon(self.work.path, self.vault.addr, self.fixture.config_toml(self.profiles()), self.work.cleanup, start=False)
        for flag in ("--help", "-h"):
            r = d.sshcert("ssh", flag)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertTrue(r.stdout.startswith("Usage: sshcert ssh [--profile NAME] [ssh options] [user@]host [ssh options] "
                                                "[command]\n"), r.stdout)
            self.assertIn("  --profile NAME ", r.stdout)
            self.assertIn("Every other argument goes to ssh unchanged", r.stdout)

    def test_dash_j_with_options_after_the_host(self):
        d = self.logged_in_daemon()
        r = d.sshcert("ssh", "-F", self.host_keys, "-J", self.jump(), "127.0.0.1", "-l", LOGIN_USER, "-p", str(self.target.port),
                      "echo", "through-the-bastion")
        self.assertEqual((r.returncode, r.stdout), (0, "through-the-bastion\n"), r.stderr)
        self.assertNotIn("Pseudo-terminal", r.stderr)
        self.assert_each_hop_used_its_certificate(d)

    def test_proxy_jump_in_ssh_config(self):
        d = self.logged_in_daemon()
        cfg = self.config_file(f"Host 127.0.0.1\n    ProxyJump {self.jump()}\n    Port {self.target.port}\n")
        r = d.sshcert("ssh", "-F", cfg, f"{LOGIN_USER}@127.0.0.1", "echo via-proxyjump")
        self.assertEqual((r.returncode, r.stdout), (0, "via-proxyjump\n"), r.stderr)
        self.assert_each_hop_used_its_certificate(d)

    def test_proxy_command_ssh_w(self):
        d = self.logged_in_daemon()
        cfg = self.config_file(f"Host 127.0.0.1\n    ProxyCommand ssh -F {self.host_keys} -W %h:%p -p {self.bastion.port} "
                               f"{JUMP_USER}@localhost\n    Port {self.target.port}\n")
        r = d.sshcert("ssh", "-F", cfg, f"{LOGIN_USER}@127.0.0.1", "echo via-proxycommand")
        self.assertEqual((r.returncode, r.stdout), (0, "via-proxycommand\n"), r.stderr)
        self.assert_each_hop_used_its_certificate(d)

    def install_ssh_config(self, d):
        """The user's ~/.ssh/config: host keys and the ProxyJump, with `sshcert ssh-config --install` run on it."""
        ssh_dir = os.path.join(d.home, ".ssh")
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        cfg = os.path.join(ssh_dir, "config")
        with open(cfg, "w") as out:
            out.write(self.host_key_settings() + f"Host 127.0.0.1\n    ProxyJump {self.jump()}\n    Port {self.target.port}\n")
        r = d.sshcert("ssh-config", "--install")
        self.assertEqual(r.returncode, 0, r.stderr)
        return cfg

    def test_plain_ssh_through_the_generated_ssh_config(self):
        d = self.logged_in_daemon()
        cfg = self.install_ssh_config(d)
        env = {k: v for k, v in d.env.items() if k != "SSH_AUTH_SOCK"}
        r = run(["ssh", "-F", cfg, f"{LOGIN_USER}@127.0.0.1", "echo plain-through-bastion"], env)
        self.assertEqual((r.returncode, r.stdout), (0, "plain-through-bastion\n"), r.stderr)
        self.assert_each_hop_used_its_certificate(d)

    def test_a_bastion_whose_role_refuses_the_user_gives_vaults_reason_before_ssh_runs(self):
        d = self.logged_in_daemon()
        before = (self.bastion.log(), self.target.log())
        r = d.sshcert("ssh", "-F", self.host_keys, "-J", self.jump("deploy"), "-p", str(self.target.port),
                      f"{LOGIN_USER}@127.0.0.1", "echo never")
        self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
        self.assertRegex(r.stderr, r"^sshcert: bastion localhost \(user deploy\): Vault refused to sign for role 'jump' .*"
                                   r"deploy.*valid_principals")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertEqual((self.bastion.log(), self.target.log()), before, "ssh connected although the bastion has no certificate")

    def test_extensions_auto_asks_for_what_the_flags_need(self):
        self.vault.write_role(self.mount, "wide", allowed_users=LOGIN_USER, ttl="30m",
                              allowed_extensions="permit-pty,permit-user-rc,permit-port-forwarding,permit-agent-forwarding")
        d = self.logged_in_daemon(target_extra={"extensions": "auto"}, target_role="wide")
        args = ["-F", self.host_keys, "-J", self.jump(), "-p", str(self.target.port), f"{LOGIN_USER}@127.0.0.1"]

        def target_extensions():
            r = d.sshcert("status", "--json")
            return sorted(sorted(c["extensions"]) for c in json.loads(r.stdout)["certificates"] if c["profile"] == "target")

        r = d.sshcert("ssh", "-T", "-L", f"{free_port()}:127.0.0.1:9", *args, "echo forwarded")
        self.assertEqual((r.returncode, r.stdout), (0, "forwarded\n"), r.stderr)
        self.assertEqual(target_extensions(), [["permit-port-forwarding", "permit-user-rc"]])
        # One with more serves a request for less: no second certificate for -T alone.
        r = d.sshcert("ssh", "-T", *args, "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(target_extensions(), [["permit-port-forwarding", "permit-user-rc"]])
        # One without agent forwarding is not used for -A, nor one without a terminal for an interactive login.
        r = d.sshcert("ssh", "-A", *args, "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(target_extensions(), [["permit-agent-forwarding", "permit-pty", "permit-user-rc"],
                                               ["permit-port-forwarding", "permit-user-rc"]])

    def test_extensions_auto_counts_what_ssh_config_asks_for(self):
        self.vault.write_role(self.mount, "wide", allowed_users=LOGIN_USER, ttl="30m",
                              allowed_extensions="permit-pty,permit-user-rc,permit-port-forwarding,permit-agent-forwarding")
        d = self.logged_in_daemon(target_extra={"extensions": "auto"}, target_role="wide")
        cfg = self.config_file(f"Host 127.0.0.1\n    ForwardAgent yes\n    RequestTTY no\n    Port {self.target.port}\n")
        r = d.sshcert("ssh", "-F", cfg, "-J", self.jump(), f"{LOGIN_USER}@127.0.0.1", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(self.certificates(d)["target"]["extensions"]), ["permit-agent-forwarding", "permit-user-rc"])

    def test_sshcert_ssh_under_the_generated_ssh_config_leaves_the_hook_nothing_to_fetch(self):
        # The hook cannot know ssh's flags: under sshcert ssh, which ensured every hop, it must not fetch
        # a second certificate with every extension.
        self.vault.write_role(self.mount, "wide", allowed_users=LOGIN_USER, ttl="30m",
                              allowed_extensions="permit-pty,permit-user-rc,permit-port-forwarding,permit-agent-forwarding")
        d = self.logged_in_daemon(target_extra={"extensions": "auto"}, target_role="wide")
        cfg = self.install_ssh_config(d)
        r = d.sshcert("ssh", "-T", "-F", cfg, f"{LOGIN_USER}@127.0.0.1", "echo once")
        self.assertEqual((r.returncode, r.stdout), (0, "once\n"), r.stderr)
        certs = json.loads(d.sshcert("status", "--json").stdout)["certificates"]
        self.assertEqual(sorted((c["profile"], c["extensions"]) for c in certs),
                         [("bastion", ["permit-port-forwarding"]), ("target", ["permit-user-rc"])])

    def test_extensions_auto_with_a_role_that_allows_none_gets_the_roles_defaults(self):
        d = self.logged_in_daemon(target_extra={"extensions": "auto"})
        r = d.sshcert("ssh", *self.target.ssh_options(), "-T", "-L", f"{free_port()}:127.0.0.1:9", f"{LOGIN_USER}@127.0.0.1", "echo defaults")
        self.assertEqual((r.returncode, r.stdout), (0, "defaults\n"), r.stderr)
        self.assertEqual(self.certificates(d)["target"]["extensions"], ["permit-pty"])  # role dev's default_extensions
        self.assertIn("has no permit-port-forwarding: role dev does not allow it; -L will fail", r.stderr)

    def test_extensions_auto_says_what_the_role_refused_before_ssh_fails(self):
        self.vault.write_role(self.mount, "narrow", allowed_users=LOGIN_USER, ttl="30m", allowed_extensions="permit-pty,permit-user-rc")
        profiles = (profile_toml("narrow", ["127.0.0.1"], "narrow", mount=self.mount, extensions="auto"))
        d = Daemon(self.work.path, self.vault.addr, self.fixture.config_toml(profiles), self.work.cleanup)
        self.assertEqual(d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n").returncode, 0)
        r = d.sshcert("ssh", *self.target.ssh_options(), "-L", f"{free_port()}:127.0.0.1:9", "-T", f"{LOGIN_USER}@127.0.0.1", "echo still-runs")
        self.assertIn("sshcert: warning: the certificate for profile narrow has no permit-port-forwarding: role narrow does not "
                      "allow it; -L will fail\n", r.stderr)
        certs = json.loads(d.sshcert("status", "--json").stdout)["certificates"]
        self.assertEqual([c["extensions"] for c in certs], [["permit-user-rc"]])


if __name__ == "__main__":
    unittest.main()
