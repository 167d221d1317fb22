"""A look-alike of AWS STS (https://sts.amazonaws.com/, API version 2011-06-15).

Actions GetCallerIdentity, AssumeRole and GetSessionToken, as a form POST body
or a query string. Every request must carry an Authorization header with a
valid Signature Version 4 for service "sts" (sigv4.py), an X-Amz-Date within
15 minutes of the stand-in's clock, and for temporary credentials (ASIA...)
their X-Amz-Security-Token; expired ones are refused. Replies are STS's XML,
errors its ErrorResponse. Users, roles and the request log are test-only
state set through the stand-in's admin API (admin.py).
"""

import base64
import calendar
import secrets
import string
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from . import sigv4, totp

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"
MAX_SKEW_SECONDS = 15 * 60
INVALID_TOKEN = "The security token included in the request is invalid."
BAD_MFA_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
_KEY_CHARS = string.ascii_uppercase + "234567"
_SECRET_CHARS = string.ascii_letters + string.digits + "+/"


class StsError(Exception):
    def __init__(self, code, message, status=400, kind="Sender"):
        super().__init__(message)
        self.code, self.message, self.status, self.kind = code, message, status, kind


def _random(prefix, chars, length):
    return prefix + "".join(secrets.choice(chars) for _ in range(length))


def amz_date(timestamp):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(timestamp))


def iso8601(timestamp):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def account_of(arn):
    return arn.split(":")[4]


def role_arn_of(assumed_role_arn):
    """arn:aws:sts::ACCT:assumed-role/NAME/SESSION -> arn:aws:iam::ACCT:role/NAME."""
    parts = assumed_role_arn.split(":")
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}"


