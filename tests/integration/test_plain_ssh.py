# SPDX-License-Identifier: Apache-2.0
"""Plain ssh, scp, sftp, rsync and git get certificates through the ssh_config that
`sshcert ssh-config --install` writes, and nothing else: the test's ~/.ssh/config in the
daemon's private HOME holds only the Include and the user's own block for the test sshd,
and every tool is pointed at it with -F (ssh reads the passwd entry's home, not $HOME).
Also `sshcert ensure` as ssh runs it (no terminal on stdin), `--install` on existing
configs, and `sshcert exec`."""

import os
import stat
import subprocess
import unittest

from harness import (LOGIN_USER, PASSWORD, SSHCERT, Daemon, VaultSshTestCase, Workdir, profile_toml, run_in_terminal,
                     standin_only)

NOT_LOGGED_IN = "sshcert: not logged in to Vault; run: sshcert login"


def run(argv, env, **kwargs):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, **kwargs)


class PlainSsh(VaultSshTestCase):
    sshd_config = "Subsystem sftp internal-sftp"  # scp speaks SFTP since OpenSSH 9.0

    def user_block(self):
        """What a user would have written for this host: how to reach it, nothing about keys."""
        return (f"Host 127.0.0.1\n    Port {self.sshd.port}\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n"
                "    BatchMode yes\n    LogLevel ERROR\n    KexAlgorithms curve25519-sha256\n")

    def install(self, d, extra=""):
        """The user's ~/.ssh/config (their block, then `extra`), with `sshcert ssh-config --install` run on it."""
        ssh_dir = os.path.join(d.home, ".ssh")
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        path = os.path.join(ssh_dir, "config")
        with open(path, "w") as f:
            f.write(self.user_block() + extra)
        r = d.sshcert("ssh-config", "--install")
        self.assertEqual(r.returncode, 0, r.stderr)
        return path

    def without_hook(self, d):
        """The same user block with IdentityAgent set by hand, as the README advised before: no `sshcert ensure`."""
        path = os.path.join(d.home, ".ssh", "config-without-hook")
        with open(path, "w") as f:
            f.write(self.user_block() + f"    IdentityAgent {d.socket_dir}/agent-local.sock\n")
        return path

    def refused_then_working(self, run_tool):
        """`run_tool(config, env)` from nothing cached: refused with IdentityAgent alone, working with the generated config."""
        d = self.logged_in_daemon()
        hooked, bare = self.install(d), self.without_hook(d)
        refused = run_tool(bare, self.env(d))
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        self.assertIn("Permission denied (publickey)", refused.stderr)
        self.assertEqual(self.status(d)["certificates"], [])
        worked = run_tool(hooked, self.env(d))
        self.assertEqual(worked.returncode, 0, worked.stderr)
        self.assertEqual([c["profile"] for c in self.status(d)["certificates"]], ["local"])
        return d, worked

    def test_plain_ssh(self):
        d, r = self.refused_then_working(lambda cfg, env: run(["ssh", "-F", cfg, "127.0.0.1", "echo plain-ssh-ok"], env))
        self.assertEqual((r.stdout, r.stderr), ("plain-ssh-ok\n", ""))
        self.assertRegex(self.sshd.log(), r"Accepted publickey for \S+ from 127\.0\.0\.1 .*ED25519-CERT")

    def test_scp(self):
        source, target = self.local_file("scp"), os.path.join(self.work.path, "scp-copied")
        self.refused_then_working(lambda cfg, env: run(["scp", "-F", cfg, source, f"127.0.0.1:{target}"], env))
        self.assert_same_file(source, target)

    def test_sftp(self):
        source, target = self.local_file("sftp"), os.path.join(self.work.path, "sftp-copied")
        batch = os.path.join(self.work.path, "sftp-batch")
        with open(batch, "w") as f:
            f.write(f"put {source} {target}\n")
        self.refused_then_working(lambda cfg, env: run(["sftp", "-F", cfg, "-b", batch, "127.0.0.1"], env))
        self.assert_same_file(source, target)

    def test_rsync(self):
        tree = os.path.join(self.work.path, "tree")
        os.makedirs(os.path.join(tree, "sub"))
        source = self.local_file("rsync", os.path.join(tree, "sub", "file"))
        target = os.path.join(self.work.path, "rsynced")
        self.refused_then_working(lambda cfg, env: run(["rsync", "-a", "-e", f"ssh -F {cfg}", tree + "/", f"127.0.0.1:{target}/"],
                                                       env))
        self.assert_same_file(source, os.path.join(target, "sub", "file"))

    def test_git_clone(self):
        # A bare repository on the server's side, with one commit.
        work_tree, bare = os.path.join(self.work.path, "src"), os.path.join(self.work.path, "repo.git")
        git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
        local = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.work.path, "GIT_CONFIG_NOSYSTEM": "1"}
        run([*git, "init", "-q", work_tree], local, check=True)
        self.local_file("git", os.path.join(work_tree, "README"))
        run([*git, "-C", work_tree, "add", "README"], local, check=True)
        run([*git, "-C", work_tree, "commit", "-q", "-m", "first"], local, check=True)
        run([*git, "clone", "-q", "--bare", work_tree, bare], local, check=True)
        clones = iter(["clone-refused", "clone"])
        self.refused_then_working(lambda cfg, env: run(
            ["git", "clone", "-q", f"127.0.0.1:{bare}", os.path.join(self.work.path, next(clones))],
            dict(env, GIT_SSH_COMMAND=f"ssh -F {cfg}")))
        self.assert_same_file(os.path.join(work_tree, "README"), os.path.join(self.work.path, "clone", "README"))

    def test_the_remote_user_comes_from_a_user_line_below_the_include(self):
        # The exec runs on ssh's final pass: a User line read after sshcert's blocks still decides the principal.
        d = self.logged_in_daemon()
        cfg = self.install(d, "    User deploy\n")
        r = run(["ssh", "-F", cfg, "127.0.0.1", "true"], self.env(d))
        self.assertNotEqual(r.returncode, 0, "the test sshd has no account 'deploy'")
        self.assertEqual([c["principals"] for c in self.status(d)["certificates"]], [["deploy"]])

    def test_the_users_own_identity_agent_and_identities_only_below_the_include_do_not_hide_the_certificate(self):
        d = self.logged_in_daemon()
        cfg = self.install(d, "\nHost *\n    IdentityAgent /nonexistent/agent.sock\n    IdentitiesOnly yes\n"
                              "    SetEnv SSHCERT_TEST_LATER=applied\n")
        r = run(["ssh", "-F", cfg, "127.0.0.1", "echo still-mine"], self.env(d))
        self.assertEqual((r.returncode, r.stdout), (0, "still-mine\n"), r.stderr)
        shown = run(["ssh", "-G", "-F", cfg, "127.0.0.1"], self.env(d)).stdout
        self.assertIn("setenv SSHCERT_TEST_LATER=applied\n", shown)  # the user's other options still apply
        self.assertIn(f"identityagent {d.socket_dir}/agent-local.sock\n", shown)

    def test_plain_ssh_when_not_logged_in_shows_the_one_line_and_never_prompts(self):
        d = self.daemon()
        cfg = self.install(d)
        r = run(["ssh", "-F", cfg, "127.0.0.1", "true"], self.env(d))
        self.assertEqual(r.returncode, 255)
        self.assertEqual(r.stderr.splitlines().count(NOT_LOGGED_IN), 1, r.stderr)
        self.assertIn("Permission denied (publickey)", r.stderr)
        # At a terminal too: ssh gives its Match exec /dev/null as stdin, so the login is never asked for.
        out, rc = run_in_terminal(["ssh", "-F", cfg, "127.0.0.1", "true"], self.env(d), timeout=30)
        self.assertEqual(rc, 255, out)
        self.assertEqual(out.count(NOT_LOGGED_IN), 1, out)
        self.assertNotIn("Vault password", out)

    def test_sshcert_ssh_under_the_hook_says_not_logged_in_once(self):
        # `sshcert ssh` asks `ssh -G` for the user, which runs the hook too; only sshcert's own line is shown.
        d = self.daemon()
        cfg = self.install(d)
        r = d.sshcert("ssh", "-F", cfg, "127.0.0.1", "true")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, NOT_LOGGED_IN + "\n")

    def test_ensure_without_a_terminal_when_not_logged_in_exits_with_one_line_and_no_prompt(self):
        d = self.daemon()
        r = d.sshcert("ensure", "--host", "127.0.0.1", "--user", LOGIN_USER, "--quiet", input="")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", NOT_LOGGED_IN + "\n"))
        # As ssh runs it: stdin /dev/null, stderr a terminal a prompt could use (it would hang until the timeout).
        out, rc = run_in_terminal([SSHCERT, "ensure", "--host", "127.0.0.1", "--user", LOGIN_USER, "--quiet"], d.env,
                                  stdin=subprocess.DEVNULL, timeout=20)
        self.assertEqual((rc, out), (2, NOT_LOGGED_IN + "\r\n"))

    def test_ensure_at_a_terminal_logs_in_first(self):
        d = self.daemon(username="alice")
        out, rc = run_in_terminal([SSHCERT, "ensure", "--host", "127.0.0.1", "--user", LOGIN_USER], d.env,
                                  answers={b"Vault password for alice": PASSWORD.encode() + b"\n"})
        self.assertEqual(rc, 0, out)
        self.assertIn("not logged in to Vault; run: sshcert login; logging in now", out)
        self.assertIn(f"local: ssh-ed25519 certificate for {LOGIN_USER}, valid until ", out)
        self.assertNotIn(PASSWORD, out)
        self.assertEqual(len(self.status(d)["certificates"]), 1)

    @standin_only
    def test_ensure_quiet_prints_nothing_and_a_held_certificate_is_not_fetched_again(self):
        d = self.logged_in_daemon()
        self.vault.clear_requests()  # the class's Vault has signed for earlier tests
        r = d.sshcert("ensure", "--host", "127.0.0.1", "--user", LOGIN_USER, "--quiet")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        r = d.sshcert("ensure", "--host", "localhost", "--user", LOGIN_USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rf"^local: ssh-ed25519 certificate for {LOGIN_USER}, valid until .* \(\d+m\d\ds left\), "
                                   rf"held already; agent {d.socket_dir}/agent-local\.sock\n$")
        signs = [q for q in self.vault.requests() if q["path"].endswith(f"{self.mount}/sign/dev")]
        self.assertEqual(len(signs), 1)

    def test_exec_sets_ssh_auth_sock_for_the_command_alone_and_drops_vault_token(self):
        d = self.logged_in_daemon()
        outer = dict(d.env, SSH_AUTH_SOCK="/elsewhere/agent.sock", VAULT_TOKEN="hvs.not-for-the-command")
        show = 'echo "sock=$SSH_AUTH_SOCK token=${VAULT_TOKEN-unset}"; exit 7'
        r = run([SSHCERT, "exec", "--", "sh", "-c", show], outer)
        self.assertEqual((r.returncode, r.stdout), (7, f"sock={d.agent_socket} token=unset\n"), r.stderr)
        r = run([SSHCERT, "exec", "--profile", "local", "--", "sh", "-c", show], outer)
        self.assertEqual((r.returncode, r.stdout), (7, f"sock={d.socket_dir}/agent-local.sock token=unset\n"), r.stderr)
        # The shell that ran sshcert keeps its own.
        r = run(["sh", "-c", f'{SSHCERT} exec -- printenv SSH_AUTH_SOCK; echo "after=$SSH_AUTH_SOCK"'], outer)
        self.assertEqual(r.stdout, f"{d.agent_socket}\nafter=/elsewhere/agent.sock\n", r.stderr)

        # A tool that takes the agent from SSH_AUTH_SOCK alone (-F /dev/null: no IdentityAgent), once ensured.
        self.assertEqual(d.sshcert("ensure", "--host", "127.0.0.1", "--user", LOGIN_USER, "--quiet").returncode, 0)
        r = run([SSHCERT, "exec", "--profile", "local", "--", "ssh", *self.sshd.ssh_options(), "127.0.0.1", "echo via-exec"],
                outer)
        self.assertEqual((r.returncode, r.stdout), (0, "via-exec\n"), r.stderr)

        r = run([SSHCERT, "exec", "--profile", "nosuch", "--", "true"], outer)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no profile named 'nosuch' in", r.stderr)
        self.assertIn("(profiles: local)", r.stderr)
        r = run([SSHCERT, "exec", "--", "no-such-program-here"], outer)
        self.assertEqual((r.returncode, r.stderr), (127, "sshcert: cannot run no-such-program-here: No such file or directory\n"))

    def env(self, d):
        """The tools' environment: the daemon's (its private HOME and runtime dir, no SSH_AUTH_SOCK), no system git config."""
        return dict(d.env, GIT_CONFIG_NOSYSTEM="1")

    def local_file(self, word, path=None):
        path = path or os.path.join(self.work.path, word + "-source")
        with open(path, "w") as f:
            f.write(f"copied by {word} through sshcert's ssh_config\n")
        return path

    def assert_same_file(self, expected, actual):
        with open(expected) as e, open(actual) as a:
            self.assertEqual(a.read(), e.read())


