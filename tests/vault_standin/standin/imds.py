"""A look-alike of the EC2 instance metadata service, version 2 (token required).

PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600)
gives a session token; every GET must present it in X-aws-ec2-metadata-token
(else 401). GET /latest/meta-data/iam/security-credentials/ names the
instance's role and .../<role> gives its temporary credentials, issued by the
STS look-alike (sts.py) so that STS accepts them, and renewed once they are
within five minutes of expiring. The role is set through the admin API.
"""

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .sts import iso8601

CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"
MAX_TOKEN_TTL = 21600
CREDENTIAL_SECONDS = 6 * 3600
REFRESH_MARGIN = 5 * 60


class ImdsState:
    def __init__(self, sts):
        self.sts = sts
        self.lock = threading.Lock()
        self.tokens = {}
        self.role_arn = None
        self.instance_id = "i-0123456789abcdef0"
        self.credentials = None
        self.requests = 0

    def configure(self, role_arn, instance_id=None):
        if role_arn is not None and role_arn not in self.sts.roles:
            raise ValueError(f"no STS role {role_arn}; add it with POST /_standin/sts_roles first")
        with self.lock:
            self.role_arn = role_arn
            self.instance_id = instance_id or self.instance_id
            self.credentials = None

    def new_token(self, ttl):
        token = secrets.token_urlsafe(42)
        with self.lock:
            self.tokens[token] = self.sts.clock.now() + ttl
        return token

    def valid_token(self, token):
        with self.lock:
            expiry = self.tokens.get(token or "")
        return expiry is not None and self.sts.clock.now() < expiry

    def current_credentials(self):
        with self.lock:
            creds = self.credentials
            if creds is None or creds["expiration"] - self.sts.clock.now() < REFRESH_MARGIN:
                creds = self.sts.assume_for_instance(self.role_arn, self.instance_id,
                                                     CREDENTIAL_SECONDS)
                creds["issued"] = self.sts.clock.now()
                self.credentials = creds
            return creds


class ImdsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        """Quiet."""

    def _reply(self, status, text, content_type="text/plain"):
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_PUT(self):
        state = self.server.state
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/latest/api/token":
            return self._reply(404, "Not Found")
        ttl_text = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= MAX_TOKEN_TTL:
            return self._reply(400, "Bad Request")
        token = state.new_token(int(ttl_text))
        self.send_response(200)
        self.send_header("X-aws-ec2-metadata-token-ttl-seconds", ttl_text)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(token)))
        self.end_headers()
        self.wfile.write(token.encode())

    def do_GET(self):
        state = self.server.state
        with state.lock:
            state.requests += 1
        if not state.valid_token(self.headers.get("X-aws-ec2-metadata-token")):
            return self._reply(401, "Unauthorized")
        if self.path == "/latest/meta-data/instance-id":
            return self._reply(200, state.instance_id)
        if not self.path.startswith(CREDENTIALS_PATH) or state.role_arn is None:
            return self._reply(404, "Not Found")
        role_name = state.role_arn.rsplit("/", 1)[1]
        asked = self.path[len(CREDENTIALS_PATH):]
        if not asked:
            return self._reply(200, role_name)
        if asked != role_name:
            return self._reply(404, "Not Found")
        creds = state.current_credentials()
        body = {"Code": "Success", "LastUpdated": iso8601(creds["issued"]), "Type": "AWS-HMAC",
                "AccessKeyId": creds["access_key_id"],
                "SecretAccessKey": creds["secret_access_key"], "Token": creds["session_token"],
                "Expiration": iso8601(creds["expiration"])}
        return self._reply(200, json.dumps(body, indent=2), "text/plain")


class ImdsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host, port, state):
        super().__init__((host, port), ImdsHandler)
        self.state = state
