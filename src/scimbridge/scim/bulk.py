"""The Bulk endpoint (RFC 7644 section 3.7).

Operations run one after another, each in its own transaction, through the
same handlers as single requests. ``bulkId:<id>`` references in an operation's
path or data are replaced with the id that the referenced POST created. An
operation that references a resource created later in the request waits for it.

RFC 7644 section 3.7.1 requires an attempt to resolve circular references.
When every waiting operation waits on another, the first POST /Groups among
them is created without the members that wait, and a PATCH that adds them
waits in its place. If that PATCH fails, the group is deleted again and the
POST reports the failure. Other circular references fail with 409.
"""

import logging
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    ConflictException,
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    SCIMException,
)

from scimbridge.directory.errors import DirectoryError
from scimbridge.scim.errors import directory_exception, validation_exception
from scimbridge.scim.handlers import HANDLERS
from scimbridge.scim.projection import Projection
from scimbridge.scim.resources import GROUP_SCHEMA, USER_SCHEMA, ScimContext

logger = logging.getLogger(__name__)

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_REFERENCE = re.compile(r"bulkId:([^\"/\s]+)")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?/?$")


_LOCATION_ONLY = {
    "User": Projection(["meta"], None, USER_SCHEMA),
    "Group": Projection(["meta"], None, GROUP_SCHEMA),
}
"""Render only what a Bulk result needs, so no group member list is loaded."""


class UnresolvedReference(Exception):
    def __init__(self, bulk_id: str) -> None:
        super().__init__(bulk_id)
        self.bulk_id = bulk_id


def _substitute(value: Any, created: dict[str, str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            bulk_id = match.group(1)
            if bulk_id not in created:
                raise UnresolvedReference(bulk_id)
            return created[bulk_id]

        return _REFERENCE.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(item, created) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, created) for key, item in value.items()}
    return value


def _references(value: Any) -> set[str]:
    """Return the bulkIds that ``value`` references anywhere inside it."""
    if isinstance(value, str):
        return set(_REFERENCE.findall(value))
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value))
    if isinstance(value, dict):
        return set().union(*(_references(item) for item in value.values()))
    return set()


def _failed(result: dict[str, Any]) -> bool:
    return str(result["status"])[0] not in "23"


def _entry(operation: dict[str, Any], status: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"method": operation.get("method"), "status": status}
    if operation.get("bulkId") is not None:
        entry["bulkId"] = operation["bulkId"]
    return entry


def _error_entry(
    operation: dict[str, Any], exc: SCIMException, location: str | None = None
) -> dict[str, Any]:
    """Build the result of a failed operation, with its SCIM error as response.

    RFC 7644 section 3.7.3 requires ``location`` except for a failed POST, so
    it is set whenever the operation named an existing resource.
    """
    response: dict[str, Any] = {
        "schemas": [ERROR_SCHEMA],
        "status": str(exc.status),
        "detail": exc.detail,
    }
    scim_type = exc.to_error().scim_type
    if scim_type:
        response["scimType"] = scim_type
    entry = _entry(operation, str(exc.status))
    if location is not None:
        entry["location"] = location
    entry["response"] = response
    return entry


def _validate(body: Any, max_operations: int) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="the Bulk request must be a JSON object")
    if BULK_REQUEST_SCHEMA not in (body.get("schemas") or []):
        raise InvalidValueException(
            detail=f"schemas must contain {BULK_REQUEST_SCHEMA}"
        )
    operations = body.get("Operations")
    if not isinstance(operations, list) or not all(
        isinstance(o, dict) for o in operations
    ):
        raise InvalidSyntaxException(detail="Operations must be a list of objects")
    if len(operations) > max_operations:
        raise PayloadTooLargeException(
            detail=f"the Bulk request has {len(operations)} operations; "
            f"the maximum is {max_operations}"
        )
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is None:
        limit = 0
    elif isinstance(fail_on_errors, int) and not isinstance(fail_on_errors, bool):
        if fail_on_errors < 1:
            raise InvalidValueException(detail="failOnErrors must be 1 or more")
        limit = fail_on_errors
    else:
        raise InvalidValueException(detail="failOnErrors must be an integer")
    bulk_ids = [o.get("bulkId") for o in operations if o.get("bulkId") is not None]
    if len(bulk_ids) != len(set(map(str, bulk_ids))):
        raise InvalidValueException(detail="each bulkId must be unique in the request")
    return operations, limit


async def run_bulk(ctx: ScimContext, body: Any, max_operations: int) -> dict[str, Any]:
    """Run a Bulk request and return the BulkResponse body."""
    operations, fail_limit = _validate(body, max_operations)
    results = await _BulkRun(ctx, operations, fail_limit).run()
    return {"schemas": [BULK_RESPONSE_SCHEMA], "Operations": results}


