"""The Bulk endpoint (RFC 7644 section 3.7).

Operations run one after another, each in its own transaction, through the
same handlers as single requests. ``bulkId:<id>`` references in an operation's
path or data are replaced with the id the referenced POST created; an
operation whose reference is created later in the request waits for it.
"""

import logging
import re
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    SCIMException,
)

from scimbridge.directory.errors import DirectoryError
from scimbridge.scim.errors import directory_exception, validation_exception
from scimbridge.scim.handlers import HANDLERS
from scimbridge.scim.resources import ScimContext

logger = logging.getLogger(__name__)

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_REFERENCE = re.compile(r"bulkId:([^\"/\s]+)")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?/?$")


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


def _error_entry(operation: dict[str, Any], exc: SCIMException) -> dict[str, Any]:
    error = exc.to_error()
    response: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(exc.status),
        "detail": exc.detail,
    }
    if error.scim_type:
        response["scimType"] = error.scim_type
    entry = _entry(operation, str(exc.status))
    entry["response"] = response
    return entry


def _entry(operation: dict[str, Any], status: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"method": operation.get("method"), "status": status}
    if operation.get("bulkId") is not None:
        entry["bulkId"] = operation["bulkId"]
    if operation.get("version") is not None:
        entry["version"] = operation["version"]
    return entry


def _validate(body: Any, max_operations: int) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="the Bulk request must be a JSON object")
    if BULK_REQUEST_SCHEMA not in (body.get("schemas") or []):
        raise InvalidValueException(detail=f"schemas must hold {BULK_REQUEST_SCHEMA}")
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
    if len(bulk_ids) != len(set(bulk_ids)):
        raise InvalidValueException(detail="each bulkId must be unique in the request")
    return operations, limit


async def run_bulk(ctx: ScimContext, body: Any, max_operations: int) -> dict[str, Any]:
    operations, fail_limit = _validate(body, max_operations)
    created: dict[str, str] = {}
    results: dict[int, dict[str, Any]] = {}
    pending = list(range(len(operations)))
    errors = 0

    while pending and (fail_limit == 0 or errors < fail_limit):
        waiting: list[int] = []
        for index in pending:
            if fail_limit and errors >= fail_limit:
                break
            operation = operations[index]
            try:
                results[index] = await _run_one(ctx, operation, created)
            except UnresolvedReference as exc:
                defined_later = any(
                    operations[i].get("bulkId") == exc.bulk_id for i in pending
                )
                if defined_later and exc.bulk_id not in _failed_ids(
                    operations, results
                ):
                    waiting.append(index)
                    continue
                results[index] = _error_entry(
                    operation,
                    InvalidValueException(
                        detail=f"bulkId:{exc.bulk_id} does not name a created resource"
                    ),
                )
            if results[index]["status"][0] not in "23":
                errors += 1
        if waiting == pending:
            for index in waiting:
                results[index] = _error_entry(
                    operations[index],
                    InvalidValueException(detail="circular bulkId references"),
                )
                errors += 1
            break
        pending = waiting

    ordered = [results[i] for i in sorted(results)]
    return {"schemas": [BULK_RESPONSE_SCHEMA], "Operations": ordered}


def _failed_ids(
    operations: list[dict[str, Any]], results: dict[int, dict[str, Any]]
) -> set[str]:
    return {
        str(operations[i].get("bulkId"))
        for i, result in results.items()
        if result["status"][0] not in "23"
    }


async def _run_one(
    ctx: ScimContext, operation: dict[str, Any], created: dict[str, str]
) -> dict[str, Any]:
    method = str(operation.get("method", "")).upper()
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
        if_match = operation.get("version")

        if method == "POST" and resource_id is None:
            if operation.get("bulkId") is None:
                raise InvalidValueException(detail="a POST operation needs a bulkId")
            resource = await handler.create(ctx, data)
            created[str(operation["bulkId"])] = resource["id"]
            entry = _entry(operation, "201")
        elif method in ("PUT", "PATCH", "DELETE") and resource_id is not None:
            if method == "PUT":
                resource = await handler.replace(ctx, resource_id, data, if_match)
            elif method == "PATCH":
                resource = await handler.patch(ctx, resource_id, data, if_match)
            else:
                await handler.delete(ctx, resource_id, if_match)
                entry = _entry(operation, "204")
                entry["location"] = ctx.location(handler.resource_type, resource_id)  # type: ignore[arg-type]
                return entry
            entry = _entry(operation, "200")
        else:
            raise InvalidValueException(
                detail=f"method {method or '(none)'} is not valid for path {path!r}"
            )
    except DirectoryError as exc:
        return _error_entry(operation, directory_exception(exc))
    except SCIMException as exc:
        return _error_entry(operation, exc)
    except UnresolvedReference:
        raise
    except ValidationError as exc:
        return _error_entry(operation, validation_exception(exc))

    entry["location"] = resource["meta"]["location"]
    entry["version"] = resource["meta"]["version"]
    if method == "POST":
        entry["response"] = resource
    return entry
