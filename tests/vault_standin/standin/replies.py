"""HTTP replies as the server sends them, and Vault's two JSON bodies.

A reply has a status, a content type, headers and a body; json_reply,
error_reply and envelope build the JSON ones.
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
