"""The SSH secrets engine in CA mode (builtin/logical/ssh).

config/ca, public_key, roles/<role> and sign/<role>, following Vault's
path_config_ca.go, path_roles.go and path_issue_sign.go: the same checks in
the same order with the same messages. Identity templates in allowed_users,
allowed_domains, default_user and default_extensions are rendered from the
caller's entity (identity.py); without an entity they stay literal, or (in
extensions) are skipped with Vault's warning. Two faults change a signature:
cert_validity (forever, or wholly expired) and sign_warnings.
"""

import re
import secrets

from . import fields as f
from . import sshkeygen
from .framework import (DELETE, LIST, NAME_WITH_AT, READ, UPDATE, Backend, ErrorResponse,
                        HandlerError, Path, Response)
from .gocompat import fmt_v, parse_int
from .identity import TemplateError
from .sshwire import KeyParseError, parse_vault_public_key
from .tokens import SYSTEM_DEFAULT_TTL, SYSTEM_MAX_TTL

DEFAULT_ALGORITHM_SIGNER = "default"
RSA_SIGNATURE_ALGORITHMS = ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512")
DEFAULT_KEY_ID_FORMAT = "vault-{{token_display_name}}-{{public_key_hash}}"
TEMPLATE_MARKER = re.compile(r"{{.+?}}")
# ValidBefore of a certificate that never expires (ssh-keygen -V always:forever).
FOREVER = 2 ** 64 - 1
# How long before "now" a certificate made expired by the cert_validity fault ends.
EXPIRED_AGO = 3600
EXTENSION_TEMPLATE_WARNING = (
    "default_extension templating enabled with at least one extension requiring identity "
    "templating. However, this request lacked identity entity information, causing one or more "
    "extensions to be skipped from the generated certificate.")

CA_FIELDS = {
    "private_key": f.Field(f.STRING), "public_key": f.Field(f.STRING),
    "generate_signing_key": f.Field(f.BOOL, default=True),
    "key_type": f.Field(f.STRING, default="ssh-rsa"), "key_bits": f.Field(f.INT),
}

ROLE_FIELDS = {
    "role": f.Field(f.STRING), "key_type": f.Field(f.STRING),
    "default_user": f.Field(f.STRING), "default_user_template": f.Field(f.BOOL),
    "allowed_users": f.Field(f.STRING), "allowed_users_template": f.Field(f.BOOL),
    "allowed_domains": f.Field(f.STRING), "allowed_domains_template": f.Field(f.BOOL),
    "ttl": f.Field(f.DURATION), "max_ttl": f.Field(f.DURATION),
    "allowed_critical_options": f.Field(f.STRING), "allowed_extensions": f.Field(f.STRING),
    "default_critical_options": f.Field(f.MAP), "default_extensions": f.Field(f.MAP),
    "default_extensions_template": f.Field(f.BOOL),
    "allow_user_certificates": f.Field(f.BOOL), "allow_host_certificates": f.Field(f.BOOL),
    "allow_bare_domains": f.Field(f.BOOL), "allow_subdomains": f.Field(f.BOOL),
    "allow_user_key_ids": f.Field(f.BOOL), "key_id_format": f.Field(f.STRING),
    "allowed_user_key_lengths": f.Field(f.MAP), "algorithm_signer": f.Field(f.STRING),
    "not_before_duration": f.Field(f.DURATION, default=30),
    "allow_empty_principals": f.Field(f.BOOL),
    # One-time-password role parameters: known to Vault, unused for CA roles.
    "cidr_list": f.Field(f.STRING), "exclude_cidr_list": f.Field(f.STRING),
    "port": f.Field(f.INT),
}

# Role parameters copied verbatim into the stored role.
_ROLE_COPIED = ("default_user", "default_user_template", "allowed_users", "allowed_users_template",
                "allowed_domains", "allowed_domains_template", "ttl", "max_ttl",
                "allowed_critical_options", "allowed_extensions", "default_extensions_template",
                "allow_user_certificates", "allow_host_certificates", "allow_bare_domains",
                "allow_subdomains", "allow_user_key_ids", "key_id_format", "not_before_duration",
                "allow_empty_principals")

SIGN_FIELDS = {
    "role": f.Field(f.STRING), "ttl": f.Field(f.DURATION), "public_key": f.Field(f.STRING),
    "valid_principals": f.Field(f.STRING), "cert_type": f.Field(f.STRING, default="user"),
    "key_id": f.Field(f.STRING), "critical_options": f.Field(f.MAP),
    "extensions": f.Field(f.MAP),
}

