# SPDX-License-Identifier: Apache-2.0
"""sshcert cloud-init and sshcert ca end to end. The user data of every format
and style passes cloud-init's own schema check; applied for real (its files
written under a temporary root by cloud-init's own write_files code, /etc/
paths mapped into that root, an sshd started with exactly the resulting
configuration) it admits certificates from the Vault CA for mapped principals
and nothing else."""

import base64
import concurrent.futures
import email
import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import unittest

from harness import LOGIN_USER, Daemon, Sshd, Vault, Workdir, class_workdir, profile_toml

try:
    import yaml
    from cloudinit import helpers as ci_helpers, user_data as ci_user_data, util as ci_util
    from cloudinit.config import cc_write_files
    from cloudinit.config.schema import get_schema
    from cloudinit.handlers.cloud_config import CloudConfigPartHandler
except ImportError:
    yaml = None

CLOUD_INIT = shutil.which("cloud-init")
NEEDS_CLOUD_INIT = "cloud-init (and its python3-yaml) is not installed; tests/install-deps.sh installs it"
PASSWORD = "correct horse battery staple"
STYLES = ("dropin", "append")
FORMATS = ("yaml", "json", "mime", "base64")

# OpenSSH 9's default key exchange (sntrup761x25519) costs ~0.2 s of CPU per connection on
# a small machine; these tests make a dozen connections and are not about key exchange.
FAST_KEX = ["-o", "KexAlgorithms=curve25519-sha256"]

# cloud-init-per as cloud-init ships it, with its semaphores in $SEM_DIR instead of /var/lib/cloud.
FAKE_CLOUD_INIT_PER = """#!/bin/sh
freq=$1 name=$2
shift 2
sem="$SEM_DIR/$name.$freq"
[ "$freq" != always ] && [ -e "$sem" ] && exit 0
"$@"
ret=$?
echo "$ret" > "$sem"
exit $ret
"""


def cloud_config_of(fmt, text):
    """The #cloud-config document inside one output format."""
    if fmt == "yaml":
        return text
    if fmt == "json":
        return "#cloud-config\n" + text  # as user data, JSON (a subset of YAML) needs the line first
    if fmt == "base64":
        return base64.b64decode(text.strip(), validate=True).decode()
    message = email.message_from_string(text)
    assert message.get_content_type() == "multipart/mixed", message.get_content_type()
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/cloud-config"]
    return parts[0].get_payload(decode=True).decode()


def parse(text):
    return yaml.safe_load(text)


def map_etc(text, root):
    """Points the instance's /etc/... paths at the temporary root."""
    return re.sub(r"(?<![\w.-])/etc/", root + "/etc/", text)


