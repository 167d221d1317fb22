"""The HTTP server and command line of the Vault stand-in."""

import argparse
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from .admin import AdminApi
from .core import Clock, Core, StateStore
from .faults import Faults
from .gocompat import multierror
from .http_api import MAX_REQUEST_BYTES, HttpRequest, RequestLog, VaultHttp
from .lookalikes import Lookalikes
from .oidc import AUTHORIZE_PATH
from .replies import error_reply

LISTEN_HOST = "127.0.0.1"


def log(message):
    sys.stderr.write(f"vault-standin: {message}\n")
    sys.stderr.flush()


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, vault_http, admin, clock):
        super().__init__((LISTEN_HOST, port), Handler)
        self.vault_http = vault_http
        self.admin = admin
        self.clock = clock


# What Go's net/http answers to plain HTTP on a TLS port.
PLAIN_HTTP_REPLY = (b"HTTP/1.0 400 Bad Request\r\n\r\n"
                    b"Client sent an HTTP request to an HTTPS server.\n")
TLS_HANDSHAKE_RECORD = b"\x16"
HANDSHAKE_TIMEOUT = 30


class TlsStandinServer(StandinServer):
    """The same server behind TLS. Client certificates are requested (not required) and
    verified against the client CA; the handshake runs in the connection's own thread."""

    def __init__(self, port, vault_http, admin, clock, context):
        super().__init__(port, vault_http, admin, clock)
        self.context = context
        self.lock, self.open_connections = threading.Lock(), set()

    def finish_request(self, request, client_address):
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != TLS_HANDSHAKE_RECORD:
                request.sendall(PLAIN_HTTP_REPLY)
                return
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as err:
            log(f"{client_address[0]} TLS handshake failed: {err}")
            return
        tls.settimeout(None)
        with self.lock:
            self.open_connections.add(tls)
        try:
            super().finish_request(tls, client_address)
        finally:
            with self.lock:
                self.open_connections.discard(tls)
            tls.close()

    def reload(self, context):
        """New connections get `context`; open ones are closed, as a restart with a new certificate would."""
        self.context = context
        with self.lock:
            for connection in self.open_connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def tls_context(cert, key, client_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vault-standin"
    # TCP_NODELAY, as Go's net/http sets on every connection. Without it the body, written
    # after the headers, waits for the client's delayed ACK: 40 ms on every kept-alive request.
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        """The Date header, on the stand-in's clock (moved by /_standin/time_offset)."""
        return super().date_time_string(self.server.clock.now() if timestamp is None
                                        else timestamp)

    def __getattr__(self, name):
        # Vault answers every HTTP method itself (unknown ones get 405), so
        # all do_<METHOD> lookups go to the same dispatcher.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_request(self, code="-", size="-"):
        """Silenced: _dispatch logs each request without its query string."""

    def _dispatch(self):
        started = time.monotonic()
        url = urlsplit(self.path)
        path = unquote(url.path)
        try:
            body = self._read_body()
        except ValueError as err:
            self.close_connection = True
            self._send(error_reply(400, [str(err)]))
            return
        if body is None:
            # The unread remainder of an oversized body makes the connection unusable.
            self.close_connection = True
        try:
            reply = self._route(path, url.query, body)
        except Exception:  # a stand-in bug: answer like Vault's internal error, keep serving
            log(f"internal error on {self.command} {path}:\n{traceback.format_exc()}")
            reply = error_reply(500, [multierror("internal error")])
        self._send(reply)
        elapsed = (time.monotonic() - started) * 1000
        outcome = "no answer" if reply.no_answer else reply.status
        log(f"{self.client_address[0]} {self.command} {path} -> {outcome} ({elapsed:.0f} ms)")

    def _route(self, path, query, body):
        if path == AUTHORIZE_PATH and self.command == "GET":
            return self.server.admin.core.oidc_provider.authorize(query)
        if path.startswith("/_standin/"):
            return self.server.admin.serve(self.command, path, body)
        if path.startswith("/v1/"):
            headers = {name.lower(): value for name, value in self.headers.items()}
            return self.server.vault_http.serve(
                HttpRequest(self.command, path, query, headers, body, self._connection_info()))
        return error_reply(404, [])

    def _connection_info(self):
        if not isinstance(self.connection, ssl.SSLSocket):
            return {"tls": False, "peer_certificate": None}
        return {"tls": True, "peer_certificate": self.connection.getpeercert(binary_form=True)}

    def _read_body(self):
        """The request body, or None if it is larger than Vault's 32 MiB limit."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit():
            raise ValueError("invalid Content-Length")
        length = int(length_text)
        return None if length > MAX_REQUEST_BYTES else self.rfile.read(length)

    def _read_chunked(self):
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ValueError("invalid chunked encoding") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return bytes(body)
            if len(body) + size > MAX_REQUEST_BYTES:
                return None
            body += self.rfile.read(size)
            self.rfile.readline(1024)

    def _send(self, reply):
        if reply.no_answer:
            self.close_connection = True
            return
        self.send_response(reply.status)
        # Vault sets this on every response.
        self.send_header("Cache-Control", "no-store")
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Length", str(reply.length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self._write_body(reply)

    def _write_body(self, reply):
        """The body, or its first cut_at bytes and then a closed connection."""
        left = reply.length if reply.cut_at is None else reply.cut_at
        try:
            for chunk in reply.chunks():
                if left <= 0:
                    break
                self.wfile.write(chunk[:left])
                left -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if reply.cut_at is not None:
            self.close_connection = True


def write_port_file(path, port):
    """Write atomically, so a test polling for the file never reads a partial number."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(f"{port}\n")
    os.replace(temporary, path)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="vault_standin.py",
        description="A HashiCorp Vault stand-in for tests (SSH CA, userpass, ldap, OIDC, approle, "
                    "aws, cert, login MFA, response wrapping, tokens, policies), with "
                    "optional AWS STS and IMDSv2 look-alikes.")
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port on 127.0.0.1; 0 picks a free one (default)")
    parser.add_argument("--port-file", help="write the listening port to this file")
    parser.add_argument("--root-token", required=True, help="the root token")
    parser.add_argument("--state-dir",
                        help="keep state (mounts, keys, users, tokens) in DIR/state.json")
    parser.add_argument("--bootstrap", action="store_true",
                        help='create an "ssh" mount with an Ed25519 CA and a "userpass" '
                             'auth method')
    parser.add_argument("--record-secrets", action="store_true",
                        help="keep tokens and passwords unredacted in /_standin/requests")
    parser.add_argument("--tls-cert", help="also serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the key of --tls-cert (PEM)")
    parser.add_argument("--tls-client-ca",
                        help="request client certificates and verify them against this CA")
    parser.add_argument("--tls-port-file", help="write the HTTPS port to this file")
    parser.add_argument("--tls-port", type=int, default=0,
                        help="HTTPS port on 127.0.0.1; 0 picks a free one (default)")
    parser.add_argument("--sts-port-file",
                        help="also serve the AWS STS look-alike; write its port to this file")
    parser.add_argument("--imds-port-file",
                        help="also serve the EC2 IMDSv2 look-alike; write its port to this file")
    args = parser.parse_args(argv)
    if not args.root_token:
        parser.error("--root-token must not be empty")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if (args.tls_client_ca or args.tls_port_file) and not args.tls_cert:
        parser.error("--tls-client-ca and --tls-port-file need --tls-cert and --tls-key")
    return args


