"""The aws auth method, IAM type (builtin/credential/aws).

config/client sets sts_endpoint (where the signed GetCallerIdentity request
is sent, e.g. the STS look-alike), sts_region, iam_server_id_header_value and
use_sts_region_from_client. Roles (auth_type iam) bind IAM principal ARNs,
exactly or with a trailing "*" glob. A login carries the client's signed
sts:GetCallerIdentity request (method, base64 URL, base64 body, headers);
the stand-in checks it as pathLoginUpdateIam does, forwards it to the STS
endpoint with its original Host header, and matches the caller's ARN (an
assumed role counts as its role) against the role. Errors keep Vault's texts.
"""

import base64
import binascii
import fnmatch
import http.client
import re
import ssl
import uuid
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qs, urlsplit

from . import fields as f
from .framework import (CREATE, DELETE, LIST, NAME, READ, UPDATE, Backend, ErrorResponse,
                        HandlerError, Path, Response)
from .tokenutil import (TOKEN_FIELDS, apply_token_fields, login_auth, new_token_settings,
                        token_settings_data)

SERVER_ID_HEADER = "X-Vault-AWS-IAM-Server-ID"
DEFAULT_ENDPOINT = "https://sts.amazonaws.com"
_STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
_CONFIG_FIELDS = {
    "sts_endpoint": f.Field(f.STRING), "sts_region": f.Field(f.STRING),
    "iam_server_id_header_value": f.Field(f.STRING),
    "use_sts_region_from_client": f.Field(f.BOOL),
    "access_key": f.Field(f.STRING), "secret_key": f.Field(f.STRING),
    "max_retries": f.Field(f.INT, default=-1),
}
_CONFIG_STRINGS = ("sts_endpoint", "sts_region", "iam_server_id_header_value")
_ROLE_FIELDS = {
    "role": f.Field(f.STRING), "auth_type": f.Field(f.STRING),
    "bound_iam_principal_arn": f.Field(f.COMMA_STRINGS),
    "resolve_aws_unique_ids": f.Field(f.BOOL, default=True),
    "inferred_entity_type": f.Field(f.STRING), "inferred_aws_region": f.Field(f.STRING),
    **TOKEN_FIELDS,
}
_LOGIN_FIELDS = {
    "role": f.Field(f.STRING), "iam_http_request_method": f.Field(f.STRING),
    "iam_request_url": f.Field(f.STRING), "iam_request_body": f.Field(f.STRING),
    "iam_request_headers": f.Field(f.HEADER),
}
_IAM_LOGIN_KEYS = ("iam_http_request_method", "iam_request_url", "iam_request_body",
                   "iam_request_headers")
_EC2_LOGIN_KEYS = ("pkcs7", "identity", "signature")


def new_aws_entry():
    return {"client_config": None, "roles": {}}


def _header(headers, name):
    """All values of a header, its name compared case-insensitively (Go's EqualFold)."""
    for key, values in headers.items():
        if key.lower() == name.lower():
            return values
    return None


def validate_server_id(headers, required):
    provided = ",".join(_header(headers, SERVER_ID_HEADER) or [])
    if not provided:
        return f'missing header "{SERVER_ID_HEADER}"'
    if provided != required:
        return f'expected "{required}" but got "{provided}"'
    authorization = _header(headers, "Authorization")
    if authorization is None:
        return "missing Authorization header"
    match = re.match(r".*SignedHeaders=([^,]+)", ",".join(authorization))
    if not match or SERVER_ID_HEADER.lower() not in match.group(1).split(";"):
        return "vault header wasn't signed"
    return None


