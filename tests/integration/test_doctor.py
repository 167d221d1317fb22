# SPDX-License-Identifier: Apache-2.0
"""sshcert doctor, profiles, reload and help against the real daemon, the Vault
stand-in and ssh's own `ssh -G`: each broken link is named with its fix."""

import json
import os
import subprocess
import unittest

from harness import (LOGIN_USER, Daemon, VaultSshTestCase, free_port, profile_toml, run_in_terminal, standin_only,
                     stop_process, wait_for)


class DoctorTest(VaultSshTestCase):

    def ssh_wrapper(self, d, known_hosts_lines=()):
        """SSHCERT_SSH for `d`: ssh reading a config of the test's own (ssh takes ~ from the password
        database, not $HOME), which points plain ssh at the profile's agent and names the known_hosts files."""
        known_hosts = os.path.join(self.work.path, "known_hosts")
        with open(known_hosts, "w") as f:
            f.writelines(line + "\n" for line in known_hosts_lines)
        config = os.path.join(self.work.path, "ssh_config")
        with open(config, "w") as f:
            f.write(f"Host 127.0.0.1\n  IdentityAgent {d.socket_dir}/agent-local.sock\n"
                    f"Host *\n  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
                    f"  IdentityFile {self.work.path}/no-such-key\n")
        wrapper = os.path.join(self.work.path, "ssh")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec ssh -F "{config}" "$@"\n')
        os.chmod(wrapper, 0o755)
        return {"SSHCERT_SSH": wrapper}

    def doctor(self, d, *args, env=None):
        return d.sshcert("doctor", *args, env=env)

    def lines(self, r):
        """(status, check) of each check line."""
        return [tuple(line.split(":", 1)[0].split()) for line in r.stdout.splitlines() if line[:4] in ("ok  ", "warn", "FAIL")]

    def test_healthy_path_is_all_ok(self):
        d = self.logged_in_daemon()
        env = self.ssh_wrapper(d, [f"@cert-authority 127.0.0.1,localhost {self.ca_key}"])
        r = self.doctor(d, f"{LOGIN_USER}@127.0.0.1", env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        checks = ["config", "socket-dir", "daemon", "ssh", "vault", "clock", "login", "profile", "certificate", "extensions",
                  "agent", "identities", "plain-ssh", "host-ca"]
        self.assertEqual(self.lines(r), [("ok", c) for c in checks], r.stdout)
        self.assertIn("'127.0.0.1' uses profile 'local' (its hosts pattern '127.0.0.1' matches)", r.stdout)
        self.assertIn(f"role 'dev' signs for {LOGIN_USER} (extensions: permit-pty)", r.stdout)
        self.assertIn("ssh may offer 1 key(s): 1 from the agent, 0 IdentityFile(s) present", r.stdout)
        self.assertNotIn("broken", r.stdout)
        # The certificate doctor asked for is the one plain ssh now uses.
        self.assertEqual(len(self.status(d)["certificates"]), 1)

    def test_without_a_host_checks_daemon_vault_and_login(self):
        d = self.logged_in_daemon()
        r = self.doctor(d)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([c for _, c in self.lines(r)], ["config", "socket-dir", "daemon", "vault", "clock", "login"])
        self.assertRegex(r.stdout, r"ok    login: the default Vault as \S*alice, token expires in ")

    def test_daemon_not_running_is_named_with_how_to_start_it(self):
        d = self.daemon(start=False)
        r = self.doctor(d, "127.0.0.1")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines(r), [("ok", "config"), ("FAIL", "daemon")], r.stdout)
        self.assertIn("sshcertd is not running", r.stdout)
        self.assertRegex(r.stdout, r"fix: start it: (sshcertd &|systemctl --user start)")
        self.assertIn("The first broken link: daemon (its fix above).", r.stdout)

    def test_not_logged_in(self):
        d = self.daemon()
        r = self.doctor(d, "127.0.0.1", env=self.ssh_wrapper(d))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines(r)[-1], ("FAIL", "login"), r.stdout)
        self.assertIn("not logged in to the default Vault\n      fix: run: sshcert login\n", r.stdout)

    def test_a_host_no_profile_matches(self):
        d = self.logged_in_daemon()
        r = self.doctor(d, "db.example.org", env=self.ssh_wrapper(d))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines(r)[-1], ("FAIL", "profile"), r.stdout)
        self.assertIn("no profile's hosts match 'db.example.org' ('local': no pattern matches)", r.stdout)
        self.assertIn("fix: add a [[profile]] whose hosts match 'db.example.org' to " + d.config_path, r.stdout)

    def test_a_role_denying_the_principal_shows_vaults_reason(self):
        d = self.logged_in_daemon()
        r = self.doctor(d, "--user", "mallory", "127.0.0.1", env=self.ssh_wrapper(d))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines(r)[-1], ("FAIL", "certificate"), r.stdout)
        self.assertIn("role 'dev' for principal(s) mallory:", r.stdout)
        if self.vault.is_standin:
            self.assertIn("mallory is not a valid value for valid_principals", r.stdout)
        self.assertIn("(its allowed_users)", r.stdout)

    def test_socket_directory_open_to_others(self):
        d = self.logged_in_daemon()
        os.chmod(d.socket_dir, 0o755)
        self.addCleanup(os.chmod, d.socket_dir, 0o700)
        r = self.doctor(d)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines(r), [("ok", "config"), ("FAIL", "socket-dir")], r.stdout)
        self.assertIn(f"fix: run: chmod 700 {d.socket_dir}\n", r.stdout)

    def test_json_is_an_array_of_checks(self):
        d = self.daemon()
        r = self.doctor(d, "--json")
        self.assertEqual(r.returncode, 1)
        checks = json.loads(r.stdout)
        self.assertEqual([c["check"] for c in checks], ["config", "socket-dir", "daemon", "vault", "clock", "login"])
        self.assertTrue(all(set(c) == {"check", "status", "detail", "fix"} for c in checks))
        self.assertEqual((checks[-1]["status"], checks[-1]["fix"]), ("fail", "run: sshcert login"))
        self.assertEqual(checks[0]["status"], "ok")

    @standin_only
    def test_sealed_vault(self):
        d = self.logged_in_daemon()
        self.vault.set_faults(sealed=True)
        self.addCleanup(self.vault.clear_faults)
        r = self.doctor(d)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines(r)[-1], ("FAIL", "vault"), r.stdout)
        self.assertIn(f"the default Vault at {self.vault.addr} is sealed", r.stdout)
        self.assertIn("fix: the Vault operator unseals it: vault operator unseal", r.stdout)

    def test_unreachable_vault(self):
        dead = f"http://127.0.0.1:{free_port()}"
        d = Daemon(self.work.path, dead, self.fixture.config_toml(), self.work.cleanup)
        r = self.doctor(d)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines(r)[-1], ("FAIL", "vault"), r.stdout)
        self.assertIn("the default Vault:", r.stdout)
        self.assertIn("make sure Vault is up and reachable", r.stdout)

    def test_vault_health_op(self):
        d = self.daemon()
        reply = d.control("vault-health")
        self.assertTrue(reply["ok"], reply)
        h = reply["result"]
        self.assertEqual((h["vault"], h["vault_addr"], h["initialized"], h["sealed"]), ("default", self.vault.addr, True, False))
        self.assertIsInstance(h["standby"], bool)
        self.assertLessEqual(abs(h["clock_skew_seconds"]), 2)
        self.assertIsInstance(h["server_time_utc"], int)
        reply = d.control("vault-health", vault="nope")
        self.assertEqual(reply["error"]["code"], "not_found")
        self.assertIn("sshcertd knows no Vault named 'nope'", reply["error"]["message"])

    def test_several_vaults_the_hosts_profile_s_or_every_one(self):
        dead = f"http://127.0.0.1:{free_port()}"
        profiles = (profile_toml("local", ["127.0.0.1"], "dev", mount=self.mount) +
                    profile_toml("corp", ["*.corp"], "dev", mount=self.mount, vault="corp") +
                    f'\n[vault.corp]\naddress = "{dead}"\n')
        d = self.logged_in_daemon(profiles)
        r = self.doctor(d)  # no host: every Vault, and the one out of reach is named
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual([c for _, c in self.lines(r)], ["config", "socket-dir", "daemon", "vault", "clock", "vault"], r.stdout)
        self.assertIn("FAIL  vault: Vault 'corp':", r.stdout)
        # A host of the default Vault's profile does not depend on the other Vault.
        r = self.doctor(d, "127.0.0.1", "--user", LOGIN_USER, env=self.ssh_wrapper(d, [f"@cert-authority * {self.ca_key}"]))
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(sum(1 for _, c in self.lines(r) if c == "vault"), 1, r.stdout)
        r = self.doctor(d, "db.corp", env=self.ssh_wrapper(d))
        self.assertEqual(self.lines(r)[-1], ("FAIL", "vault"), r.stdout)
        self.assertIn("Vault 'corp'", r.stdout)

    @standin_only
    def test_clock_skew_is_a_warning(self):
        d = self.logged_in_daemon()
        self.vault.set_time_offset(300)
        self.addCleanup(self.vault.set_time_offset, 0)
        r = self.doctor(d)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(("warn", "clock"), self.lines(r))
        self.assertRegex(r.stdout, r"clock is 5m\S* ahead of this machine's")

    def test_missing_extension_and_host_ca_are_warnings(self):
        d = self.logged_in_daemon()
        env = self.ssh_wrapper(d)
        r = self.doctor(d, "127.0.0.1", "--user", LOGIN_USER, env=env)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(("warn", "host-ca"), self.lines(r))
        self.assertIn("sshcert ca --host-mount MOUNT --known-hosts '127.0.0.1' >> ~/.ssh/known_hosts", r.stdout)
        # ssh asked to forward the agent: the role gives no permit-agent-forwarding.
        with open(env["SSHCERT_SSH"], "w") as f:
            f.write(f'#!/bin/sh\nexec ssh -F "{self.work.path}/ssh_config" -o ForwardAgent=yes "$@"\n')
        r = self.doctor(d, "127.0.0.1", env=env)
        self.assertIn("warn  extensions: ssh asks for what the certificate does not permit: permit-agent-forwarding", r.stdout)

    def test_no_pseudo_terminal_message_from_ssh_G(self):
        d = self.logged_in_daemon()
        env = dict(d.env, **self.ssh_wrapper(d, [f"@cert-authority * {self.ca_key}"]))
        # Everything any ssh run says on stderr is kept here too.
        said = os.path.join(self.work.path, "ssh-stderr")
        with open(env["SSHCERT_SSH"], "w") as f:
            f.write(f'#!/bin/bash\nexec ssh -F "{self.work.path}/ssh_config" "$@" 2> >(tee -a "{said}" >&2)\n')
        shown, rc = run_in_terminal([d.sshcert_path, "doctor", "127.0.0.1"], env)
        self.assertEqual(rc, 0, shown)
        r = self.doctor(d, "127.0.0.1", env=env)  # stdin not a terminal: ssh -G gets /dev/null and asks for no tty
        self.assertEqual(r.returncode, 0, r.stdout)
        shown_ssh, rc = run_in_terminal([d.sshcert_path, "ssh", *self.sshd.ssh_options(), "127.0.0.1", "echo", "hi"], env)
        self.assertEqual(rc, 0, shown_ssh)
        r = d.sshcert("ssh", *self.sshd.ssh_options(), "127.0.0.1", "echo", "hi", env=env)
        self.assertEqual((r.returncode, r.stdout), (0, "hi\n"), r.stderr)
        with open(said) as f:
            ssh_stderr = f.read()
        for text in (shown, shown_ssh, r.stderr, ssh_stderr):
            self.assertNotIn("Pseudo-terminal", text)