class StsState:
    """Long-term users, roles, temporary credentials and the request log."""

    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.users = {}
        self.roles = {}
        self.temporary = {}
        self.log = []

    # ------------------------------------------------------------------ test setup

    def add_user(self, arn, access_key_id=None, secret_access_key=None, mfa_serial=None,
                 totp_secret=None, mfa_code=None):
        if not isinstance(arn, str) or ":user/" not in arn:
            raise ValueError('"arn" must be an IAM user ARN (arn:aws:iam::ACCOUNT:user/NAME)')
        user = {"arn": arn, "access_key_id": access_key_id or _random("AKIA", _KEY_CHARS, 16),
                "secret_access_key": secret_access_key or _random("", _SECRET_CHARS, 40),
                "user_id": _random("AIDA", _KEY_CHARS, 17), "mfa_serial": mfa_serial,
                "totp_secret": totp_secret, "mfa_code": mfa_code}
        with self.lock:
            self.users[user["access_key_id"]] = user
        return {key: user[key] for key in ("access_key_id", "secret_access_key", "user_id", "arn")}

    def add_role(self, arn, trusted=(), mfa_required=False, max_session_duration=3600,
                 external_id=None):
        if not isinstance(arn, str) or ":role/" not in arn:
            raise ValueError('"arn" must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)')
        if not isinstance(max_session_duration, int) or not 3600 <= max_session_duration <= 43200:
            raise ValueError('"max_session_duration" must be 3600..43200 seconds')
        role = {"arn": arn, "trusted": list(trusted), "mfa_required": bool(mfa_required),
                "max_session_duration": max_session_duration, "external_id": external_id,
                "role_id": _random("AROA", _KEY_CHARS, 17)}
        with self.lock:
            self.roles[arn] = role
        return {"arn": arn, "role_id": role["role_id"]}

    def issue(self, arn, user_id, seconds, mfa, user_key=None):
        """Temporary credentials for this identity, valid for `seconds`.

        user_key: the long-term user behind session credentials (GetSessionToken)."""
        creds = {"access_key_id": _random("ASIA", _KEY_CHARS, 16),
                 "secret_access_key": _random("", _SECRET_CHARS, 40),
                 "session_token": base64.b64encode(secrets.token_bytes(180)).decode(),
                 "expiration": int(self.clock.now()) + seconds, "arn": arn, "user_id": user_id,
                 "mfa": mfa, "user_key": user_key}
        with self.lock:
            self.temporary[creds["access_key_id"]] = creds
        return creds

    def assume_for_instance(self, role_arn, instance_id, seconds):
        role = self.roles.get(role_arn)
        if role is None:
            raise ValueError(f"no STS role {role_arn}")
        name = role_arn.rsplit("/", 1)[1]
        arn = f"arn:aws:sts::{account_of(role_arn)}:assumed-role/{name}/{instance_id}"
        return self.issue(arn, f"{role['role_id']}:{instance_id}", seconds, False)

    def record(self, entry):
        with self.lock:
            self.log.append(entry)

    def entries(self):
        with self.lock:
            return list(self.log)

    def clear_log(self):
        with self.lock:
            self.log.clear()

    # ------------------------------------------------------------------ requests

    def authenticate(self, method, target, headers, body):
        """The caller (a user or temporary credentials) of a correctly signed request."""
        authorization = sigv4.header_value(headers, "authorization")
        if not authorization:
            raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token",
                           403)
        auth = sigv4.parse_authorization(authorization.strip())
        if auth.service != "sts":
            raise StsError("SignatureDoesNotMatch",
                           "Credential should be scoped to correct service: 'sts'. ", 403)
        if not auth.region or auth.region.count("-") < 2:
            raise StsError("SignatureDoesNotMatch",
                           "Credential should be scoped to a valid region. ", 403)
        if "host" not in auth.signed_headers:
            raise StsError("SignatureDoesNotMatch", "'Host' or ':authority' must be a "
                           "'SignedHeader' in the AWS Authorization.", 403)
        self._check_date(headers, auth)
        secret, caller = self._credentials(auth.access_key, headers)
        sigv4.check_signature(method, target, headers, body, secret, auth)
        return caller

    def _check_date(self, headers, auth):
        stamp = sigv4.header_value(headers, "x-amz-date")
        if not stamp or "x-amz-date" not in auth.signed_headers:
            raise StsError("IncompleteSignature", "Authorization header requires existence of a "
                           "signed 'X-Amz-Date' header.", 400)
        try:
            signed_at = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise StsError("IncompleteSignature", f"Invalid X-Amz-Date: {stamp}", 400) from None
        if auth.date != stamp[:8]:
            raise StsError("SignatureDoesNotMatch",
                           "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           f"version of date from HTTP: '{auth.date}' != '{stamp[:8]}', "
                           f"from '{stamp}'.", 403)
        now = self.clock.now()
        if signed_at < now - MAX_SKEW_SECONDS:
            raise StsError("SignatureDoesNotMatch",
                           f"Signature expired: {stamp} is now earlier than "
                           f"{amz_date(now - MAX_SKEW_SECONDS)} ({amz_date(now)} - 15 min.)", 403)
        if signed_at > now + MAX_SKEW_SECONDS:
            raise StsError("SignatureDoesNotMatch",
                           f"Signature not yet current: {stamp} is still later than "
                           f"{amz_date(now + MAX_SKEW_SECONDS)} ({amz_date(now)} + 15 min.)", 403)

    def _credentials(self, access_key, headers):
        """(secret, caller) of an access key; temporary ones need their valid session token."""
        token = sigv4.header_value(headers, "x-amz-security-token")
        with self.lock:
            user = self.users.get(access_key)
            creds = self.temporary.get(access_key)
        if user is not None and token is None:
            caller = {"arn": user["arn"], "user_id": user["user_id"], "user": user,
                      "temporary": False, "access_key_id": access_key, "mfa": False}
            return user["secret_access_key"], caller
        if creds is None or token != creds["session_token"]:
            raise StsError("InvalidClientTokenId", INVALID_TOKEN, 403)
        if self.clock.now() >= creds["expiration"]:
            raise StsError("ExpiredToken", "The security token included in the request is expired",
                           400)
        with self.lock:
            user = self.users.get(creds["user_key"])
        caller = {"arn": creds["arn"], "user_id": creds["user_id"], "user": user,
                  "temporary": True, "access_key_id": access_key, "mfa": creds["mfa"]}
        return creds["secret_access_key"], caller