def parse_iam_arn(arn):
    """parseIamArn: the entity of a user, role or assumed-role ARN."""
    parts = arn.split(":")
    if len(parts) != 6:
        raise ValueError(f"unrecognized arn: contains {len(parts)} colon-separated parts, "
                         "expected 6")
    if parts[0] != "arn":
        raise ValueError('unrecognized arn: does not begin with "arn:"')
    if parts[2] not in ("iam", "sts"):
        raise ValueError(f"unrecognized service: {parts[2]}, not one of iam or sts")
    pieces = parts[5].split("/")
    if len(pieces) < 2:
        raise ValueError(f'unrecognized arn: "{parts[5]}" contains fewer than 2 slash-separated '
                         "parts")
    entity = {"partition": parts[1], "account": parts[4], "type": pieces[0],
              "friendly_name": pieces[-1], "session": ""}
    if entity["type"] == "assumed-role":
        entity.update(friendly_name=pieces[1], session=pieces[2] if len(pieces) > 2 else "")
    elif entity["type"] not in ("user", "role", "instance-profile"):
        raise ValueError(f'unrecognized principal type: "{entity["type"]}"')
    kind = "role" if entity["type"] == "assumed-role" else entity["type"]
    entity["canonical_arn"] = (f"arn:{entity['partition']}:iam::{entity['account']}:{kind}/"
                               f"{entity['friendly_name']}")
    return entity


def submit_caller_identity(method, endpoint, url, body, headers):
    """Send the client's signed request to the STS endpoint; (Arn, UserId, Account)."""
    target = urlsplit(endpoint)
    request_uri = (url.path or "/") + (f"?{url.query}" if url.query else "")
    # Vault joins endpoint and request URI with a "/", so the path starts "//".
    path = target.path.rstrip("/") + "/" + request_uri
    connection_class = http.client.HTTPSConnection if target.scheme == "https" else \
        http.client.HTTPConnection
    options = {"context": ssl.create_default_context()} if target.scheme == "https" else {}
    connection = connection_class(target.hostname, target.port, timeout=30, **options)
    full_url = f"{endpoint.rstrip('/')}/{request_uri}"
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", url.netloc)
        for name, values in headers.items():
            if name.lower() in ("host", "content-length"):
                continue
            for value in values:
                connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
    except OSError as err:
        raise RuntimeError(f'error making request: {method.title()} "{full_url}": {err}') from None
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"received error code {response.status} from STS: {text}")
    try:
        result = ElementTree.fromstring(text).find(f"{_STS_NS}GetCallerIdentityResult")
        return {key: result.find(_STS_NS + key).text or "" for key in ("Arn", "UserId", "Account")}
    except (ElementTree.ParseError, AttributeError):
        raise RuntimeError("error parsing STS response") from None


