# SPDX-License-Identifier: Apache-2.0
"""A login with AWS IAM credentials (Vault's aws method, IAM type) against the
stand-in and its STS look-alike: credentials found as the AWS CLI finds them in
the login command's environment and AWS files, a profile's role assumed behind
MFA by the daemon, the temporary credentials kept in memory and reused to log in
to Vault again until they expire, and clear errors for what goes wrong."""

import json
import os
import sys
import unittest
import urllib.request

from harness import (LOGIN_USER, SSHCERT, Daemon, Sshd, Vault, Workdir, class_workdir, profile_toml, run_in_terminal,
                     standin_only, wait_for)

ACCOUNT = "123456789012"
MFA_CODE = "246810"
SERVER_ID = "vault.test"
SHORT_TTL = 3  # seconds: the Vault token of role "short" ends soon, so the daemon logs in again


@standin_only  # the STS look-alike stands in for AWS
class AwsLogin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        cls.vault = v = Vault(cls.tmp, cls.addClassCleanup, record_secrets=True, sts=True)
        cls.mount, policy, ca = v.machine_ssh_ca()
        cls.aws_mount = f"aws-{v.suffix}"
        v.api("POST", f"sys/auth/{cls.aws_mount}", {"type": "aws"})
        v.api("POST", f"auth/{cls.aws_mount}/config/client",
              {"sts_endpoint": v.sts_addr, "iam_server_id_header_value": SERVER_ID})
        principals = [f"arn:aws:iam::{ACCOUNT}:user/ci-*", f"arn:aws:iam::{ACCOUNT}:role/deployer",
                      f"arn:aws:iam::{ACCOUNT}:role/builder"]
        for role, ttl in (("builders", "1h"), ("short", f"{SHORT_TTL}s")):
            v.api("POST", f"auth/{cls.aws_mount}/role/{role}",
                  {"auth_type": "iam", "resolve_aws_unique_ids": False, "bound_iam_principal_arn": principals,
                   "token_policies": [policy], "token_ttl": ttl, "token_max_ttl": ttl})
        cls.ci = v.admin("POST", "sts_users", {"arn": f"arn:aws:iam::{ACCOUNT}:user/ci-runner"})
        cls.alice = v.admin("POST", "sts_users", {"arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
                                                  "mfa_serial": f"arn:aws:iam::{ACCOUNT}:mfa/alice",
                                                  "mfa_code": MFA_CODE})
        v.admin("POST", "sts_roles", {"arn": f"arn:aws:iam::{ACCOUNT}:role/builder",
                                      "trusted": [f"arn:aws:iam::{ACCOUNT}:user/ci-runner"]})
        v.admin("POST", "sts_roles", {"arn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
                                      "trusted": [f"arn:aws:iam::{ACCOUNT}:user/alice"], "mfa_required": True})
        cls.sshd = Sshd(cls.tmp, [ca], cls.addClassCleanup)

    def setUp(self):
        self.work = Workdir(self)
        self.vault.clear_requests()
        self.vault.admin("DELETE", "sts_requests")
        self.vault.set_time_offset(0)

    def aws_files(self, config="", credentials=""):
        """AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE outside HOME (which the secret search reads)."""
        paths = {}
        for var, name, text in (("AWS_CONFIG_FILE", "aws-config", config),
                                ("AWS_SHARED_CREDENTIALS_FILE", "aws-credentials", credentials)):
            paths[var] = os.path.join(self.work.path, name)
            with open(paths[var], "w") as f:
                f.write(text)
            os.chmod(paths[var], 0o600)
        return paths

    def daemon(self, role="builders", header_value=SERVER_ID):
        auth = f'[auth]\nmethod = "aws"\nmount = "{self.aws_mount}"\nrole = "{role}"\n'
        if header_value:
            auth += f'header_value = "{header_value}"\n'
        return Daemon(self.work.path, self.vault.addr,
                      auth + "\n" + profile_toml("local", ["127.0.0.1"], "ci", mount=self.mount), self.work.cleanup)

    def login(self, d, *args, **env):
        return d.sshcert("login", *args, env={"AWS_ENDPOINT_URL_STS": self.vault.sts_addr, **env})

    def keys_env(self, user):
        return {"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]}

    def deployer_files(self, extra=""):
        return self.aws_files(
            config=f"[profile deploy]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/deployer\nsource_profile = alice\n"
                   f"mfa_serial = arn:aws:iam::{ACCOUNT}:mfa/alice\nregion = us-east-1\n{extra}",
            credentials=f"[alice]\naws_access_key_id = {self.alice['access_key_id']}\n"
                        f"aws_secret_access_key = {self.alice['secret_access_key']}\n")

    def sts_calls(self, action):
        return [r for r in self.vault.admin("GET", "sts_requests") if r["action"] == action]

    def vault_logins(self):
        return [r for r in self.vault.requests() if r["path"].endswith(f"auth/{self.aws_mount}/login") and r["status"] == 200]

    def ssh_works(self, d):
        r = d.sshcert("ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo aws-ok")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "aws-ok"), r.stderr)

    def test_keys_in_the_environment_log_in_and_no_secret_reaches_the_log_or_home(self):
        d = self.daemon()
        r = d.sshcert("login", env=self.keys_env(self.ci))  # no STS override: signed for sts.amazonaws.com
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"as {self.aws_mount}-ci-runner", r.stdout)
        self.assertEqual([c["status"] for c in self.sts_calls("GetCallerIdentity")], [200])
        self.ssh_works(d)
        tokens = self.vault.tokens_used()
        self.assertTrue(tokens)
        self.assertEqual(d.leaks(self.ci["secret_access_key"], *tokens), [])

    def instance_credentials(self):
        """Temporary credentials of role deployer, as the IMDS look-alike hands them to an instance."""
        self.vault.admin("POST", "imds", {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "instance_id": "i-0abc"})
        self.addCleanup(self.vault.admin, "POST", "imds", {"role_arn": None})
        base = self.vault.imds_addr + "/latest"
        put = urllib.request.Request(base + "/api/token", method="PUT",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        token = urllib.request.urlopen(put, timeout=10).read().decode()
        get = lambda path: urllib.request.urlopen(urllib.request.Request(  # noqa: E731
            base + path, headers={"X-aws-ec2-metadata-token": token}), timeout=10).read().decode()
        role = get("/meta-data/iam/security-credentials/").strip()
        return json.loads(get("/meta-data/iam/security-credentials/" + role))

    def test_temporary_keys_in_the_environment_with_their_session_token(self):
        creds = self.instance_credentials()
        d = self.daemon()
        r = d.sshcert("login", env={"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                                    "AWS_SESSION_TOKEN": creds["Token"]})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("-deployer", r.stdout)
        self.ssh_works(d)
        self.assertEqual(d.leaks(creds["SecretAccessKey"], creds["Token"], *self.vault.tokens_used()), [])

    def ci_config_files(self):
        keys = (f"aws_access_key_id = {self.ci['access_key_id']}\n"
                f"aws_secret_access_key = {self.ci['secret_access_key']}\n")
        return self.aws_files(config=f"[profile ci]\n{keys}\n[profile build]\n"
                                     f"role_arn = arn:aws:iam::{ACCOUNT}:role/builder\nsource_profile = ci\n")

    def test_keys_in_the_config_file(self):
        d = self.daemon()
        r = self.login(d, AWS_PROFILE="ci", **self.ci_config_files())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("-ci-runner", r.stdout)
        self.assertEqual(self.sts_calls("AssumeRole"), [])

    def test_a_role_without_mfa_assumed_from_a_source_profile(self):
        d = self.daemon()
        r = self.login(d, AWS_PROFILE="build", **self.ci_config_files())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("-builder", r.stdout)
        self.assertEqual([(c["status"], c["mfa"]) for c in self.sts_calls("AssumeRole")], [(200, False)])
        self.ssh_works(d)

    def test_a_profile_in_the_credentials_file(self):
        d = self.daemon()
        files = self.aws_files(credentials=f"[ci]\naws_access_key_id = {self.ci['access_key_id']}\n"
                                           f"aws_secret_access_key = {self.ci['secret_access_key']}\n")
        r = self.login(d, AWS_PROFILE="ci", **files)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.ssh_works(d)

    def test_a_role_behind_mfa_is_assumed_with_the_code_and_one_code_lasts_across_vault_logins(self):
        d = self.daemon(role="short")
        r = self.login(d, "--aws-mfa-code", MFA_CODE, AWS_PROFILE="deploy", **self.deployer_files())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([(c["status"], c["mfa"]) for c in self.sts_calls("AssumeRole")], [(200, True)])
        wait_for(lambda: len(self.vault_logins()) >= 3, "the daemon to log in to Vault again twice", timeout=SHORT_TTL * 8)
        self.assertEqual(len(self.sts_calls("AssumeRole")), 1)  # the temporary credentials were reused
        self.assertIn("logging in again with aws", d.log())
        wait_for(lambda: json.loads(d.sshcert("status", "--json").stdout)["logged_in"], "the new login in status")
        self.ssh_works(d)
        tokens = self.vault.tokens_used()
        self.assertEqual(d.leaks(self.alice["secret_access_key"], MFA_CODE, *tokens), [])

    def test_at_a_terminal_the_mfa_code_is_asked_for_and_a_wrong_one_may_be_typed_again(self):
        d = self.daemon()
        env = {**d.env, "AWS_ENDPOINT_URL_STS": self.vault.sts_addr, "AWS_PROFILE": "deploy", **self.deployer_files()}
        prompt = f"AWS MFA code for arn:aws:iam::{ACCOUNT}:mfa/alice (to assume arn:aws:iam::{ACCOUNT}:role/deployer): "
        again = b" left)\r\n" + prompt.encode()  # after "...; try again (4m59s left)": the prompt once more
        shown, rc = run_in_terminal([SSHCERT, "login"], env, answers={prompt.encode(): b"111111\n",
                                                                       again: (MFA_CODE + "\n").encode()})
        self.assertEqual(rc, 0, shown)
        self.assertEqual(shown.count(prompt), 2, shown)
        self.assertIn("AWS did not accept the MFA code", shown)
        self.assertNotIn(MFA_CODE, shown)  # typed without echo
        self.assertEqual([(c["status"], c["mfa"]) for c in self.sts_calls("AssumeRole")], [(403, True), (200, True)])
        self.ssh_works(d)

    def test_a_wrong_mfa_code_says_codes_change(self):
        d = self.daemon()
        r = self.login(d, "--aws-mfa-code", "000000", AWS_PROFILE="deploy", **self.deployer_files())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"AWS did not accept the MFA code for arn:aws:iam::{ACCOUNT}:mfa/alice (codes change every 30 s)",
                      r.stderr)
        self.assertEqual(self.vault_logins(), [])

    def test_when_the_temporary_credentials_expire_the_daemon_says_a_new_mfa_code_is_needed(self):
        # STS's clock 830 s behind (within SigV4's 15 minutes): the 900 s credentials it hands out end 70 s from now, inside the
        # daemon's 60 s margin after about 10 s, while role "short" makes it log in again every few seconds.
        self.vault.set_time_offset(-830)
        d = self.daemon(role="short")
        r = self.login(d, "--aws-mfa-code", MFA_CODE, AWS_PROFILE="deploy",
                       **self.deployer_files("duration_seconds = 900\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: "a new MFA code is needed; run sshcert login --method aws" in d.log(),
                 "the daemon to find the credentials expired", timeout=40)
        self.assertEqual(len(self.sts_calls("AssumeRole")), 1)  # it never asks STS without a person
        # Once the last token ends, status says why a person must log in.
        wait_for(lambda: "a new MFA code is needed" in d.sshcert("status").stdout, "status to say a new MFA code is needed",
                 timeout=SHORT_TTL * 4)
        # sshcert ssh at a terminal logs in again, asking for the code, and connects.
        env = {**d.env, "AWS_ENDPOINT_URL_STS": self.vault.sts_addr, "AWS_PROFILE": "deploy",
               **self.deployer_files("duration_seconds = 900\n")}
        shown, rc = run_in_terminal([SSHCERT, "ssh", *self.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo again-ok"],
                                    env, answers={b"AWS MFA code for": (MFA_CODE + "\n").encode()})
        self.assertEqual(rc, 0, shown)
        self.assertIn("again-ok", shown)
        self.assertEqual(len(self.sts_calls("AssumeRole")), 2)

    def process_profile(self, command):
        return self.aws_files(config=f"[profile proc]\ncredential_process = {command}\n")

    def test_credential_process_output_is_used_and_its_failures_are_explained(self):
        script = os.path.join(self.work.path, "creds.py")
        with open(script, "w") as f:
            f.write(f"import json\nprint(json.dumps({{'Version': 1, 'AccessKeyId': {self.ci['access_key_id']!r}, "
                    f"'SecretAccessKey': {self.ci['secret_access_key']!r}, 'Expiration': '2999-01-01T00:00:00Z'}}))\n")
        d = self.daemon()
        r = self.login(d, AWS_PROFILE="proc", **self.process_profile(f"{sys.executable} {script}"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.ssh_works(d)
        for command, said in (("sh -c 'echo no session >&2; exit 3'", "failed with exit status 3: no session"),
                              ("echo not-json", "printed something other than a JSON object"),
                              ("echo '{\"Version\": 2}'", "without \"Version\": 1")):
            with self.subTest(command=command):
                r = self.login(d, AWS_PROFILE="proc", **self.process_profile(command))
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("credential_process of profile proc", r.stderr)
                self.assertIn(said, r.stderr)

    def test_a_signature_aws_finds_too_old_points_at_the_clock(self):
        self.vault.set_time_offset(20 * 60)  # AWS takes a signature within 15 minutes of its clock
        d = self.daemon()
        r = d.sshcert("login", env=self.keys_env(self.ci))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Signature expired", r.stderr)
        self.assertIn("if this machine's clock is off, fix it", r.stderr)
        self.assertEqual(self.vault_logins(), [])

    def test_a_header_value_vault_does_not_expect_names_the_setting(self):
        d = self.daemon(header_value="other.example")
        r = d.sshcert("login", env=self.keys_env(self.ci))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("set [auth] header_value", r.stderr)

    def test_the_instance_role_comes_from_imdsv2_at_every_login(self):
        self.vault.admin("POST", "imds", {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "instance_id": "i-0abc"})
        self.addCleanup(self.vault.admin, "POST", "imds", {"role_arn": None})
        d = self.daemon(role="short")
        before = self.vault.admin("GET", "imds")["requests"]
        r = self.login(d, AWS_EC2_METADATA_SERVICE_ENDPOINT=self.vault.imds_addr, **self.aws_files())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("-deployer", r.stdout)
        wait_for(lambda: len(self.vault_logins()) >= 2, "the daemon to log in to Vault again", timeout=SHORT_TTL * 6)
        # the role's name and its credentials: two GETs per login, each login asking afresh
        self.assertGreaterEqual(self.vault.admin("GET", "imds")["requests"] - before, 4)
        self.ssh_works(d)

    def test_no_credentials_at_all_says_where_they_are_looked_for(self):
        d = self.daemon()
        r = self.login(d, AWS_EC2_METADATA_DISABLED="true", **self.aws_files())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no AWS credentials found", r.stderr)
        self.assertIn("AWS_EC2_METADATA_DISABLED rules out the instance role): set AWS_PROFILE", r.stderr)
        self.assertTrue(d.control("status")["ok"])


if __name__ == "__main__":
    unittest.main()
