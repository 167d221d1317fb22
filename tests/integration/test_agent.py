# SPDX-License-Identifier: Apache-2.0
"""The agent as OpenSSH's own tools see it: every key type through ssh-add and
a real login, expiry, one socket per profile, and the upstream agent."""

import json
import os
import re
import subprocess
import time
import unittest

from harness import LOGIN_USER, Sshd, VaultSshTestCase, profile_toml, stop_process, wait_for

KEY_TYPES = {
    "ed25519": ("ED25519-CERT", "ssh-ed25519-cert-v01@openssh.com"),
    "ecdsa-p256": ("ECDSA-CERT", "ecdsa-sha2-nistp256-cert-v01@openssh.com"),
    "ecdsa-p384": ("ECDSA-CERT", "ecdsa-sha2-nistp384-cert-v01@openssh.com"),
    "rsa-3072": ("RSA-CERT", "ssh-rsa-cert-v01@openssh.com"),
    "rsa-4096": ("RSA-CERT", "ssh-rsa-cert-v01@openssh.com"),
}


def ssh_add(d, *args, socket=None):
    env = d.agent_env()
    if socket:
        env["SSH_AUTH_SOCK"] = socket
    return subprocess.run(["ssh-add", *args], env=env, capture_output=True, text=True, timeout=30)