class AwsBackend(Backend):
    mount_type = "aws"
    unauthenticated = ("login",)

    def paths(self):
        role = f"role/(?P<role>{NAME})"
        return [
            Path("config/client", _CONFIG_FIELDS,
                 {READ: self.read_config, CREATE: self.write_config, UPDATE: self.write_config,
                  DELETE: self.delete_config}),
            Path("roles?/?", {}, {LIST: self.list_roles}),
            Path(role, _ROLE_FIELDS,
                 {READ: self.read_role, CREATE: self.write_role, UPDATE: self.write_role,
                  DELETE: self.delete_role}, exists=self.role_exists),
            Path("login", {**_LOGIN_FIELDS, **{k: f.Field(f.STRING) for k in _EC2_LOGIN_KEYS}},
                 {UPDATE: self.login}),
        ]

    @property
    def roles(self):
        return self.entry["roles"]

    # ------------------------------------------------------------------ config/client

    def read_config(self, _request, _data):
        config = self.entry["client_config"]
        if config is None:
            return None
        return Response(data={**{k: config[k] for k in _CONFIG_STRINGS},
                              "use_sts_region_from_client": config["use_sts_region_from_client"],
                              "access_key": config["access_key"],
                              "max_retries": config["max_retries"]})

    def write_config(self, _request, data):
        config = dict(self.entry["client_config"] or
                      {"sts_endpoint": "", "sts_region": "", "iam_server_id_header_value": "",
                       "use_sts_region_from_client": False, "access_key": "", "max_retries": -1})
        for name in (*_CONFIG_STRINGS, "use_sts_region_from_client", "access_key", "max_retries"):
            value, supplied = data.get_ok(name)
            if supplied:
                config[name] = value
        if config["sts_endpoint"] and not urlsplit(config["sts_endpoint"]).hostname:
            raise ErrorResponse(f"error parsing sts_endpoint: \"{config['sts_endpoint']}\"")
        # secret_key is write-only and unused: the stand-in never calls IAM itself.
        self.entry["client_config"] = config

    def delete_config(self, _request, _data):
        self.entry["client_config"] = None

    # ------------------------------------------------------------------ roles

    def role_exists(self, _request, data):
        return data.get("role").lower() in self.roles

    def list_roles(self, _request, _data):
        return Response(data={"keys": sorted(self.roles)}) if self.roles else None

    def read_role(self, _request, data):
        role = self.roles.get(data.get("role").lower())
        if role is None:
            return None
        return Response(data={
            "auth_type": role["auth_type"], "bound_iam_principal_arn": role["bound_arns"],
            "resolve_aws_unique_ids": role["resolve_aws_unique_ids"], "role_id": role["role_id"],
            "inferred_entity_type": "", "inferred_aws_region": "", "allow_instance_migration": False,
            "disallow_reauthentication": False, **token_settings_data(role)})

    def write_role(self, request, data):
        name = data.get("role").lower()
        role = dict(self.roles.get(name) or {"auth_type": "iam", "bound_arns": [],
                                             "resolve_aws_unique_ids": True,
                                             "role_id": str(uuid.uuid4()), **new_token_settings()})
        auth_type, supplied = data.get_ok("auth_type")
        if supplied and auth_type != role["auth_type"] and request.operation == UPDATE:
            raise ErrorResponse("changing auth_type on a role is not allowed")
        if supplied and auth_type not in ("iam", "ec2"):
            raise ErrorResponse(f"unrecognized auth_type: {auth_type}")
        if supplied and auth_type == "ec2":
            raise ErrorResponse("the Vault stand-in implements only the iam auth_type")
        if data.get("inferred_entity_type"):
            raise ErrorResponse("the Vault stand-in does not support inferred_entity_type")
        arns, supplied = data.get_ok("bound_iam_principal_arn")
        if supplied:
            role["bound_arns"] = [arn for arn in arns if arn]
        resolve, supplied = data.get_ok("resolve_aws_unique_ids")
        if supplied:
            if role["resolve_aws_unique_ids"] is False and resolve and request.operation == UPDATE:
                raise ErrorResponse("changing resolve_aws_unique_ids from false to true is not "
                                    "allowed")
            role["resolve_aws_unique_ids"] = resolve
        if not role["bound_arns"]:
            raise ErrorResponse("at least one bound parameter should be specified on the role")
        if role["resolve_aws_unique_ids"] and any(not arn.endswith("*")
                                                  for arn in role["bound_arns"]):
            raise ErrorResponse("the Vault stand-in cannot resolve IAM unique IDs (it has no IAM "
                                "API); set resolve_aws_unique_ids=false")
        apply_token_fields(role, data)
        self.roles[name] = role

    def delete_role(self, _request, data):
        self.roles.pop(data.get("role").lower(), None)

    # ------------------------------------------------------------------ login

    def login(self, _request, data):
        any_ec2 = any(data.raw.get(k) is not None for k in _EC2_LOGIN_KEYS)
        supplied = [data.raw.get(k) is not None for k in _IAM_LOGIN_KEYS]
        if any_ec2 and any(supplied):
            raise ErrorResponse("supplied auth values for both ec2 and iam auth types")
        if any_ec2:
            raise ErrorResponse("the Vault stand-in implements only the iam auth_type")
        if any(supplied) and not all(supplied):
            raise ErrorResponse("supplied some of the auth values for the iam auth type but not all")
        if not any(supplied):
            raise ErrorResponse("didn't supply required authentication values")
        return self._login_iam(data)

    def _login_iam(self, data):
        method = data.get("iam_http_request_method")
        if not method:
            raise ErrorResponse("missing iam_http_request_method")
        if method != "POST":
            raise ErrorResponse("invalid iam_http_request_method; currently only 'POST' is "
                                "supported")
        url = urlsplit(self._base64_field(data, "iam_request_url"))
        body = self._base64_field(data, "iam_request_body")
        headers = data.get("iam_request_headers")
        if not headers:
            raise ErrorResponse("missing iam_request_headers")
        # Vault's client only ever signs sts:GetCallerIdentity; anything else is refused
        # before STS sees it.
        if url.path not in ("", "/"):
            raise ErrorResponse("error validating iam_request_url: the path must be \"/\"")
        if _form_action(body) != "GetCallerIdentity":
            raise ErrorResponse("error validating iam_request_body: the action must be "
                                "GetCallerIdentity")
        config = self.entry["client_config"] or {}
        endpoint = config.get("sts_endpoint") or DEFAULT_ENDPOINT
        required = config.get("iam_server_id_header_value")
        if required:
            problem = validate_server_id(headers, required)
            if problem:
                raise ErrorResponse(f"error validating {SERVER_ID_HEADER} header: {problem}")
        try:
            caller = submit_caller_identity(method, endpoint, url, body.encode(), headers)
        except RuntimeError as err:
            raise ErrorResponse(f"error making upstream request: {err}") from None
        try:
            entity = parse_iam_arn(caller["Arn"])
        except ValueError as err:
            raise ErrorResponse(f"error parsing arn \"{caller['Arn']}\": {err}") from None
        role_name = data.get("role") or entity["friendly_name"]
        role = self.roles.get(role_name.lower())
        if role is None:
            raise ErrorResponse(f"entry for role {role_name} not found")
        if role["auth_type"] != "iam":
            raise ErrorResponse(f"auth method iam not allowed for role {role_name}")
        if role["bound_arns"] and not _bound(role, caller["Arn"], entity):
            raise ErrorResponse(f"IAM Principal \"{caller['Arn']}\" does not belong to the role "
                                f"\"{role_name}\"")
        metadata = {
            "client_arn": caller["Arn"], "canonical_arn": entity["canonical_arn"],
            "client_user_id": caller["UserId"].split(":")[0], "auth_type": "iam",
            "inferred_entity_type": "", "inferred_entity_id": "", "inferred_aws_region": "",
            "account_id": entity["account"], "role_id": role["role_id"]}
        auth = login_auth(role, list(role["token_policies"]), entity["friendly_name"], metadata)
        # The identity alias is the role's ID (the default iam_alias, "role_id").
        auth.alias_name = role["role_id"]
        return Response(login=auth)

    @staticmethod
    def _base64_field(data, name):
        text = data.get(name)
        if not text:
            raise ErrorResponse(f"missing {name}")
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", "replace")
        except binascii.Error:
            raise ErrorResponse(f"failed to base64 decode {name}") from None

    def renew_login(self, token):
        """pathLoginRenewIam: the role still exists, is iam and still binds the caller."""
        meta = token["meta"] or {}
        role = next((r for r in self.roles.values() if r["role_id"] == meta.get("role_id")), None)
        if role is None:
            raise HandlerError("role entry not found")
        entity = parse_iam_arn(meta.get("client_arn", ""))
        if role["bound_arns"] and not _bound(role, meta["client_arn"], entity):
            raise HandlerError(f"role no longer bound to ARN \"{meta['canonical_arn']}\"")
        return role["token_ttl"], role["token_max_ttl"], role.get("token_period", 0)


def _bound(role, client_arn, entity):
    """The caller's canonical ARN is bound exactly, or a bound ARN ending in "*" globs it."""
    if not role["resolve_aws_unique_ids"] and entity["canonical_arn"] in role["bound_arns"]:
        return True
    full_arn = client_arn if entity["type"] == "user" else entity["canonical_arn"]
    return any(arn.endswith("*") and fnmatch.fnmatchcase(full_arn, arn.replace("[", "[[]"))
               for arn in role["bound_arns"])


def _form_action(body):
    values = parse_qs(body, keep_blank_values=True).get("Action", [])
    return values[0] if len(values) == 1 else None
