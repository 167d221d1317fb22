# SPDX-License-Identifier: Apache-2.0
"""Records the fuzz seed corpora from real sessions: what ssh-add and ssh send
to the agent, what sshcert sends to the daemon, what Vault (the stand-in)
answers, and the certificates it signs. Run from the repository root after a
build; it rewrites tests/fuzz/corpus/*/ (files named by content hash).

    SSHCERT_BUILD_DIR=build python3 tests/fuzz/record_corpus.py
"""

import base64
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import LOGIN_USER, PASSWORD, Daemon, Sshd, Vault, make_workdir, profile_toml  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")


def save(target, data):
    path = os.path.join(CORPUS, target)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


class RecordingProxy:
    """Listens on `path`, forwards every connection to `upstream`, and keeps each connection's
    client-to-server byte stream (whole frames, as the fuzz targets read them)."""

    def __init__(self, path, upstream):
        self.streams = []
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(path)
        self.server.listen()
        self.upstream = upstream
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.upstream)
            record = bytearray()
            self.streams.append(record)
            threading.Thread(target=self.pump, args=(client, upstream, record), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, None), daemon=True).start()

    @staticmethod
    def pump(src, dst, record):
        try:
            while data := src.recv(65536):
                if record is not None:
                    record.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


def frames(stream):
    out, pos = [], 0
    while pos + 4 <= len(stream):
        (n,) = struct.unpack(">I", stream[pos:pos + 4])
        out.append(bytes(stream[pos:pos + 4 + n]))
        pos += 4 + n
    return out


def main():
    cleanups, work = [], make_workdir()
    cleanup = lambda fn, *a: cleanups.append(lambda: fn(*a))  # noqa: E731  (addCleanup's signature)
    try:
        vault = Vault(work, cleanup)
        ca = vault.enable_ssh("ssh")
        vault.write_role("ssh", "dev", allowed_users=LOGIN_USER, default_extensions={"permit-pty": ""}, ttl="30m")
        vault.write_policy("dev", 'path "ssh/sign/*" { capabilities = ["update"] }')
        vault.enable_userpass("userpass")
        vault.add_user("userpass", "alice", PASSWORD, ["dev"])
        sshd = Sshd(work, [ca], cleanup)
        types = ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072"]
        profiles = "".join(profile_toml(t, [f"{t}.test"], "dev", key_type=t) for t in types)
        d = Daemon(work, vault.addr, '[auth]\nmethod = "userpass"\n' + profiles, cleanup)

        control_proxy = os.path.join(work, "control-proxy.sock")
        agent_proxy = os.path.join(work, "agent-proxy.sock")
        control = RecordingProxy(control_proxy, d.control_socket)
        agent = RecordingProxy(agent_proxy, d.agent_socket)
        # The client finds the daemon through XDG_RUNTIME_DIR; point it at a directory holding the proxy.
        proxy_runtime = os.path.join(work, "proxy-run")
        os.makedirs(os.path.join(proxy_runtime, "sshcert"), mode=0o700)
        os.chmod(os.path.join(proxy_runtime, "sshcert"), 0o700)
        os.symlink(control_proxy, os.path.join(proxy_runtime, "sshcert", "control.sock"))
        client_env = {"XDG_RUNTIME_DIR": proxy_runtime}

        d.sshcert("status", env=client_env)
        d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n", env=client_env)
        for t in types:
            d.sshcert("ssh", *sshd.ssh_options(), "-o", "HostName=127.0.0.1", f"{LOGIN_USER}@{t}.test", "true",
                      env=client_env)
            # Plain ssh through the recording proxy: identities, session-bind, sign requests.
            subprocess.run(["ssh", *sshd.ssh_options(), "-o", f"IdentityAgent={agent_proxy}",
                            f"{LOGIN_USER}@127.0.0.1", "true"], capture_output=True)
        d.sshcert("status", "--json", env=client_env)
        agent_env = {"SSH_AUTH_SOCK": agent_proxy, "PATH": os.environ["PATH"]}
        subprocess.run(["ssh-add", "-l"], env=agent_env, capture_output=True)
        certs = subprocess.run(["ssh-add", "-L"], env=agent_env, capture_output=True, text=True).stdout.splitlines()
        for i, line in enumerate(certs):
            cert_file = os.path.join(work, f"cert{i}.pub")
            with open(cert_file, "w") as f:
                f.write(line + "\n")
            subprocess.run(["ssh-add", "-T", cert_file], env=agent_env, capture_output=True)
            save("cert_parser", base64.b64decode(line.split()[1]))
            save("cert_parser", line.encode())
        d.sshcert("logout", env=client_env)

        for stream in agent.streams:
            if stream:
                save("agent_request", bytes(stream))
        for stream in control.streams:
            for f in frames(stream):
                body = json.loads(f[4:])
                if "secret" in body:
                    body["secret"] = "corpus-secret"
                save("control_request", json.dumps(body).encode())

        for path, method in [("sys/health", "GET"), ("auth/token/lookup-self", "GET"), ("ssh/config/ca", "GET"),
                             ("ssh/roles/dev", "GET"), ("auth/userpass/login/alice", "POST"), ("ssh/sign/dev", "POST"),
                             ("ssh/sign/nope", "POST"), ("no/such/path", "GET")]:
            body = {"password": PASSWORD} if "login" in path else {"public_key": ca, "valid_principals": LOGIN_USER}
            req = urllib.request.Request(f"{vault.addr}/v1/{path}", method=method,
                                         data=json.dumps(body).encode() if method == "POST" else None,
                                         headers={"X-Vault-Token": vault.root_token})
            try:
                with urllib.request.urlopen(req) as resp:
                    save("vault_response", resp.read())
            except urllib.error.HTTPError as e:
                save("vault_response", e.read())
        control.close()
        agent.close()
    finally:
        for c in reversed(cleanups):
            c()
        subprocess.run(["rm", "-rf", work])
    for target in sorted(os.listdir(CORPUS)):
        print(f"{target}: {len(os.listdir(os.path.join(CORPUS, target)))} seeds")


if __name__ == "__main__":
    main()