def build_core(args, faults):
    clock = Clock(time.time)
    store = workdir = None
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
        store = StateStore(args.state_dir)
        workdir = args.state_dir
    core = Core(args.root_token, clock, faults, workdir, store)
    if args.bootstrap:
        core.bootstrap()
    return core


def main(argv=None):
    args = parse_args(argv)
    faults, request_log = Faults(), RequestLog(args.record_secrets)
    core = build_core(args, faults)
    lookalikes = Lookalikes(core.clock)
    server = StandinServer(args.port, VaultHttp(core, faults, request_log),
                           AdminApi(faults, request_log, core, lookalikes), core.clock)
    port = server.server_address[1]
    core.address = f"http://{LISTEN_HOST}:{port}"
    if args.port_file:
        write_port_file(args.port_file, port)
    log(f"listening on http://{LISTEN_HOST}:{port}")

    stop, reload = threading.Event(), threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # Like Vault, SIGHUP reloads the listener's certificate and key for new connections.
    signal.signal(signal.SIGHUP, lambda *_: reload.set())
    # Short polls keep shutdown quick; tests start and stop many stand-ins.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="http", daemon=True)
    thread.start()
    lookalikes.start(LISTEN_HOST, args.sts_port_file, args.imds_port_file, write_port_file, log)
    tls_server = None
    if args.tls_cert:
        tls_server = TlsStandinServer(args.tls_port, server.vault_http, server.admin, core.clock,
                                      tls_context(args.tls_cert, args.tls_key, args.tls_client_ca))
        threading.Thread(target=tls_server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="https", daemon=True).start()
        tls_port = tls_server.server_address[1]
        if args.tls_port_file:
            write_port_file(args.tls_port_file, tls_port)
        log(f"listening on https://{LISTEN_HOST}:{tls_port}")
    while not stop.wait(0.1):
        if reload.is_set():
            reload.clear()
            if tls_server is not None:
                tls_server.reload(tls_context(args.tls_cert, args.tls_key, args.tls_client_ca))
                log("reloaded the TLS certificate")
    lookalikes.stop()
    if tls_server is not None:
        tls_server.shutdown()
        tls_server.server_close()
    faults.stop()
    core.stop()
    server.shutdown()
    server.server_close()
    log("stopped")
    return 0
