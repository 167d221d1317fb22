"""Vault's HTTP layer (http/handler.go, http/logical.go, http/sys_health.go).

Turns an HTTP request under /v1/ into a logical request for the core and the
result back into Vault's JSON envelope or `{"errors":[...]}` body. Test-only
behaviour sits around it: faults (faults.py, fault_replies.py), and a record
of every /v1 request.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

from . import fault_replies
from .faults import STATUS_PATHS
from .framework import DELETE, LIST, PATCH, READ, UPDATE, Request, VaultError
from .gocompat import (Struct, decode_request_json, go_json, parse_bool, parse_duration_seconds,
                       parse_int)
from .replies import Reply, envelope, error_reply, json_reply
from .sys_backend import VERSION
from .wrapping import wrapped_envelope

MAX_REQUEST_BYTES = 32 * 1024 * 1024
TOKEN_LOOKUP_PATHS = ("auth/token/lookup-self", "auth/token/lookup")
# Routes whose response data Vault also copies to the top level of the body.
INJECTOR_ROUTES = ("sys/auth", "sys/mounts", "sys/policy")
MERGE_PATCH = "application/merge-patch+json"
FORM = "application/x-www-form-urlencoded"
_HEALTH_CODES = (("activecode", 200), ("standbycode", 429), ("drsecondarycode", 472),
                 ("performancestandbycode", 473), ("haunhealthycode", 474),
                 ("removedcode", 530), ("sealedcode", 503), ("uninitcode", 501))
_SECRET_HEADERS = ("x-vault-token", "authorization")
_SECRET_FIELDS = ("password", "private_key", "token", "secret_id", "bindpass", "api_token",
                  "mfa_request_id", "mfa_payload", "iam_request_headers")
# Query parameters that complete an OIDC login (the callback is a GET).
_SECRET_QUERY = ("code", "state", "client_nonce", "id_token")
REDACTED = "<redacted>"


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str
    headers: dict
    # None when the body was larger than MAX_REQUEST_BYTES and was not read.
    body: bytes
    # {"tls": bool, "peer_certificate": DER bytes or None}
    connection: dict = None


def go_clean_path(path):
    """The canonical form Go's ServeMux redirects to (path.Clean, trailing slash kept)."""
    parts = []
    for segment in path.split("/"):
        if segment == "..":
            if parts:
                parts.pop()
        elif segment not in ("", "."):
            parts.append(segment)
    cleaned = "/" + "/".join(parts)
    return cleaned + "/" if path.endswith("/") and cleaned != "/" else cleaned


def request_token(headers):
    """X-Vault-Token, else an "Authorization: Bearer" token."""
    token = headers.get("x-vault-token", "")
    if not token and headers.get("authorization", "").startswith("Bearer "):
        token = headers["authorization"][len("Bearer "):]
    return token


def _query_data(query, drop=()):
    """Query parameters as request data: one value stays a string, several make a list."""
    data = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key not in drop and key != "help":
            data[key] = values[0] if len(values) == 1 else values
    return data


def _redacted_query(query):
    """The raw query with the values of _SECRET_QUERY parameters replaced."""
    parts = []
    for part in query.split("&") if query else []:
        name = part.split("=", 1)[0]
        parts.append(f"{name}={REDACTED}" if name in _SECRET_QUERY and "=" in part else part)
    return "&".join(parts)


def _is_form(text, content_type):
    if content_type.split(";")[0].strip().lower() != FORM:
        return False
    stripped = text.lstrip(" \t\r\n")
    return not stripped.startswith(("{", "["))


def _body_data(request):
    text = request.body.decode("utf-8", errors="replace")
    if _is_form(text, request.headers.get("content-type", "")):
        return {key: ",".join(values)
                for key, values in parse_qs(text, keep_blank_values=True).items()}
    try:
        return decode_request_json(text) or {}
    except ValueError:
        raise VaultError(400, ["error parsing JSON"]) from None


