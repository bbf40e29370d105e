"""Resource versions as weak entity tags (RFC 7644 section 3.14)."""

from scim2_models import PreconditionFailedException

ANY_VERSION = -1


def etag(version: int) -> str:
    return f'W/"{version}"'


def _parse_tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _version_of(tag: str) -> int | None:
    opaque = tag[2:] if tag.startswith("W/") else tag
    opaque = opaque.strip('"')
    return int(opaque) if opaque.isdigit() else None


def expected_version(if_match: str | None, current: int | None = None) -> int | None:
    """Return the version an ``If-Match`` header requires, or None for no precondition.

    With several tags the request matches when any of them does, so the one
    equal to ``current`` is returned; ``*`` matches every version.
    """
    if if_match is None:
        return None
    tags = _parse_tags(if_match)
    if "*" in tags:
        return None
    versions = [v for tag in tags if (v := _version_of(tag)) is not None]
    if current is not None and current in versions:
        return current
    if not versions:
        raise PreconditionFailedException(
            detail=f"If-Match {if_match!r} matches no version of this resource"
        )
    return versions[0]


def none_match(if_none_match: str | None, current: int) -> bool:
    """Return True when ``If-None-Match`` names the current version (send 304)."""
    if if_none_match is None:
        return False
    tags = _parse_tags(if_none_match)
    return "*" in tags or current in {_version_of(tag) for tag in tags}
