"""SCIM media type, JSON responses and bounded request bodies."""

import json
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from scim2_models import (
    InvalidSyntaxException,
    PayloadTooLargeException,
    SCIMException,
)

SCIM_MEDIA_TYPE = "application/scim+json"
ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""Pass datetimes and dataclasses to ``default=str``, as the json module does,
so that orjson writes the same bytes as ``json.dumps`` with compact separators."""
ACCEPTED_MEDIA_TYPES = frozenset({SCIM_MEDIA_TYPE, "application/json"})


class UnsupportedMediaType(SCIMException):
    """A request body in a media type other than SCIM or plain JSON."""

    status = 415
    scim_type = ""


class ScimResponse(JSONResponse):
    """A JSON response sent as ``application/scim+json`` (RFC 7644 section 3.1)."""

    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, default=str, option=ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            # orjson rejects integers beyond 64 bits, keys that are not
            # strings and nesting deeper than 254 levels. The json module
            # encodes all three.
            return json.dumps(
                content, ensure_ascii=False, separators=(",", ":"), default=str
            ).encode()


def check_media_type(request: Request) -> None:
    """Accept SCIM JSON, plain JSON or no Content-Type, which some IdPs omit."""
    content_type = request.headers.get("content-type")
    if not content_type:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaType(
            detail=f"unsupported Content-Type {media_type!r}: send {SCIM_MEDIA_TYPE}"
        )


async def read_json(request: Request, max_bytes: int) -> Any:
    """Read and parse a request body of at most ``max_bytes``.

    The body is read in chunks and the read stops as soon as the limit is
    passed, so an oversized body is never held in memory whole.
    """
    check_media_type(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise payload_too_large(max_bytes)

    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise payload_too_large(max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise InvalidSyntaxException(detail="the request body is empty")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidSyntaxException(
            detail=f"the request body is not valid JSON: {exc}"
        ) from exc
    except RecursionError as exc:
        raise InvalidSyntaxException(
            detail="the request body nests JSON arrays or objects too deeply"
        ) from exc


def payload_too_large(max_bytes: int) -> SCIMException:
    return PayloadTooLargeException(
        detail=f"the request body exceeds the maximum of {max_bytes} bytes"
    )