class CloudInit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        v = cls.vault = Vault(cls.tmp, cls.addClassCleanup)
        cls.mount, cls.new_mount, cls.host_mount = f"ssh-{v.suffix}", f"ssh-new-{v.suffix}", f"ssh-host-{v.suffix}"
        cls.ca_key = v.enable_ssh(cls.mount).strip()
        cls.new_ca_key = v.enable_ssh(cls.new_mount, key_type="ec").strip()
        cls.host_ca_key = v.enable_ssh(cls.host_mount).strip()
        for mount in (cls.mount, cls.new_mount):
            v.write_role(mount, "dev", allowed_users=f"ops,intruder,{LOGIN_USER}", ttl="30m")
        v.write_role(cls.host_mount, "hosts", allow_user_certificates=False, allow_host_certificates=True,
                     allowed_domains="example.test", allow_subdomains=True)
        policy = f"ssh-user-{v.suffix}"
        v.write_policy(policy, f'path "{cls.mount}/sign/*" {{ capabilities = ["update"] }}\n'
                               f'path "{cls.new_mount}/sign/*" {{ capabilities = ["update"] }}')
        userpass = f"userpass-{v.suffix}"
        v.enable_userpass(userpass)
        v.add_user(userpass, "alice", PASSWORD, [policy])
        cls.auth = f'[auth]\nmethod = "userpass"\nmount = "{userpass}"\n\n'
        cls.profiles = {
            "ops": profile_toml("ops", ["127.0.0.1"], "dev", mount=cls.mount, principals=["ops"]),
            "intruder": profile_toml("intruder", ["127.0.0.1"], "dev", mount=cls.mount, principals=["intruder"]),
            "self": profile_toml("self", ["127.0.0.1"], "dev", mount=cls.mount),
            "ops-new": profile_toml("ops-new", ["127.0.0.1"], "dev", mount=cls.new_mount, principals=["ops"]),
            "self-new": profile_toml("self-new", ["127.0.0.1"], "dev", mount=cls.new_mount),
        }
        # Reading a CA key needs no Vault login; the first profile's mount is the default.
        cls.daemon = Daemon(os.path.join(cls.tmp, "all"), v.addr, cls.auth + "".join(cls.profiles.values()),
                            cls.addClassCleanup)
        cls.login_daemons = {}
        cls.krl, cls.revoked_key = cls.revoked_certificate()

    @classmethod
    def revoked_certificate(cls):
        """A key with a certificate from the Vault CA for principal ops, and a KRL that revokes it."""
        key = os.path.join(cls.tmp, "revoked")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        with open(key + ".pub") as f:
            signed = cls.vault.api("POST", f"{cls.mount}/sign/dev", {"public_key": f.read(), "valid_principals": "ops"})
        with open(key + "-cert.pub", "w") as f:
            f.write(signed["data"]["signed_key"])
        krl = os.path.join(cls.tmp, "revoked.krl")
        subprocess.run(["ssh-keygen", "-q", "-k", "-f", krl, key + ".pub"], check=True)
        return krl, key

    @classmethod
    def login_daemon(cls, profile):
        """A logged-in sshcertd with this one profile, so its agent holds only that profile's certificate
        (ssh offers every identity an agent holds)."""
        if profile not in cls.login_daemons:
            d = Daemon(os.path.join(cls.tmp, profile), cls.vault.addr, cls.auth + cls.profiles[profile], cls.addClassCleanup)
            r = d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
            assert r.returncode == 0, r.stderr
            cls.login_daemons[profile] = d
        return cls.login_daemons[profile]

    def setUp(self):
        self.work = Workdir(self)

    def sshcert(self, *args):
        return self.daemon.sshcert(*args)

    def user_data(self, *args):
        r = self.sshcert("cloud-init", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def write(self, name, text):
        path = os.path.join(self.work.path, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # --- what cloud-init itself says about the output ---

    @unittest.skipIf(CLOUD_INIT is None or yaml is None, NEEDS_CLOUD_INIT)
    def test_every_format_and_style_passes_cloud_init_schema(self):
        documents = {}
        for style in STYLES:
            for fmt in FORMATS:
                text = self.user_data("--style", style, "--format", fmt, "--principals", f"{LOGIN_USER}=ops,admin",
                                      "--principals", "deploy=ci", "--revoked-keys", self.krl)
                documents[style, fmt] = cloud_config_of(fmt, text)
        ca_files = [self.write("a.pub", self.ca_key + "\n"), self.write("b.pub", self.new_ca_key + " new CA\n")]
        documents["files", "yaml"] = cloud_config_of(
            "yaml", self.user_data("--ca-key-file", ca_files[0], "--ca-key-file", ca_files[1]))

        def schema(item):
            (text, label) = item
            path = self.write("-".join(label) + ".cfg", text)
            return label, subprocess.run([CLOUD_INIT, "schema", "--config-file", path], capture_output=True, text=True)

        # Each distinct document once (MIME and base64 carry the very bytes of the YAML): a run costs 0.5 s of CPU.
        distinct = {text: label for label, text in reversed(documents.items())}
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for label, r in pool.map(schema, distinct.items()):
                with self.subTest(label=label):
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertIn("Valid cloud-config", r.stdout)

        # cloud-init 22.4's schema ignores unknown top-level keys, so check them here.
        known = {key for d in get_schema()["$defs"].values() for key in d.get("properties", {})}
        for style in STYLES:
            yaml_doc = parse(documents[style, "yaml"])
            self.assertLessEqual(set(yaml_doc), known)
            self.assertEqual(set(yaml_doc), {"write_files", "runcmd"} | ({"bootcmd"} if style == "append" else set()))
            # One structure behind every format: the YAML reads back as the JSON says.
            self.assertEqual(yaml_doc, json.loads(documents[style, "json"].split("\n", 1)[1]))
            self.assertEqual(documents[style, "mime"], documents[style, "yaml"])
            self.assertEqual(documents[style, "base64"], documents[style, "yaml"])
        keys_file = parse(documents["files", "yaml"])["write_files"][0]["content"]
        self.assertEqual(keys_file.splitlines()[1:], [self.ca_key, self.new_ca_key + " new CA"])

    def test_json_format_is_json_from_its_first_byte(self):
        for style in STYLES:
            text = self.user_data("--style", style, "--format", "json", "--principals", f"{LOGIN_USER}=ops")
            with self.subTest(style=style):
                doc = json.loads(text)  # no #cloud-config line, no comment: a JSON parser takes it whole
                self.assertEqual(doc["write_files"][0]["path"], "/etc/ssh/trusted_user_ca_keys")
                self.assertIn(self.ca_key, doc["write_files"][0]["content"])

    @unittest.skipIf(yaml is None, NEEDS_CLOUD_INIT)
    def test_the_mime_part_adds_to_other_parts_instead_of_replacing_them(self):
        ours = email.message_from_string(self.user_data("--format", "mime"))
        other = email.message_from_string(
            'Content-Type: multipart/mixed; boundary="b"\nMIME-Version: 1.0\n\n--b\nContent-Type: text/cloud-config\n\n'
            "#cloud-config\nruncmd: [echo other]\nwrite_files: [{path: /etc/motd, content: hello}]\n--b--\n")
        for part in ours.get_payload():
            other.attach(part)
        # The way cloud-init combines user data parts on an instance.
        paths = ci_helpers.Paths({"cloud_dir": self.work.path, "run_dir": self.work.path})
        handler = CloudConfigPartHandler(paths)
        handler.handle_part(None, "__begin__", None, None, None, None)
        for part in ci_user_data.UserDataProcessor(paths).process(other.as_string()).walk():
            if not part.is_multipart():
                handler.handle_part(None, part.get_content_type(), part.get_filename(),
                                    part.get_payload(decode=True).decode(), None, dict(part.items()))
        merged = handler.cloud_buf
        self.assertEqual([f["path"] for f in merged["write_files"]],
                         ["/etc/motd", "/etc/ssh/trusted_user_ca_keys", "/etc/ssh/sshd_config.d/10-sshcert.conf"])
        self.assertEqual(merged["runcmd"][0], "echo other")
        self.assertEqual(len(merged["runcmd"]), 2)

    # --- the user data applied for real ---

    def apply(self, cloud_config, boots=1):
        """Does what cloud-init would do with the document's bootcmd and write_files,
        under a temporary root; returns the root."""
        root = os.path.join(self.work.path, "root")
        os.makedirs(os.path.join(root, "etc", "ssh"), exist_ok=True)
        doc = parse(cloud_config)
        if "bootcmd" in doc:
            bin_dir = os.path.join(self.work.path, "bin")
            sem_dir = os.path.join(self.work.path, "sem")
            os.makedirs(bin_dir)
            os.makedirs(sem_dir)
            with open(os.path.join(bin_dir, "cloud-init-per"), "w") as f:
                f.write(FAKE_CLOUD_INIT_PER)
            os.chmod(os.path.join(bin_dir, "cloud-init-per"), 0o755)
            script = map_etc(ci_util.shellify(doc["bootcmd"]), root)
            env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"], SEM_DIR=sem_dir)
            for _ in range(boots):
                subprocess.run(["sh", "-c", script], env=env, check=True)
        files = []
        for f in doc["write_files"]:
            self.assertEqual((f["owner"], f["permissions"]), ("root:root", "0644"), f["path"])
            self.assertTrue(f["path"].startswith("/etc/ssh/"), f["path"])
            # Owned by us rather than root, so the test also runs unprivileged.
            mapped = dict(f, path=root + f["path"], owner=f"{pwd.getpwuid(os.getuid()).pw_name}:{grp.getgrgid(os.getgid()).gr_name}")
            if "encoding" not in f:
                mapped["content"] = map_etc(f["content"], root)
            files.append(mapped)
        cc_write_files.write_files("write_files", files, "root:root")
        return root

    def unstarted_sshd(self):
        """An sshd not yet started, and its base configuration (port, host key, logging; no CA)."""
        sshd = Sshd(self.work.path, None, self.work.cleanup, start=False)
        with open(sshd.config_path) as f:
            base = f.read()
        return sshd, base

    def login(self, profile, sshd, *ssh_options):
        return self.login_daemon(profile).sshcert("ssh", *FAST_KEX, *(ssh_options or sshd.ssh_options()),
                                                  f"{LOGIN_USER}@127.0.0.1", "echo in")

    def assert_logins(self, sshd, allowed, refused):
        for profile in allowed:
            r = self.login(profile, sshd)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "in"), f"profile {profile}: {r.stderr}\n{sshd.log()}")
        for profile in refused:
            r = self.login(profile, sshd)
            self.assertNotEqual(r.returncode, 0, f"profile {profile} got in")
            self.assertNotIn("in", r.stdout.split())

    def assert_revoked_key_refused(self, sshd):
        key = self.revoked_key
        # ssh keeps the first value of each option, so ours go before the shared ones.
        r = subprocess.run(["ssh", *FAST_KEX, "-o", "IdentityAgent=none", "-o", "IdentitiesOnly=yes", "-i", key,
                            "-o", f"CertificateFile={key}-cert.pub", *sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo in"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0, "a revoked certificate got in")
        self.assertRegex(sshd.log(), r"revoked")

    @unittest.skipIf(yaml is None, NEEDS_CLOUD_INIT)
    def test_dropin_applied_for_real_admits_mapped_principals_only(self):
        root = self.apply(self.user_data("--principals", f"{LOGIN_USER}=ops", "--revoked-keys", self.krl))
        sshd, base = self.unstarted_sshd()
        with open(os.path.join(root, "etc", "ssh", "sshd_config.d", "10-sshcert.conf")) as f:
            self.assertIn(f"TrustedUserCAKeys {root}/etc/ssh/trusted_user_ca_keys", f.read())
        # Where Debian, Ubuntu and RHEL put it: the first line of sshd_config.
        config = self.write("sshd_config", f"Include {root}/etc/ssh/sshd_config.d/*.conf\n" + base)
        sshd.start(config)
        # Only ops is mapped: a certificate for the account's own name, or from a CA
        # the user data does not name, is refused.
        self.assert_logins(sshd, allowed=["ops"], refused=["self", "ops-new"])
        self.assert_revoked_key_refused(sshd)

    @unittest.skipIf(yaml is None, NEEDS_CLOUD_INIT)
    def test_append_applied_for_real_goes_first_in_sshd_config_and_only_once(self):
        sshd, base = self.unstarted_sshd()
        root = os.path.join(self.work.path, "root")
        os.makedirs(os.path.join(root, "etc", "ssh"))
        sshd_config = os.path.join(root, "etc", "ssh", "sshd_config")
        # An image whose sshd_config already names a CA and ends in a Match block, the
        # two places where lines appended at the end would be ignored or confined.
        stale = self.write("stale_ca", self.new_ca_key + "\n")
        with open(sshd_config, "w") as f:
            f.write(base + f"TrustedUserCAKeys {stale}\nMatch User nobody\n    PasswordAuthentication no\n")
        self.apply(self.user_data("--style", "append", "--principals", f"{LOGIN_USER}=ops"), boots=2)
        with open(sshd_config) as f:
            text = f.read()
        self.assertTrue(text.startswith("# Added by cloud-init from sshcert user data"), text[:200])
        self.assertEqual(text.count(f"TrustedUserCAKeys {root}/etc/ssh/trusted_user_ca_keys\n"), 1)
        self.assertTrue(text.endswith(base + f"TrustedUserCAKeys {stale}\nMatch User nobody\n    PasswordAuthentication no\n"))
        self.assertFalse(os.path.exists(os.path.join(root, "etc", "ssh", "sshd_config.d")))
        sshd.start(sshd_config)
        self.assert_logins(sshd, allowed=["ops"], refused=["intruder"])

    @unittest.skipIf(yaml is None, NEEDS_CLOUD_INIT)
    def test_rotation_with_two_ca_keys_admits_certificates_from_either(self):
        old = self.write("old.pub", self.sshcert("ca").stdout)
        new = self.write("new.pub", self.sshcert("ca", "--profile", "ops-new").stdout)
        root = self.apply(self.user_data("--ca-key-file", old, "--ca-key-file", new))
        sshd, base = self.unstarted_sshd()
        sshd.start(self.write("sshd_config", f"Include {root}/etc/ssh/sshd_config.d/*.conf\n" + base))
        # Without a mapping the certificate must name the account itself.
        self.assert_logins(sshd, allowed=["self", "self-new"], refused=["ops"])
        with open(os.path.join(root, "etc", "ssh", "trusted_user_ca_keys")) as f:
            self.assertEqual(f.read().splitlines()[1:], [self.ca_key, self.new_ca_key])
        with open(os.path.join(root, "etc", "ssh", "sshd_config.d", "10-sshcert.conf")) as f:
            self.assertNotIn("AuthorizedPrincipalsFile", f.read())

    # --- sshcert ca ---

    def test_ca_prints_the_user_ca_of_a_profile(self):
        r = self.sshcert("ca")
        self.assertEqual((r.returncode, r.stdout), (0, self.ca_key + "\n"), r.stderr)
        self.assertEqual(self.sshcert("ca", "--profile", "ops-new").stdout, self.new_ca_key + "\n")
        r = self.sshcert("ca", "--profile", "nope")
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("no profile named 'nope' (profiles: ops, intruder, self, ops-new, self-new)", r.stderr)

    def test_ca_known_hosts_line_lets_ssh_trust_host_certificates_from_the_host_mount(self):
        r = self.sshcert("ca", "--host-mount", self.host_mount, "--known-hosts", "*.example.test")
        self.assertEqual((r.returncode, r.stdout), (0, f"@cert-authority *.example.test {self.host_ca_key}\n"), r.stderr)
        sshd = Sshd(self.work.path, [self.ca_key], self.work.cleanup, start=False)
        with open(sshd.host_key + ".pub") as f:
            signed = self.vault.api("POST", f"{self.host_mount}/sign/hosts",
                                    {"public_key": f.read(), "cert_type": "host", "valid_principals": "web.example.test"})
        with open(sshd.host_key + "-cert.pub", "w") as f:
            f.write(signed["data"]["signed_key"])
        with open(sshd.config_path, "a") as f:
            f.write(f"HostCertificate {sshd.host_key}-cert.pub\n")
        sshd.start()
        known_hosts = self.write("known_hosts", r.stdout)
        strict = ["-F", "/dev/null", "-p", str(sshd.port), "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                  "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
        ok = self.login("self", sshd, *strict, "-o", "HostKeyAlias=web.example.test")
        self.assertEqual((ok.returncode, ok.stdout.strip()), (0, "in"), ok.stderr)
        other = self.login("self", sshd, *strict, "-o", "HostKeyAlias=web.other.test")
        self.assertNotEqual(other.returncode, 0)
        self.assertIn("Host key verification failed", other.stderr)

    # --- bad input: a clear error, exit 1, nothing on stdout ---

    def assert_refused(self, args, *expected, verb="cloud-init"):
        r = self.sshcert(verb, *args)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        for text in expected:
            self.assertIn(text, r.stderr)

    def test_bad_key_files_are_named_and_nothing_is_printed(self):
        missing = os.path.join(self.work.path, "missing.pub")
        self.assert_refused(["--ca-key-file", missing], f"--ca-key-file: cannot read {missing}: No such file or directory")
        self.assert_refused(["--ca-key-file", self.work.path], f"cannot read {self.work.path}: Is a directory")
        if os.geteuid() != 0:  # root reads any file
            unreadable = self.write("unreadable.pub", self.ca_key)
            os.chmod(unreadable, 0)
            self.assert_refused(["--ca-key-file", unreadable], "Permission denied")
        garbage = self.write("garbage.pub", "this is not a key\n")
        self.assert_refused(["--ca-key-file", garbage], f"--ca-key-file {garbage} line 1: not an SSH public key")
        with open(self.revoked_key + "-cert.pub") as f:
            cert = self.write("cert.pub", f.read())
        self.assert_refused(["--ca-key-file", cert], "is a certificate, not a public key")
        self.assert_refused(["--ca-key-file", self.revoked_key], "holds a private key")
        good = self.write("good.pub", self.ca_key)
        self.assert_refused(["--ca-key-file", good, "--ca-key-file", garbage], "garbage.pub line 1")
        self.assert_refused(["--revoked-keys", garbage], f"--revoked-keys {garbage} is neither a KRL")

    def test_bad_options_are_named_and_nothing_is_printed(self):
        self.assert_refused(["--principals", "=ops"], "--principals '=ops': the local user before '=' is empty")
        self.assert_refused(["--principals", "ubuntu"], "expected USER=PRINCIPAL")
        self.assert_refused(["--style", "inline"], "unknown --style 'inline' (use dropin or append)")
        self.assert_refused(["--format", "xml"], "unknown --format 'xml' (use yaml, json, mime or base64)")
        self.assert_refused(["--profile", "nope"], "no profile named 'nope'")
        self.assert_refused(["--profile", "ops", "--ca-key-file", "x.pub"], "--profile excludes --ca-key-file")
        self.assert_refused(["--known-hosts", "*.example.test"], "--known-hosts requires --host-mount", verb="ca")
        self.assert_refused(["--host-mount", self.host_mount, "--known-hosts", "a b"], "not a known_hosts host pattern",
                            verb="ca")

    def test_base64_past_ec2s_limit_is_refused_and_yaml_only_warned_about(self):
        ids = self.write("ids", "".join(f"id: revoked-key-id-{n:04d}-{'x' * 40}\n" for n in range(400)))
        ca = self.write("ca.pub", self.ca_key)
        krl = os.path.join(self.work.path, "big.krl")
        subprocess.run(["ssh-keygen", "-q", "-k", "-f", krl, "-s", ca, ids], check=True)
        r = self.sshcert("cloud-init", "--revoked-keys", krl, "--format", "base64")
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertRegex(r.stderr, r"the user data is \d+ bytes, \d+ over EC2's limit of 16384 bytes")
        r = self.sshcert("cloud-init", "--revoked-keys", krl)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(len(r.stdout), 16384)
        self.assertIn("EC2 accepts at most 16384", r.stderr)


if __name__ == "__main__":
    unittest.main()
