"""PATCH operations on a group's ``members``, turned into row-level changes.

A PATCH on a large group must not load or rewrite its member list. So the
operations that target ``members`` are taken out of the PatchOp and folded,
in order, into one :class:`MembershipChange`. The change lists members to add
and to remove, or a whole new list. The remaining operations apply to the group's
other attributes through scim2-models.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from scim2_models import (
    InvalidPathException,
    InvalidValueException,
    ScimFilter,
)
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
)

from scimbridge.directory.models import MemberRef, MembershipChange
from scimbridge.scim.resources import check_patch_request, member_ids

_MEMBERS_PATH = re.compile(
    r"^members(?:\[(?P<filter>.*)\](?:\.(?P<sub>[A-Za-z$][\w$-]*))?|\.(?P<attr>[A-Za-z$][\w$-]*))?$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(slots=True)
class SplitPatch:
    """A group PatchOp divided into member operations and the others."""

    member_operations: list[dict[str, Any]] = field(default_factory=list)
    other_operations: list[dict[str, Any]] = field(default_factory=list)


def split_group_patch(body: Any) -> SplitPatch:
    """Divide a PATCH body's operations between ``members`` and everything else."""
    operations = check_patch_request(body)

    split = SplitPatch()
    for operation in operations:
        if not isinstance(operation, dict):
            raise InvalidValueException(detail="each operation must be a JSON object")
        path = operation.get("path")
        value = operation.get("value")
        if path is None and isinstance(value, dict):
            members_key = next((k for k in value if k.lower() == "members"), None)
            if members_key is not None:
                split.member_operations.append(
                    {**operation, "path": "members", "value": value[members_key]}
                )
                rest = {k: v for k, v in value.items() if k != members_key}
                if rest:
                    split.other_operations.append({**operation, "value": rest})
                continue
        if isinstance(path, str) and _MEMBERS_PATH.match(path.strip()):
            split.member_operations.append(operation)
        else:
            split.other_operations.append(operation)
    return split


MembersLoader = Callable[[], Awaitable[list[MemberRef]]]


class MembershipFold:
    """Fold member operations, in order, into one change."""

    def __init__(self) -> None:
        self.replace: list[UUID] | None = None
        self.add: dict[UUID, None] = {}
        self.remove: dict[UUID, None] = {}

    def added(self, ids: list[UUID]) -> None:
        for member_id in ids:
            self.remove.pop(member_id, None)
            self.add[member_id] = None

    def removed(self, ids: list[UUID]) -> None:
        for member_id in ids:
            self.add.pop(member_id, None)
            if self.replace is not None:
                self.replace = [m for m in self.replace if m != member_id]
            else:
                self.remove[member_id] = None

    def replaced(self, ids: list[UUID]) -> None:
        self.replace = list(dict.fromkeys(ids))
        self.add.clear()
        self.remove.clear()

    def change(self) -> MembershipChange:
        return MembershipChange(
            replace=self.replace, add=list(self.add), remove=list(self.remove)
        )


async def fold_member_operations(
    operations: list[dict[str, Any]], load_members: MembersLoader
) -> MembershipChange:
    """Turn ``members`` operations into a change, loading members only if needed.

    Members are loaded only for a filter that selects on something other than
    ``value``, such as ``members[type eq "Group"]``.
    """
    fold = MembershipFold()
    for operation in operations:
        op = str(operation.get("op", "")).lower()
        path = str(operation["path"]).strip()
        match = _MEMBERS_PATH.match(path)
        assert match is not None
        value = operation.get("value")

        if match.group("attr") is not None:
            raise InvalidPathException(
                detail=f"unsupported path {path!r}: use members or members[filter]"
            )
        if match.group("filter") is not None:
            selected = await _select(match.group("filter"), fold, load_members)
            if match.group("sub") is not None:
                # Sub-attributes of a member (display, type, $ref) are derived
                # from the member itself and cannot be written.
                continue
            if op == "remove":
                fold.removed(selected)
            elif op == "replace":
                fold.removed(selected)
                fold.added(_ids_of(value))
            elif op == "add":
                fold.added(_ids_of(value))
            else:
                raise InvalidValueException(detail=f"unknown operation {op!r}")
            continue

        if op == "add":
            fold.added(_ids_of(value))
        elif op == "replace":
            fold.replaced(_ids_of(value))
        elif op == "remove":
            if value is None:
                fold.replaced([])
            else:
                fold.removed(_ids_of(value))
        else:
            raise InvalidValueException(detail=f"unknown operation {op!r}")
    return fold.change()


