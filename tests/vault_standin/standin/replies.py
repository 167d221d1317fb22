"""HTTP replies as the server sends them, and Vault's two JSON bodies.

A reply has a status, headers and a body, or a stream of body chunks when the
body is too large to hold. Faults can also cut the connection after part of
the body, or close it without answering.
"""

import uuid
from dataclasses import dataclass, field

from .gocompat import Struct, go_json


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = None
    headers: dict = field(default_factory=dict)
    # Instead of body: (length, iterable of byte chunks), sent as they come.
    stream: tuple = None
    # Close the connection after this many body bytes (Content-Length still says all).
    cut_at: int = None
    # Close the connection without sending anything.
    no_answer: bool = False

    @property
    def length(self):
        return self.stream[0] if self.stream else len(self.body)

    def chunks(self):
        if self.stream:
            return self.stream[1]
        return [self.body] if self.body else []


def json_reply(status, value):
    return Reply(status, go_json(value), "application/json")


def error_reply(status, errors):
    """Vault's error body: {"errors":[...]}."""
    return json_reply(status, Struct(errors=errors))


def envelope(data=None, warnings=None, auth=None, mount_type=""):
    """Vault's response envelope (logical.HTTPResponse), fields in Vault's order."""
    return Struct(request_id=str(uuid.uuid4()), lease_id="", renewable=False, lease_duration=0,
                  data=data, wrap_info=None, warnings=warnings or None, auth=auth,
                  mount_type=mount_type)