class Install(unittest.TestCase):
    """`sshcert ssh-config --install` on a user's existing files; no daemon, no systemd."""

    PROFILES = (profile_toml("prod", ["*.prod.example.com", "10.20.*", "!bastion.prod.example.com"], "prod") +
                profile_toml("dev", ["*.dev.example.com"], "dev"))

    def setUp(self):
        self.work = Workdir(self)
        self.d = Daemon(self.work.path, "http://127.0.0.1:9", self.PROFILES, self.work.cleanup, start=False)
        # A systemctl that fails: installing must not need one.
        bin_dir = os.path.join(self.work.path, "bin")
        os.makedirs(bin_dir)
        with open(os.path.join(bin_dir, "systemctl"), "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(os.path.join(bin_dir, "systemctl"), stat.S_IRWXU)
        self.d.env["PATH"] = bin_dir + ":" + self.d.env["PATH"]
        self.ssh_dir = os.path.join(self.d.home, ".ssh")
        self.ssh_config = os.path.join(self.ssh_dir, "config")
        self.ours = os.path.join(self.d.config_dir, "ssh_config")
        self.include = f"Include {self.ours}"

    def install(self):
        r = self.d.sshcert("ssh-config", "--install")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def snapshot(self, *paths):
        out = []
        for p in paths:
            with open(p) as f:
                out.append((f.read(), os.stat(p).st_mode, os.stat(p).st_mtime_ns))
        return out

    def test_twice_changes_nothing_and_the_users_config_stays_below_the_include(self):
        mine = "# my own\nHost *.prod.example.com\n    User ubuntu\n\nHost *\n    ServerAliveInterval 30\n"
        os.makedirs(self.ssh_dir, mode=0o700)
        with open(self.ssh_config, "w") as f:
            f.write(mine)
        os.chmod(self.ssh_config, 0o640)
        r = self.install()
        self.assertIn(f"Wrote {self.ours} for profiles prod, dev.\n", r.stdout)
        self.assertIn(f"Added `{self.include}` at the top of {self.ssh_config}.\n", r.stdout)
        first = self.snapshot(self.ssh_config, self.ours)
        text = first[0][0]
        self.assertTrue(text.endswith("\n\n" + mine), text)
        self.assertEqual([line for line in text.splitlines() if not line.startswith("#")][0], self.include)
        self.assertEqual(text.count("Include"), 1)
        self.assertEqual(stat.S_IMODE(first[0][1]), 0o640, "the user's mode is kept")
        self.assertEqual(stat.S_IMODE(first[1][1]), 0o600)

        r = self.install()
        self.assertIn(f"{self.ours} is up to date (profiles prod, dev).\n", r.stdout)
        self.assertIn(f"{self.ssh_config} includes it already.\n", r.stdout)
        self.assertEqual(self.snapshot(self.ssh_config, self.ours), first)
        self.assertEqual(sorted(os.listdir(self.ssh_dir)), ["config"], "no temporary file left behind")
        self.assertEqual(sorted(os.listdir(self.d.config_dir)), ["config.toml", "ssh_config"])

        # ssh reads it as meant: our IdentityAgent first, the user's User line still applies.
        shown = run(["ssh", "-G", "-F", self.ssh_config, "web-1.prod.example.com"], self.d.env).stdout
        self.assertIn(f"identityagent {self.d.socket_dir}/agent-prod.sock\n", shown)
        self.assertIn("user ubuntu\n", shown)

    def test_missing_ssh_directory_and_config_are_created_private(self):
        r = self.install()
        self.assertIn(f"Wrote {self.ssh_config} with `{self.include}`.\n", r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(self.ssh_dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.ssh_config).st_mode), 0o600)
        with open(self.ssh_config) as f:
            self.assertEqual([line for line in f.read().splitlines() if not line.startswith("#")], [self.include])

    def test_a_symlinked_config_stays_a_symlink_and_its_target_gets_the_include(self):
        dotfiles = os.path.join(self.work.path, "dotfiles")
        os.makedirs(dotfiles)
        target = os.path.join(dotfiles, "ssh_config")
        with open(target, "w") as f:
            f.write("Host *\n    ServerAliveInterval 30\n")
        os.makedirs(self.ssh_dir, mode=0o700)
        os.symlink(target, self.ssh_config)
        self.install()
        self.assertEqual(os.readlink(self.ssh_config), target)
        with open(target) as f:
            self.assertIn(self.include + "\n", f.read())

    def test_an_include_moved_below_a_host_line_is_left_there_with_a_warning(self):
        os.makedirs(self.ssh_dir, mode=0o700)
        mine = f"Host *\n    ServerAliveInterval 30\n{self.include}\n"
        with open(self.ssh_config, "w") as f:
            f.write(mine)
        r = self.install()
        self.assertIn(f"includes {self.ours} only after a Host or Match line", r.stderr)
        self.assertIn(f"move `{self.include}` to the top", r.stderr)
        with open(self.ssh_config) as f:
            self.assertEqual(f.read(), mine)

    def test_ssh_runs_ensure_once_for_the_first_matching_profile_and_never_for_other_hosts(self):
        self.install()
        prod, dev = f"{self.d.socket_dir}/agent-prod.sock", f"{self.d.socket_dir}/agent-dev.sock"
        not_running = "sshcert: sshcertd is not running"  # what ensure says here, with no daemon
        for host, agent in (("web-1.prod.example.com", prod), ("10.20.0.5", prod), ("db.dev.example.com", dev),
                            ("bastion.prod.example.com", None), ("example.org", None)):
            r = run(["ssh", "-G", "-F", self.ssh_config, host], self.d.env)
            self.assertEqual(r.returncode, 0, r.stderr)
            agents = [line for line in r.stdout.splitlines() if line.startswith("identityagent ")]
            self.assertEqual(agents, [f"identityagent {agent}"] if agent else [], host)
            self.assertEqual(r.stderr.count(not_running), 1 if agent else 0, (host, r.stderr))


if __name__ == "__main__":
    unittest.main()
