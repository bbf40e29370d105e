"""Lifecycle events that the directory emits after each committed change."""

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID


class EventKind(enum.StrEnum):
    user_created = "user.created"
    user_updated = "user.updated"
    user_deactivated = "user.deactivated"
    user_reactivated = "user.reactivated"
    user_deleted = "user.deleted"
    group_created = "group.created"
    group_updated = "group.updated"
    group_deleted = "group.deleted"


@dataclass(frozen=True, slots=True)
class DirectoryEvent:
    """A committed change; ``member_ids`` lists members whose groups changed."""

    kind: EventKind
    org_id: UUID
    resource_id: UUID
    member_ids: tuple[UUID, ...] = ()


Listener = Callable[[DirectoryEvent], Awaitable[None]]
