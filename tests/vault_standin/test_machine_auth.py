"""Tests of the stand-in's machine and cloud logins: approle, response wrapping,
aws (IAM, through the STS look-alike), the IMDSv2 look-alike, and cert over HTTPS.

Run from this folder with  python3 -m unittest test_machine_auth -v
"""

import unittest

from test_vault_standin import ROOT_TOKEN, StandinTestCase

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
        self.assertEqual(again.status, 403, "a used wrapping token is no token at all")
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


if __name__ == "__main__":
    unittest.main()