@dataclass(frozen=True, slots=True)
class _DeferredMembers:
    """The PATCH that adds the members a group of a cycle was created without."""

    group_index: int
    group_id: str


class _BulkRun:
    """The state of one Bulk request while its operations run."""

    def __init__(
        self, ctx: ScimContext, operations: list[dict[str, Any]], fail_limit: int
    ) -> None:
        self.ctx = ctx
        self.operations = list(operations)
        self.request_size = len(operations)
        self.fail_limit = fail_limit
        self.created: dict[str, str] = {}
        self.results: dict[int, dict[str, Any]] = {}
        self.deferred: dict[int, _DeferredMembers] = {}
        self.errors = 0
        self.defined_by = {
            str(o["bulkId"]): i
            for i, o in enumerate(operations)
            if o.get("bulkId") is not None
        }

    def stopped(self) -> bool:
        return bool(self.fail_limit) and self.errors >= self.fail_limit

    async def run(self) -> list[dict[str, Any]]:
        pending = list(range(self.request_size))
        while pending and not self.stopped():
            waiting = await self._run_round(pending)
            if waiting == pending:
                waiting = await self._break_cycle(waiting)
            if waiting == pending:
                await self._fail_circular(waiting)
                break
            pending = waiting
        await self._discard_unfinished()
        return [self.results[i] for i in sorted(self.results)]

    async def _run_round(self, pending: list[int]) -> list[int]:
        """Run each pending operation once; return those that still wait."""
        waiting: list[int] = []
        for index in pending:
            if self.stopped():
                break
            try:
                result = await _run_one(self.ctx, self.operations[index], self.created)
            except UnresolvedReference as exc:
                defined_at = self.defined_by.get(exc.bulk_id)
                if defined_at is not None and defined_at not in self.results:
                    waiting.append(index)
                    continue
                result = _error_entry(
                    self.operations[index], _unresolved(exc.bulk_id, defined_at)
                )
            await self._record(index, result)
        return waiting

    async def _record(self, index: int, result: dict[str, Any]) -> None:
        if _failed(result):
            operation = self.operations[index]
            logger.info(
                "bulk operation failed org_id=%s method=%s path=%s status=%s",
                self.ctx.org.id,
                operation.get("method"),
                operation.get("path"),
                result["status"],
            )
        deferred = self.deferred.pop(index, None)
        if deferred is None:
            self.results[index] = result
            if _failed(result):
                self.errors += 1
            return
        if _failed(result):
            await self._undo_group(deferred, result)
            self.errors += 1
            return
        entry = self.results[deferred.group_index]
        entry["version"] = result["version"]
        try:
            entry["response"], _ = await HANDLERS["Groups"].get(
                self.ctx, deferred.group_id
            )
        except DirectoryError:
            # Another request deleted the group after the PATCH, so the
            # response keeps the group as it was created.
            pass

    async def _break_cycle(self, waiting: list[int]) -> list[int]:
        """Create the first waiting group without the members that wait."""
        for position, index in enumerate(waiting):
            operation = self.operations[index]
            split = _split_waiting_members(operation, self.created)
            if split is None:
                continue
            ready, waiting_members = split
            result = await _run_one(self.ctx, ready, self.created)
            await self._record(index, result)
            remaining = waiting[:position] + waiting[position + 1 :]
            if _failed(result):
                return remaining
            group_id = str(result["response"]["id"])
            self.operations.append(_add_members(group_id, waiting_members))
            patch_index = len(self.operations) - 1
            self.deferred[patch_index] = _DeferredMembers(index, group_id)
            return [*remaining, patch_index]
        return waiting

    async def _fail_circular(self, waiting: list[int]) -> None:
        for index in waiting:
            bulk_ids = ", ".join(sorted(_references(self.operations[index])))
            exc = ConflictException(
                detail=f"circular bulkId references that cannot be resolved: {bulk_ids}"
            )
            await self._record(index, _error_entry(self.operations[index], exc))

    async def _undo_group(
        self, deferred: _DeferredMembers, failure: dict[str, Any]
    ) -> None:
        """Delete a group of a cycle whose waiting members could not be added."""
        await self._delete_group(deferred.group_id)
        operation = self.operations[deferred.group_index]
        for bulk_id, created_id in list(self.created.items()):
            if created_id == deferred.group_id:
                del self.created[bulk_id]
        entry = _entry(operation, failure["status"])
        entry["response"] = failure["response"]
        self.results[deferred.group_index] = entry
        logger.info(
            "bulk group of a cycle deleted org_id=%s group_id=%s status=%s",
            self.ctx.org.id,
            deferred.group_id,
            failure["status"],
        )

    async def _discard_unfinished(self) -> None:
        """Delete groups whose member PATCH never ran because the request stopped.

        Their POST is then left out of the response, like every operation
        after the stop.
        """
        for deferred in list(self.deferred.values()):
            await self._delete_group(deferred.group_id)
            self.results.pop(deferred.group_index, None)
        self.deferred.clear()

    async def _delete_group(self, group_id: str) -> None:
        """Delete a group; one that a later operation already deleted is fine."""
        try:
            await HANDLERS["Groups"].delete(self.ctx, group_id, None)
        except DirectoryError as exc:
            logger.info(
                "bulk group of a cycle not deleted org_id=%s group_id=%s error=%s",
                self.ctx.org.id,
                group_id,
                exc,
            )


