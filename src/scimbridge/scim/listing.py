"""Query parameters and ListResponse bodies (RFC 7644 section 3.4.2)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidFilterException, InvalidValueException, ScimFilter
from scim2_models.path import FilterNode, LogicalExpr, Not, ValuePath

from scimbridge.directory.ports import ResourceQuery
from scimbridge.scim.projection import Projection, split_list

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


MAX_FILTER_TERMS = 200
"""Most comparisons one filter may hold; IdPs send one or two, and SQLite
rejects expression trees deeper than 1000."""


def _count_terms(node: FilterNode) -> int:
    if isinstance(node, LogicalExpr):
        return sum(_count_terms(term) for term in node.terms)
    if isinstance(node, Not):
        return _count_terms(node.expr)
    if isinstance(node, ValuePath):
        return _count_terms(node.val_filter)
    return 1


@dataclass(frozen=True, slots=True)
class SearchParameters:
    """The query of a GET on a resource endpoint or the body of a POST .search."""

    filter: str | None
    sort_by: str | None
    descending: bool
    start_index: int
    count: int
    attributes: list[str] | None
    excluded_attributes: list[str] | None

    def query(self) -> ResourceQuery:
        node = ScimFilter(self.filter).ast if self.filter else None
        if node is not None and _count_terms(node) > MAX_FILTER_TERMS:
            raise InvalidFilterException(
                detail=f"the filter has more than {MAX_FILTER_TERMS} comparisons"
            )
        return ResourceQuery(
            filter=node,
            sort_by=self.sort_by,
            descending=self.descending,
            offset=self.start_index - 1,
            limit=self.count,
        )

    def projection(self, core_schema: str, extensions: tuple[str, ...]) -> Projection:
        return Projection(
            self.attributes, self.excluded_attributes, core_schema, extensions
        )


def _integer(name: str, raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise InvalidValueException(detail=f"{name} must be an integer, got {raw!r}")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise InvalidValueException(
            detail=f"{name} must be an integer, got {raw!r}"
        ) from None


def _sort_order(raw: Any) -> bool:
    if raw is None or raw == "":
        return False
    lowered = str(raw).lower()
    if lowered not in ("ascending", "descending"):
        raise InvalidValueException(
            detail=f"sortOrder must be ascending or descending, got {raw!r}"
        )
    return lowered == "descending"


def _attribute_list(name: str, raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return split_list(raw)
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return [item for item in raw if item.strip()] or None
    raise InvalidValueException(detail=f"{name} must be a list of attribute names")


def parse_search(values: Mapping[str, Any], max_results: int) -> SearchParameters:
    """Read search parameters; ``count`` is capped at ``max_results``.

    RFC 7644 section 3.4.2.4: ``startIndex`` below 1 reads as 1 and a
    negative ``count`` as 0.
    """
    filter_ = values.get("filter")
    if filter_ is not None and not isinstance(filter_, str):
        raise InvalidValueException(detail="filter must be a string")
    sort_by = values.get("sortBy")
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValueException(detail="sortBy must be a string")
    start = _integer("startIndex", values.get("startIndex"))
    count = _integer("count", values.get("count"))
    attributes = _attribute_list("attributes", values.get("attributes"))
    excluded = _attribute_list("excludedAttributes", values.get("excludedAttributes"))
    if attributes and excluded:
        raise InvalidValueException(
            detail="attributes and excludedAttributes cannot be used together"
        )
    return SearchParameters(
        filter=filter_ if filter_ and filter_.strip() else None,
        sort_by=sort_by or None,
        descending=_sort_order(values.get("sortOrder")),
        start_index=max(start or 1, 1),
        count=min(max(count if count is not None else max_results, 0), max_results),
        attributes=attributes,
        excluded_attributes=excluded,
    )


def list_response(
    total: int, start_index: int, resources: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start_index,
        "Resources": resources,
    }