class Agent(VaultSshTestCase):
    def status(self, d):
        return json.loads(d.sshcert("status", "--json").stdout)

    def test_every_key_type_lists_tests_and_logs_in(self):
        profiles = "".join(profile_toml(f"p-{t}", [f"{t}.test"], "dev", mount=self.mount, key_type=t) for t in KEY_TYPES)
        d = self.daemon(profiles)
        self.assertEqual(self.login(d).returncode, 0)
        for key_type, (listed_as, cert_type) in KEY_TYPES.items():
            with self.subTest(key_type=key_type):
                # The profile is picked by the name typed; HostName sends ssh to the local sshd.
                r = d.sshcert("ssh", *self.sshd.ssh_options(), "-o", "HostName=127.0.0.1",
                              f"{LOGIN_USER}@{key_type}.test", "echo logged-in")
                self.assertEqual((r.returncode, r.stdout.strip()), (0, "logged-in"), r.stderr)
                socket = d.socket_dir + f"/agent-p-{key_type}.sock"
                listed = ssh_add(d, "-l", socket=socket)
                self.assertEqual(listed.returncode, 0, listed.stderr)
                self.assertIn(f"({listed_as})", listed.stdout)
                cert_line = ssh_add(d, "-L", socket=socket).stdout.strip()
                self.assertTrue(cert_line.startswith(cert_type + " "), cert_line)
                cert_file = os.path.join(self.work.path, f"{key_type}-cert.pub")
                with open(cert_file, "w") as f:
                    f.write(cert_line + "\n")
                tested = ssh_add(d, "-T", cert_file, socket=socket)  # ssh-add signs through the agent and verifies
                self.assertEqual(tested.returncode, 0, tested.stderr)
        self.assertEqual(len(ssh_add(d, "-L").stdout.strip().splitlines()), len(KEY_TYPES))

    def test_an_expired_certificate_is_never_listed_and_its_key_is_dropped(self):
        self.vault.write_role(self.mount, "short", allowed_users=LOGIN_USER, ttl="4s", max_ttl="4s")
        # Background renewal off, or the certificate in use would be replaced before it expires.
        d = self.daemon(profile_toml("short", ["127.0.0.1"], "short", mount=self.mount) + '\n[agent]\nrenew_window = "0s"\n')
        self.assertEqual(self.login(d).returncode, 0)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        valid_before = self.status(d)["certificates"][0]["valid_before"]
        self.assertEqual(ssh_add(d, "-l").returncode, 0)
        time.sleep(max(0.0, valid_before - time.time()) + 0.5)
        listed = ssh_add(d, "-l")
        self.assertEqual(listed.returncode, 1, listed.stdout)
        self.assertIn("no identities", listed.stdout)
        wait_for(lambda: "expired certificate(s) dropped" in d.log(), "the expiry sweep", timeout=5)
        self.assertEqual(self.status(d)["certificates"], [])

    def test_each_profile_socket_offers_only_its_certificate(self):
        # Four certificates in one agent and an sshd that allows three attempts: plain ssh through the
        # main socket runs out of tries ("Too many authentication failures"); sshcert ssh does not.
        sshd = Sshd(self.work.path, [self.ca_key], self.work.cleanup, extra_config="MaxAuthTries 3")
        names = ["a", "b", "c", "z"]
        profiles = "".join(profile_toml(n, [f"{n}.test"], "dev", mount=self.mount,
                                        principals=[LOGIN_USER if n == "z" else "deploy"]) for n in names)
        d = self.daemon(profiles)
        self.assertEqual(self.login(d).returncode, 0)
        for n in ["z", "a", "b", "c"]:  # the agent lists the most recently ensured first: z's comes last
            d.sshcert("ssh", *sshd.ssh_options(), "-o", "HostName=127.0.0.1", f"{n}.test", "true")
        self.assertEqual(len(ssh_add(d, "-L").stdout.strip().splitlines()), 4)
        for n in names:
            self.assertEqual(len(ssh_add(d, "-L", socket=f"{d.socket_dir}/agent-{n}.sock").stdout.strip().splitlines()), 1)

        plain = subprocess.run(["ssh", *sshd.ssh_options(), "-o", f"IdentityAgent={d.agent_socket}",
                                f"{LOGIN_USER}@127.0.0.1", "true"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(plain.returncode, 0)
        self.assertIn("Too many authentication failures", plain.stderr)
        via_sshcert = d.sshcert("ssh", *sshd.ssh_options(), "-o", "HostName=127.0.0.1", f"{LOGIN_USER}@z.test",
                                "echo ok")
        self.assertEqual((via_sshcert.returncode, via_sshcert.stdout.strip()), (0, "ok"), via_sshcert.stderr)

    def test_status_counts_connections_and_signatures_per_identity(self):
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        for _ in range(3):
            self.assertEqual(self.ssh(d, "true").returncode, 0)
        cert = self.status(d)["certificates"][0]
        self.assertEqual(cert["connections"], 3)
        self.assertEqual(cert["signatures"], 3)
        self.assertTrue(cert["agent_socket"].endswith("/agent-local.sock"))
        self.assertRegex(d.sshcert("status").stdout, r"3 signature\(s\) on 3 connection\(s\)")

    def test_upstream_agent_keys_are_listed_after_ours_and_usable(self):
        upstream_socket = os.path.join(self.work.path, "upstream.sock")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", upstream_socket], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        self.addCleanup(stop_process, agent)
        wait_for(lambda: os.path.exists(upstream_socket), "ssh-agent", proc=agent)
        personal = os.path.join(self.work.path, "id_personal")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "personal", "-f", personal], check=True)
        subprocess.run(["ssh-add", personal], env={"SSH_AUTH_SOCK": upstream_socket}, check=True, capture_output=True)

        profiles = f'[agent]\nupstream_agent = "{upstream_socket}"\n\n' + profile_toml("local", ["127.0.0.1"], "dev", mount=self.mount)
        d = self.daemon(profiles)
        self.assertEqual(self.login(d).returncode, 0)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        listed = ssh_add(d, "-L").stdout.strip().splitlines()
        self.assertEqual(len(listed), 2)
        self.assertTrue(listed[0].startswith("ssh-ed25519-cert-v01@openssh.com"))
        self.assertTrue(listed[1].endswith(" personal"))
        tested = ssh_add(d, "-T", personal + ".pub")
        self.assertEqual(tested.returncode, 0, tested.stderr)
        # The profile socket stays strict: no personal keys there.
        self.assertEqual(len(ssh_add(d, "-L", socket=f"{d.socket_dir}/agent-local.sock").stdout.strip().splitlines()), 1)
        # A stopped upstream agent leaves our own identities working.
        stop_process(agent)
        self.assertEqual(len(ssh_add(d, "-L").stdout.strip().splitlines()), 1)

    def test_agent_answers_query_like_openssh_10(self):
        d = self.daemon()
        import socket as pysocket
        import struct
        with pysocket.socket(pysocket.AF_UNIX) as s:
            s.connect(d.agent_socket)
            body = b"\x1b" + struct.pack(">I", 5) + b"query"
            s.sendall(struct.pack(">I", len(body)) + body)
            reply = s.recv(4096)
        self.assertEqual(reply[4], 29)  # SSH_AGENT_EXTENSION_RESPONSE
        self.assertIn(b"session-bind@openssh.com", reply)

    def test_real_ssh_binds_its_session_and_the_daemon_verifies_it(self):
        d = self.daemon()
        self.assertEqual(self.login(d).returncode, 0)
        self.assertEqual(self.ssh(d, "true").returncode, 0)
        host_fp = subprocess.run(["ssh-keygen", "-lf", os.path.join(self.sshd.dir, "host_ed25519.pub")],
                                 capture_output=True, text=True, check=True).stdout.split()[1]
        self.assertRegex(d.log(), rf"bound to host key {re.escape(host_fp)} \(authentication\)")
        self.assertNotIn("session-bind refused", d.log())


if __name__ == "__main__":
    unittest.main()