def _unresolved(bulk_id: str, defined_at: int | None) -> SCIMException:
    if defined_at is None:
        detail = f"bulkId:{bulk_id} is not the bulkId of any operation in the request"
    else:
        detail = f"bulkId:{bulk_id} was not created because its operation failed"
    return InvalidValueException(detail=detail)


def _split_waiting_members(
    operation: dict[str, Any], created: dict[str, str]
) -> tuple[dict[str, Any], list[Any]] | None:
    """Split a POST /Groups into the group without waiting members, and those.

    Return None unless the operation is a POST /Groups whose only unresolved
    references are member values.
    """
    if str(operation.get("method", "")).upper() != "POST":
        return None
    match = _PATH.match(str(operation.get("path", "")))
    data = operation.get("data")
    if match is None or match.group(1) != "Groups" or match.group(2) is not None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("members"), list):
        return None

    ready: list[Any] = []
    waiting: list[Any] = []
    for member in data["members"]:
        unresolved = _references(member) - created.keys()
        (waiting if unresolved else ready).append(member)
    rest = {key: value for key, value in data.items() if key != "members"}
    if not waiting or _references(rest) - created.keys():
        return None
    return {**operation, "data": {**rest, "members": ready}}, waiting


def _add_members(group_id: str, members: list[Any]) -> dict[str, Any]:
    data = {
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    }
    return {"method": "PATCH", "path": f"/Groups/{group_id}", "data": data}


async def _run_one(
    ctx: ScimContext, operation: dict[str, Any], created: dict[str, str]
) -> dict[str, Any]:
    """Run one operation and return its result; raise UnresolvedReference to wait."""
    method = str(operation.get("method", "")).upper()
    location: str | None = None
    try:
        path = _substitute(str(operation.get("path", "")), created)
        data = _substitute(operation.get("data"), created)
        match = _PATH.match(path)
        if match is None:
            raise InvalidValueException(
                detail=f"invalid Bulk path {path!r}: use /Users or /Groups[/id]"
            )
        handler = HANDLERS[match.group(1)]
        resource_id = match.group(2)
        if resource_id is not None:
            location = f"{ctx.base_url}/scim/v2{path.rstrip('/')}"
        if_match = operation.get("version")
        if if_match is not None and not isinstance(if_match, str):
            raise InvalidValueException(detail='version must be a string such as W/"3"')

        if method == "POST" and resource_id is None:
            if operation.get("bulkId") is None:
                raise InvalidValueException(detail="a POST operation needs a bulkId")
            resource = await handler.create(ctx, data)
            created[str(operation["bulkId"])] = resource["id"]
            entry = _entry(operation, "201")
            entry["response"] = resource
        elif method in ("PUT", "PATCH") and resource_id is not None:
            if method == "PUT":
                resource = await handler.replace(
                    ctx,
                    resource_id,
                    data,
                    if_match,
                    _LOCATION_ONLY[handler.resource_type],
                )
            else:
                resource = await handler.patch(
                    ctx,
                    resource_id,
                    data,
                    if_match,
                    _LOCATION_ONLY[handler.resource_type],
                )
            entry = _entry(operation, "200")
        elif method == "DELETE" and resource_id is not None:
            await handler.delete(ctx, resource_id, if_match)
            entry = _entry(operation, "204")
            entry["location"] = location
            return entry
        else:
            raise InvalidValueException(
                detail=f"method {method or '(none)'} is not valid for path {path!r}"
            )
    except DirectoryError as exc:
        return _error_entry(operation, directory_exception(exc), location)
    except SCIMException as exc:
        return _error_entry(operation, exc, location)
    except ValidationError as exc:
        return _error_entry(operation, validation_exception(exc), location)

    entry["location"] = resource["meta"]["location"]
    entry["version"] = resource["meta"]["version"]
    return entry
