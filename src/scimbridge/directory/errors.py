"""Failures of directory rules, raised by the service and mapped by each protocol.

::

    DirectoryError
     +-- NotFound              the resource is absent from this organization
     +-- UniquenessConflict    a unique attribute already has this value
     +-- VersionMismatch       the caller's version precondition failed
     +-- InvalidMembers        group members that are not in this organization
     +-- InvalidRecord         a value breaks a directory rule
     +-- InvalidQuery          a filter the store cannot evaluate
          +-- InvalidSort      a sortBy the store cannot sort on
"""

from collections.abc import Sequence
from uuid import UUID


class DirectoryError(Exception):
    """Root of every directory rule failure."""


class NotFound(DirectoryError):
    def __init__(self, resource_type: str, resource_id: object) -> None:
        super().__init__(f"{resource_type} {resource_id} not found")
        self.resource_type = resource_type
        self.resource_id = resource_id


class UniquenessConflict(DirectoryError):
    def __init__(self, attribute: str, scope: str = "in this organization") -> None:
        super().__init__(f"{attribute} is already in use {scope}")
        self.attribute = attribute


class VersionMismatch(DirectoryError):
    def __init__(self, current: int) -> None:
        super().__init__("the resource version does not match the precondition")
        self.current = current


class InvalidMembers(DirectoryError):
    def __init__(self, member_ids: Sequence[UUID | str]) -> None:
        listed = ", ".join(str(member_id) for member_id in member_ids)
        super().__init__(f"no user or group in this organization has id: {listed}")
        self.member_ids = list(member_ids)


class InvalidRecord(DirectoryError):
    """A value that the directory cannot store, such as an empty ``userName``."""


class InvalidQuery(DirectoryError):
    """A filter or sort the store cannot evaluate, such as an unknown attribute."""


class InvalidSort(InvalidQuery):
    """A sortBy attribute the store cannot sort on."""