class RequestLog:
    """Every /v1 request, for tests to assert on what a client sent.

    A request is recorded when it arrives; its status stays None until it is answered.
    """

    def __init__(self, record_secrets):
        self.record_secrets = record_secrets
        self._lock = threading.Lock()
        self._entries = []

    def add(self, request):
        headers = {name: value for name, value in request.headers.items()}
        if not self.record_secrets:
            for name in _SECRET_HEADERS:
                if name in headers:
                    headers[name] = REDACTED
        query = request.query if self.record_secrets else _redacted_query(request.query)
        entry = {"method": request.method, "path": request.path, "query": query,
                 "headers": headers, "has_token": bool(request_token(request.headers)),
                 "body": self._body(request.body), "status": None, "time": time.time()}
        with self._lock:
            self._entries.append(entry)
        return entry

    def answered(self, entry, status):
        with self._lock:
            entry["status"] = status

    def _body(self, body):
        if not body:
            return None
        text = body.decode("utf-8", errors="replace")
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, dict) and not self.record_secrets:
            value = {k: REDACTED if k in _SECRET_FIELDS else v for k, v in value.items()}
        return value

    def entries(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        with self._lock:
            self._entries.clear()


class VaultHttp:
    def __init__(self, core, faults, log):
        self.core = core
        self.faults = faults
        self.log = log
        self.cluster_name = "vault-cluster-" + uuid.uuid4().hex[:8]
        self.cluster_id = str(uuid.uuid4())

    def serve(self, request):
        entry = self.log.add(request)
        reply = self._serve(request)
        namespace = request.headers.get("x-vault-namespace")
        if namespace:
            # Community edition ignores the namespace but echoes the header.
            reply.headers["X-Vault-Namespace"] = namespace
        reply = fault_replies.broken(self.faults, request.path[len("/v1/"):], reply)
        if not reply.no_answer:
            self.log.answered(entry, reply.status)
        return reply

    def _serve(self, request):
        path = request.path[len("/v1/"):]
        if not path.isprintable():
            return error_reply(400, ["path contains non-printable characters"])
        canonical = go_clean_path(request.path)
        if canonical != request.path:
            location = canonical + (f"?{request.query}" if request.query else "")
            return Reply(301, headers={"Location": location})
        fault = self._fault_reply(request, path)
        if fault is not None:
            return fault
        if path == "sys/health":
            return self._health(request)
        if path == "sys/seal-status":
            return self._seal_status(request)
        try:
            logical = self._logical_request(request, path)
            logical.wrap_ttl = _wrap_ttl(request.headers)
            logical.connection = request.connection
            if self.faults.get("sealed"):
                return fault_replies.with_retry_after(
                    self.faults, error_reply(503, ["Vault is sealed"]))
            response, mount_type = self.core.handle(logical)
        except VaultError as err:
            return error_reply(err.status, err.errors)
        return self._respond(logical, response, mount_type)

    def _fault_reply(self, request, path):
        delay_ms = self.faults.scoped("delay_ms", path)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        if not self.faults.hold(path):
            return Reply(0, no_answer=True)
        active_node = self.faults.get("standby_redirect")
        if active_node and path not in STATUS_PATHS:
            # A standby that cannot forward redirects to the active node (307).
            location = active_node.rstrip("/") + request.path
            if request.query:
                location += "?" + request.query
            return Reply(307, headers={"Location": location})
        return fault_replies.injected(self.faults, request, path)

    # ------------------------------------------------------------------ sys/health

    def _health(self, request):
        head = request.method == "HEAD"
        if request.method not in ("GET", "HEAD"):
            return error_reply(405, [])
        try:
            status = self._health_status(parse_qs(request.query, keep_blank_values=True))
        except ValueError:
            return Reply(400) if head else error_reply(400, [])
        if head:
            return Reply(status, b"", "application/json")
        return json_reply(status, self._health_body())

    def _health_status(self, params):
        """Vault's code selection; every flag is parsed first, so any bad one is a 400."""
        flags = {name: parse_bool(params[name][0]) if name in params else False
                 for name in ("standbyok", "perfstandbyok")}
        codes = {name: parse_int(params[name][0]) if name in params else default
                 for name, default in _HEALTH_CODES}
        if self.faults.get("sealed"):
            return codes["sealedcode"]
        if self.faults.get("standby_redirect") and not flags["standbyok"]:
            return codes["standbycode"]
        return codes["activecode"]

    def _health_body(self):
        sealed = self.faults.get("sealed")
        standby = bool(self.faults.get("standby_redirect"))
        body = Struct(initialized=True, sealed=sealed, standby=standby, performance_standby=False,
                      replication_performance_mode="disabled", replication_dr_mode="disabled",
                      server_time_utc=int(self.core.clock.now()), version=VERSION,
                      enterprise=False)
        if not sealed:
            body.update(cluster_name=self.cluster_name, cluster_id=self.cluster_id)
        body.update(echo_duration_ms=0, clock_skew_ms=0, replication_primary_canary_age_ms=0)
        if standby:
            body.update(ha_connection_healthy=True)
        return body

    def _seal_status(self, request):
        if request.method != "GET":
            return error_reply(405, [])
        sealed = self.faults.get("sealed")
        body = Struct(type="shamir", initialized=True, sealed=sealed, t=1, n=1, progress=0,
                      nonce="", version=VERSION, build_date="2025-11-18T00:00:00Z",
                      migration=False)
        if not sealed:
            body.update(cluster_name=self.cluster_name, cluster_id=self.cluster_id)
        body.update(recovery_seal=False, storage_type="inmem")
        return json_reply(200, body)

    # ------------------------------------------------------------------ logical requests

    def _logical_request(self, request, path):
        """buildLogicalRequest: the HTTP method picks the operation and where data comes from."""
        method = request.method
        token = request_token(request.headers)
        if method == "GET":
            wants_list = parse_qs(request.query, keep_blank_values=True).get("list", [""])[0]
            try:
                listing = bool(wants_list) and parse_bool(wants_list)
            except ValueError:
                raise VaultError(400, []) from None
            if listing:
                return Request(LIST, _dir(path), _query_data(request.query, drop=("list",)),
                               client_token=token)
            return Request(READ, path, _query_data(request.query), client_token=token)
        if method in ("POST", "PUT"):
            return Request(UPDATE, path, self._body(request), client_token=token)
        if method == "DELETE":
            return Request(DELETE, path, _query_data(request.query), client_token=token)
        if method == "LIST":
            return Request(LIST, _dir(path), _query_data(request.query), client_token=token)
        if method == "PATCH":
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type != MERGE_PATCH:
                raise VaultError(415, [f"PATCH requires Content-Type of {MERGE_PATCH}, "
                                       f"provided {content_type}"])
            return Request(PATCH, path, self._body(request), client_token=token)
        raise VaultError(405, [])

    @staticmethod
    def _body(request):
        if request.body is None:
            raise VaultError(413, ["http: request body too large"])
        return _body_data(request)

    def _respond(self, logical, response, mount_type):
        """respondLogical: 204 without a response, raw bodies as they are, else the envelope.

        A read that found nothing, or a list without keys, is a 404 instead.
        """
        if _nothing_found(logical.operation, response):
            return error_reply(404, [])
        if response is None:
            return Reply(204, b"", "application/json")
        if response.raw is not None:
            content_type, body = response.raw
            return Reply(200, body, content_type)
        self._report_token_ttl(logical.path, response)
        body = envelope(response.data, response.warnings, response.auth, mount_type)
        if logical.wrap_ttl:
            return json_reply(200, wrapped_envelope(self.core.wrapping.wrap(
                go_json(body), logical.path, logical.wrap_ttl, _wrapped_accessor(response))))
        if response.data and _injects_data(logical.path):
            body = Struct({**{k: response.data[k] for k in sorted(response.data)}, **body})
        return json_reply(200, body)

    def _report_token_ttl(self, path, response):
        """The token_ttl fault: every auth block and token lookup claims that TTL."""
        ttl = self.faults.scoped("token_ttl", path)
        if ttl is None:
            return
        if response.auth is not None:
            response.auth["lease_duration"] = ttl
        if path in TOKEN_LOOKUP_PATHS and response.data is not None:
            response.data["ttl"] = ttl


def _wrap_ttl(headers):
    """X-Vault-Wrap-TTL in seconds (a Go duration or a number), 0 when absent."""
    text = headers.get("x-vault-wrap-ttl", "")
    if not text:
        return 0
    try:
        seconds = parse_duration_seconds(text)
    except ValueError as err:
        raise VaultError(400, [str(err)]) from None
    if seconds < 0:
        raise VaultError(400, ["requested wrap ttl cannot be negative"])
    return seconds


def _wrapped_accessor(response):
    """A wrapped login names its token's accessor, a wrapped AppRole secret ID its accessor."""
    if response.auth is not None:
        return response.auth["accessor"]
    return (response.data or {}).get("secret_id_accessor", "")


def _nothing_found(operation, response):
    if operation == READ:
        return response is None
    if operation == LIST:
        return response is None or (not (response.data or {}).get("keys")
                                    and not response.warnings)
    return False


def _dir(path):
    return path if path.endswith("/") else path + "/"


def _injects_data(path):
    return any(path == route or path.startswith(route + "/") for route in INJECTOR_ROUTES)
