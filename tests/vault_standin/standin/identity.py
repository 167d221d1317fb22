"""A minimal identity store: entities, their aliases and identity templates.

Follows vault/identity_store*.go: the first login of an auth method user
creates an entity named entity_<8 hex> with one alias (the user name and the
auth mount's accessor); later logins of that user on that mount find the same
entity. identity/entity/id/<id> and identity/entity/name/<name> read an
entity, and an update of entity/id/<id> sets its name or metadata. Groups do
not exist. populate() renders templates like sdk/helper/identitytpl
PopulateString in ACL mode (what framework.PopulateIdentityTemplate uses).
"""

import secrets
import uuid

from . import fields as f
from .framework import NAME, READ, UPDATE, Backend, ErrorResponse, Path, Response
from .gocompat import go_quote, parse_duration_seconds, rfc3339

UNBALANCED = "unbalanced templating characters"
NO_ENTITY = "string contains entity template directives but no entity was provided"
NO_GROUPS = "string contains groups template directives but no groups were provided"
NOT_FOUND = "no value could be found for one of the template directives"
WILDCARD = "globs and wildcards are not allowed in template result"


class TemplateError(ValueError):
    pass


class IdentityStore:
    """Entities in core.state["identity"]["entities"], keyed by entity ID."""

    def __init__(self, core):
        self.core = core

    @property
    def _entities(self):
        return self.core.state.setdefault("identity", {"entities": {}})["entities"]

    def entity(self, entity_id):
        return self._entities.get(entity_id)

    def entity_named(self, name):
        return next((e for e in self._entities.values() if e["name"] == name), None)

    def entity_for_alias(self, mount_accessor, alias_name):
        """The ID of the entity owning this alias; created (with the alias) if new."""
        for entity in self._entities.values():
            for alias in entity["aliases"]:
                if (alias["mount_accessor"], alias["name"]) == (mount_accessor, alias_name):
                    return entity["id"]
        now = self.core.clock.now()
        entity_id = str(uuid.uuid4())
        name = f"entity_{secrets.token_hex(4)}"
        while self.entity_named(name) is not None:
            name = f"entity_{secrets.token_hex(4)}"
        self._entities[entity_id] = {
            "id": entity_id, "name": name, "metadata": None,
            "creation_time": now, "last_update_time": now,
            "aliases": [{"id": str(uuid.uuid4()), "name": alias_name,
                         "mount_accessor": mount_accessor, "metadata": None,
                         "custom_metadata": None, "creation_time": now,
                         "last_update_time": now}],
        }
        return entity_id

    def render(self, template, entity_id):
        """framework.PopulateIdentityTemplate: the template filled in from the entity."""
        entity = self.entity(entity_id)
        if entity is None:
            raise TemplateError("no entity found")
        return populate(template, entity, self.core.clock.now())


# --------------------------------------------------------------------------
# identitytpl.PopulateString (ACL mode)


def populate(text, entity, now):
    """Replace every {{directive}}; raises TemplateError with Vault's message."""
    pieces = text.split("{{")
    if "}}" in pieces[0]:
        raise TemplateError(UNBALANCED)
    rendered = [pieces[0]]
    for piece in pieces[1:]:
        parts = piece.split("}}")
        if len(parts) != 2:
            raise TemplateError(UNBALANCED)
        value = _directive(parts[0].strip(), entity, now)
        if "*" in value or "+" in value:
            raise TemplateError(WILDCARD)
        rendered += [value, parts[1]]
    return "".join(rendered)