def _duration(params, low, high, default, role_limit=False):
    text = params.get("DurationSeconds")
    if text is None:
        return default
    try:
        seconds = int(text)
    except ValueError:
        raise StsError("ValidationError", f"Value '{text}' at 'durationSeconds' failed to "
                       "satisfy constraint: Member must be a number") from None
    if seconds < low:
        raise StsError("ValidationError", f"1 validation error detected: Value '{seconds}' at "
                       "'durationSeconds' failed to satisfy constraint: Member must have value "
                       f"greater than or equal to {low}")
    if seconds > high:
        if role_limit:
            raise StsError("ValidationError", "The requested DurationSeconds exceeds the "
                           "MaxSessionDuration set for this role.")
        raise StsError("ValidationError", f"1 validation error detected: Value '{seconds}' at "
                       "'durationSeconds' failed to satisfy constraint: Member must have value "
                       f"less than or equal to {high}")
    return seconds


def _mfa_ok(user, params, now):
    """Whether SerialNumber and TokenCode name this user's device and its current code."""
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if user is None or not user["mfa_serial"] or serial != user["mfa_serial"] or not code:
        return False
    if user["mfa_code"] is not None:
        return code == user["mfa_code"]
    return bool(user["totp_secret"]) and totp.valid(code, user["totp_secret"], now, 30, 1, 6,
                                                    "SHA1")


def _credentials_xml(creds):
    return (f"<Credentials><AccessKeyId>{creds['access_key_id']}</AccessKeyId>"
            f"<SecretAccessKey>{escape(creds['secret_access_key'])}</SecretAccessKey>"
            f"<SessionToken>{escape(creds['session_token'])}</SessionToken>"
            f"<Expiration>{iso8601(creds['expiration'])}</Expiration></Credentials>")


