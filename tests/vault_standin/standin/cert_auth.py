"""The cert auth method (builtin/credential/cert), over the stand-in's HTTPS listener.

certs/<name> holds a trusted certificate (a CA, or one client certificate)
with allowed_common_names, display_name and the token_* parameters. A login
(optionally restricted with "name") matches the client certificate of the
TLS connection as verifyCredentials does: a trusted non-CA certificate
matches on serial number and authority key ID, a CA when the client
certificate chains to it for client authentication; then the constraints.
Renewal checks the renewing connection's certificate the same way.
"""

import fnmatch

from . import fields as f
from .framework import (DELETE, LIST, NAME, READ, UPDATE, Backend, ErrorResponse, HandlerError,
                        Path, Response)
from .tokenutil import (TOKEN_FIELDS, apply_token_fields, login_auth, new_token_settings,
                        refuse_changed_policies, token_settings_data)
from .x509 import CertificateError, chains_to, der_to_pem, describe, split_pem

NO_CHAIN = "invalid certificate or no client certificate supplied"
NO_MATCH = "no chain matching all constraints could be found for this login certificate"
_CERT_FIELDS = {
    "name": f.Field(f.STRING), "certificate": f.Field(f.STRING),
    "allowed_common_names": f.Field(f.COMMA_STRINGS), "display_name": f.Field(f.STRING),
    **TOKEN_FIELDS,
}


def new_cert_entry():
    return {"certs": {}}


class CertBackend(Backend):
    mount_type = "cert"
    unauthenticated = ("login",)

    def paths(self):
        return [
            Path("certs/?", {}, {LIST: self.list_certs}),
            Path(f"certs/(?P<name>{NAME})", _CERT_FIELDS,
                 {READ: self.read_cert, UPDATE: self.write_cert, DELETE: self.delete_cert}),
            Path("login", {"name": f.Field(f.STRING)}, {UPDATE: self.login}),
        ]

    @property
    def certs(self):
        return self.entry["certs"]

    def list_certs(self, _request, _data):
        return Response(data={"keys": sorted(self.certs)}) if self.certs else None

    def read_cert(self, _request, data):
        cert = self.certs.get(data.get("name").lower())
        if cert is None:
            return None
        return Response(data={"certificate": cert["certificate"],
                              "allowed_common_names": cert["allowed_common_names"],
                              "display_name": cert["display_name"], **token_settings_data(cert)})

    def write_cert(self, _request, data):
        name = data.get("name").lower()
        cert = dict(self.certs.get(name) or {"certificate": "", "allowed_common_names": [],
                                             "display_name": name, **new_token_settings()})
        for key in ("certificate", "allowed_common_names", "display_name"):
            value, supplied = data.get_ok(key)
            if supplied:
                cert[key] = value
        if not cert["certificate"]:
            raise ErrorResponse("missing certificate")
        pems = split_pem(cert["certificate"])
        try:
            cert["facts"] = describe(pems[0]) if pems else None
        except CertificateError:
            cert["facts"] = None
        if cert["facts"] is None:
            raise ErrorResponse("failed to parse certificate")
        cert["display_name"] = cert["display_name"] or name
        apply_token_fields(cert, data)
        self.certs[name] = cert

    def delete_cert(self, _request, data):
        self.certs.pop(data.get("name").lower(), None)

    # ------------------------------------------------------------------ login

    def _matching(self, connection, name):
        """verifyCredentials: (cert name, cert entry, client facts) of the first match."""
        if not connection or not connection.get("tls"):
            raise ErrorResponse("tls connection required")
        der = connection.get("peer_certificate")
        if not der:
            raise ErrorResponse("client certificate must be supplied")
        client_pem = der_to_pem(der)
        client = describe(client_pem)
        now = self.core.clock.now()
        chained = []
        for cert_name in sorted(self.certs):
            if name and cert_name != name:
                continue
            cert = self.certs[cert_name]
            facts = cert["facts"]
            if not facts["is_ca"]:
                if (facts["serial_number"] == client["serial_number"]
                        and facts["authority_key_id"] == client["authority_key_id"]
                        and _constraints_met(cert, client)):
                    return cert_name, cert, client
                continue
            if chains_to(client_pem, cert["certificate"], now):
                chained.append((cert_name, cert))
        if not chained:
            raise ErrorResponse(NO_CHAIN)
        for cert_name, cert in chained:
            if _constraints_met(cert, client):
                return cert_name, cert, client
        raise ErrorResponse(NO_MATCH)

    def login(self, request, data):
        cert_name, cert, client = self._matching(request.connection, data.get("name").lower())
        metadata = {"cert_name": cert_name, "common_name": client["common_name"],
                    "serial_number": client["serial_number"],
                    "subject_key_id": client["subject_key_id"],
                    "authority_key_id": client["authority_key_id"]}
        auth = login_auth(cert, list(cert["token_policies"]), cert["display_name"], metadata)
        auth.alias_name = client["common_name"]
        return Response(login=auth)

    def renew_login(self, token):
        """pathLoginRenew: the renewing connection must present a matching certificate."""
        meta = token["meta"] or {}
        _name, _cert, client = self._matching(self.core.current_connection,
                                              meta.get("cert_name", ""))
        if (client["subject_key_id"] != meta.get("subject_key_id")
                and client["authority_key_id"] != meta.get("authority_key_id")):
            raise HandlerError("client identity during renewal not matching client identity "
                               "used during login")
        cert = self.certs.get(meta.get("cert_name", ""))
        if cert is None:
            return None
        refuse_changed_policies(cert["token_policies"], token)
        return cert["token_ttl"], cert["token_max_ttl"], cert.get("token_period", 0)


def _constraints_met(cert, client):
    allowed = cert["allowed_common_names"]
    return not allowed or any(fnmatch.fnmatchcase(client["common_name"], pattern)
                              for pattern in allowed)
