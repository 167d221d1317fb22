"""Tests of the stand-in's machine and cloud logins: approle, response wrapping,
aws (IAM, through the STS look-alike), the IMDSv2 look-alike, and cert over HTTPS.

Run from this folder with  python3 -m unittest test_machine_auth -v
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlencode

from standin import totp
from test_vault_standin import Result, StandinTestCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from tls_fixture import TestPki  # noqa: E402

WRAP_INVALID = "wrapping token is not valid or does not exist"


class ApproleTest(StandinTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(("sys/auth/approle", {"type": "approle"}),
                      ("sys/policy/machines", {"policy": 'path "ssh/*" { capabilities = ["read"] }'}),
                      ("auth/approle/role/builder", {"token_policies": "machines", "token_ttl": "1h",
                                                     "token_max_ttl": "2h"}))

    def role_id(self, role="builder"):
        return self.ok("GET", f"auth/approle/role/{role}/role-id").json["data"]["role_id"]

    def secret_id(self, role="builder", **params):
        return self.ok("POST", f"auth/approle/role/{role}/secret-id", params).json["data"]

    def login(self, role_id, secret_id):
        return self.call("POST", "auth/approle/login", {"role_id": role_id, "secret_id": secret_id},
                         token=None)

    def test_login_issues_a_token_with_the_role_name(self):
        generated = self.secret_id()
        self.assertEqual(set(generated), {"secret_id", "secret_id_accessor", "secret_id_num_uses",
                                          "secret_id_ttl"})
        result = self.login(self.role_id(), generated["secret_id"])
        self.assertEqual(result.status, 200, result.text)
        auth = result.json["auth"]
        self.assertEqual(auth["metadata"], {"role_name": "builder"})
        self.assertEqual(auth["policies"], ["default", "machines"])
        self.assertEqual(auth["lease_duration"], 3600)
        lookup = self.ok("GET", "auth/token/lookup-self", token=auth["client_token"]).json["data"]
        self.assertEqual(lookup["display_name"], "approle")
        self.assertEqual(lookup["path"], "auth/approle/login")
        renewed = self.ok("POST", "auth/token/renew-self", {"increment": "3h"},
                          token=auth["client_token"]).json
        self.assertAlmostEqual(renewed["auth"]["lease_duration"], 7200, delta=2)

    def test_wrong_credentials_are_one_error(self):
        good = self.secret_id()["secret_id"]
        for role_id, secret_id in ((self.role_id(), "not-a-secret-id"), ("no-such-role", good)):
            result = self.login(role_id, secret_id)
            self.assertEqual((result.status, result.errors), (400, ["invalid role or secret ID"]))
        missing = self.login(self.role_id(), "")
        self.assertEqual((missing.status, missing.errors), (400, ["missing secret_id"]))
        no_role = self.login("", good)
        self.assertEqual((no_role.status, no_role.errors), (400, ["missing role_id"]))

    def test_secret_id_num_uses_runs_out(self):
        secret_id = self.secret_id(num_uses=2)["secret_id"]
        role_id = self.role_id()
        self.assertEqual(self.login(role_id, secret_id).status, 200)
        self.assertEqual(self.login(role_id, secret_id).status, 200)
        third = self.login(role_id, secret_id)
        self.assertEqual((third.status, third.errors), (400, ["invalid role or secret ID"]))

    def test_secret_id_ttl_expires_on_the_standin_clock(self):
        self.ok("POST", "auth/approle/role/short", {"secret_id_ttl": "60s", "token_policies": "machines"})
        generated = self.secret_id("short", ttl="10m")
        self.assertEqual(generated["secret_id_ttl"], 60, "the role's TTL caps the request's")
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        self.admin("POST", "time_offset", {"seconds": 61})
        result = self.login(self.role_id("short"), generated["secret_id"])
        self.assertEqual((result.status, result.errors), (400, ["invalid role or secret ID"]))

    def test_custom_role_id_and_a_deleted_role_stops_renewal(self):
        self.ok("POST", "auth/approle/role/temp", {"token_ttl": "1h"})
        self.ok("POST", "auth/approle/role/temp/role-id", {"role_id": "temp-machine"})
        self.assertEqual(self.role_id("temp"), "temp-machine")
        token = self.login("temp-machine", self.secret_id("temp")["secret_id"]).json["auth"]["client_token"]
        self.ok("DELETE", "auth/approle/role/temp")
        result = self.call("POST", "auth/token/renew-self", {}, token=token)
        self.assertEqual(result.status, 500)
        self.assertIn('role "temp" does not exist during renewal', result.errors[0])

    def test_wrong_secret_ids_lock_the_role_id(self):
        self.ok("POST", "auth/approle/role/locked", {"token_ttl": "1h"})
        role_id, good = self.role_id("locked"), self.secret_id("locked")["secret_id"]
        for _ in range(5):
            self.assertEqual(self.login(role_id, "wrong").status, 400)
        locked = self.login(role_id, good)
        self.assertEqual((locked.status, locked.errors), (403, ["permission denied"]))
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        self.admin("POST", "time_offset", {"seconds": 15 * 60})
        self.assertEqual(self.login(role_id, good).status, 200)

    def test_secret_id_for_a_missing_role(self):
        result = self.call("POST", "auth/approle/role/nobody/secret-id", {})
        self.assertEqual((result.status, result.errors), (400, ['role "nobody" does not exist']))


class ResponseWrappingTest(StandinTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(("sys/auth/approle", {"type": "approle"}),
                      ("auth/approle/role/builder", {"token_ttl": "1h"}))

    def wrapped_secret_id(self, ttl="120s"):
        result = self.call("POST", "auth/approle/role/builder/secret-id", {},
                           headers={"X-Vault-Wrap-TTL": ttl})
        self.assertEqual(result.status, 200, result.text)
        return result.json

    def test_wrapped_response_has_only_wrap_info(self):
        body = self.wrapped_secret_id()
        self.assertIsNone(body["data"])
        self.assertEqual(body["request_id"], "")
        info = body["wrap_info"]
        self.assertEqual(info["ttl"], 120)
        self.assertEqual(info["creation_path"], "auth/approle/role/builder/secret-id")
        self.assertTrue(info["token"].startswith("hvs."))
        lookup = self.call("POST", "sys/wrapping/lookup", {"token": info["token"]}, token=None)
        self.assertEqual(lookup.status, 200, lookup.text)
        self.assertEqual(lookup.json["data"]["creation_ttl"], 120)
        unwrapped = self.call("POST", "sys/wrapping/unwrap", None, token=info["token"])
        self.assertEqual(unwrapped.status, 200, unwrapped.text)
        data = unwrapped.json["data"]
        self.assertEqual(info["wrapped_accessor"], data["secret_id_accessor"])
        role_id = self.ok("GET", "auth/approle/role/builder/role-id").json["data"]["role_id"]
        login = self.call("POST", "auth/approle/login",
                          {"role_id": role_id, "secret_id": data["secret_id"]}, token=None)
        self.assertEqual(login.status, 200, login.text)

    def test_unwrap_is_single_use(self):
        token = self.wrapped_secret_id()["wrap_info"]["token"]
        self.assertEqual(self.call("POST", "sys/wrapping/unwrap", {"token": token}).status, 200)
        again = self.call("POST", "sys/wrapping/unwrap", None, token=token)
        self.assertEqual((again.status, again.errors), (400, [WRAP_INVALID]))
        in_body = self.call("POST", "sys/wrapping/unwrap", {"token": token})
        self.assertEqual((in_body.status, in_body.errors), (400, [WRAP_INVALID]))

    def test_wrapping_token_expires(self):
        token = self.wrapped_secret_id("30s")["wrap_info"]["token"]
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        self.admin("POST", "time_offset", {"seconds": 31})
        result = self.call("POST", "sys/wrapping/unwrap", {"token": token})
        self.assertEqual((result.status, result.errors), (400, [WRAP_INVALID]))
        lookup = self.call("POST", "sys/wrapping/lookup", {"token": token}, token=None)
        self.assertEqual((lookup.status, lookup.errors), (400, [WRAP_INVALID]))

    def test_wrapped_login(self):
        role_id = self.ok("GET", "auth/approle/role/builder/role-id").json["data"]["role_id"]
        secret_id = self.ok("POST", "auth/approle/role/builder/secret-id").json["data"]["secret_id"]
        wrapped = self.server.request("POST", "/v1/auth/approle/login",
                                      {"role_id": role_id, "secret_id": secret_id},
                                      headers={"X-Vault-Wrap-TTL": "60"})
        self.assertIsNone(wrapped.json["auth"])
        unwrapped = self.call("POST", "sys/wrapping/unwrap", None,
                              token=wrapped.json["wrap_info"]["token"]).json
        self.assertEqual(unwrapped["auth"]["accessor"], wrapped.json["wrap_info"]["wrapped_accessor"])
        self.ok("GET", "auth/token/lookup-self", token=unwrapped["auth"]["client_token"])

    def test_bad_wrap_ttl(self):
        result = self.call("POST", "auth/approle/role/builder/secret-id", {},
                           headers={"X-Vault-Wrap-TTL": "soon"})
        self.assertEqual(result.status, 400)


# ---------------------------------------------------------------------- AWS

ACCOUNT = "123456789012"
SERVER_ID = "vault.example.com"
STS_HOST = "sts.amazonaws.com"
CALLER_IDENTITY = "Action=GetCallerIdentity&Version=2011-06-15"


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign_sts(creds, body, headers=None, when=None, region="us-east-1", host=STS_HOST,
             signed_extra=True, token_signed=True, method="POST", query=""):
    """A SigV4-signed STS request to "/", as the AWS SDKs build it: the headers to send.

    query must already be in canonical form (sorted, percent-encoded)."""
    stamp = (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "Host": host, "X-Amz-Date": stamp, **(headers or {})}
    if creds.get("session_token") and token_signed:
        headers["X-Amz-Security-Token"] = creds["session_token"]
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    if not signed_extra:
        signed = {k: v for k, v in signed.items() if k in ("host", "x-amz-date", "content-type")}
    names = sorted(signed)
    creq = "\n".join([method, "/", query, "".join(f"{n}:{signed[n]}\n" for n in names),
                      ";".join(names), hashlib.sha256(body.encode()).hexdigest()])
    scope = f"{stamp[:8]}/{region}/sts/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
    key = _hmac(("AWS4" + creds["secret_access_key"]).encode(), stamp[:8])
    for part in (region, "sts", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={creds['access_key_id']}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    if creds.get("session_token") and not token_signed:
        headers["X-Amz-Security-Token"] = creds["session_token"]
    return headers


def read_port(path):
    deadline = time.monotonic() + 15
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no port file {path}")
        time.sleep(0.02)
    with open(path, encoding="utf-8") as handle:
        return int(handle.read())


class AwsTestCase(StandinTestCase):
    """A stand-in that also serves the STS and IMDS look-alikes."""

    @classmethod
    def setUpClass(cls):
        ports = tempfile.mkdtemp(prefix="standin-ports-")
        cls.addClassCleanup(shutil.rmtree, ports, ignore_errors=True)
        cls.sts_port_file = os.path.join(ports, "sts")
        cls.imds_port_file = os.path.join(ports, "imds")
        cls.server_args = ("--sts-port-file", cls.sts_port_file,
                           "--imds-port-file", cls.imds_port_file)
        super().setUpClass()
        cls.sts_port = read_port(cls.sts_port_file)
        cls.imds_port = read_port(cls.imds_port_file)

    def sts_user(self, name, **extra):
        result = self.admin("POST", "sts_users", {"arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
                                                  **extra})
        self.assertEqual(result.status, 200, result.text)
        return result.json

    def sts_role(self, name, **extra):
        result = self.admin("POST", "sts_roles", {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
                                                  **extra})
        self.assertEqual(result.status, 200, result.text)
        return result.json

    def sts_call(self, creds, params, **sign_options):
        body = urlencode({**params, "Version": "2011-06-15"})
        headers = sign_sts(creds, body, **sign_options)
        connection = http.client.HTTPConnection("127.0.0.1", self.sts_port, timeout=30)
        try:
            connection.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body.encode())
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def temporary(self, xml_text):
        ns = "{https://sts.amazonaws.com/doc/2011-06-15/}"
        creds = ElementTree.fromstring(xml_text).find(f".//{ns}Credentials")
        return {"access_key_id": creds.find(ns + "AccessKeyId").text,
                "secret_access_key": creds.find(ns + "SecretAccessKey").text,
                "session_token": creds.find(ns + "SessionToken").text,
                "expiration": creds.find(ns + "Expiration").text}


def login_body(creds, role, server_id=SERVER_ID, body=CALLER_IDENTITY, header_form="json",
               **sign_options):
    extra = {"X-Vault-AWS-IAM-Server-ID": server_id} if server_id else {}
    headers = sign_sts(creds, body, extra, **sign_options)
    headers.pop("Host")
    if header_form == "json":
        encoded = base64.b64encode(json.dumps({k: [v] for k, v in headers.items()}).encode())
        header_value = encoded.decode()
    elif header_form == "object":
        header_value = headers
    elif header_form == "lower-case":
        header_value = {name.lower(): value for name, value in headers.items()}
    else:
        header_value = base64.b64encode("".join(f"{k}: {v}\r\n" for k, v in headers.items())
                                        .encode()).decode()
    return {"role": role, "iam_http_request_method": "POST",
            "iam_request_url": base64.b64encode(f"https://{STS_HOST}/".encode()).decode(),
            "iam_request_body": base64.b64encode(body.encode()).decode(),
            "iam_request_headers": header_value}


class AwsLoginTest(AwsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.configure(
            ("sys/auth/aws", {"type": "aws"}),
            ("auth/aws/config/client", {"sts_endpoint": f"http://127.0.0.1:{cls.sts_port}",
                                        "iam_server_id_header_value": SERVER_ID}),
            ("sys/policy/machines", {"policy": 'path "ssh/*" { capabilities = ["read"] }'}),
            ("auth/aws/role/builders", {
                "auth_type": "iam", "resolve_aws_unique_ids": False, "token_ttl": "30m",
                "token_policies": "machines",
                "bound_iam_principal_arn": [f"arn:aws:iam::{ACCOUNT}:user/ci-*",
                                            f"arn:aws:iam::{ACCOUNT}:role/deployer"]}))

    def login(self, body):
        return self.call("POST", "auth/aws/login", body, token=None)

    def test_login_with_a_long_term_user(self):
        user = self.sts_user("ci-runner")
        self.admin("DELETE", "sts_requests")
        result = self.login(login_body(user, "builders"))
        self.assertEqual(result.status, 200, result.text)
        auth = result.json["auth"]
        self.assertEqual(auth["metadata"], {
            "client_arn": f"arn:aws:iam::{ACCOUNT}:user/ci-runner",
            "canonical_arn": f"arn:aws:iam::{ACCOUNT}:user/ci-runner",
            "client_user_id": user["user_id"], "auth_type": "iam", "inferred_entity_type": "",
            "inferred_entity_id": "", "inferred_aws_region": "", "account_id": ACCOUNT,
            "role_id": self.ok("GET", "auth/aws/role/builders").json["data"]["role_id"]})
        self.assertEqual(auth["policies"], ["default", "machines"])
        self.assertEqual(auth["lease_duration"], 1800)
        lookup = self.ok("GET", "auth/token/lookup-self", token=auth["client_token"]).json["data"]
        self.assertEqual(lookup["display_name"], "aws-ci-runner")
        calls = self.admin("GET", "sts_requests").json
        self.assertEqual([(c["action"], c["status"], c["access_key_id"]) for c in calls],
                         [("GetCallerIdentity", 200, user["access_key_id"])])
        self.ok("POST", "auth/token/renew-self", {}, token=auth["client_token"])

    def test_header_forms_vault_accepts(self):
        user = self.sts_user("ci-forms")
        for form in ("object", "lines", "lower-case"):
            with self.subTest(form=form):
                result = self.login(login_body(user, "builders", header_form=form))
                self.assertEqual(result.status, 200, result.text)

    def test_assumed_role_with_mfa(self):
        secret = totp.new_secret(20)
        user = self.sts_user("alice", mfa_serial=f"arn:aws:iam::{ACCOUNT}:mfa/alice",
                             totp_secret=secret)
        self.sts_role("deployer", trusted=[f"arn:aws:iam::{ACCOUNT}:user/alice"], mfa_required=True,
                      max_session_duration=7200)
        params = {"Action": "AssumeRole", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
                  "RoleSessionName": "alice-laptop"}
        status, text = self.sts_call(user, params)
        self.assertEqual(status, 403, text)
        self.assertIn("<Code>AccessDenied</Code>", text)
        code = totp.hotp(base64.b32decode(secret + "=" * (-len(secret) % 8)),
                         int(time.time() // 30), 6, "SHA1")
        wrong = "%06d" % ((int(code) + 1) % 10 ** 6)
        status, text = self.sts_call(user, {**params, "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice",
                                            "TokenCode": wrong})
        self.assertEqual(status, 403, text)
        self.assertIn("MultiFactorAuthentication failed with invalid MFA one time pass code.", text)
        status, text = self.sts_call(user, {**params, "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice",
                                            "TokenCode": code, "DurationSeconds": "7200"})
        self.assertEqual(status, 200, text)
        self.assertIn('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">', text)
        creds = self.temporary(text)
        self.assertTrue(creds["access_key_id"].startswith("ASIA"))
        result = self.login(login_body(creds, ""))
        self.assertEqual(result.status, 400, "no role named after the IAM role")
        self.assertEqual(result.errors, ["entry for role deployer not found"])
        result = self.login(login_body(creds, "builders"))
        self.assertEqual(result.status, 200, result.text)
        meta = result.json["auth"]["metadata"]
        self.assertEqual(meta["client_arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/alice-laptop")
        self.assertEqual(meta["canonical_arn"], f"arn:aws:iam::{ACCOUNT}:role/deployer")
        token = result.json["auth"]["client_token"]
        self.assertEqual(self.ok("GET", "auth/token/lookup-self", token=token).json["data"]["display_name"],
                         "aws-deployer")
        mfa_calls = [c["mfa"] for c in self.admin("GET", "sts_requests").json if c["action"] == "AssumeRole"]
        self.assertIn(True, mfa_calls)
        too_long = self.sts_call(user, {**params, "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice",
                                        "TokenCode": code, "DurationSeconds": "7201"})
        self.assertEqual(too_long[0], 400)
        self.assertIn("MaxSessionDuration", too_long[1])

    def test_server_id_header_checks(self):
        user = self.sts_user("ci-header")
        prefix = "error validating X-Vault-AWS-IAM-Server-ID header: "
        for body, error in (
                (login_body(user, "builders", server_id=None), 'missing header "X-Vault-AWS-IAM-Server-ID"'),
                (login_body(user, "builders", server_id="other.example.com"),
                 f'expected "{SERVER_ID}" but got "other.example.com"'),
                (login_body(user, "builders", signed_extra=False), "vault header wasn't signed")):
            result = self.login(body)
            self.assertEqual((result.status, result.errors), (400, [prefix + error]))

    def test_roles_must_bind_something(self):
        result = self.call("POST", "auth/aws/role/open", {"resolve_aws_unique_ids": False})
        self.assertEqual((result.status, result.errors),
                         (400, ["at least one bound parameter should be specified on the role"]))
        exact = self.call("POST", "auth/aws/role/exact",
                          {"bound_iam_principal_arn": f"arn:aws:iam::{ACCOUNT}:user/x"})
        self.assertEqual(exact.status, 400, "unique IDs cannot be resolved without IAM")
        self.assertIn("resolve_aws_unique_ids=false", exact.errors[0])

    def test_wrong_bound_arn(self):
        user = self.sts_user("someone-else")
        result = self.login(login_body(user, "builders"))
        self.assertEqual(result.status, 400)
        self.assertEqual(result.errors, [f'IAM Principal "arn:aws:iam::{ACCOUNT}:user/someone-else" '
                                         'does not belong to the role "builders"'])

    def test_sts_refusal_is_passed_through(self):
        user = self.sts_user("ci-wrong-secret")
        body = login_body({**user, "secret_access_key": "x" * 40}, "builders")
        result = self.login(body)
        self.assertEqual(result.status, 400)
        self.assertTrue(result.errors[0].startswith(
            "error making upstream request: received error code 403 from STS: <ErrorResponse "
            'xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'), result.errors[0])
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", result.errors[0])

    def test_expired_temporary_credentials(self):
        user = self.sts_user("ci-session")
        status, text = self.sts_call(user, {"Action": "GetSessionToken", "DurationSeconds": "900"})
        self.assertEqual(status, 200, text)
        creds = self.temporary(text)
        self.assertEqual(self.login(login_body(creds, "builders")).status, 200)
        self.addCleanup(self.admin, "POST", "time_offset", {"seconds": 0})
        self.admin("POST", "time_offset", {"seconds": 901})
        later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=901)
        result = self.login(login_body(creds, "builders", when=later))
        self.assertEqual(result.status, 400)
        self.assertIn("<Code>ExpiredToken</Code>", result.errors[0])

    def test_refused_requests(self):
        user = self.sts_user("ci-refused")
        for body, error in (
                ({**login_body(user, "builders"), "iam_http_request_method": "GET"},
                 "invalid iam_http_request_method; currently only 'POST' is supported"),
                ({**login_body(user, "builders"), "iam_request_url": "%%%"},
                 "failed to base64 decode iam_request_url"),
                ({"role": "builders", "iam_http_request_method": "POST"},
                 "supplied some of the auth values for the iam auth type but not all"),
                ({"role": "builders"}, "didn't supply required authentication values"),
                (login_body(user, "builders", body="Action=GetSessionToken&Version=2011-06-15"),
                 "error validating iam_request_body: the action must be GetCallerIdentity")):
            with self.subTest(error=error):
                result = self.login(body)
                self.assertEqual((result.status, result.errors), (400, [error]))


class StsLookalikeTest(AwsTestCase):
    def test_tampered_body_fails_the_signature(self):
        user = self.sts_user("tamper")
        body = CALLER_IDENTITY
        headers = sign_sts(user, body)
        connection = http.client.HTTPConnection("127.0.0.1", self.sts_port, timeout=30)
        tampered = body + "&Extra=1"
        connection.request("POST", "/", body=tampered, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        self.assertEqual(response.status, 403, text)
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", text)
        self.assertIn("<Type>Sender</Type>", text)

    def test_caller_identity_and_errors(self):
        user = self.sts_user("bob")
        status, text = self.sts_call(user, {"Action": "GetCallerIdentity"})
        self.assertEqual(status, 200, text)
        self.assertIn(f"<Arn>arn:aws:iam::{ACCOUNT}:user/bob</Arn>", text)
        self.assertIn("<ResponseMetadata>", text)
        stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
        status, text = self.sts_call(user, {"Action": "GetCallerIdentity"}, when=stale)
        self.assertEqual(status, 403)
        self.assertIn("Signature expired", text)
        status, text = self.sts_call({**user, "access_key_id": "AKIAUNKNOWNUNKNOWN00"},
                                     {"Action": "GetCallerIdentity"})
        self.assertEqual(status, 403)
        self.assertIn("<Code>InvalidClientTokenId</Code>", text)
        status, text = self.sts_call(user, {"Action": "GetSessionToken", "DurationSeconds": "129601"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>ValidationError</Code>", text)

    def test_query_string_request(self):
        user = self.sts_user("erin")
        query = urlencode(sorted({"Action": "GetCallerIdentity", "Version": "2011-06-15"}.items()))
        headers = sign_sts(user, "", method="GET", query=query)
        connection = http.client.HTTPConnection("127.0.0.1", self.sts_port, timeout=30)
        try:
            connection.request("GET", "/?" + query, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        self.assertEqual(response.status, 200, text)
        self.assertIn("<GetCallerIdentityResponse", text)

    def test_session_token_signed_or_not(self):
        user = self.sts_user("carol")
        status, text = self.sts_call(user, {"Action": "GetSessionToken"})
        creds = self.temporary(text)
        for signed in (True, False):
            status, text = self.sts_call(creds, {"Action": "GetCallerIdentity"}, token_signed=signed)
            self.assertEqual(status, 200, text)
        status, text = self.sts_call({**creds, "session_token": None}, {"Action": "GetCallerIdentity"})
        self.assertEqual(status, 403)
        self.assertIn("<Code>InvalidClientTokenId</Code>", text)

    def test_mfa_session_credentials_may_assume_an_mfa_role(self):
        user = self.sts_user("dave", mfa_serial=f"arn:aws:iam::{ACCOUNT}:mfa/dave", mfa_code="424242")
        role = self.sts_role("guarded", trusted=[user["arn"]], mfa_required=True)
        assume = {"Action": "AssumeRole", "RoleArn": role["arn"], "RoleSessionName": "s"}
        for mfa, expected in (({}, 403), ({"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/dave",
                                            "TokenCode": "424242"}, 200)):
            status, text = self.sts_call(user, {"Action": "GetSessionToken", **mfa})
            self.assertEqual(status, 200, text)
            status, text = self.sts_call(self.temporary(text), assume)
            self.assertEqual(status, expected, text)

    def test_imdsv2_credentials_are_accepted_by_sts(self):
        role = self.sts_role("instance-role")
        self.assertEqual(self.admin("POST", "imds", {"role_arn": role["arn"]}).status, 204)
        connection = http.client.HTTPConnection("127.0.0.1", self.imds_port, timeout=30)
        try:
            connection.request("GET", "/latest/meta-data/iam/security-credentials/")
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 401, "IMDSv2 needs a token")
            connection.request("PUT", "/latest/api/token",
                               headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
            token = connection.getresponse().read().decode()
            connection.request("GET", "/latest/meta-data/iam/security-credentials/",
                               headers={"X-aws-ec2-metadata-token": token})
            name = connection.getresponse().read().decode()
            self.assertEqual(name, "instance-role")
            connection.request("GET", "/latest/meta-data/iam/security-credentials/" + name,
                               headers={"X-aws-ec2-metadata-token": token})
            document = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        self.assertEqual(document["Code"], "Success")
        self.assertEqual(document["Type"], "AWS-HMAC")
        creds = {"access_key_id": document["AccessKeyId"],
                 "secret_access_key": document["SecretAccessKey"], "session_token": document["Token"]}
        status, text = self.sts_call(creds, {"Action": "GetCallerIdentity"})
        self.assertEqual(status, 200, text)
        self.assertIn(f"assumed-role/instance-role/i-0123456789abcdef0", text)


# ---------------------------------------------------------------------- cert over HTTPS


class CertLoginTest(StandinTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="standin-pki-")
        cls.addClassCleanup(shutil.rmtree, cls.pki_dir, ignore_errors=True)
        cls.pki = TestPki(cls.pki_dir)
        cls.server_cert = cls.pki.server("127.0.0.1")
        cls.machine = cls.pki.client("machine-1")
        cls.other = cls.pki.client("laptop-7")
        cls.stranger = TestPki(tempfile.mkdtemp(dir=cls.pki_dir), "another CA").client("machine-1")
        cls.tls_port_file = os.path.join(cls.pki_dir, "tls-port")
        cls.server_args = ("--tls-cert", cls.server_cert.cert, "--tls-key", cls.server_cert.key,
                           "--tls-client-ca", cls.pki.ca.cert, "--tls-port-file", cls.tls_port_file)
        super().setUpClass()
        cls.tls_port = read_port(cls.tls_port_file)
        cls.configure(("sys/auth/cert", {"type": "cert"}),
                      ("auth/cert/certs/machines", {"certificate": cls.pki.ca.pem(),
                                                    "allowed_common_names": "machine-*",
                                                    "token_ttl": "1h", "display_name": "fleet"}))

    def https(self, method, path, body=None, client=None, token=None):
        context = ssl.create_default_context(cafile=self.pki.ca.cert)
        if client is not None:
            context.load_cert_chain(client.cert, client.key)
        connection = http.client.HTTPSConnection("127.0.0.1", self.tls_port, context=context,
                                                 timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Vault-Token"] = token
        try:
            connection.request(method, "/v1/" + path, body=json.dumps(body or {}), headers=headers)
            response = connection.getresponse()
            return Result(response.status, response.headers, response.read())
        finally:
            connection.close()

    def test_login_with_a_client_certificate(self):
        result = self.https("POST", "auth/cert/login", {}, client=self.machine)
        self.assertEqual(result.status, 200, result.text)
        meta = result.json["auth"]["metadata"]
        self.assertEqual(meta["cert_name"], "machines")
        self.assertEqual(meta["common_name"], "machine-1")
        self.assertRegex(meta["serial_number"], r"^[0-9]+$")
        self.assertRegex(meta["subject_key_id"], r"^[0-9a-f]{2}(:[0-9a-f]{2})+$")
        self.assertRegex(meta["authority_key_id"], r"^[0-9a-f]{2}(:[0-9a-f]{2})+$")
        token = result.json["auth"]["client_token"]
        lookup = self.https("GET", "auth/token/lookup-self", token=token)
        self.assertEqual(lookup.json["data"]["display_name"], "cert-fleet")
        renewed = self.https("POST", "auth/token/renew-self", {}, client=self.machine, token=token)
        self.assertEqual(renewed.status, 200, renewed.text)
        plain = self.call("POST", "auth/token/renew-self", {}, token=token)
        self.assertEqual(plain.status, 400, "Vault re-checks the certificate when renewing")
        self.assertEqual(plain.errors, ["tls connection required"])

    def test_no_client_certificate(self):
        result = self.https("POST", "auth/cert/login", {})
        self.assertEqual((result.status, result.errors), (400, ["client certificate must be supplied"]))
        plain = self.call("POST", "auth/cert/login", {}, token=None)
        self.assertEqual((plain.status, plain.errors), (400, ["tls connection required"]))

    def test_constraints_and_names(self):
        result = self.https("POST", "auth/cert/login", {"name": "machines"}, client=self.other)
        self.assertEqual((result.status, result.errors), (400, [
            "no chain matching all constraints could be found for this login certificate"]))
        unknown = self.https("POST", "auth/cert/login", {"name": "nobody"}, client=self.machine)
        self.assertEqual((unknown.status, unknown.errors),
                         (400, ["invalid certificate or no client certificate supplied"]))

    def test_plain_http_on_the_tls_port(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.tls_port, timeout=30)
        try:
            connection.request("GET", "/v1/sys/health")
            response = connection.getresponse()
            self.assertEqual((response.status, response.read()),
                             (400, b"Client sent an HTTP request to an HTTPS server.\n"))
        finally:
            connection.close()

    def test_a_certificate_from_another_ca_fails_the_handshake(self):
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            self.https("POST", "auth/cert/login", {}, client=self.stranger)

    def test_a_trusted_leaf_certificate(self):
        self.ok("POST", "auth/cert/certs/laptop", {"certificate": self.other.pem()})
        result = self.https("POST", "auth/cert/login", {"name": "laptop"}, client=self.other)
        self.assertEqual(result.status, 200, result.text)
        self.assertEqual(result.json["auth"]["metadata"]["cert_name"], "laptop")
        bad = self.call("POST", "auth/cert/certs/broken", {"certificate": "not a certificate"})
        self.assertEqual((bad.status, bad.errors), (400, ["failed to parse certificate"]))


if __name__ == "__main__":
    unittest.main()