class StsActions:
    def __init__(self, state):
        self.state = state

    def run(self, action, caller, params):
        handler = {"GetCallerIdentity": self.get_caller_identity,
                   "AssumeRole": self.assume_role,
                   "GetSessionToken": self.get_session_token}.get(action)
        if handler is None or params.get("Version") != VERSION:
            raise StsError("InvalidAction", f"Could not find operation {action} for version "
                           f"{params.get('Version', 'NO_VERSION_SPECIFIED')}")
        return handler(caller, params)

    @staticmethod
    def get_caller_identity(caller, _params):
        return (f"<Arn>{escape(caller['arn'])}</Arn><UserId>{escape(caller['user_id'])}</UserId>"
                f"<Account>{account_of(caller['arn'])}</Account>")

    def assume_role(self, caller, params):
        role_arn, session = params.get("RoleArn", ""), params.get("RoleSessionName", "")
        if not role_arn or not session:
            missing = "roleArn" if not role_arn else "roleSessionName"
            raise StsError("ValidationError", f"1 validation error detected: Value null at "
                           f"'{missing}' failed to satisfy constraint: Member must not be null")
        role = self.state.roles.get(role_arn)
        denied = StsError("AccessDenied", f"User: {caller['arn']} is not authorized to perform: "
                          f"sts:AssumeRole on resource: {role_arn}", 403)
        if role is None or not self._trusts(role, caller):
            raise denied
        if role["external_id"] is not None and params.get("ExternalId") != role["external_id"]:
            raise denied
        has_mfa = bool(params.get("SerialNumber") or params.get("TokenCode"))
        if has_mfa and not _mfa_ok(caller["user"], params, self.state.clock.now()):
            raise StsError("AccessDenied", BAD_MFA_CODE, 403)
        # Session credentials from an MFA-authenticated GetSessionToken count as MFA.
        if role["mfa_required"] and not (has_mfa or caller["mfa"]):
            raise denied
        # Role chaining (temporary credentials assuming a role) is limited to one hour.
        limit = 3600 if caller["temporary"] else role["max_session_duration"]
        seconds = _duration(params, 900, limit, 3600, role_limit=True)
        name = role_arn.rsplit("/", 1)[1]
        arn = f"arn:aws:sts::{account_of(role_arn)}:assumed-role/{name}/{session}"
        creds = self.state.issue(arn, f"{role['role_id']}:{session}", seconds, has_mfa)
        return (_credentials_xml(creds) + f"<AssumedRoleUser><AssumedRoleId>{role['role_id']}:"
                f"{escape(session)}</AssumedRoleId><Arn>{escape(arn)}</Arn></AssumedRoleUser>")

    @staticmethod
    def _trusts(role, caller):
        principal = caller["arn"]
        if ":assumed-role/" in principal:
            principal = role_arn_of(principal)
        account_root = f"arn:aws:iam::{account_of(principal)}:root"
        return principal in role["trusted"] or account_root in role["trusted"]

    def get_session_token(self, caller, params):
        if caller["temporary"]:
            raise StsError("AccessDenied", "Cannot call GetSessionToken with session credentials",
                           403)
        seconds = _duration(params, 900, 129600, 43200)
        has_mfa = bool(params.get("SerialNumber") or params.get("TokenCode"))
        if has_mfa and not _mfa_ok(caller["user"], params, self.state.clock.now()):
            raise StsError("AccessDenied", BAD_MFA_CODE, 403)
        creds = self.state.issue(caller["arn"], caller["user_id"], seconds, has_mfa,
                                 caller["access_key_id"])
        return _credentials_xml(creds)


def response_xml(action, result, request_id):
    return (f'<{action}Response xmlns="{NAMESPACE}">\n  <{action}Result>{result}</{action}Result>\n'
            f"  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n"
            f"  </ResponseMetadata>\n</{action}Response>\n")


def error_xml(err, request_id):
    return (f'<ErrorResponse xmlns="{NAMESPACE}">\n  <Error>\n    <Type>{err.kind}</Type>\n'
            f"    <Code>{err.code}</Code>\n    <Message>{escape(err.message)}</Message>\n"
            f"  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n")


class StsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        """Quiet: the state's log records each request."""

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _serve(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = list(self.headers.items())
        params = {}
        query = self.path.partition("?")[2]
        for source in (query, body.decode("utf-8", "replace")
                       if self.command == "POST" else ""):
            params.update({k: v[0] for k, v in parse_qs(source, keep_blank_values=True).items()})
        action = params.get("Action", "")
        request_id = str(uuid.uuid4())
        entry = {"time": state.clock.now(), "action": action, "method": self.command,
                 "access_key_id": None, "caller_arn": None,
                 "mfa": bool(params.get("SerialNumber") or params.get("TokenCode")),
                 "duration_seconds": params.get("DurationSeconds"), "status": None, "error": None}
        try:
            caller = state.authenticate(self.command, self.path, headers, body)
            entry.update(access_key_id=caller["access_key_id"], caller_arn=caller["arn"])
            status, text = 200, response_xml(action, StsActions(state).run(action, caller, params),
                                             request_id)
        except sigv4.SignatureError as err:
            status, text = err.status, error_xml(StsError(err.code, err.message, err.status),
                                                 request_id)
            entry["error"] = err.code
        except StsError as err:
            status, text = err.status, error_xml(err, request_id)
            entry["error"] = err.code
        entry["status"] = status
        state.record(entry)
        payload = text.encode()
        self.send_response(status)
        self.send_header("x-amzn-RequestId", request_id)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class StsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host, port, state):
        super().__init__((host, port), StsHandler)
        self.state = state
