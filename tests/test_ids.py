"""Time-ordered resource ids."""

import uuid

from scimbridge.directory.ids import new_id


def test_ids_are_version_7() -> None:
    """new_id returns RFC 9562 version 7 UUIDs."""
    value = new_id()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_ids_increase() -> None:
    """Ids made one after another sort in the order they were made."""
    ids = [new_id() for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
