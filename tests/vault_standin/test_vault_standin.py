"""Tests of the Vault stand-in against the behaviour described in vault-api.md.

Each test class starts its own stand-in as a child process on a free port and
stops it (by PID) when the class is done. Run from the repository root with
    python3 -m unittest tests/vault_standin/test_vault_standin.py
or directly with
    python3 tests/vault_standin/test_vault_standin.py
"""

import base64
import calendar
import contextlib
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "vault_standin.py")
SSH_KEYGEN = "/usr/bin/ssh-keygen" if os.path.exists("/usr/bin/ssh-keygen") else "ssh-keygen"
ROOT_TOKEN = "root-token-for-tests"
PERMISSION_DENIED = "1 error occurred:\n\t* permission denied\n\n"
NO_TOKEN = "permission denied"
INVALID_TOKEN = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"
DEFAULT_TTL = 2764800
FOREVER = 2 ** 64 - 1
ENVELOPE_KEYS = ["request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info",
                 "warnings", "auth", "mount_type"]
LOOKUP_SELF_KEYS = {"accessor", "creation_time", "creation_ttl", "display_name", "entity_id",
                    "expire_time", "explicit_max_ttl", "id", "issue_time", "meta", "num_uses",
                    "orphan", "path", "policies", "renewable", "ttl", "type"}


class Result:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.text = body.decode("utf-8", errors="replace")
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    @property
    def errors(self):
        return self.json["errors"]


class Standin:
    """One stand-in server process."""

    def __init__(self, workdir, extra_args=()):
        self.workdir = workdir
        self.port_file = os.path.join(workdir, f"port-{uuid.uuid4().hex}")
        self.log_path = os.path.join(workdir, "standin.log")
        self.extra_args = list(extra_args)
        self.process = None
        self.port = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, SERVER, "--port", "0", "--port-file", self.port_file,
                 "--root-token", ROOT_TOKEN, *self.extra_args],
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"stand-in exited early; see {self.log_path}")
            if os.path.exists(self.port_file):
                with open(self.port_file, encoding="utf-8") as handle:
                    self.port = int(handle.read())
                return
            time.sleep(0.02)
        raise RuntimeError("stand-in did not write its port file")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def request(self, method, path, body=None, token=None, headers=None, timeout=30):
        with self.open(method, path, body, token, headers, timeout) as (_connection, response):
            return Result(response.status, response.headers, response.read())

    @contextlib.contextmanager
    def open(self, method, path, body=None, token=None, headers=None, timeout=30):
        """A request whose (connection, response) the caller reads as it likes."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            all_headers = dict(headers or {})
            if token is not None:
                all_headers["X-Vault-Token"] = token
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                all_headers.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=body, headers=all_headers)
            yield connection, connection.getresponse()
        finally:
            connection.close()

    def resident_kib(self):
        """The server process's resident memory (VmRSS) in KiB."""
        with open(f"/proc/{self.process.pid}/status", encoding="utf-8") as handle:
            line = next(line for line in handle if line.startswith("VmRSS:"))
        return int(line.split()[1])


def certificate_details(signed_key, workdir):
    """The fields `ssh-keygen -L` prints for a certificate; list sections become lists."""
    path = os.path.join(workdir, f"cert-{uuid.uuid4().hex}.pub")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(signed_key)
    output = subprocess.run([SSH_KEYGEN, "-L", "-f", path], capture_output=True, text=True,
                            check=True, env={**os.environ, "TZ": "UTC"}).stdout
    details, section = {}, None
    for line in output.splitlines()[1:]:
        if line.startswith(" " * 16):
            details[section].append(line.strip())
            continue
        section, _, value = line.strip().partition(": ")
        section = section.rstrip(":")
        details[section] = [] if value.strip() in ("", "(none)") else value
    window = re.fullmatch(r"from (\S+) to (\S+)|after (\S+)", details["Valid"])
    valid_from, valid_to, valid_after_only = window.groups()
    details["valid_after"] = _utc_seconds(valid_from or valid_after_only)
    # "after X" is a certificate that never expires (valid before 2^64-1).
    details["valid_before"] = _utc_seconds(valid_to) if valid_to else FOREVER
    return details


def _utc_seconds(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))


class StandinTestCase(unittest.TestCase):
    """Starts one stand-in for the class; helpers configure it through the Vault API."""

    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="vault-standin-test-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, ignore_errors=True)
        cls.server = Standin(cls.workdir, cls.server_args)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()
        cls.user_key = cls.generate_key("user")

    @classmethod
    def generate_key(cls, name, key_type="ed25519"):
        path = os.path.join(cls.workdir, name)
        subprocess.run([SSH_KEYGEN, "-q", "-t", key_type, "-N", "", "-C", f"{name}@test",
                        "-f", path], check=True)
        with open(path + ".pub", encoding="utf-8") as handle:
            return handle.read().strip()

    @classmethod
    def configure(cls, *steps):
        """Apply (path, body) writes with the root token before the tests of a class run."""
        for path, body in steps:
            result = cls.server.request("POST", "/v1/" + path, body, token=ROOT_TOKEN)
            if result.status not in (200, 204):
                raise RuntimeError(f"setting up {path} failed: {result.status} {result.text}")

    def call(self, method, path, body=None, token=ROOT_TOKEN, headers=None):
        return self.server.request(method, "/v1/" + path, body, token, headers)

    def admin(self, method, path, body=None):
        return self.server.request(method, "/_standin/" + path, body)

    def ok(self, method, path, body=None, token=ROOT_TOKEN, status=(200, 204)):
        result = self.call(method, path, body, token)
        self.assertIn(result.status, status, result.text)
        return result

    def enable_ssh(self, mount, key_type="ed25519", **ca_params):
        self.ok("POST", f"sys/mounts/{mount}", {"type": "ssh"})
        if key_type:
            self.ok("POST", f"{mount}/config/ca", {"key_type": key_type, **ca_params})

    def role(self, mount, name, **params):
        body = {"key_type": "ca", "allow_user_certificates": True, **params}
        self.ok("POST", f"{mount}/roles/{name}", body)

    def sign(self, mount, role, token=ROOT_TOKEN, **params):
        return self.call("PUT", f"{mount}/sign/{role}",
                         {"public_key": self.user_key, **params}, token)

    def certificate(self, result):
        self.assertEqual(result.status, 200, result.text)
        return certificate_details(result.json["data"]["signed_key"], self.workdir)

    def create_token(self, **params):
        return self.ok("POST", "auth/token/create", params).json["auth"]["client_token"]

    def write_policy(self, name, text):
        self.ok("PUT", f"sys/policies/acl/{name}", {"policy": text})

    def set_faults(self, **faults):
        result = self.admin("POST", "faults", faults)
        self.assertEqual(result.status, 200, result.text)
        self.addCleanup(self.admin, "DELETE", "faults")

    def login(self, username, password, mount="userpass"):
        body = {} if password is None else {"password": password}
        return self.call("POST", f"auth/{mount}/login/{username}", body, token=None)