# allowed_user_key_lengths map keys that describe each Go crypto key type.
_KEY_LENGTH_NAMES = {
    "rsa": ("rsa", "ssh-rsa"),
    "dsa": ("dsa", "ssh-dss"),
    "ecdsa": ("ecdsa", "ec"),
    "ed25519": ("ed25519", "ssh-ed25519"),
}
_EC_CURVE_NAMES = {256: "ecdsa-sha2-nistp256", 384: "ecdsa-sha2-nistp384",
                   521: "ecdsa-sha2-nistp521"}


def parse_string_slice(text):
    """strutil.ParseStringSlice + RemoveDuplicates: trimmed, non-empty, unique, sorted."""
    return sorted({item.strip() for item in text.split(",") if item.strip()})


def _string_map(values):
    """convertMapToStringValue: every value formatted with Go's %v."""
    return {key: fmt_v(value) for key, value in values.items()}


def _int_list(value):
    """parseutil.SafeParseIntSlice for one allowed_user_key_lengths entry."""
    items = value if isinstance(value, list) else [value]
    result = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            result.append(item)
            continue
        if not isinstance(item, str):
            raise ValueError(f"could not parse {fmt_v(item)} as an integer")
        for part in item.split(","):
            if part.strip():
                result.append(parse_int(part.strip()))
    return result