def _value(value, key=None):
    """aclTemplateHandler: non-empty strings and map entries; anything else is not found."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and key is not None and key in value:
        return value[key]
    raise TemplateError(NOT_FOUND)


def _attribute(selector, item, maps=("metadata",)):
    """id, name, and <map> or <map>.<key> of an entity or alias."""
    if selector in ("id", "name"):
        return _value(item[selector])
    for name in maps:
        if selector == name:
            return _value(item[name] or {})
        if selector.startswith(name + "."):
            return _value(item[name] or {}, selector[len(name) + 1:])
    raise TemplateError(NOT_FOUND)


def _entity_directive(selector, entity):
    if selector in ("groups.names", "groups.ids"):
        raise TemplateError(NOT_FOUND)
    if selector.startswith("aliases."):
        parts = selector[len("aliases."):].split(".", 1)
        if len(parts) != 2:
            raise TemplateError("invalid alias selector")
        alias = next((a for a in entity["aliases"] if a["mount_accessor"] == parts[0]), None)
        if alias is None:
            raise TemplateError("alias not found")
        return _attribute(parts[1], alias, maps=("metadata", "custom_metadata"))
    return _attribute(selector, entity)


def _time_directive(selector, now):
    parts = selector.split(".", 2)
    if parts[0] != "now":
        raise TemplateError(f"invalid time selector {go_quote(parts[0])}")
    if len(parts) == 2:
        raise TemplateError("missing time operand")
    result = int(now)
    if len(parts) == 3:
        try:
            seconds = parse_duration_seconds(parts[2])
        except ValueError as err:
            raise TemplateError(f"invalid duration: {err}") from None
        if parts[1] not in ("plus", "minus"):
            raise TemplateError(f"invalid time operator {go_quote(parts[1])}")
        result += seconds if parts[1] == "plus" else -seconds
    return str(result)


def _directive(directive, entity, now):
    if directive.startswith("identity.entity."):
        if entity is None:
            raise TemplateError(NO_ENTITY)
        return _entity_directive(directive[len("identity.entity."):], entity)
    if directive.startswith("identity.groups."):
        raise TemplateError(NO_GROUPS)
    if directive.startswith("time."):
        return _time_directive(directive[len("time."):], now)
    raise TemplateError(NOT_FOUND)


# --------------------------------------------------------------------------
# identity/ endpoints


class IdentityBackend(Backend):
    """identity/entity/id/<id> (read, update), identity/entity/name/<name> (read), and
    identity/mfa/ (login_mfa.py)."""

    mount_type = "identity"

    def paths(self):
        update_fields = {"id": f.Field(f.STRING), "name": f.Field(f.STRING),
                         "metadata": f.Field(f.KV_PAIRS), "policies": f.Field(f.COMMA_STRINGS),
                         "disabled": f.Field(f.BOOL)}
        return [
            *self.core.login_mfa.paths(),
            Path(f"entity/id/(?P<id>{NAME})", update_fields,
                 {READ: self.read_by_id, UPDATE: self.update_by_id}),
            Path("entity/name/(?P<name>.+)", {"name": f.Field(f.STRING)},
                 {READ: self.read_by_name}),
        ]

    @property
    def store(self):
        return self.core.identity

    def read_by_id(self, _request, data):
        return self._read(self.store.entity(data.get("id")))

    def read_by_name(self, _request, data):
        return self._read(self.store.entity_named(data.get("name")))

    def _read(self, entity):
        """handleEntityReadCommon."""
        if entity is None:
            return None
        aliases = []
        for alias in entity["aliases"]:
            mount_path, mount_type = self.core.mount_of_accessor(alias["mount_accessor"])
            aliases.append({
                "id": alias["id"], "canonical_id": entity["id"],
                "mount_accessor": alias["mount_accessor"], "metadata": alias["metadata"],
                "name": alias["name"], "merged_from_canonical_ids": None,
                "creation_time": rfc3339(alias["creation_time"]),
                "last_update_time": rfc3339(alias["last_update_time"]), "local": False,
                "custom_metadata": alias["custom_metadata"], "mount_type": mount_type,
                "mount_path": mount_path})
        return Response(data={
            "id": entity["id"], "name": entity["name"], "metadata": entity["metadata"],
            "merged_entity_ids": None, "policies": [], "disabled": False,
            "namespace_id": "root", "creation_time": rfc3339(entity["creation_time"]),
            "last_update_time": rfc3339(entity["last_update_time"]), "aliases": aliases,
            "direct_group_ids": [], "inherited_group_ids": [], "group_ids": []})

    def update_by_id(self, _request, data):
        """handleEntityUpdateCommon for an existing entity (Vault answers 204)."""
        entity = self.store.entity(data.get("id"))
        if entity is None:
            raise ErrorResponse("entity not found from id")
        name = data.get("name")
        if name:
            other = self.store.entity_named(name)
            if other is not None and other is not entity:
                raise ErrorResponse("entity name is already in use")
        if data.get("policies") or data.get("disabled"):
            raise ErrorResponse("the Vault stand-in does not support entity policies "
                                "or disabled entities")
        if name:
            entity["name"] = name
        metadata, supplied = data.get_ok("metadata")
        if supplied:
            entity["metadata"] = metadata
        entity["last_update_time"] = self.core.clock.now()
