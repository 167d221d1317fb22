# SPDX-License-Identifier: Apache-2.0
"""Two Vaults at once: profile "alpha" signs at the default [vault], profile
"beta" at [vault.corp]; each Vault has its own login, CA and sshd. Logins,
logouts and reloads of one leave the other alone, and the client's own
VAULT_ADDR and -c FILE either reach the daemon or are refused."""

import json
import os
import unittest

from harness import (LOGIN_USER, PASSWORD, Daemon, LoginSetup, Workdir, class_workdir, free_port, profile_toml,
                     standin_only, wait_for)


@standin_only  # two Vaults with their own CAs: the stand-in twice
class MultiVault(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = class_workdir(cls)
        for name in ("a", "b"):
            os.makedirs(os.path.join(tmp, name))
        cls.a = LoginSetup(os.path.join(tmp, "a"), cls.addClassCleanup)
        cls.b = LoginSetup(os.path.join(tmp, "b"), cls.addClassCleanup)
        # Another person at the other Vault: the two logins must not be mixed up.
        cls.b.vault.add_user(cls.b.userpass, "bob", PASSWORD, [cls.b.policy])

    def setUp(self):
        self.work = Workdir(self)

    def config(self, with_corp=True):
        a, b = self.a, self.b
        text = (f'[vault]\naddress = "{a.vault.addr}"\n[auth]\nmethod = "userpass"\nmount = "{a.userpass}"\n'
                f'username = "alice"\n\n')
        text += profile_toml("alpha", ["127.0.0.1"], "dev", mount=a.mount)
        if with_corp:
            text += (f'\n[vault.corp]\naddress = "{b.vault.addr}"\n[auth.corp]\nmethod = "userpass"\n'
                     f'mount = "{b.userpass}"\nusername = "bob"\n\n')
            text += profile_toml("beta", ["localhost"], "dev", mount=b.mount, vault="corp")
        return text

    def daemon(self):
        return Daemon(self.work.path, self.a.vault.addr, self.config(), self.work.cleanup)

    def login(self, d, *args, env=None):
        return d.sshcert("login", "--password-stdin", *args, input=PASSWORD + "\n", env=env)

    def ssh(self, d, setup, host, word):
        return d.sshcert("ssh", *setup.sshd.ssh_options(), "-4", f"{LOGIN_USER}@{host}", f"echo {word}")

    def status(self, d):
        r = d.sshcert("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def logged_in_to_both(self):
        d = self.daemon()
        r = self.login(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"Logged in to {self.a.vault.addr}", r.stdout)
        r = self.login(d, "--vault", "corp")  # [auth.corp]'s mount and user name
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"Logged in to {self.b.vault.addr}", r.stdout)
        self.assertIn("bob", r.stdout)
        return d

    def vaults(self, d):
        return {v["name"]: v for v in self.status(d)["vaults"]}

    def revocations(self, vault):
        return [q for q in vault.requests() if q["path"] == "/v1/auth/token/revoke-self"]

    def test_each_profile_signs_at_its_own_vault_with_its_own_login(self):
        d = self.logged_in_to_both()
        r = self.ssh(d, self.a, "127.0.0.1", "alpha-ok")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "alpha-ok"), r.stderr)
        self.b.vault.clear_requests()
        r = self.ssh(d, self.b, "localhost", "beta-ok")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "beta-ok"), r.stderr)
        self.assertTrue([q for q in self.b.vault.requests() if q["path"] == f"/v1/{self.b.mount}/sign/dev"],
                        "beta's certificate was not signed at the corp Vault")

        vaults = self.vaults(d)
        self.assertEqual(set(vaults), {"default", "corp"})
        self.assertEqual(vaults["default"]["vault_addr"], self.a.vault.addr)
        self.assertEqual(vaults["corp"]["vault_addr"], self.b.vault.addr)
        self.assertIn("alice", vaults["default"]["token"]["display_name"])
        self.assertIn("bob", vaults["corp"]["token"]["display_name"])
        s = self.status(d)
        self.assertIn("alice", s["token"]["display_name"])  # the top level stays the default Vault's
        self.assertEqual(sorted(c["profile"] for c in s["certificates"]), ["alpha", "beta"])
        text = d.sshcert("status").stdout
        self.assertRegex(text, rf"corp: {self.b.vault.addr}, logged in as \S*bob")

        # Logging out of one Vault keeps the other's login and certificates.
        r = d.sshcert("logout", "--vault", "corp")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Logged out of Vault 'corp'; the Vault token was revoked", r.stdout)
        self.assertEqual(len(self.revocations(self.b.vault)), 1)
        vaults = self.vaults(d)
        self.assertFalse(vaults["corp"]["logged_in"])
        self.assertTrue(vaults["default"]["logged_in"])
        self.assertEqual([c["profile"] for c in self.status(d)["certificates"]], ["alpha"])
        r = self.ssh(d, self.a, "127.0.0.1", "still-ok")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "still-ok"), r.stderr)
        self.assertIn("corp: " + self.b.vault.addr + ", not logged in (run: sshcert login --vault corp)",
                      d.sshcert("status").stdout)
        r = d.sshcert("ensure", "--host", "localhost", "--user", LOGIN_USER)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not logged in to Vault 'corp'; run: sshcert login --vault corp", r.stderr)

        # Without --vault, logout means every Vault.
        r = d.sshcert("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Vault 'default': the Vault token was revoked.", r.stdout)
        self.assertIn("Vault 'corp': it was not logged in.", r.stdout)
        self.assertFalse(any(v["logged_in"] for v in self.vaults(d).values()))

    def test_vault_addr_routes_to_the_vault_it_names_and_is_refused_when_it_names_none(self):
        d = self.daemon()
        # VAULT_ADDR naming the corp Vault: the login goes there, with [auth.corp]'s defaults.
        r = self.login(d, env={"VAULT_ADDR": self.b.vault.addr})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"Logged in to {self.b.vault.addr}", r.stdout)
        vaults = self.vaults(d)
        self.assertTrue(vaults["corp"]["logged_in"])
        self.assertFalse(vaults["default"]["logged_in"])

        elsewhere = f"http://127.0.0.1:{free_port()}"
        r = self.login(d, env={"VAULT_ADDR": elsewhere})
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"VAULT_ADDR is {elsewhere} but sshcertd talks to {self.a.vault.addr} (the default), "
                      f"{self.b.vault.addr} (Vault 'corp') (from {d.config_path}); unset VAULT_ADDR, "
                      "or add a [vault.<name>] for it", r.stderr)
        r = d.sshcert("logout", env={"VAULT_ADDR": elsewhere})
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"VAULT_ADDR is {elsewhere} but sshcertd talks to", r.stderr)
        self.assertTrue(self.vaults(d)["corp"]["logged_in"])  # the refused logout changed nothing

        # --vault beats VAULT_ADDR, as a flag beats the environment.
        r = d.sshcert("logout", "--vault", "corp", env={"VAULT_ADDR": self.a.vault.addr})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(self.vaults(d)["corp"]["logged_in"])
        r = self.login(d, "--vault", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no [vault.nope] (Vaults: default, corp)", r.stderr)

    def test_config_flag_reaches_the_daemon_or_is_refused(self):
        d = self.daemon()
        other = os.path.join(self.work.path, "other.toml")
        with open(other, "w") as f:
            f.write(f'[vault.corp]\naddress = "{self.b.vault.addr}"\n' +
                    profile_toml("elsewhere", ["*"], "dev", mount=self.b.mount, vault="corp"))
        r = d.sshcert("-c", other, "status")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"-c {other} is not the config sshcertd runs with ({d.config_path}), and this command goes "
                      f"through sshcertd; drop -c, or restart sshcertd with --config {other}", r.stderr)
        r = d.sshcert("-c", other, "login", "--method", "userpass", "--username", "alice", "--password-stdin",
                      input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not the config sshcertd runs with", r.stderr)
        # The daemon's own file is fine, however it is spelled.
        r = d.sshcert("-c", os.path.relpath(d.config_path), "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        # Where the client reads the file itself, -c is used: FILE's profile, at FILE's Vault.
        r = d.sshcert("-c", other, "ca", "--profile", "elsewhere")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[:2], self.b.ca_key.split()[:2])

    def test_reload_keeps_an_unchanged_vault_and_revokes_a_removed_one(self):
        d = self.logged_in_to_both()
        for host in ("127.0.0.1", "localhost"):
            r = d.sshcert("ensure", "--host", host, "--user", LOGIN_USER)
            self.assertEqual(r.returncode, 0, r.stderr)
        # Another identity at one Vault drops that Vault's certificates only.
        r = self.login(d, "--vault", "corp", "--username", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([c["profile"] for c in self.status(d)["certificates"]], ["alpha"])
        r = d.sshcert("ensure", "--host", "localhost", "--user", LOGIN_USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(d.config_path, "w") as f:
            f.write(self.config(with_corp=False))
        self.b.vault.clear_requests()
        reply = d.control("reload")  # as SIGHUP or `sshcert reload` asks
        self.assertTrue(reply["ok"], reply)
        wait_for(lambda: self.revocations(self.b.vault), "the removed Vault's login to be revoked")
        s = self.status(d)
        self.assertEqual([v["name"] for v in s["vaults"]], ["default"])
        self.assertTrue(s["logged_in"])  # the unchanged Vault keeps its login
        self.assertEqual([c["profile"] for c in s["certificates"]], ["alpha"])
        r = d.sshcert("ensure", "--host", "127.0.0.1", "--user", LOGIN_USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("held already", r.stdout)  # and its certificate
        r = d.sshcert("login", "--vault", "corp", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no [vault.corp]", r.stderr)


if __name__ == "__main__":
    unittest.main()
