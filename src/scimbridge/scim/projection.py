"""The ``attributes`` and ``excludedAttributes`` parameters (RFC 7644 section 3.9)."""

from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidValueException

ALWAYS_RETURNED = frozenset({"id", "schemas"})
"""Attributes whose ``returned`` characteristic is ``always``."""


@dataclass(frozen=True, slots=True)
class Selector:
    """One attribute reference: an extension URN (or None for core), a name, a sub.

    A name of None selects the whole schema.
    """

    schema: str | None
    name: str | None
    sub: str | None


def _parse(reference: str, core_schema: str, extensions: tuple[str, ...]) -> Selector:
    text = reference.strip()
    lowered = text.lower()
    for schema in (core_schema, *extensions):
        if lowered == schema.lower():
            return Selector(
                schema=None if schema == core_schema else schema, name=None, sub=None
            )
        if lowered.startswith(schema.lower() + ":"):
            rest = text[len(schema) + 1 :]
            name, _, sub = rest.partition(".")
            return Selector(
                schema=None if schema == core_schema else schema,
                name=name,
                sub=sub or None,
            )
    if lowered.startswith("urn:"):
        # A schema this resource type lacks, such as the User schema in a
        # POST /.search that also returns Groups, matches no attribute.
        schema, _, rest = text.rpartition(":")
        name, _, sub = rest.partition(".")
        return Selector(schema=schema, name=name or None, sub=sub or None)
    name, _, sub = text.partition(".")
    if not name:
        raise InvalidValueException(detail=f"invalid attribute {reference!r}")
    return Selector(schema=None, name=name, sub=sub or None)


def _find_key(document: dict[str, Any], name: str) -> str | None:
    lowered = name.lower()
    for key in document:
        if key.lower() == lowered:
            return key
    return None


class Projection:
    """The attribute selection of a response, from the two query parameters."""

    def __init__(
        self,
        attributes: list[str] | None,
        excluded: list[str] | None,
        core_schema: str,
        extensions: tuple[str, ...] = (),
    ) -> None:
        self.include = [_parse(a, core_schema, extensions) for a in attributes or []]
        self.exclude = [_parse(a, core_schema, extensions) for a in excluded or []]

    def returns(self, name: str) -> bool:
        """Return True if the core attribute ``name`` can appear in the response.

        Lets a handler skip loading attributes the response would drop, such
        as a large group's ``members``.
        """
        lowered = name.lower()
        if self.include:
            return any(
                s.schema is None and (s.name is None or s.name.lower() == lowered)
                for s in self.include
            )
        return not any(
            s.schema is None
            and s.sub is None
            and (s.name is None or s.name.lower() == lowered)
            for s in self.exclude
        )

    def requests(self, name: str, sub: str) -> bool:
        """Return True if ``attributes`` names ``name.sub`` (``returned: request``)."""
        return any(
            s.schema is None
            and s.name is not None
            and s.name.lower() == name.lower()
            and s.sub is not None
            and s.sub.lower() == sub.lower()
            for s in self.include
        )

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        if self.include:
            return self._keep(resource)
        if self.exclude:
            return self._drop(resource)
        return resource

    def _keep(self, resource: dict[str, Any]) -> dict[str, Any]:
        result = {k: v for k, v in resource.items() if k in ALWAYS_RETURNED}
        for selector in self.include:
            source: dict[str, Any] | None = resource
            target = result
            if selector.schema is not None:
                source = resource.get(selector.schema)
                if not isinstance(source, dict):
                    continue
                if selector.name is None:
                    result[selector.schema] = dict(source)
                    continue
            elif selector.name is None:
                result.update(_core_attributes(resource))
                continue
            assert selector.name is not None
            key = _find_key(source, selector.name)
            if key is None:
                continue
            if selector.schema is not None:
                target = result.setdefault(selector.schema, {})
            value = source[key]
            if selector.sub is None:
                target[key] = value
            else:
                _merge_sub(target, key, value, selector.sub)
        return _without_empty_elements(result)

    def _drop(self, resource: dict[str, Any]) -> dict[str, Any]:
        result = dict(resource)
        for selector in self.exclude:
            holder = result
            if selector.schema is not None:
                extension = result.get(selector.schema)
                if not isinstance(extension, dict):
                    continue
                if selector.name is None:
                    del result[selector.schema]
                    continue
                holder = result[selector.schema] = dict(extension)
            elif selector.name is None:
                for key in _core_attributes(result):
                    if key not in ALWAYS_RETURNED:
                        del result[key]
                continue
            assert selector.name is not None
            key = _find_key(holder, selector.name)
            if key is None or (holder is result and key in ALWAYS_RETURNED):
                continue
            if selector.sub is None:
                del holder[key]
            else:
                holder[key] = _without_sub(holder[key], selector.sub)
        return result


def _core_attributes(resource: dict[str, Any]) -> dict[str, Any]:
    """Return the attributes outside extensions, which are keyed by their URN."""
    return {k: v for k, v in resource.items() if not k.lower().startswith("urn:")}


def _merge_sub(target: dict[str, Any], key: str, value: Any, sub: str) -> None:
    """Copy ``sub`` of ``value`` into ``target[key]``, next to subs copied before.

    The elements of a multi-valued attribute stay aligned with ``value``, with
    an empty dict for an element that lacks every sub copied so far.
    :func:`_without_empty_elements` drops those once all subs are in.
    """
    if isinstance(value, list):
        existing = target.get(key)
        if not isinstance(existing, list) or len(existing) != len(value):
            existing = [{} for _ in value]
        merged = []
        for old, element in zip(existing, value, strict=True):
            new = dict(old)
            if isinstance(element, dict) and (found := _find_key(element, sub)):
                new[found] = element[found]
            merged.append(new)
        target[key] = merged
    elif isinstance(value, dict) and (found := _find_key(value, sub)):
        target.setdefault(key, {})[found] = value[found]


def _without_empty_elements(document: dict[str, Any]) -> dict[str, Any]:
    """Drop empty elements from multi-valued attributes, and emptied attributes."""
    cleaned: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, list) and any(element == {} for element in value):
            value = [element for element in value if element != {}]
            if not value:
                continue
        elif isinstance(value, dict) and key.lower().startswith("urn:"):
            value = _without_empty_elements(value)
        cleaned[key] = value
    return cleaned


def _without_sub(value: Any, sub: str) -> Any:
    if isinstance(value, list):
        return [_without_sub(element, sub) for element in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k.lower() != sub.lower()}
    return value


def split_list(value: str | None) -> list[str] | None:
    """Split a comma-separated attribute list parameter."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or None