class HttpLayerTest(StandinTestCase):
    server_args = ("--bootstrap",)

    def test_health_is_flat_json_with_query_code_flags(self):
        result = self.call("GET", "sys/health", token=None)
        self.assertEqual(result.status, 200)
        self.assertFalse(result.json["sealed"])
        self.assertTrue(result.json["initialized"])
        self.assertNotIn("data", result.json)
        self.assertEqual(self.call("GET", "sys/health?activecode=299", token=None).status, 299)
        bad = self.call("GET", "sys/health?activecode=abc", token=None)
        self.assertEqual((bad.status, bad.json), (400, {"errors": []}))
        head = self.call("HEAD", "sys/health", token=None)
        self.assertEqual((head.status, head.text), (200, ""))

    def test_paths_outside_v1_are_404_with_empty_errors(self):
        result = self.server.request("GET", "/nothing-here")
        self.assertEqual((result.status, result.json), (404, {"errors": []}))
        self.assertEqual(result.headers["Content-Type"], "application/json")

    def test_missing_token_is_bare_permission_denied(self):
        result = self.call("GET", "auth/token/lookup-self", token=None)
        self.assertEqual((result.status, result.errors), (403, [NO_TOKEN]))
        self.assertEqual(result.headers["Cache-Control"], "no-store")

    def test_unknown_token_is_permission_denied_and_invalid_token(self):
        result = self.call("GET", "auth/token/lookup-self", token="hvs.not-a-token")
        self.assertEqual((result.status, result.errors), (403, [INVALID_TOKEN]))

    def test_bearer_authorization_header_carries_a_token(self):
        result = self.call("GET", "auth/token/lookup-self", token=None,
                           headers={"Authorization": f"Bearer {ROOT_TOKEN}"})
        self.assertEqual(result.status, 200)
        self.assertEqual(result.json["data"]["display_name"], "root")

    def test_envelope_fields_in_vault_order(self):
        result = self.ok("GET", "auth/token/lookup-self")
        self.assertEqual(list(result.json), ENVELOPE_KEYS)
        uuid.UUID(result.json["request_id"])
        self.assertEqual(result.json["mount_type"], "token")
        self.assertIsNone(result.json["auth"])

    def test_unparseable_json_is_400(self):
        result = self.call("POST", "auth/token/create", body="{not json")
        self.assertEqual((result.status, result.errors), (400, ["error parsing JSON"]))

    def test_get_on_a_write_only_path_is_405(self):
        result = self.call("GET", "ssh/sign/anything")
        self.assertEqual(result.status, 405)
        self.assertIn("unsupported operation", result.errors[0])
        self.assertEqual(self.call("FROB", "sys/mounts").status, 405)

    def test_unknown_paths_are_404(self):
        self.assertEqual(self.call("GET", "no-such-mount/x").status, 404)
        self.assertEqual(self.call("GET", "ssh/no-such-path").status, 404)
        self.assertEqual(self.call("GET", "ssh/roles/missing").json, {"errors": []})

    def test_namespace_header_is_echoed(self):
        result = self.call("GET", "auth/token/lookup-self", headers={"X-Vault-Namespace": "ns1/"})
        self.assertEqual(result.headers["X-Vault-Namespace"], "ns1/")

    def test_body_over_32_mib_is_413(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        connection.putrequest("POST", "/v1/auth/token/create")
        connection.putheader("Content-Length", str(33 * 1024 * 1024))
        connection.endheaders()
        self.assertEqual(connection.getresponse().status, 413)
        connection.close()

    def test_bootstrap_creates_ssh_ca_and_userpass(self):
        public_key = self.call("GET", "ssh/public_key", token=None)
        self.assertEqual(public_key.status, 200)
        self.assertTrue(public_key.text.startswith("ssh-ed25519 "))
        self.assertIn("userpass/", self.ok("GET", "sys/auth").json["data"])

    def test_list_via_method_and_query_flag(self):
        for result in (self.call("LIST", "sys/policies/acl"),
                       self.call("GET", "sys/policies/acl?list=true")):
            self.assertEqual(result.json["data"]["keys"], ["default", "root"])


class TokenTest(StandinTestCase):
    def test_create_returns_auth_block(self):
        result = self.ok("POST", "auth/token/create",
                         {"policies": ["reader"], "ttl": "1h", "display_name": "ci job"})
        auth = result.json["auth"]
        self.assertTrue(auth["client_token"].startswith("hvs."))
        self.assertEqual(auth["policies"], ["default", "reader"])
        self.assertEqual((auth["lease_duration"], auth["renewable"]), (3600, True))
        self.assertIn('Policy "reader" does not exist', result.json["warnings"])
        lookup = self.ok("GET", "auth/token/lookup-self", token=auth["client_token"]).json["data"]
        self.assertEqual(lookup["display_name"], "token-ci-job")
        self.assertEqual(lookup["path"], "auth/token/create")

    def test_lookup_self_of_root_has_no_lease(self):
        data = self.ok("GET", "auth/token/lookup-self").json["data"]
        self.assertEqual((data["id"], data["ttl"], data["expire_time"]), (ROOT_TOKEN, 0, None))
        self.assertNotIn("issue_time", data)

    def test_renew_self_with_increment(self):
        token = self.create_token(ttl="10m")
        for increment in (1200, "20m"):
            auth = self.ok("POST", "auth/token/renew-self", {"increment": increment},
                           token=token).json["auth"]
            self.assertEqual((auth["client_token"], auth["lease_duration"]), (token, 1200))

    def test_renew_self_is_capped_by_explicit_max_ttl(self):
        token = self.create_token(ttl="10m", explicit_max_ttl="1h")
        result = self.ok("POST", "auth/token/renew-self", {"increment": "3h"}, token=token)
        self.assertLessEqual(result.json["auth"]["lease_duration"], 3600)
        self.assertRegex(result.json["warnings"][0],
                         r'^TTL of "3h" exceeded the effective max_ttl of "(1h|59m5\ds)"; '
                         r'TTL value is capped accordingly$')

    def test_renew_self_refusals(self):
        root = self.call("POST", "auth/token/renew-self")
        self.assertEqual((root.status, root.errors), (400, ["invalid lease ID"]))
        token = self.create_token(ttl="10m", renewable=False)
        fixed = self.call("POST", "auth/token/renew-self", token=token)
        self.assertEqual((fixed.status, fixed.errors), (400, ["lease is not renewable"]))

    def test_revoke_self_then_token_is_invalid(self):
        token = self.create_token(ttl="10m")
        self.assertEqual(self.call("POST", "auth/token/revoke-self", token=token).status, 204)
        result = self.call("GET", "auth/token/lookup-self", token=token)
        self.assertEqual((result.status, result.errors), (403, [INVALID_TOKEN]))

    def test_token_expires_when_the_clock_moves(self):
        token = self.create_token(ttl="60s")
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        self.assertEqual(self.admin("POST", "time_offset", {"seconds": 120}).status, 200)
        result = self.call("GET", "auth/token/lookup-self", token=token)
        self.assertEqual((result.status, result.errors), (403, [INVALID_TOKEN]))

    def test_limited_use_token_is_revoked_after_its_last_use(self):
        token = self.create_token(num_uses=2)
        self.ok("GET", "auth/token/lookup-self", token=token)
        self.ok("GET", "auth/token/lookup-self", token=token)
        self.assertEqual(self.call("GET", "auth/token/lookup-self", token=token).status, 403)


class UserpassTest(StandinTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(
            ("sys/auth/userpass", {"type": "userpass"}),
            ("sys/auth/corp/users", {"type": "userpass"}),
            ("auth/userpass/users/alice", {"password": "s3cret", "token_policies": "ssh-users"}),
            ("auth/corp/users/users/bob",
             {"password": "pw", "token_ttl": "1h", "token_max_ttl": "2h"}))

    def test_login_returns_auth_block(self):
        result = self.login("ALICE", "s3cret")
        self.assertEqual(result.status, 200, result.text)
        auth = result.json["auth"]
        self.assertEqual(auth["metadata"], {"username": "alice"})
        self.assertEqual(auth["policies"], ["default", "ssh-users"])
        self.assertEqual(auth["token_policies"], ["default", "ssh-users"])
        self.assertEqual((auth["lease_duration"], auth["renewable"]), (DEFAULT_TTL, True))
        self.assertEqual((auth["token_type"], auth["orphan"]), ("service", True))
        self.assertIsNone(result.json["data"])

    def test_wrong_password_or_user_is_400(self):
        for username, password in (("alice", "wrong"), ("mallory", "s3cret")):
            result = self.login(username, password)
            self.assertEqual((result.status, result.errors),
                             (400, ["invalid username or password"]))

    def test_empty_or_missing_password_is_500(self):
        for password in ("", None):
            result = self.login("alice", password)
            self.assertEqual((result.status, result.errors), (500, ["missing password"]))

    def test_lookup_self_fields(self):
        token = self.login("alice", "s3cret").json["auth"]["client_token"]
        data = self.ok("GET", "auth/token/lookup-self", token=token).json["data"]
        self.assertEqual(set(data), LOOKUP_SELF_KEYS)
        self.assertEqual(data["display_name"], "userpass-alice")
        self.assertEqual(data["path"], "auth/userpass/login/alice")
        self.assertEqual(data["meta"], {"username": "alice"})
        self.assertRegex(data["expire_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertTrue(data["renewable"])
        self.assertGreater(data["ttl"], DEFAULT_TTL - 5)

    def test_nested_mount_display_name_and_user_ttls(self):
        auth = self.login("bob", "pw", mount="corp/users").json["auth"]
        self.assertEqual(auth["lease_duration"], 3600)
        data = self.ok("GET", "auth/token/lookup-self", token=auth["client_token"]).json["data"]
        self.assertEqual(data["display_name"], "corp-users-bob")
        renewed = self.ok("POST", "auth/token/renew-self", {"increment": "5h"},
                          token=auth["client_token"]).json
        self.assertLessEqual(renewed["auth"]["lease_duration"], 7200)
        self.assertIn("exceeded the effective max_ttl", renewed["warnings"][0])

    def test_default_policy_allows_self_service_only(self):
        token = self.login("alice", "s3cret").json["auth"]["client_token"]
        self.ok("GET", "auth/token/lookup-self", token=token)
        denied = self.call("POST", "auth/token/create", {}, token=token)
        self.assertEqual((denied.status, denied.errors), (403, [PERMISSION_DENIED]))

    def test_user_is_locked_out_after_five_wrong_passwords(self):
        self.ok("POST", "auth/userpass/users/carol", {"password": "right"})
        for _ in range(5):
            self.assertEqual(self.login("carol", "wrong").status, 400)
        locked = self.login("carol", "right")
        self.assertEqual((locked.status, locked.errors), (403, ["permission denied"]))


class PolicyTest(StandinTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        role = {"key_type": "ca", "allow_user_certificates": True, "allowed_users": "*",
                "default_user": "ops"}
        cls.configure(("sys/mounts/ssh", {"type": "ssh"}),
                      ("ssh/config/ca", {"key_type": "ed25519"}),
                      ("ssh/roles/dev", role), ("ssh/roles/prod", role))

    def test_token_without_sign_capability_is_denied(self):
        self.write_policy("reader", 'path "ssh/roles/*" { capabilities = ["read"] }')
        token = self.create_token(policies=["reader"])
        result = self.sign("ssh", "dev", token=token)
        self.assertEqual((result.status, result.errors), (403, [PERMISSION_DENIED]))
        self.ok("GET", "ssh/roles/dev", token=token)

    def test_glob_grants_and_more_specific_deny_wins(self):
        self.write_policy("signer", '''
            # every role but prod
            path "ssh/sign/*" { capabilities = ["create", "update"] }
            path "ssh/sign/prod" { capabilities = ["deny"] }
        ''')
        token = self.create_token(policies=["signer"])
        self.assertEqual(self.sign("ssh", "dev", token=token).status, 200)
        self.assertEqual(self.sign("ssh", "prod", token=token).status, 403)

    def test_update_capability_is_what_sign_needs(self):
        self.write_policy("create-only", 'path "ssh/sign/dev" { capabilities = ["create"] }')
        self.write_policy("update-only", 'path "ssh/+/dev" { capabilities = ["update"] }')
        create_only = self.create_token(policies=["create-only"])
        update_only = self.create_token(policies=["update-only"])
        self.assertEqual(self.sign("ssh", "dev", create_only).status, 403)
        self.assertEqual(self.sign("ssh", "dev", update_only).status, 200)

    def test_invalid_policy_is_refused(self):
        result = self.call("PUT", "sys/policies/acl/bad",
                           {"policy": 'path "x" { capabilities = ["fly"] }'})
        self.assertEqual(result.status, 400)
        self.assertEqual(result.errors,
                         ['failed to parse policy: path "x": invalid capability "fly"'])

    def test_policy_read_back_and_legacy_rules_endpoint(self):
        text = 'path "ssh/sign/dev" { capabilities = ["update"] }'
        self.ok("PUT", "sys/policy/legacy", {"rules": text})
        read = self.ok("GET", "sys/policy/legacy").json
        self.assertEqual((read["name"], read["rules"]), ("legacy", text))
        self.assertEqual(self.ok("GET", "sys/policies/acl/legacy").json["data"]["policy"], text)


class SshEngineTest(StandinTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(("sys/mounts/ssh", {"type": "ssh"}),
                      ("ssh/config/ca", {"key_type": "ed25519"}))
        cls.ca_key = cls.server.request("GET", "/v1/ssh/public_key").text

    def test_principals_are_trimmed_deduplicated_and_sorted(self):
        self.role("ssh", "team", allowed_users="alice,bob,deploy")
        result = self.sign("ssh", "team", valid_principals=" deploy, bob ,deploy,,alice")
        self.assertEqual(self.certificate(result)["Principals"], ["alice", "bob", "deploy"])

    def test_principal_outside_allowed_users_is_refused(self):
        self.role("ssh", "narrow", allowed_users="alice")
        result = self.sign("ssh", "narrow", valid_principals="alice,eve")
        self.assertEqual((result.status, result.errors),
                         (400, ["eve is not a valid value for valid_principals"]))

    def test_default_user_applies_without_valid_principals(self):
        self.role("ssh", "defaulted", allowed_users="ubuntu", default_user="ubuntu")
        self.assertEqual(self.certificate(self.sign("ssh", "defaulted"))["Principals"],
                         ["ubuntu"])
        self.role("ssh", "no-default", allowed_users="ubuntu")
        result = self.sign("ssh", "no-default")
        self.assertEqual(result.errors, ["empty valid principals not allowed by role"])

    def test_signed_certificate_fields(self):
        self.role("ssh", "plain", allowed_users="*", default_user="alice")
        result = self.sign("ssh", "plain")
        data = result.json["data"]
        self.assertEqual(list(result.json), ENVELOPE_KEYS)
        self.assertEqual((result.json["lease_id"], result.json["lease_duration"]), ("", 0))
        self.assertEqual(result.json["mount_type"], "ssh")
        self.assertTrue(data["signed_key"].startswith("ssh-ed25519-cert-v01@openssh.com "))
        self.assertTrue(data["signed_key"].endswith("\n"))
        self.assertRegex(data["serial_number"], r"^(0|[1-9a-f][0-9a-f]*)$")
        details = self.certificate(result)
        self.assertEqual(format(int(details["Serial"]), "x"), data["serial_number"])
        self.assertIn("user certificate", details["Type"])
        ca_path = os.path.join(self.workdir, "ca.pub")
        with open(ca_path, "w", encoding="utf-8") as handle:
            handle.write(self.ca_key)
        ca_fingerprint = subprocess.run([SSH_KEYGEN, "-l", "-f", ca_path], capture_output=True,
                                        text=True, check=True).stdout.split()[1]
        self.assertIn(ca_fingerprint, details["Signing CA"])

    def test_default_key_id_is_display_name_and_public_key_hash(self):
        self.role("ssh", "keyid", allowed_users="*", default_user="alice")
        # SHA-256 of the wire-format key blob: the base64 field of the authorized_keys line.
        digest = hashlib.sha256(base64.b64decode(self.user_key.split()[1])).hexdigest()
        details = self.certificate(self.sign("ssh", "keyid"))
        self.assertEqual(details["Key ID"], f'"vault-root-{digest}"')
        self.role("ssh", "custom-keyid", allowed_users="*", default_user="alice",
                  key_id_format="{{role_name}}:{{token_display_name}}")
        details = self.certificate(self.sign("ssh", "custom-keyid"))
        self.assertEqual(details["Key ID"], '"custom-keyid:root"')

    def test_ttl_is_clamped_to_role_max_unless_requested(self):
        self.role("ssh", "short", allowed_users="*", default_user="alice", max_ttl="1h")
        details = self.certificate(self.sign("ssh", "short"))
        lifetime = details["valid_before"] - details["valid_after"] - 30
        self.assertAlmostEqual(lifetime, 3600, delta=2)
        result = self.sign("ssh", "short", ttl="2h")
        self.assertEqual((result.status, result.errors),
                         (400, ["ttl is larger than maximum allowed 3600"]))
        details = self.certificate(self.sign("ssh", "short", ttl=600))
        self.assertAlmostEqual(details["valid_before"] - details["valid_after"], 630, delta=2)

    def test_no_ttl_anywhere_gives_the_768_hour_mount_default(self):
        self.role("ssh", "unbounded", allowed_users="*", default_user="alice")
        details = self.certificate(self.sign("ssh", "unbounded"))
        self.assertAlmostEqual(details["valid_before"] - details["valid_after"],
                               DEFAULT_TTL + 30, delta=2)

    def test_mount_max_lease_ttl_bounds_roles_without_max_ttl(self):
        self.ok("POST", "sys/mounts/short-mount",
                {"type": "ssh", "config": {"max_lease_ttl": "2h"}})
        self.ok("POST", "short-mount/config/ca", {"key_type": "ec"})
        self.role("short-mount", "any", allowed_users="*", default_user="alice")
        details = self.certificate(self.sign("short-mount", "any"))
        self.assertAlmostEqual(details["valid_before"] - details["valid_after"], 7230, delta=2)
        self.assertIn("ECDSA", details["Signing CA"])

    def test_not_before_is_backdated(self):
        self.role("ssh", "backdated", allowed_users="*", default_user="alice",
                  not_before_duration="5m")
        now = time.time()
        self.assertAlmostEqual(self.certificate(self.sign("ssh", "backdated"))["valid_after"],
                               now - 300, delta=3)
        self.role("ssh", "default-nbd", allowed_users="*", default_user="alice")
        self.assertAlmostEqual(self.certificate(self.sign("ssh", "default-nbd"))["valid_after"],
                               now - 30, delta=3)

    def test_extensions_defaults_and_refusal(self):
        self.role("ssh", "ext", allowed_users="*", default_user="alice",
                  allowed_extensions="permit-pty,permit-agent-forwarding",
                  default_extensions={"permit-pty": ""})
        self.assertEqual(self.certificate(self.sign("ssh", "ext"))["Extensions"], ["permit-pty"])
        result = self.sign("ssh", "ext", extensions={"permit-X11-forwarding": ""})
        self.assertEqual((result.status, result.errors),
                         (400, ["extensions [permit-X11-forwarding] are not on allowed list"]))
        granted = self.sign("ssh", "ext", extensions={"permit-agent-forwarding": ""})
        self.assertEqual(self.certificate(granted)["Extensions"], ["permit-agent-forwarding"])

    def test_critical_options_defaults_and_refusal(self):
        self.role("ssh", "crit", allowed_users="*", default_user="alice",
                  allowed_critical_options="force-command",
                  default_critical_options={"force-command": "uptime"})
        self.assertEqual(self.certificate(self.sign("ssh", "crit"))["Critical Options"],
                         ["force-command uptime"])
        result = self.sign("ssh", "crit", critical_options={"source-address": "10.0.0.0/8"})
        self.assertEqual(result.errors, ["critical options not on allowed list: [source-address]"])

    def test_allowed_user_key_lengths(self):
        self.role("ssh", "rsa-only", allowed_users="*", default_user="alice",
                  allowed_user_key_lengths={"rsa": [3072, 4096]})
        result = self.sign("ssh", "rsa-only")
        self.assertEqual(result.errors, ["public_key failed to meet the key requirements: "
                                         "key of type ed25519 is not allowed"])
        self.role("ssh", "ed-ok", allowed_users="*", default_user="alice",
                  allowed_user_key_lengths={"ssh-ed25519": 0})
        self.assertEqual(self.sign("ssh", "ed-ok").status, 200)

    def test_unrecognized_parameters_warning(self):
        self.role("ssh", "warn", allowed_users="*", default_user="alice")
        result = self.sign("ssh", "warn", colour="blue", size=3)
        self.assertEqual(result.json["warnings"],
                         ["Endpoint ignored these unrecognized parameters: [colour size]"])

    def test_public_key_parse_errors(self):
        self.role("ssh", "parse", allowed_users="*", default_user="alice")
        missing = self.call("PUT", "ssh/sign/parse", {})
        self.assertEqual(missing.errors, ["missing public_key"])
        result = self.call("PUT", "ssh/sign/parse", {"public_key": " " + self.user_key})
        self.assertEqual(result.errors, ["failed to parse public_key as SSH key: "
                                         "illegal base64 data at input byte 3"])
        unknown = self.call("PUT", "ssh/sign/nope", {"public_key": self.user_key})
        self.assertEqual(unknown.errors, ["Unknown role: nope"])

    def test_host_certificates_follow_allowed_domains(self):
        self.role("ssh", "hosts", allow_user_certificates=False, allow_host_certificates=True,
                  allowed_domains="example.com", allow_subdomains=True)
        details = self.certificate(self.sign("ssh", "hosts", cert_type="host",
                                             valid_principals="web.example.com"))
        self.assertIn("host certificate", details["Type"])
        refused = self.sign("ssh", "hosts", cert_type="host", valid_principals="example.com")
        self.assertEqual(refused.errors, ["example.com is not a valid value for valid_principals"])
        user = self.sign("ssh", "hosts", valid_principals="web.example.com")
        self.assertEqual(user.errors, ["cert_type 'user' is not allowed by role"])

    def test_role_write_validation_and_read_back(self):
        result = self.call("POST", "ssh/roles/invalid", {"key_type": "ca"})
        self.assertEqual(result.errors, ["Either 'allow_user_certificates' or "
                                         "'allow_host_certificates' must be set to 'true'"])
        result = self.call("POST", "ssh/roles/invalid", {"key_type": "ca", "ttl": "2h",
                                                          "max_ttl": "1h",
                                                          "allow_user_certificates": True})
        self.assertEqual(result.errors,
                         ['"ttl" value must be less than "max_ttl" when both are specified'])
        self.role("ssh", "readable", ttl="30m", max_ttl="2h", allowed_users="a")
        data = self.ok("GET", "ssh/roles/readable").json["data"]
        self.assertEqual((data["ttl"], data["max_ttl"], data["not_before_duration"]),
                         (1800, 7200, 30))
        self.assertEqual((data["key_type"], data["algorithm_signer"]), ("ca", "default"))

    def test_public_key_outside_an_ssh_mount_asks_for_a_token(self):
        # public_key is unauthenticated only inside an SSH mount: elsewhere the token check comes first.
        result = self.call("GET", "nowhere/public_key", token=None)
        self.assertEqual((result.status, result.errors), (403, [NO_TOKEN]))

    def test_ca_configuration_errors(self):
        self.ok("POST", "sys/mounts/fresh", {"type": "ssh"})
        self.assertEqual(self.call("GET", "fresh/public_key", token=None).json, {"errors": []})
        unconfigured = self.call("GET", "fresh/config/ca")
        self.assertEqual((unconfigured.status, unconfigured.errors),
                         (400, ["keys haven't been configured yet"]))
        self.role("fresh", "any", allowed_users="*", default_user="alice")
        no_ca = self.sign("fresh", "any")
        self.assertEqual(no_ca.status, 500)
        self.assertIn("error creating signer: no keys configured", no_ca.errors[0])
        both = self.call("POST", "fresh/config/ca",
                         {"generate_signing_key": True, "public_key": self.user_key})
        self.assertEqual(both.errors, ["public_key and private_key must not be set when "
                                       "generate_signing_key is set to true"])
        one = self.call("POST", "fresh/config/ca", {"public_key": self.user_key})
        self.assertEqual(one.errors, ["only one of public_key and private_key set; both must be "
                                      "set to use, or both must be blank to auto-generate"])
        public = self.generate_key("imported-ca")
        with open(os.path.join(self.workdir, "imported-ca"), encoding="utf-8") as handle:
            private = handle.read()
        self.ok("POST", "fresh/config/ca", {"public_key": public, "private_key": private},
                status=(204,))
        self.assertEqual(self.ok("GET", "fresh/config/ca").json["data"]["public_key"], public)
        again = self.call("POST", "fresh/config/ca", {"key_type": "ed25519"})
        self.assertEqual(again.errors,
                         ["keys are already configured; delete them before reconfiguring"])
        self.assertEqual(self.certificate(self.sign("fresh", "any"))["Principals"], ["alice"])

    def test_rsa_ca_signature_follows_algorithm_signer(self):
        self.enable_ssh("rsa-ca", key_type="rsa", key_bits=2048)
        for signer, used in (("default", "rsa-sha2-256"), ("ssh-rsa", "ssh-rsa"),
                             ("rsa-sha2-512", "rsa-sha2-512")):
            self.role("rsa-ca", signer, allowed_users="*", default_user="alice",
                      algorithm_signer=signer)
            details = self.certificate(self.sign("rsa-ca", signer))
            self.assertTrue(details["Signing CA"].startswith("RSA SHA256:"))
            self.assertTrue(details["Signing CA"].endswith(f" (using {used})"), signer)


class FaultsTest(StandinTestCase):
    def setUp(self):
        self.addCleanup(self.admin, "DELETE", "faults")

    def test_sealed(self):
        self.admin("POST", "faults", {"sealed": True})
        health = self.call("GET", "sys/health", token=None)
        self.assertEqual(health.status, 503)
        self.assertTrue(health.json["sealed"])
        self.assertNotIn("cluster_name", health.json)
        self.assertTrue(self.call("GET", "sys/seal-status", token=None).json["sealed"])
        result = self.call("GET", "auth/token/lookup-self")
        self.assertEqual((result.status, result.errors), (503, ["Vault is sealed"]))

    def test_status_once_hits_only_matching_paths_and_runs_out(self):
        self.enable_ssh("ssh")
        self.role("ssh", "dev", allowed_users="*", default_user="alice")
        self.admin("POST", "faults", {"status_once": [503, 503], "path_prefix": "ssh/sign"})
        self.assertEqual(self.sign("ssh", "dev").status, 503)
        self.ok("GET", "auth/token/lookup-self")
        second = self.sign("ssh", "dev")
        self.assertEqual((second.status, second.errors), (503, ["Vault is sealed"]))
        self.assertEqual(self.sign("ssh", "dev").status, 200)

    def test_standby_redirect(self):
        self.admin("POST", "faults", {"standby_redirect": "http://127.0.0.1:8200"})
        result = self.call("GET", "auth/token/lookup-self?x=1")
        self.assertEqual(result.status, 307)
        self.assertEqual(result.headers["Location"],
                         "http://127.0.0.1:8200/v1/auth/token/lookup-self?x=1")
        health = self.call("GET", "sys/health", token=None)
        self.assertEqual((health.status, health.json["standby"]), (429, True))
        self.assertEqual(self.call("GET", "sys/health?standbyok=true", token=None).status, 200)

    def test_rate_limited(self):
        self.admin("POST", "faults", {"rate_limited": True})
        result = self.call("GET", "auth/token/lookup-self")
        expected = 'request path "auth/token/lookup-self": rate limit quota exceeded'
        self.assertEqual((result.status, result.errors), (429, [expected]))
        self.assertEqual(self.call("GET", "sys/health", token=None).status, 200)

    def test_unknown_fault_is_refused(self):
        self.assertEqual(self.admin("POST", "faults", {"meteor": True}).status, 400)

    def test_request_log_records_and_redacts(self):
        self.admin("DELETE", "requests")
        self.call("POST", "sys/auth/up", {"type": "userpass"})
        self.call("POST", "auth/up/users/dave", {"password": "hunter2"})
        self.call("POST", "auth/up/login/dave", {"password": "hunter2"}, token=None)
        entries = self.admin("GET", "requests").json
        self.assertEqual([e["path"] for e in entries],
                         ["/v1/sys/auth/up", "/v1/auth/up/users/dave", "/v1/auth/up/login/dave"])
        create, login = entries[1], entries[2]
        self.assertEqual((create["method"], create["status"], create["has_token"]),
                         ("POST", 204, True))
        self.assertEqual(create["headers"]["x-vault-token"], "<redacted>")
        self.assertEqual(create["body"], {"password": "<redacted>"})
        self.assertEqual((login["status"], login["has_token"]), (200, False))
        self.assertEqual(self.admin("DELETE", "requests").status, 204)
        self.assertEqual(self.admin("GET", "requests").json, [])


class TokenErrorsTest(StandinTestCase):
    """The 403 bodies of Vault 1.17+ and of Vault 1.16 and older (legacy_token_errors)."""

    def dead_tokens(self):
        revoked = self.create_token(ttl="10m")
        self.ok("POST", "auth/token/revoke-self", token=revoked)
        expired = self.create_token(ttl="60s")
        return {"unknown": "hvs.not-a-token", "revoked": revoked, "expired": expired}

    def test_dead_tokens_get_invalid_token_by_default(self):
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        tokens = self.dead_tokens()
        self.admin("POST", "time_offset", {"seconds": 120})
        for kind, token in tokens.items():
            result = self.call("GET", "auth/token/lookup-self", token=token)
            self.assertEqual((result.status, result.errors), (403, [INVALID_TOKEN]), kind)

    def test_legacy_token_errors_send_the_missing_token_body(self):
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        tokens = self.dead_tokens()
        self.admin("POST", "time_offset", {"seconds": 120})
        self.set_faults(legacy_token_errors=True)
        missing = self.call("GET", "auth/token/lookup-self", token=None)
        for kind, token in tokens.items():
            result = self.call("PUT", "ssh/sign/any", {"public_key": "x"}, token=token)
            self.assertEqual((result.status, result.errors), (403, [NO_TOKEN]), kind)
            self.assertEqual(result.json, missing.json)
        # A policy denial keeps its multierror form.
        self.write_policy("nothing", 'path "nothing" { capabilities = ["read"] }')
        denied = self.call("GET", "sys/mounts", token=self.create_token(policies=["nothing"]))
        self.assertEqual((denied.status, denied.errors), (403, [PERMISSION_DENIED]))


class RetryAfterTest(StandinTestCase):
    def test_rate_limited_sends_vaults_quota_headers(self):
        self.set_faults(rate_limited=True)
        result = self.call("GET", "auth/token/lookup-self")
        self.assertEqual(result.status, 429)
        self.assertEqual((result.headers["Retry-After"], result.headers["X-RateLimit-Reset"],
                          result.headers["X-RateLimit-Remaining"],
                          result.headers["X-RateLimit-Limit"]), ("0", "0", "0", "1"))

    def test_retry_after_is_sent_verbatim_on_made_up_retryable_replies(self):
        for value in ("99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "-1"):
            self.set_faults(retry_after=value, rate_limited=True)
            self.assertEqual(self.call("GET", "sys/mounts").headers["Retry-After"], value)
            self.admin("DELETE", "faults")
            self.set_faults(retry_after=value, status_once=[412, 503, 502, 400])
            for status in (412, 503, 502):
                result = self.call("GET", "sys/mounts")
                self.assertEqual((result.status, result.headers["Retry-After"]), (status, value))
            refused = self.call("GET", "sys/mounts")
            self.assertEqual(refused.status, 400)
            self.assertNotIn("Retry-After", refused.headers)
            served = self.call("GET", "sys/mounts")
            self.assertEqual(served.status, 200)
            self.assertNotIn("Retry-After", served.headers)
            self.admin("DELETE", "faults")

    def test_retry_after_must_be_a_string(self):
        self.assertEqual(self.admin("POST", "faults", {"retry_after": 5}).status, 400)


class ClockOffsetTest(StandinTestCase):
    """/_standin/time_offset moves every clock a client can see."""

    OFFSET = 3 * 86400

    def setUp(self):
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        self.assertEqual(self.admin("POST", "time_offset", {"seconds": self.OFFSET}).status, 200)

    def test_date_header_of_every_response(self):
        expected = time.time() + self.OFFSET
        for result in (self.call("GET", "sys/health", token=None),
                       self.call("GET", "no-such-mount/x"),
                       self.admin("GET", "faults")):
            date = email.utils.parsedate_to_datetime(result.headers["Date"]).timestamp()
            self.assertAlmostEqual(date, expected, delta=3)

    def test_health_server_time(self):
        health = self.call("GET", "sys/health", token=None).json
        self.assertAlmostEqual(health["server_time_utc"], time.time() + self.OFFSET, delta=3)

    def test_certificate_validity(self):
        self.enable_ssh("ssh")
        self.role("ssh", "dev", allowed_users="*", default_user="alice", ttl="1h")
        details = self.certificate(self.sign("ssh", "dev"))
        now = time.time() + self.OFFSET
        self.assertAlmostEqual(details["valid_after"], now - 30, delta=3)
        self.assertAlmostEqual(details["valid_before"], now + 3600, delta=3)


class IdentityTest(StandinTestCase):
    """Entities for userpass users and the identity templates of SSH roles."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(
            ("sys/auth/userpass", {"type": "userpass"}),
            ("sys/auth/corp", {"type": "userpass"}),
            ("sys/policies/acl/signer",
             {"policy": 'path "ssh/sign/*" { capabilities = ["update"] }'}),
            ("auth/userpass/users/alice", {"password": "pw", "token_policies": "signer"}),
            ("auth/corp/users/alice", {"password": "pw", "token_policies": "signer"}),
            ("sys/mounts/ssh", {"type": "ssh"}),
            ("ssh/config/ca", {"key_type": "ed25519"}))
        listing = cls.server.request("GET", "/v1/sys/auth", token=ROOT_TOKEN).json["data"]
        cls.accessor = listing["userpass/"]["accessor"]
        cls.alias_name = "{{identity.entity.aliases.%s.name}}" % cls.accessor

    def alice(self, mount="userpass"):
        return self.login("alice", "pw", mount).json["auth"]

    def test_auth_methods_are_listed_with_their_accessors(self):
        listing = self.ok("GET", "sys/auth").json["data"]
        self.assertRegex(listing["userpass/"]["accessor"], r"^auth_userpass_[0-9a-f]{8}$")
        self.assertRegex(listing["token/"]["accessor"], r"^auth_token_[0-9a-f]{8}$")

    def test_one_entity_per_user_and_mount(self):
        first, second, other = self.alice(), self.alice(), self.alice("corp")
        uuid.UUID(first["entity_id"])
        self.assertEqual(first["entity_id"], second["entity_id"])
        self.assertNotEqual(first["entity_id"], other["entity_id"])
        lookup = self.ok("GET", "auth/token/lookup-self", token=first["client_token"]).json
        self.assertEqual(lookup["data"]["entity_id"], first["entity_id"])
        # Tokens from the token store (made with the root token) have none.
        self.assertEqual(self.ok("POST", "auth/token/create", {}).json["auth"]["entity_id"], "")

    def test_entity_read_shows_the_alias(self):
        entity_id = self.alice()["entity_id"]
        entity = self.ok("GET", f"identity/entity/id/{entity_id}").json["data"]
        self.assertRegex(entity["name"], r"^entity_[0-9a-f]{8}$")
        alias = entity["aliases"][0]
        self.assertEqual((alias["name"], alias["mount_accessor"], alias["mount_path"],
                          alias["mount_type"], alias["canonical_id"]),
                         ("alice", self.accessor, "auth/userpass/", "userpass", entity_id))
        by_name = self.ok("GET", f"identity/entity/name/{entity['name']}").json["data"]
        self.assertEqual(by_name["id"], entity_id)
        self.assertEqual(self.call("GET", "identity/entity/id/no-such-id").status, 404)

    def test_templated_allowed_and_default_user(self):
        self.role("ssh", "own-name", allowed_users=self.alias_name, allowed_users_template=True,
                  default_user=self.alias_name, default_user_template=True)
        token = self.alice()["client_token"]
        self.assertEqual(self.certificate(self.sign("ssh", "own-name", token))["Principals"],
                         ["alice"])
        refused = self.sign("ssh", "own-name", token, valid_principals="bob")
        self.assertEqual((refused.status, refused.errors),
                         (400, ["bob is not a valid value for valid_principals"]))

    def test_without_an_entity_templates_stay_literal(self):
        self.role("ssh", "literal", allowed_users=self.alias_name, allowed_users_template=True,
                  default_user=self.alias_name, default_user_template=True)
        for token in (ROOT_TOKEN, self.create_token(policies=["signer"])):
            principals = self.certificate(self.sign("ssh", "literal", token))["Principals"]
            self.assertEqual(principals, [self.alias_name])

    def test_entity_name_id_and_metadata(self):
        auth = self.alice()
        entity_id = auth["entity_id"]
        self.ok("POST", f"identity/entity/id/{entity_id}", {"metadata": {"unix": "al1ce"}},
                status=(204,))
        name = self.ok("GET", f"identity/entity/id/{entity_id}").json["data"]["name"]
        self.role("ssh", "entity", allowed_users_template=True,
                  allowed_users="{{identity.entity.name}},{{identity.entity.id}},"
                                "{{identity.entity.metadata.unix}}")
        token = auth["client_token"]
        result = self.sign("ssh", "entity", token, valid_principals=f"{name},{entity_id},al1ce")
        self.assertEqual(self.certificate(result)["Principals"],
                         sorted([name, entity_id, "al1ce"]))

    def test_templated_default_extensions(self):
        self.role("ssh", "ext", allowed_users="*", default_user="alice",
                  default_extensions_template=True,
                  default_extensions={"login@example.com": self.alias_name, "permit-pty": ""})
        mine = self.sign("ssh", "ext", self.alice()["client_token"])
        self.assertIsNone(mine.json["warnings"])
        # The value is an SSH string: length 5, then "alice".
        self.assertEqual(self.certificate(mine)["Extensions"],
                         ["login@example.com UNKNOWN OPTION: 00000005616c696365 (len 9)",
                          "permit-pty"])
        anonymous = self.sign("ssh", "ext")
        self.assertEqual(self.certificate(anonymous)["Extensions"], ["permit-pty"])
        self.assertEqual(anonymous.json["warnings"], [
            "default_extension templating enabled with at least one extension requiring "
            "identity templating. However, this request lacked identity entity information, "
            "causing one or more extensions to be skipped from the generated certificate."])

    def test_template_errors(self):
        missing = "{{identity.entity.aliases.auth_userpass_00000000.name}}"
        self.role("ssh", "bad-allowed", allowed_users=missing, allowed_users_template=True)
        self.role("ssh", "bad-default", allowed_users="*", default_user=missing,
                  default_user_template=True)
        self.role("ssh", "groups", allowed_users="{{identity.groups.names.ops.name}}",
                  allowed_users_template=True)
        token = self.alice()["client_token"]
        allowed = self.sign("ssh", "bad-allowed", token, valid_principals="alice")
        self.assertEqual((allowed.status, allowed.errors),
                         (400, [f"template '{missing}' could not be rendered -> alias not found"]))
        default = self.sign("ssh", "bad-default", token)
        self.assertEqual((default.status, default.errors), (500, [
            f"1 error occurred:\n\t* template '{missing}' could not be rendered -> "
            "alias not found\n\n"]))
        groups = self.sign("ssh", "groups", token, valid_principals="alice")
        self.assertEqual(groups.errors, [
            "template '{{identity.groups.names.ops.name}}' could not be rendered -> string "
            "contains groups template directives but no groups were provided"])

    def test_wildcards_in_rendered_values_are_refused(self):
        entity_id = self.alice("corp")["entity_id"]
        self.ok("POST", f"identity/entity/id/{entity_id}", {"metadata": {"unix": "*"}},
                status=(204,))
        template = "{{identity.entity.metadata.unix}}"
        self.role("ssh", "glob", allowed_users=template, allowed_users_template=True)
        result = self.sign("ssh", "glob", self.alice("corp")["client_token"],
                           valid_principals="x")
        self.assertEqual(result.errors, [f"template '{template}' could not be rendered -> "
                                         "globs and wildcards are not allowed in template result"])


class BatchAndPeriodicTokenTest(StandinTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(
            ("sys/policies/acl/creator",
             {"policy": 'path "auth/token/create" { capabilities = ["update"] }'}),
            ("sys/auth/userpass", {"type": "userpass"}),
            ("auth/userpass/users/bea", {"password": "pw", "token_type": "batch",
                                         "token_ttl": "1h"}),
            ("auth/userpass/users/pat", {"password": "pw", "token_period": "20m"}))

    def test_batch_token_from_token_create(self):
        auth = self.ok("POST", "auth/token/create", {"type": "batch", "policies": ["creator"],
                                                     "ttl": "1h"}).json["auth"]
        self.assertRegex(auth["client_token"], r"^hvb\.[A-Za-z0-9_-]{100,}$")
        self.assertEqual((auth["accessor"], auth["renewable"], auth["token_type"],
                          auth["lease_duration"]), ("", False, "batch", 3600))
        token = auth["client_token"]
        data = self.ok("GET", "auth/token/lookup-self", token=token).json["data"]
        self.assertEqual((data["type"], data["renewable"], data["accessor"]),
                         ("batch", False, ""))
        self.assertAlmostEqual(data["ttl"], 3600, delta=2)
        renew = self.call("POST", "auth/token/renew-self", token=token)
        self.assertEqual((renew.status, renew.errors), (400, ["batch tokens cannot be renewed"]))
        revoke = self.call("POST", "auth/token/revoke-self", token=token)
        self.assertEqual((revoke.status, revoke.errors), (400, ["batch tokens cannot be revoked"]))
        self.ok("GET", "auth/token/lookup-self", token=token)
        child = self.call("POST", "auth/token/create", {}, token=token)
        self.assertEqual(child.errors, ["batch tokens cannot create more tokens"])

    def test_batch_token_refusals(self):
        for params, reason in (({"num_uses": 3}, "num_uses"),
                               ({"explicit_max_ttl": "1h"}, "explicit_max_ttl"),
                               ({"period": "1h"}, "period")):
            result = self.call("POST", "auth/token/create", {"type": "batch", **params})
            self.assertEqual((result.status, result.errors),
                             (400, [f'batch tokens cannot have "{reason}" set']))
        root = self.call("POST", "auth/token/create", {"type": "batch"})
        self.assertEqual(root.errors, ["batch tokens cannot be root tokens"])
        bad = self.call("POST", "auth/token/create", {"type": "bulk", "policies": ["x"]})
        self.assertEqual(bad.errors, ["invalid 'token_type' value"])

    def test_batch_token_dies_with_its_parent(self):
        parent = self.create_token(policies=["creator"], ttl="1h")
        child = self.ok("POST", "auth/token/create", {"type": "batch"},
                        token=parent).json["auth"]
        self.assertFalse(child["orphan"])
        self.ok("GET", "auth/token/lookup-self", token=child["client_token"])
        self.ok("POST", "auth/token/revoke-self", token=parent)
        gone = self.call("GET", "auth/token/lookup-self", token=child["client_token"])
        self.assertEqual((gone.status, gone.errors), (403, [INVALID_TOKEN]))

    def test_userpass_batch_login(self):
        auth = self.login("bea", "pw").json["auth"]
        self.assertTrue(auth["client_token"].startswith("hvb."))
        self.assertEqual((auth["token_type"], auth["renewable"], auth["accessor"],
                          auth["lease_duration"]), ("batch", False, "", 3600))
        self.assertEqual(self.ok("GET", "auth/userpass/users/bea").json["data"]["token_type"],
                         "batch")
        conflict = self.call("POST", "auth/userpass/users/bea", {"token_num_uses": 2})
        self.assertEqual(conflict.errors, ["'token_type' cannot be 'batch' or 'default_batch' "
                                           "when set to generate tokens with limited use count"])

    def test_periodic_token_renews_to_its_period(self):
        token = self.create_token(period="30m", ttl="5m")
        data = self.ok("GET", "auth/token/lookup-self", token=token).json["data"]
        self.assertEqual(data["period"], 1800)
        self.assertAlmostEqual(data["ttl"], 1800, delta=2)
        renewed = self.ok("POST", "auth/token/renew-self", {"increment": "5h"}, token=token)
        self.assertEqual(renewed.json["auth"]["lease_duration"], 1800)
        creator = self.create_token(policies=["creator"])
        refused = self.call("POST", "auth/token/create", {"period": "1h"}, token=creator)
        self.assertEqual(refused.errors,
                         ["root or sudo privileges required to create periodic token"])

    def test_userpass_token_period(self):
        auth = self.login("pat", "pw").json["auth"]
        self.assertEqual((auth["lease_duration"], auth["renewable"]), (1200, True))
        renewed = self.ok("POST", "auth/token/renew-self", {"increment": "9h"},
                          token=auth["client_token"]).json["auth"]
        self.assertEqual(renewed["lease_duration"], 1200)


class BrokenVaultTest(StandinTestCase):
    """Faults that make the stand-in a Vault, or a proxy, that breaks the HTTP exchange."""

    def wait_for_request(self, path):
        """The request log entry of the first request to path, once it has arrived."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for entry in self.admin("GET", "requests").json:
                if entry["path"] == path:
                    return entry
            time.sleep(0.02)
        self.fail(f"no request to {path} arrived")

    def test_hang_holds_matching_requests_until_cleared(self):
        self.admin("DELETE", "requests")
        self.set_faults(hang=True, path_prefix="auth/token/lookup-self")
        with self.assertRaises(TimeoutError):
            self.call_with_timeout(0.3)
        results = []
        waiting = threading.Thread(target=lambda: results.append(self.call_with_timeout(10)))
        waiting.start()
        self.addCleanup(waiting.join)
        entry = self.wait_for_request("/v1/auth/token/lookup-self")
        self.assertIsNone(entry["status"])
        # Other requests, and other connections, are served meanwhile.
        self.ok("GET", "sys/mounts")
        self.assertEqual(self.call("GET", "sys/health", token=None).status, 200)
        self.assertEqual(results, [])
        self.admin("DELETE", "faults")
        waiting.join(10)
        self.assertEqual(results[0].status, 200)

    def call_with_timeout(self, seconds):
        return self.server.request("GET", "/v1/auth/token/lookup-self", token=ROOT_TOKEN,
                                   timeout=seconds)

    def test_cut_after_headers(self):
        self.set_faults(cut_after_headers=True, path_prefix="auth/token/revoke-self")
        token = self.create_token(ttl="10m")
        with self.server.open("POST", "/v1/auth/token/revoke-self", token=token) as (_c, reply):
            self.assertEqual(reply.status, 200)
            self.assertGreater(int(reply.headers["Content-Length"]), 0)
            with self.assertRaises(http.client.IncompleteRead) as raised:
                reply.read()
        self.assertEqual(raised.exception.partial, b"")
        # Vault did the work: the token is gone although the reply was lost.
        self.assertEqual(self.call("GET", "auth/token/lookup-self", token=token).status, 403)

    def test_drop_mid_body(self):
        self.set_faults(drop_mid_body=True)
        with self.server.open("GET", "/v1/auth/token/lookup-self", token=ROOT_TOKEN) as (_c, r):
            length = int(r.headers["Content-Length"])
            with self.assertRaises(http.client.IncompleteRead) as raised:
                r.read()
        self.assertEqual(len(raised.exception.partial), length // 2)
        self.assertTrue(raised.exception.partial.startswith(b'{"request_id":"'))

    def test_error_reply_echoes_the_request_body(self):
        self.set_faults(error_reply={"status": 400, "text": "bad request: {{request_body}}"})
        result = self.call("POST", "auth/token/create", {"password": "hunter2"})
        self.assertEqual((result.status, result.errors),
                         (400, ['bad request: {"password": "hunter2"}']))

    def test_error_reply_repeated_to_900_kb(self):
        self.set_faults(error_reply={"status": 503, "text": "overloaded ", "repeat": 90000},
                        retry_after="7", path_prefix="ssh/")
        result = self.call("PUT", "ssh/sign/dev", {"public_key": "x"})
        self.assertEqual((result.status, result.headers["Retry-After"]), (503, "7"))
        self.assertEqual(result.errors, ["overloaded " * 90000])
        self.assertEqual(self.call("GET", "sys/mounts").status, 200)

    def test_error_reply_is_checked(self):
        for value in ({"status": 99, "text": "x"}, {"text": "x"}, {"status": 400},
                      {"status": 400, "text": "x", "repeat": 0}, {"status": 400, "text": "x",
                                                                  "colour": "red"}):
            self.assertEqual(self.admin("POST", "faults", {"error_reply": value}).status, 400)

    def test_huge_body_is_streamed(self):
        size = 100 * 1024 * 1024
        self.set_faults(huge_body_bytes=size, path_prefix="auth/token/lookup-self")
        before = self.server.resident_kib()
        received = bytearray()
        with self.server.open("GET", "/v1/auth/token/lookup-self", token=ROOT_TOKEN) as (_c, r):
            self.assertEqual((r.status, int(r.headers["Content-Length"])), (200, size))
            total = 0
            while chunk := r.read(1 << 20):
                total += len(chunk)
                if len(received) < 2 or chunk.strip():
                    received += chunk.strip() if received else chunk.rstrip()
        self.assertEqual(total, size)
        self.assertLess(self.server.resident_kib() - before, 30 * 1024)
        # Whitespace padding: the body is still Vault's envelope.
        self.assertEqual(json.loads(received)["data"]["id"], ROOT_TOKEN)

    def test_malformed_json(self):
        token = self.create_token()
        self.set_faults(malformed_json=True)
        result = self.call("POST", "auth/token/revoke-self", token=token)
        self.assertEqual((result.status, result.headers["Content-Type"]),
                         (200, "application/json"))
        self.assertIsNone(result.json)
        self.assertTrue(result.text.startswith("{"))


class ReplyContentFaultsTest(StandinTestCase):
    """Faults that change what a well-formed reply says."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(
            ("sys/mounts/ssh", {"type": "ssh"}),
            ("ssh/config/ca", {"key_type": "ed25519"}),
            ("ssh/roles/dev", {"key_type": "ca", "allow_user_certificates": True,
                               "allowed_users": "*", "default_user": "alice", "ttl": "1h"}),
            ("sys/auth/userpass", {"type": "userpass"}),
            ("auth/userpass/users/alice", {"password": "pw"}))

    def test_cert_validity_forever(self):
        self.set_faults(cert_validity="forever")
        details = self.certificate(self.sign("ssh", "dev"))
        self.assertEqual(details["valid_before"], FOREVER)
        self.assertAlmostEqual(details["valid_after"], time.time() - 30, delta=3)

    def test_cert_validity_expired(self):
        self.set_faults(cert_validity="expired", path_prefix="ssh/sign")
        details = self.certificate(self.sign("ssh", "dev"))
        self.assertAlmostEqual(details["valid_before"], time.time() - 3600, delta=3)
        self.assertAlmostEqual(details["valid_before"] - details["valid_after"], 3630, delta=1)
        self.assertEqual(self.admin("POST", "faults", {"cert_validity": "soon"}).status, 400)

    def test_token_ttl_is_reported_not_applied(self):
        huge = 9223372036854775807
        token = self.create_token(ttl="10m")
        self.set_faults(token_ttl=huge)
        pattern = re.compile(r'"(ttl|lease_duration)":9223372036854775807[,}]')
        lookup = self.call("GET", "auth/token/lookup-self", token=token)
        self.assertEqual(lookup.json["data"]["ttl"], huge)
        self.assertRegex(lookup.text, pattern)
        login = self.login("alice", "pw")
        self.assertEqual(login.json["auth"]["lease_duration"], huge)
        renewed = self.ok("POST", "auth/token/renew-self", {"increment": "20m"}, token=token)
        self.assertEqual(renewed.json["auth"]["lease_duration"], huge)
        self.admin("DELETE", "faults")
        real = self.ok("GET", "auth/token/lookup-self", token=token).json["data"]["ttl"]
        self.assertAlmostEqual(real, 1200, delta=2)

    def test_renew_204_leaves_the_lease_alone(self):
        token = self.create_token(ttl="10m")
        self.set_faults(renew_204=True)
        result = self.call("POST", "auth/token/renew-self", {"increment": "1h"}, token=token)
        self.assertEqual((result.status, result.text), (204, ""))
        self.admin("DELETE", "faults")
        ttl = self.ok("GET", "auth/token/lookup-self", token=token).json["data"]["ttl"]
        self.assertLessEqual(ttl, 600)

    def test_sign_warnings(self):
        self.set_faults(sign_warnings=["role is deprecated", "CA rotates soon"])
        result = self.sign("ssh", "dev", colour="blue")
        self.assertEqual(result.status, 200)
        self.assertEqual(result.json["warnings"], [
            "role is deprecated", "CA rotates soon",
            "Endpoint ignored these unrecognized parameters: [colour]"])
        self.assertIsNone(self.ok("GET", "auth/token/lookup-self").json["warnings"])


class PersistenceTest(unittest.TestCase):
    def test_state_dir_survives_a_restart(self):
        workdir = tempfile.mkdtemp(prefix="vault-standin-state-")
        self.addCleanup(shutil.rmtree, workdir, ignore_errors=True)
        args = ("--state-dir", os.path.join(workdir, "state"), "--bootstrap")
        first = Standin(workdir, args)
        self.addCleanup(first.stop)
        first.start()
        root = {"X-Vault-Token": ROOT_TOKEN}
        ca_key = first.request("GET", "/v1/ssh/public_key").text
        create = first.request("POST", "/v1/auth/token/create", {"ttl": "1h"}, headers=root)
        token = create.json["auth"]["client_token"]
        first.stop()
        second = Standin(workdir, args)
        self.addCleanup(second.stop)
        second.start()
        self.assertEqual(second.request("GET", "/v1/ssh/public_key").text, ca_key)
        self.assertEqual(second.request("GET", "/v1/auth/token/lookup-self", token=token).status,
                         200)



sys.path.insert(0, HERE)
from standin import totp  # noqa: E402  (the stand-in's own TOTP, checked against RFC 6238 below)

REDIRECT_URI = "http://localhost:8250/oidc/callback"


class OidcTest(StandinTestCase):
    """The OIDC flow of the jwt auth method, with the stand-in as its identity provider."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(
            ("sys/auth/oidc", {"type": "oidc"}),
            ("sys/auth/bare", {"type": "oidc"}),
            ("auth/oidc/config", {"oidc_discovery_url": "https://idp.example.com", "oidc_client_id": "c",
                                  "oidc_client_secret": "s", "default_role": "dev"}),
            ("auth/oidc/role/dev", {"user_claim": "email", "allowed_redirect_uris": [REDIRECT_URI],
                                    "token_policies": "ssh-users", "token_ttl": "1h"}))

    def auth_url(self, role="dev", redirect_uri=REDIRECT_URI, nonce="nonce-1", mount="oidc"):
        return self.call("POST", f"auth/{mount}/oidc/auth_url",
                         {"role": role, "redirect_uri": redirect_uri, "client_nonce": nonce}, token=None)

    def sign_in(self, url):
        """What the provider's page redirects to: the callback's query as a dict."""
        parts = urlsplit(url)
        result = self.server.request("GET", parts.path + "?" + parts.query)
        self.assertEqual(result.status, 302, result.text)
        location = result.headers["Location"]
        self.assertTrue(location.startswith(REDIRECT_URI + "?"), location)
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def callback(self, **query):
        return self.call("GET", "auth/oidc/oidc/callback?" + urlencode(query), token=None)

    def test_the_flow_gives_a_token_named_after_the_user_claim(self):
        result = self.auth_url()
        self.assertEqual(result.status, 200, result.text)
        url = result.json["data"]["auth_url"]
        self.assertIn("/_standin/oidc/authorize?", url)
        query = self.sign_in(url)
        result = self.callback(state=query["state"], code=query["code"], id_token="", client_nonce="nonce-1")
        self.assertEqual(result.status, 200, result.text)
        auth = result.json["auth"]
        self.assertEqual(auth["policies"], ["default", "ssh-users"])
        self.assertEqual(auth["metadata"], {"role": "dev"})
        self.assertEqual(auth["lease_duration"], 3600)
        data = self.ok("GET", "auth/token/lookup-self", token=auth["client_token"]).json["data"]
        self.assertEqual(data["display_name"], "oidc-alice@example.com")
        # The state is single-use; the request log keeps the code out.
        again = self.callback(state=query["state"], code=query["code"], client_nonce="nonce-1")
        self.assertEqual((again.status, again.errors), (400, ["Vault login failed. Expired or missing OAuth state."]))
        logged = [r for r in self.admin("GET", "requests").json if r["path"] == "/v1/auth/oidc/oidc/callback"]
        self.assertNotIn(query["code"], json.dumps(logged))

    def test_auth_url_errors_as_vault_gives_them(self):
        self.assertEqual(self.auth_url(role="nosuch").errors, ['role "nosuch" could not be found'])
        self.assertEqual(self.auth_url(redirect_uri="").errors, ["missing redirect_uri"])
        self.assertEqual(self.auth_url(role="", mount="bare").errors, ["could not load configuration"])
        self.assertEqual(self.auth_url(role="DEV").status, 200)  # role names are lower-cased
        refused = self.auth_url(redirect_uri="http://localhost:9999/oidc/callback")
        self.assertEqual((refused.status, refused.json["data"]), (200, {"auth_url": ""}))
        self.assertEqual(self.auth_url(role="").status, 200)  # the default_role

    def test_callback_errors(self):
        query = self.sign_in(self.auth_url().json["data"]["auth_url"])
        self.assertEqual(self.callback(state=query["state"], code=query["code"], client_nonce="other").errors,
                         ["invalid client_nonce"])
        query = self.sign_in(self.auth_url().json["data"]["auth_url"])
        bad_code = self.callback(state=query["state"], code="made-up", client_nonce="nonce-1")
        self.assertEqual(bad_code.status, 400)
        self.assertTrue(bad_code.errors[0].startswith("Vault login failed. Error exchanging oidc code: "))
        query = self.sign_in(self.auth_url().json["data"]["auth_url"])
        self.assertEqual(self.callback(state=query["state"], client_nonce="nonce-1").errors,
                         ["Vault login failed. No code or id_token received."])

    def test_the_state_ttl_fault_and_a_refusing_provider(self):
        url = self.auth_url().json["data"]["auth_url"]
        query = self.sign_in(url)
        self.set_faults(oidc_state_ttl_seconds=0)
        self.assertEqual(self.callback(state=query["state"], code=query["code"], client_nonce="nonce-1").errors,
                         ["Vault login failed. Expired or missing OAuth state."])
        self.assertEqual(self.admin("POST", "oidc_user", {"error": "access_denied"}).status, 204)
        self.addCleanup(self.admin, "POST", "oidc_user", {"error": None})
        parts = urlsplit(self.auth_url().json["data"]["auth_url"])
        location = self.server.request("GET", parts.path + "?" + parts.query).headers["Location"]
        self.assertIn("error=access_denied", location)


BIND_FAILED = "ldap operation failed: failed to bind as user"
MFA_WARNING = ("A login request was issued that is subject to MFA validation. Please make sure to "
               "validate the login by sending another request to mfa/validate endpoint.")


def rfc6238(secret, at, digits=6, period=30):
    """The test's own RFC 6238 (HMAC-SHA1), independent of the stand-in's."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, int(at // period).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return str((int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


class LdapTest(StandinTestCase):
    """The ldap auth method; its directory is set through the admin API."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(
            ("sys/auth/ldap", {"type": "ldap"}),
            ("sys/auth/bare", {"type": "ldap"}),
            ("auth/ldap/config", {"url": "ldap://127.0.0.1", "userdn": "ou=users,dc=example,dc=com",
                                  "groupdn": "ou=groups,dc=example,dc=com", "bindpass": "directory-admin",
                                  "token_policies": "base", "token_ttl": "2h"}),
            ("auth/ldap/groups/devs", {"policies": "ssh-users"}),
            ("auth/ldap/groups/local", {"policies": "local-group"}),
            ("auth/ldap/users/alice", {"groups": "local", "policies": "alice-own"}))
        for user, password, groups in (("alice", "pw", ["Devs"]), ("loner", "pw", [])):
            result = cls.server.request("POST", "/_standin/ldap_directory",
                                        {"mount": "ldap", "username": user, "password": password,
                                         "groups": groups})
            assert result.status == 204, result.text

    def test_login_gets_policies_from_config_groups_and_user(self):
        result = self.login("%20Alice%20", "pw", mount="ldap")  # trimmed and lower-cased, as Vault does
        self.assertEqual(result.status, 200, result.text)
        auth = result.json["auth"]
        self.assertEqual(auth["policies"], ["alice-own", "base", "default", "local-group", "ssh-users"])
        self.assertEqual(auth["metadata"], {"username": "alice"})
        self.assertEqual(auth["lease_duration"], 7200)
        self.assertIsNone(result.json["warnings"])
        data = self.ok("GET", "auth/token/lookup-self", token=auth["client_token"]).json["data"]
        self.assertEqual((data["display_name"], data["path"]), ("ldap-alice", "auth/ldap/login/ Alice "))

    def test_a_user_without_directory_groups_gets_vaults_warning(self):
        result = self.login("loner", "pw", mount="ldap")
        self.assertEqual(result.status, 200, result.text)
        self.assertEqual(result.json["warnings"], ['no LDAP groups found in groupDN "ou=groups,dc=example,dc=com"; '
                                                   "only policies from locally-defined groups available"])

    def test_failed_binds_and_empty_passwords(self):
        for user, password in (("alice", "wrong"), ("nobody", "pw")):
            result = self.login(user, password, mount="ldap")
            self.assertEqual((result.status, result.errors), (400, [BIND_FAILED]))
        empty = self.login("alice", "", mount="ldap")
        self.assertEqual((empty.status, empty.errors),
                         (400, ["password cannot be of zero length when passwordless binds are being denied"]))
        unconfigured = self.login("alice", "pw", mount="bare")
        self.assertEqual((unconfigured.status, unconfigured.errors), (400, ["auth method not configured"]))

    def test_lockout_after_five_failed_binds(self):
        self.server.request("POST", "/_standin/ldap_directory", {"mount": "ldap", "username": "carol", "password": "right"})
        for _ in range(5):
            self.assertEqual(self.login("carol", "wrong", mount="ldap").status, 400)
        locked = self.login("carol", "right", mount="ldap")
        self.assertEqual((locked.status, locked.errors), (403, ["permission denied"]))

    def test_config_users_and_groups_read_back_without_the_bind_password(self):
        config = self.ok("GET", "auth/ldap/config").json["data"]
        self.assertEqual((config["url"], config["userattr"], config["token_policies"]), ("ldap://127.0.0.1", "cn", ["base"]))
        self.assertNotIn("bindpass", config)
        self.assertEqual(self.ok("GET", "auth/ldap/users/alice").json["data"], {"groups": "local", "policies": ["alice-own"]})
        self.assertEqual(self.ok("GET", "auth/ldap/groups/devs").json["data"], {"policies": ["ssh-users"]})
        self.assertEqual(self.call("LIST", "auth/ldap/groups").json["data"]["keys"], ["devs", "local"])

    def test_directory_admin_refuses_a_mount_that_is_not_ldap(self):
        result = self.admin("POST", "ldap_directory", {"mount": "nowhere", "username": "x", "password": "y"})
        self.assertEqual((result.status, result.errors), (400, ["no ldap auth method at auth/nowhere/"]))

    def test_renewal_stops_when_the_groups_policies_change(self):
        token = self.login("alice", "pw", mount="ldap").json["auth"]["client_token"]
        self.assertEqual(self.call("POST", "auth/token/renew-self", {}, token=token).status, 200)
        self.ok("POST", "auth/ldap/groups/devs", {"policies": "ssh-users,more"})
        self.addCleanup(self.ok, "POST", "auth/ldap/groups/devs", {"policies": "ssh-users"})
        refused = self.call("POST", "auth/token/renew-self", {}, token=token)
        self.assertEqual(refused.status, 500)
        self.assertIn("policies have changed, not renewing", refused.errors[0])


class LoginMfaTest(StandinTestCase):
    """Login MFA: TOTP and okta (push) methods, login enforcements, sys/mfa/validate."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(("sys/auth/userpass", {"type": "userpass"}))
        cls.totp_id = cls.server.request("POST", "/v1/identity/mfa/method/totp",
                                         {"issuer": "Vault", "method_name": "my_totp"},
                                         token=ROOT_TOKEN).json["data"]["method_id"]
        cls.okta_id = cls.server.request("POST", "/v1/identity/mfa/method/okta",
                                         {"org_name": "example", "api_token": "okta-secret"},
                                         token=ROOT_TOKEN).json["data"]["method_id"]

    def user(self, methods, secret=True):
        """A fresh user whose logins need `methods`; (name, entity ID, TOTP secret or None)."""
        name = "u" + uuid.uuid4().hex[:8]
        self.ok("POST", f"auth/userpass/users/{name}", {"password": "pw"})
        entity = self.login(name, "pw").json["auth"]["entity_id"]
        self.ok("POST", f"identity/mfa/login-enforcement/e-{name}",
                {"mfa_method_ids": methods, "identity_entity_ids": [entity]})
        key = None
        if secret and self.totp_id in methods:
            url = self.ok("POST", "identity/mfa/method/totp/admin-generate",
                          {"method_id": self.totp_id, "entity_id": entity}).json["data"]["url"]
            key = re.search(r"secret=([A-Z2-7]+)", url).group(1)
        return name, entity, key

    def requirement(self, name):
        result = self.login(name, "pw")
        self.assertEqual(result.status, 200, result.text)
        return result.json

    def validate(self, request_id, payload):
        return self.call("POST", "sys/mfa/validate", {"mfa_request_id": request_id, "mfa_payload": payload}, token=None)

    def test_totp_matches_rfc_6238(self):
        secret = base64.b32encode(b"12345678901234567890").decode()
        for at, code in ((59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924")):
            self.assertEqual(totp.hotp(base64.b32decode(secret), int(at // 30), 8, "SHA1"), code)
            self.assertEqual(rfc6238(secret, at, digits=8), code)
            self.assertTrue(totp.valid(code, secret, at, 30, 1, 8, "SHA1"))
        self.assertFalse(totp.valid("94287082", secret, 59 + 90, 30, 1, 8, "SHA1"))

    def test_method_create_read_and_validation(self):
        method = self.ok("GET", f"identity/mfa/method/totp/{self.totp_id}").json["data"]
        self.assertEqual({k: method[k] for k in ("type", "name", "issuer", "period", "digits", "skew", "key_size",
                                                  "algorithm", "max_validation_attempts")},
                         {"type": "totp", "name": "my_totp", "issuer": "Vault", "period": 30, "digits": 6, "skew": 1,
                          "key_size": 20, "algorithm": "SHA1", "max_validation_attempts": 5})
        okta = self.ok("GET", f"identity/mfa/method/{self.okta_id}").json["data"]
        self.assertNotIn("api_token", okta)
        for body, error in (({}, "issuer must be set"), ({"issuer": "V", "digits": 7}, "digits can only be 6 or 8"),
                            ({"issuer": "V", "algorithm": "MD5"}, "unrecognized algorithm")):
            result = self.call("POST", "identity/mfa/method/totp", body)
            self.assertEqual((result.status, result.errors), (400, [error]))
        keys = self.call("LIST", "identity/mfa/method").json["data"]["keys"]
        self.assertEqual(sorted(keys), sorted([self.totp_id, self.okta_id]))

    def test_admin_generate_gives_an_otpauth_url_once(self):
        name, entity, _key = self.user([self.totp_id], secret=False)
        body = {"method_id": self.totp_id, "entity_id": entity}
        url = self.ok("POST", "identity/mfa/method/totp/admin-generate", body).json["data"]["url"]
        self.assertRegex(url, rf"^otpauth://totp/Vault:{entity}\?algorithm=SHA1&digits=6&issuer=Vault&period=30"
                              r"&secret=[A-Z2-7]{32}$")
        again = self.ok("POST", "identity/mfa/method/totp/admin-generate", body).json
        self.assertEqual(again["warnings"], ['Entity already has a secret for MFA method "my_totp"'])
        bad = self.call("POST", "identity/mfa/method/totp/admin-generate", {"method_id": self.totp_id, "entity_id": "x"})
        self.assertEqual((bad.status, bad.errors), (400, ["invalid entity ID"]))

    def test_enforcement_checks(self):
        accessor = self.ok("GET", "sys/auth").json["data"]["userpass/"]["accessor"]
        for body, error in (
                ({}, "missing method ids"),
                ({"mfa_method_ids": [str(uuid.uuid4())], "auth_method_types": ["userpass"]},
                 "one of the provided method ids doesn't exist"),
                ({"mfa_method_ids": [self.totp_id]},
                 "One of auth_method_accessors, auth_method_types, identity_group_ids, identity_entity_ids must be specified"),
                ({"mfa_method_ids": [self.totp_id], "auth_method_accessors": ["auth_nothing"]},
                 "one of the auth method accessors provided is invalid")):
            result = self.call("POST", "identity/mfa/login-enforcement/checks", body)
            self.assertEqual((result.status, result.errors), (400, [error]))
        self.ok("POST", "identity/mfa/login-enforcement/checks", {"mfa_method_ids": [self.totp_id],
                                                                  "auth_method_accessors": [accessor]})
        self.addCleanup(self.ok, "DELETE", "identity/mfa/login-enforcement/checks")
        shown = self.ok("GET", "identity/mfa/login-enforcement/checks").json["data"]
        self.assertEqual((shown["mfa_method_ids"], shown["auth_method_accessors"]), ([self.totp_id], [accessor]))
        in_use = self.call("DELETE", f"identity/mfa/method/totp/{self.totp_id}")
        self.assertEqual(in_use.status, 500)
        self.assertIn("methodID is still used by an enforcement configuration", in_use.errors[0])

    def test_login_answers_with_vaults_mfa_requirement(self):
        name, _entity, _key = self.user([self.totp_id, self.okta_id])
        body = self.requirement(name)
        self.assertEqual(body["warnings"], [MFA_WARNING])
        auth = body["auth"]
        request_id = auth["mfa_requirement"]["mfa_request_id"]
        uuid.UUID(request_id)
        self.assertEqual(auth, {
            "client_token": "", "accessor": "", "policies": None, "metadata": None, "lease_duration": 0,
            "renewable": False, "entity_id": "", "token_type": "default", "orphan": False, "num_uses": 0,
            "mfa_requirement": {"mfa_request_id": request_id, "mfa_constraints": {f"e-{name}": {"any": [
                {"type": "totp", "id": self.totp_id, "uses_passcode": True, "name": "my_totp"},
                {"type": "okta", "id": self.okta_id}]}}}})
        self.assertEqual(list(auth), ["client_token", "accessor", "policies", "metadata", "lease_duration",
                                      "renewable", "entity_id", "token_type", "orphan", "mfa_requirement", "num_uses"])

    def test_the_right_passcode_gives_the_token_once(self):
        name, entity, key = self.user([self.totp_id])
        request_id = self.requirement(name)["auth"]["mfa_requirement"]["mfa_request_id"]
        code = rfc6238(key, time.time())
        result = self.validate(request_id, {self.totp_id: [code]})
        self.assertEqual(result.status, 200, result.text)
        auth = result.json["auth"]
        self.assertTrue(auth["client_token"].startswith("hvs."))
        self.assertEqual((auth["entity_id"], auth["policies"], auth["mfa_requirement"]), (entity, ["default"], None))
        data = self.ok("GET", "auth/token/lookup-self", token=auth["client_token"]).json["data"]
        self.assertEqual(data["display_name"], f"userpass-{name}")
        self.assertEqual(self.validate(request_id, {self.totp_id: [code]}).errors, ["invalid request ID"])
        # A code is good once: the next login cannot use it again.
        second = self.requirement(name)["auth"]["mfa_requirement"]["mfa_request_id"]
        reused = self.validate(second, {"my_totp": [code]})  # by name as well as by ID
        self.assertEqual(reused.status, 403)
        self.assertEqual(reused.errors, [f"failed to satisfy enforcement e-{name}. error: 2 errors occurred:\n\t* failed "
                                         f"to validate TOTP passcode\n\t* login MFA validation failed for methodID: "
                                         f"[{self.totp_id}]\n\n"])

    def test_a_wrong_passcode_keeps_the_login_for_another_try_until_the_attempts_run_out(self):
        name, _entity, key = self.user([self.totp_id])
        request_id = self.requirement(name)["auth"]["mfa_requirement"]["mfa_request_id"]
        good = rfc6238(key, time.time())
        wrong = next(c for c in ("000000", "111111", "222222") if c != good and c != rfc6238(key, time.time() + 30)
                     and c != rfc6238(key, time.time() - 30))
        for _ in range(5):
            result = self.validate(request_id, {self.totp_id: [wrong]})
            self.assertEqual(result.status, 403)
            self.assertIn("failed to validate TOTP passcode", result.errors[0])
        limited = self.validate(request_id, {self.totp_id: [good]})
        self.assertEqual(limited.status, 403)
        self.assertIn("maximum TOTP validation attempts 6 exceeded the allowed attempts 5. Please try again in 30s seconds",
                      limited.errors[0])

    def test_validate_errors(self):
        name, _entity, _key = self.user([self.totp_id])
        request_id = self.requirement(name)["auth"]["mfa_requirement"]["mfa_request_id"]
        missing = self.call("POST", "sys/mfa/validate", {"mfa_payload": {}}, token=None)
        self.assertEqual((missing.status, missing.errors), (400, ["missing request ID"]))
        bad_payload = self.validate(request_id, {self.totp_id: "123456"})
        self.assertEqual((bad_payload.status, bad_payload.errors), (400, ["invalid mfa payload"]))
        unknown = self.validate(str(uuid.uuid4()), {self.totp_id: ["123456"]})
        self.assertEqual((unknown.status, unknown.errors), (400, ["invalid request ID"]))
        self.admin("POST", "time_offset", {"seconds": 301})
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        expired = self.validate(request_id, {self.totp_id: ["123456"]})
        self.assertEqual((expired.status, expired.errors), (400, ["invalid request ID"]))

    def push(self, name, answer):
        """Validates a push login of `name` while the test answers the push through the admin API."""
        request_id = self.requirement(name)["auth"]["mfa_requirement"]["mfa_request_id"]
        result = {}
        waiter = threading.Thread(target=lambda: result.update(r=self.validate(request_id, {self.okta_id: [""]})))
        waiter.start()
        deadline = time.monotonic() + 10
        pushes = []
        while not pushes and time.monotonic() < deadline:
            pushes = [p for p in self.admin("GET", "mfa_pushes").json if p["user"] == name]
            time.sleep(0.02)
        self.assertEqual(len(pushes), 1)
        self.assertEqual((pushes[0]["method_id"], pushes[0]["method_type"]), (self.okta_id, "okta"))
        self.ok("GET", "sys/health", status=(200,))  # Vault keeps serving while a push waits
        answered = self.admin("POST", "mfa_pushes", {"id": pushes[0]["id"], "answer": answer})
        self.assertEqual(answered.json, {"answered": 1})
        waiter.join(10)
        return result["r"]

    def test_an_approved_push_gives_the_token(self):
        name, _entity, _key = self.user([self.okta_id])
        result = self.push(name, "approve")
        self.assertEqual(result.status, 200, result.text)
        self.assertTrue(result.json["auth"]["client_token"].startswith("hvs."))

    def test_a_rejected_push_is_403_with_oktas_reason(self):
        name, _entity, _key = self.user([self.okta_id])
        result = self.push(name, "reject")
        self.assertEqual(result.status, 403)
        self.assertIn(f"failed to satisfy enforcement e-{name}. error: 2 errors occurred:\n\t* push verification "
                      "explicitly rejected", result.errors[0])

    def test_the_request_log_hides_the_payload_and_the_request_id(self):
        name, _entity, _key = self.user([self.totp_id])
        request_id = self.requirement(name)["auth"]["mfa_requirement"]["mfa_request_id"]
        self.admin("DELETE", "requests")
        self.validate(request_id, {self.totp_id: ["123456"]})
        entry = self.admin("GET", "requests").json[0]
        self.assertEqual(entry["body"], {"mfa_request_id": "<redacted>", "mfa_payload": "<redacted>"})


if __name__ == "__main__":
    unittest.main()
