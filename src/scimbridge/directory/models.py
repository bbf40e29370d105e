"""Records of the directory: organizations, SCIM tokens, users and groups."""

import enum
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

MemberType = Literal["User", "Group"]
T = TypeVar("T")


class OrgStatus(enum.StrEnum):
    """Lifecycle state of an organization."""

    active = "active"
    suspended = "suspended"


@dataclass(frozen=True, slots=True)
class Organization:
    """A customer organization, the owner of every other record."""

    id: UUID
    slug: str
    name: str
    status: OrgStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ScimToken:
    """A SCIM bearer token's public half: its prefix and usage, never the secret."""

    org_id: UUID
    id: UUID
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(slots=True)
class UserRecord:
    """A provisioned user (an organization member).

    ``attributes`` holds the SCIM representation without ``id``, ``meta`` and
    the derived ``groups``: the core attributes under their SCIM names and each
    extension under its schema URN.
    """

    org_id: UUID
    id: UUID
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool
    attributes: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class GroupRecord:
    """A provisioned group; its members live apart, see :class:`MemberRef`."""

    org_id: UUID
    id: UUID
    display_name: str
    external_id: str | None
    attributes: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MemberRef:
    """One member of a group: a user or a group of the same organization."""

    id: UUID
    type: MemberType
    display: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRef:
    """One group a user belongs to directly, for the derived ``User.groups``."""

    id: UUID
    display: str


@dataclass(slots=True)
class UserDraft:
    """The writable state of a user, as a create or an update wants it."""

    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool
    attributes: dict[str, Any]


@dataclass(slots=True)
class GroupDraft:
    """The writable state of a group, apart from its members."""

    display_name: str
    external_id: str | None
    attributes: dict[str, Any]


@dataclass(slots=True)
class MembershipChange:
    """Changes to a group's member list, applied without rewriting the list.

    ``replace`` (when not None) sets the whole list first; ``remove`` and
    ``add`` then apply in that order.
    """

    replace: list[UUID] | None = None
    add: list[UUID] = field(default_factory=list)
    remove: list[UUID] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.replace is None and not self.add and not self.remove


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a query: the records and the count of every match."""

    total: int
    items: list[T]


def user_name_key(user_name: str) -> str:
    """Return the uniqueness key of a ``userName``: NFC, then lowercase.

    RFC 7643 section 4.1.1 makes ``userName`` case-insensitive, so two values
    that differ only in case are the same user.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", user_name).lower())
