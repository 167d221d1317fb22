"""Response wrapping (vault/wrapping.go, sys/wrapping/*).

A request with X-Vault-Wrap-TTL gets, instead of its response, an envelope
whose only populated part is wrap_info; the response itself is kept under a
single-use wrapping token until it is unwrapped or its TTL runs out on the
stand-in's clock. sys/wrapping/unwrap takes the wrapping token as the client
token (no body), or in the body's "token" from a caller allowed to unwrap;
sys/wrapping/lookup tells its creation path, time and TTL. An unknown, used or
expired wrapping token is "wrapping token is not valid or does not exist" (400).
"""

from .framework import ErrorResponse, Response, VaultError
from .gocompat import Struct, rfc3339
from .tokens import random_base62

NOT_VALID = "wrapping token is not valid or does not exist"
UNWRAP_PATH = "sys/wrapping/unwrap"


class ResponseWrapping:
    def __init__(self, core):
        self.core = core

    @property
    def _wrapped(self):
        return self.core.state.setdefault("wrapping", {})

    def wrap(self, body, creation_path, ttl, wrapped_accessor=""):
        """Keep the JSON body of a response; the wrap_info to send instead."""
        with self.core.lock:
            now = self.core.clock.now()
            token, accessor = "hvs." + random_base62(24), random_base62(24)
            self._wrapped[token] = {"body": body.decode(), "accessor": accessor, "ttl": ttl,
                                    "creation_time": now, "creation_path": creation_path}
            if self.core.store is not None:
                self.core.store.save(self.core.state)
        return Struct(token=token, accessor=accessor, ttl=ttl, creation_time=rfc3339(now),
                      creation_path=creation_path, wrapped_accessor=wrapped_accessor)

    def _live(self, token):
        entry = self._wrapped.get(token)
        if entry is None:
            return None
        if self.core.clock.now() >= entry["creation_time"] + entry["ttl"]:
            del self._wrapped[token]
            return None
        return entry

    def unwrap(self, token):
        """The wrapped response, raw as it was sent; the token is used up."""
        if self._live(token) is None:
            raise ErrorResponse(NOT_VALID)
        entry = self._wrapped.pop(token)
        return Response(raw=("application/json", entry["body"].encode()))

    def unwrap_own(self, request):
        """Unwrap with the wrapping token as the client token (it needs no policy)."""
        try:
            return self.unwrap(request.client_token)
        except ErrorResponse as err:
            raise VaultError(err.status, [err.message]) from None

    def lookup(self, token):
        entry = self._live(token)
        if entry is None:
            raise ErrorResponse(NOT_VALID)
        return Response(data={"creation_path": entry["creation_path"],
                              "creation_time": rfc3339(entry["creation_time"]),
                              "creation_ttl": entry["ttl"]})

    def handle_sys(self, request, data, operation):
        token = data.get("token").strip() or request.client_token
        if not token:
            raise ErrorResponse("missing \"token\" value in input")
        return self.unwrap(token) if operation == "unwrap" else self.lookup(token)


def wrapped_envelope(wrap_info):
    """The reply to a wrapped request: every field empty except wrap_info."""
    return Struct(request_id="", lease_id="", renewable=False, lease_duration=0, data=None,
                  wrap_info=wrap_info, warnings=None, auth=None, mount_type="")
