"""The AWS look-alikes the stand-in can serve beside Vault's API, each on its own port.

The STS look-alike (sts.py) checks the signed requests the aws auth method
forwards, and the IMDSv2 look-alike (imds.py) hands out credentials that STS
accepts. Both run on the stand-in's clock; tests set them up through the
admin API (routes below).
"""

import threading

from .imds import ImdsServer, ImdsState
from .replies import Reply, json_reply
from .sts import StsServer, StsState


class Lookalikes:
    def __init__(self, clock):
        self.sts = StsState(clock)
        self.imds = ImdsState(self.sts)
        self._servers = []

    def start(self, host, sts_port_file, imds_port_file, write_port_file, log):
        for port_file, server_class, state, name in (
                (sts_port_file, StsServer, self.sts, "STS"),
                (imds_port_file, ImdsServer, self.imds, "IMDS")):
            if not port_file:
                continue
            server = server_class(host, 0, state)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             name=name, daemon=True).start()
            self._servers.append(server)
            write_port_file(port_file, server.server_address[1])
            log(f"{name} look-alike listening on http://{host}:{server.server_address[1]}")

    def stop(self):
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def admin_routes(self):
        return {
            ("POST", "sts_users"): lambda payload: json_reply(200, self.sts.add_user(**_args(
                payload, "arn", "access_key_id", "secret_access_key", "mfa_serial",
                "totp_secret", "mfa_code"))),
            ("POST", "sts_roles"): lambda payload: json_reply(200, self.sts.add_role(**_args(
                payload, "arn", "trusted", "mfa_required", "max_session_duration",
                "external_id"))),
            ("GET", "sts_requests"): lambda _payload: json_reply(200, self.sts.entries()),
            ("DELETE", "sts_requests"): self._clear_sts_log,
            ("POST", "imds"): self._configure_imds,
            ("GET", "imds"): lambda _payload: json_reply(200, {
                "role_arn": self.imds.role_arn, "instance_id": self.imds.instance_id,
                "requests": self.imds.requests}),
        }

    def _clear_sts_log(self, _payload):
        self.sts.clear_log()
        return Reply(204)

    def _configure_imds(self, payload):
        self.imds.configure(**_args(payload, "role_arn", "instance_id"))
        return Reply(204)


def _args(payload, *names):
    """The payload's known keys as keyword arguments; anything else is a 400."""
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(payload) - set(names))
    if unknown:
        raise ValueError(f"unknown keys {unknown}; expected some of {list(names)}")
    return payload