class CommandLineTest(VaultSshTestCase):

    def test_profiles_lists_them_and_tells_which_a_host_maps_to(self):
        profiles = (profile_toml("bastion", ["*.corp", "!db.corp"], "dev", mount=self.mount) +
                    profile_toml("db", ["db.*"], "deploy", mount=self.mount, principals=["dba"], key_type="ecdsa-p256"))
        d = self.daemon(profiles, start=False)
        r = d.sshcert("profiles", "--host", "db.corp")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split() for line in r.stdout.splitlines()]
        self.assertEqual(rows[0], ["NAME", "VAULT", "MOUNT", "ROLE", "PRINCIPALS", "KEY", "HOSTS"])
        self.assertEqual(rows[1], ["bastion", "default", self.mount, "dev", "(the", "remote", "user)", "ed25519", "*.corp", "!db.corp"])
        self.assertEqual(rows[2], ["db", "default", self.mount, "deploy", "dba", "ecdsa-p256", "db.*"])
        self.assertIn("db.corp: profile 'db', as its hosts pattern 'db.*' matches; before it, 'bastion': excluded by '!db.corp'.",
                      r.stdout)
        r = d.sshcert("profiles", "--host", "web.example.org")
        self.assertEqual(r.returncode, 1)
        self.assertIn("web.example.org: no profile;", r.stdout)

    def test_help_and_suggestions(self):
        d = self.daemon(start=False)
        r = d.sshcert("help", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("show the Vault login and the certificates held", r.stdout)
        self.assertIn("--json", r.stdout)
        r = d.sshcert("stauts")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines()[0], "sshcert: unknown command 'stauts'. Did you mean 'status'?")
        r = d.sshcert("-c", d.config_path, "doctr")
        self.assertIn("Did you mean 'doctor'?", r.stderr)
        r = d.sshcert("frobnicate")
        self.assertEqual(r.stderr.splitlines()[0], "sshcert: unknown command 'frobnicate'.")

    def test_reload_applies_profiles_and_the_upstream_agent(self):
        upstream = os.path.join(self.work.path, "upstream.sock")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", upstream], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop_process, agent)
        wait_for(lambda: os.path.exists(upstream), "ssh-agent", proc=agent)
        personal = os.path.join(self.work.path, "id_personal")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "personal", "-f", personal], check=True)
        subprocess.run(["ssh-add", personal], env={"SSH_AUTH_SOCK": upstream}, check=True, capture_output=True)

        d = self.logged_in_daemon()
        r = d.sshcert("ensure", "--host", "extra.example", "--user", LOGIN_USER)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no profile matches host 'extra.example'", r.stderr)
        with open(d.config_path) as f:
            original = f.read()
        with open(d.config_path, "w") as f:
            f.write(f'[agent]\nupstream_agent = "{upstream}"\n\n' + original +
                    profile_toml("extra", ["extra.example"], "dev", mount=self.mount))
        r = d.sshcert("reload")
        self.assertEqual((r.returncode, r.stdout), (0, f"sshcertd re-read {d.config_path}; upstream agent {upstream}.\n"), r.stderr)
        self.assertEqual(self.status(d)["upstream_agent"], upstream)
        listed = subprocess.run(["ssh-add", "-L"], env=d.agent_env(), capture_output=True, text=True).stdout
        self.assertIn(" personal", listed)
        r = d.sshcert("ensure", "--host", "extra.example", "--user", LOGIN_USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("extra: "), r.stdout)

        # Upstream off again; a file that does not parse is refused, and the daemon keeps what it had.
        with open(d.config_path, "w") as f:
            f.write(original)
        self.assertEqual(d.sshcert("reload").stdout, f"sshcertd re-read {d.config_path}; no upstream agent.\n")
        self.assertNotIn(" personal", subprocess.run(["ssh-add", "-L"], env=d.agent_env(), capture_output=True, text=True).stdout)
        with open(d.config_path, "w") as f:
            f.write("[[profile]\n")
        r = d.sshcert("reload")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(d.config_path, r.stderr)
        self.assertEqual(self.status(d)["config"], d.config_path)

    def test_reload_refuses_an_upstream_agent_that_is_sshcertds_own_socket(self):
        d = self.logged_in_daemon()
        with open(d.config_path) as f:
            original = f.read()
        with open(d.config_path, "w") as f:
            f.write(f'[agent]\nupstream_agent = "{d.agent_socket}"\n\n' + original)
        r = d.sshcert("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("upstream_agent points at sshcertd's own socket", r.stderr)
        self.assertEqual(self.status(d)["upstream_agent"], "")


if __name__ == "__main__":
    unittest.main()