def _ids_of(value: Any) -> list[UUID]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    values = []
    for item in items:
        if isinstance(item, dict):
            key = next((k for k in item if k.lower() == "value"), None)
            if key is None:
                raise InvalidValueException(detail="each member must have a value")
            values.append(item[key])
        elif isinstance(item, str):
            values.append(item)
        else:
            raise InvalidValueException(detail=f"invalid member {item!r}")
    return member_ids(values)


async def _select(
    expression: str, fold: MembershipFold, load_members: MembersLoader
) -> list[UUID]:
    node = ScimFilter(expression).ast
    direct = _values_named(node)
    if direct is not None:
        return member_ids(direct)

    current = {member.id: member for member in await load_members()}
    if fold.replace is not None:
        current = {
            m: current.get(m) or MemberRef(id=m, type="User") for m in fold.replace
        }
    for member_id in fold.remove:
        current.pop(member_id, None)
    for member_id in fold.add:
        current.setdefault(member_id, MemberRef(id=member_id, type="User"))
    return [member.id for member in current.values() if _matches(node, member)]


def _values_named(node: FilterNode) -> list[str] | None:
    """Return the ids of ``value eq "x" [or value eq "y" ...]``, else None."""
    if isinstance(node, Comparison):
        if (
            node.attr_path.attr.lower() == "value"
            and node.attr_path.sub_attr is None
            and node.op is CompareOperator.eq
            and isinstance(node.value, str)
        ):
            return [node.value]
        return None
    if isinstance(node, LogicalExpr) and node.op is LogicalOperator.or_:
        values: list[str] = []
        for term in node.terms:
            found = _values_named(term)
            if found is None:
                return None
            values.extend(found)
        return values
    return None


def _member_field(member: MemberRef, name: str) -> str | None:
    lowered = name.lower()
    if lowered == "value":
        return str(member.id)
    if lowered == "type":
        return member.type
    if lowered == "display":
        return member.display
    raise InvalidPathException(detail=f"members has no sub-attribute {name!r}")


def _matches(node: FilterNode, member: MemberRef) -> bool:
    if isinstance(node, LogicalExpr):
        results = (_matches(term, member) for term in node.terms)
        return all(results) if node.op is LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not _matches(node.expr, member)
    if isinstance(node, Present):
        return bool(_member_field(member, node.attr_path.attr))
    if isinstance(node, Comparison):
        actual = _member_field(member, node.attr_path.attr)
        if actual is None or not isinstance(node.value, str):
            return node.op is CompareOperator.ne
        case_exact = node.attr_path.attr.lower() == "value"
        left = actual if case_exact else actual.lower()
        right = node.value if case_exact else node.value.lower()
        return _compare(left, node.op, right)
    raise InvalidPathException(detail="a member filter cannot nest a value filter")


def _compare(left: str, op: CompareOperator, right: str) -> bool:
    if op is CompareOperator.eq:
        return left == right
    if op is CompareOperator.ne:
        return left != right
    if op is CompareOperator.co:
        return right in left
    if op is CompareOperator.sw:
        return left.startswith(right)
    if op is CompareOperator.ew:
        return left.endswith(right)
    if op is CompareOperator.gt:
        return left > right
    if op is CompareOperator.ge:
        return left >= right
    if op is CompareOperator.lt:
        return left < right
    return left <= right