class SshBackend(Backend):
    mount_type = "ssh"
    unauthenticated = ("verify", "public_key")

    def paths(self):
        role = f"(?P<role>{NAME_WITH_AT})"
        return [
            Path("config/ca", CA_FIELDS,
                 {READ: self.read_ca, UPDATE: self.write_ca, DELETE: self.delete_ca}),
            Path("public_key", {}, {READ: self.public_key}),
            Path("roles/?", {}, {LIST: self.list_roles}),
            Path(f"roles/{role}", ROLE_FIELDS,
                 {READ: self.read_role, UPDATE: self.write_role, DELETE: self.delete_role}),
            Path(f"sign/{role}", SIGN_FIELDS, {UPDATE: self.sign}),
        ]

    @property
    def roles(self):
        return self.entry["roles"]

    def _lease_ttls(self):
        """The mount's default and maximum lease TTL (0 in its config = system value)."""
        config = self.entry["config"]
        return (config["default_lease_ttl"] or SYSTEM_DEFAULT_TTL,
                config["max_lease_ttl"] or SYSTEM_MAX_TTL)

    # ------------------------------------------------------------------ CA

    def read_ca(self, _request, _data):
        if self.entry["ca"] is None:
            raise ErrorResponse("keys haven't been configured yet")
        return Response(data={"public_key": self.entry["ca"]["public_key"]})

    def delete_ca(self, _request, _data):
        self.entry["ca"] = None

    def public_key(self, _request, _data):
        if self.entry["ca"] is None:
            return None
        return Response(raw=("text/plain", self.entry["ca"]["public_key"].encode()))

    def write_ca(self, _request, data):
        public_key, private_key = data.get("public_key"), data.get("private_key")
        generate, explicit = data.get_ok("generate_signing_key")
        if explicit and generate:
            if public_key or private_key:
                raise ErrorResponse("public_key and private_key must not be set when "
                                    "generate_signing_key is set to true")
        elif explicit or (public_key and private_key):
            generate = False
            self._check_supplied_keys(public_key, private_key)
        elif public_key or private_key:
            raise ErrorResponse("only one of public_key and private_key set; both must be set to "
                                "use, or both must be blank to auto-generate")
        if generate:
            public_key, private_key = self._generate_ca(data.get("key_type"), data.get("key_bits"))
        if self.entry["ca"] is not None:
            raise ErrorResponse("keys are already configured; delete them before reconfiguring")
        self.entry["ca"] = {"public_key": public_key, "private_key": private_key}
        return Response(data={"public_key": public_key}) if generate else None

    def _check_supplied_keys(self, public_key, private_key):
        if not public_key:
            raise ErrorResponse("missing public_key")
        if not private_key:
            raise ErrorResponse("missing private_key")
        try:
            sshkeygen.public_key_of(private_key, self.core.workdir)
        except sshkeygen.KeygenError as err:
            reason = ("ssh: this private key is passphrase protected" if "passphrase" in str(err)
                      else "ssh: no key found")
            raise ErrorResponse(
                f"Unable to parse private_key as an SSH private key: {reason}") from None
        try:
            parse_vault_public_key(public_key)
        except KeyParseError as err:
            raise ErrorResponse(f"Unable to parse public_key as an SSH public key: {err}") from None

    def _generate_ca(self, key_type, key_bits):
        """generateSSHKeyPair: Vault's key_type/key_bits vocabulary mapped onto ssh-keygen."""
        if key_type in ("ssh-rsa", "rsa"):
            bits = key_bits or 4096
            if bits < 2048:
                raise HandlerError(
                    f"refusing to generate weak {key_type} key: {bits} bits < 2048 bits")
            algorithm = "rsa"
        elif key_type in _EC_CURVE_NAMES.values():
            algorithm, bits = "ecdsa", int(key_type[-3:])
        elif key_type == "ec":
            bits = {0: 256, 256: 256, 384: 384, 521: 521}.get(key_bits)
            if bits is None:
                raise HandlerError(
                    f"unknown ECDSA key pair algorithm and bits: {key_type} / {key_bits}")
            algorithm = "ecdsa"
        elif key_type in ("ssh-ed25519", "ed25519"):
            algorithm, bits = "ed25519", 0
        else:
            raise HandlerError(f"unknown ssh key pair algorithm: {key_type}")
        try:
            return sshkeygen.generate_keypair(algorithm, bits, self.core.workdir)
        except sshkeygen.KeygenError as err:
            raise HandlerError(str(err)) from None

    # ------------------------------------------------------------------ roles

    def list_roles(self, _request, _data):
        if not self.roles:
            return None
        names = sorted(self.roles)
        return Response(data={"keys": names,
                              "key_info": {name: {"key_type": "ca"} for name in names}})

    def read_role(self, _request, data):
        role = self.roles.get(data.get("role"))
        return None if role is None else Response(data=dict(role))

    def delete_role(self, _request, data):
        self.roles.pop(data.get("role"), None)

    def write_role(self, _request, data):
        key_type = data.get("key_type").lower()
        if not key_type:
            raise ErrorResponse("missing key type")
        if key_type in ("otp", "dynamic"):
            raise ErrorResponse('the Vault stand-in implements only key_type "ca" roles')
        if key_type != "ca":
            raise ErrorResponse("invalid key type")
        role = {name: data.get(name) for name in _ROLE_COPIED}
        role.update(key_type="ca", algorithm_signer=self._algorithm_signer(data))
        if not role["allow_user_certificates"] and not role["allow_host_certificates"]:
            raise ErrorResponse("Either 'allow_user_certificates' or 'allow_host_certificates' "
                                "must be set to 'true'")
        role["default_critical_options"] = _string_map(data.get("default_critical_options"))
        role["default_extensions"] = _string_map(data.get("default_extensions"))
        try:
            role["allowed_user_key_lengths"] = {
                name: _int_list(value)
                for name, value in data.get("allowed_user_key_lengths").items()}
        except ValueError as err:
            raise ErrorResponse(f"error processing allowed_user_key_lengths: {err}") from None
        if role["ttl"] and role["max_ttl"] and role["ttl"] > role["max_ttl"]:
            raise ErrorResponse('"ttl" value must be less than "max_ttl" when both are specified')
        self.roles[data.get("role")] = role

    @staticmethod
    def _algorithm_signer(data):
        signer, supplied = data.get_ok("algorithm_signer")
        if not supplied or signer in ("", DEFAULT_ALGORITHM_SIGNER):
            return DEFAULT_ALGORITHM_SIGNER
        if signer not in RSA_SIGNATURE_ALGORITHMS:
            raise HandlerError(f'unknown algorithm signer "{signer}"')
        return signer

    # ------------------------------------------------------------------ sign

    def sign(self, request, data):
        """path_sign.go + path_issue_sign.go, step by step in Vault's order."""
        role_name = data.get("role")
        role = self.roles.get(role_name)
        if role is None:
            raise ErrorResponse(f"Unknown role: {role_name}")
        public_key_text = data.get("public_key")
        if not public_key_text:
            raise ErrorResponse("missing public_key")
        try:
            key = parse_vault_public_key(public_key_text)
        except KeyParseError as err:
            raise ErrorResponse(f"failed to parse public_key as SSH key: {err}") from None
        self._check_key_requirements(key, role)
        key_id = self._key_id(request, data, role, key)
        host = self._is_host_certificate(data, role)
        if host:
            principals = self._principals(request, data, role, "", role["allowed_domains"],
                                          role["allowed_domains_template"], _host_matcher(role))
        else:
            default_user = role["default_user"]
            if role["default_user_template"]:
                try:
                    default_user = self._render(request, default_user)
                except ErrorResponse as err:
                    # Vault returns this one as a plain error: a 500.
                    raise HandlerError(err.message) from None
            principals = self._principals(request, data, role, default_user,
                                          role["allowed_users"], role["allowed_users_template"],
                                          lambda allowed, principal: principal in allowed)
        ttl = self._ttl(data, role)
        critical_options = self._critical_options(data, role)
        extensions, skipped_templates = self._extensions(request, data, role)
        if self.entry["ca"] is None:
            raise HandlerError("error creating signer: no keys configured")
        signed, serial = self._certify(request, key, role, ttl, key_id=key_id,
                                       principals=principals, host=host,
                                       critical_options=critical_options, extensions=extensions)
        response = Response(data={"serial_number": f"{serial:x}", "signed_key": signed})
        if skipped_templates:
            response.warnings.append(EXTENSION_TEMPLATE_WARNING)
        response.warnings += self.core.faults.scoped("sign_warnings", request.path)
        return response

    def _render(self, request, template):
        """renderPrincipal: an identity template filled in from the caller's entity.

        Text without {{...}}, or a caller without an entity, stays as it is.
        """
        if not TEMPLATE_MARKER.search(template) or not request.entity_id:
            return template
        try:
            return self.core.identity.render(template, request.entity_id)
        except TemplateError as err:
            raise ErrorResponse(f"template '{template}' could not be rendered -> {err}") from None

    @staticmethod
    def _check_key_requirements(key, role):
        """validateSignedKeyRequirements (only when allowed_user_key_lengths is set)."""
        lengths = role["allowed_user_key_lengths"]
        if not lengths:
            return
        prefix = "public_key failed to meet the key requirements: "
        if key.crypto is None:
            raise ErrorResponse(prefix + "pubkey not suitable for crypto (expected "
                                "ssh.CryptoPublicKey but found *ssh.Certificate)")
        names = list(_KEY_LENGTH_NAMES[key.crypto])
        if key.crypto == "ecdsa" and key.bits in _EC_CURVE_NAMES:
            names.append(_EC_CURVE_NAMES[key.bits])
        present = passed = False
        for name in names:
            if name not in lengths:
                continue
            present = True
            for value in lengths[name]:
                if key.crypto in ("rsa", "dsa") or name in ("ec", "ecdsa"):
                    passed = passed or key.bits == value
                else:
                    passed = True
        if not present:
            raise ErrorResponse(prefix + f"key of type {key.crypto} is not allowed")
        if not passed:
            raise ErrorResponse(prefix + f"key is of an invalid size: {key.bits}")

    @staticmethod
    def _key_id(request, data, role, key):
        requested = data.get("key_id")
        if requested:
            if not role["allow_user_key_ids"]:
                raise ErrorResponse("setting key_id is not allowed by role")
            return requested
        key_format = role["key_id_format"] or (
            DEFAULT_KEY_ID_FORMAT if request.display_name else "vault-{{public_key_hash}}")
        for name, value in (("token_display_name", request.display_name),
                            ("role_name", data.get("role")),
                            ("public_key_hash", key.sha256_hex())):
            key_format = key_format.replace("{{" + name + "}}", value)
        return key_format

    @staticmethod
    def _is_host_certificate(data, role):
        cert_type = data.get("cert_type")
        if cert_type == "user":
            if not role["allow_user_certificates"]:
                raise ErrorResponse("cert_type 'user' is not allowed by role")
            return False
        if cert_type == "host":
            if not role["allow_host_certificates"]:
                raise ErrorResponse("cert_type 'host' is not allowed by role")
            return True
        raise ErrorResponse("cert_type must be either 'user' or 'host'")

    def _principals(self, request, data, role, default_principal, allowed_by_role, templated,
                    matches):
        """calculateValidPrincipals; an empty result means "valid for every principal"."""
        requested, supplied = data.get_ok("valid_principals")
        principals = parse_string_slice(requested if supplied else default_principal)
        allowed = parse_string_slice(self._render(request, allowed_by_role) if templated
                                     else allowed_by_role)
        if not principals and default_principal:
            principals = [default_principal]
        if not principals:
            if role["allow_empty_principals"]:
                return []
            raise ErrorResponse("empty valid principals not allowed by role")
        if not allowed:
            raise ErrorResponse("role is not configured to allow any principals")
        if allowed_by_role == "*":
            return principals
        for principal in principals:
            if not matches(allowed, principal):
                raise ErrorResponse(f"{principal} is not a valid value for valid_principals")
        return principals

    def _ttl(self, data, role):
        """calculateTTL: explicit request TTLs over the maximum fail, defaults are clamped."""
        default_ttl, mount_max = self._lease_ttls()
        ttl, explicit = data.get_ok("ttl")
        if not explicit:
            ttl = role["ttl"]
        ttl = ttl or default_ttl
        max_ttl = role["max_ttl"] or mount_max
        if ttl > max_ttl:
            if explicit:
                raise ErrorResponse(f"ttl is larger than maximum allowed {max_ttl}")
            ttl = max_ttl
        return ttl

    @staticmethod
    def _critical_options(data, role):
        requested = data.get("critical_options")
        if not requested:
            return dict(role["default_critical_options"])
        options = _string_map(requested)
        if role["allowed_critical_options"]:
            allowed = role["allowed_critical_options"].split(",")
            refused = [name for name in options if name not in allowed]
            if refused:
                raise ErrorResponse(f"critical options not on allowed list: [{' '.join(refused)}]")
        return options

    def _extensions(self, request, data, role):
        """calculateExtensions; returns (extensions, whether templated defaults were skipped)."""
        requested = data.get("extensions")
        if requested:
            extensions = _string_map(requested)
            if role["allowed_extensions"] == "*":
                return extensions, False
            allowed = role["allowed_extensions"].split(",")
            refused = [name for name in extensions if name not in allowed]
            if refused:
                raise ErrorResponse(f"extensions [{' '.join(refused)}] are not on allowed list")
            return extensions, False
        defaults = dict(role["default_extensions"])
        if not role["default_extensions_template"]:
            return defaults, False
        extensions, skipped = {}, False
        for name in sorted(defaults):
            value = defaults[name]
            if not TEMPLATE_MARKER.search(value):
                extensions[name] = value
            elif request.entity_id:
                extensions[name] = self._render(request, value)
            else:
                skipped = True
        return extensions, skipped

    def _certify(self, request, key, role, ttl, **contents):
        """creationBundle.sign: signature algorithm, serial and validity, then ssh-keygen."""
        ca = self.entry["ca"]
        ca_type = parse_vault_public_key(ca["public_key"]).type
        algorithm = role["algorithm_signer"]
        if algorithm == DEFAULT_ALGORITHM_SIGNER:
            algorithm = "rsa-sha2-256" if ca_type == "ssh-rsa" else None
        elif ca_type != "ssh-rsa":
            raise HandlerError("failed to generate signed SSH key: failed to restrict signer "
                               f'algorithm: ssh: algorithm "{algorithm}" is not supported for '
                               f'key type "{ca_type}"')
        if key.crypto is None:
            # x/crypto cannot wrap a certificate in a certificate; Vault's sign()
            # recovers the library's panic and returns its message.
            raise HandlerError(f"unknown certificate type for key type {key.type}")
        now = self.core.clock.now()
        valid_after = max(0, int(now - role["not_before_duration"]))
        valid_before = int(now + ttl)
        validity = self.core.faults.scoped("cert_validity", request.path)
        if validity == "forever":
            valid_before = FOREVER
        elif validity == "expired":
            # The same length of window, ending EXPIRED_AGO seconds before now.
            shift = valid_before - int(now) + EXPIRED_AGO
            valid_after, valid_before = max(0, valid_after - shift), valid_before - shift
        spec = sshkeygen.CertificateSpec(
            # certutil.GenerateSerialNumber draws below 2^159; certificates keep the low 64 bits.
            serial=secrets.randbits(64), valid_after=valid_after, valid_before=valid_before,
            signature_algorithm=algorithm, **contents)
        try:
            signed = sshkeygen.sign(ca["private_key"], key.authorized_key(), spec,
                                    self.core.workdir)
        except sshkeygen.KeygenError as err:
            raise HandlerError(f"failed to generate signed SSH key: sign error: {err}") from None
        return signed, spec.serial


def _host_matcher(role):
    """validateValidPrincipalForHosts: bare domains and/or subdomains of allowed_domains."""
    def matches(allowed, principal):
        return any((principal == domain and role["allow_bare_domains"])
                   or (role["allow_subdomains"] and principal.endswith("." + domain))
                   for domain in allowed)
    return matches
