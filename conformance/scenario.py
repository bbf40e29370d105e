"""Scenario suites: named checks that replay one IdP's requests in order.

A :class:`Scenario` subclass lists its checks as (title, method) pairs. Each
check sends requests through the scenario's :class:`ScimSession` and raises
:class:`CheckFailed` when the server behaves differently from what the check
expects, with the expected and the actual behaviour in the reason. Checks share
the resources they create by role name ("user", "group"), and a check whose
resource an earlier check failed to create is skipped rather than failed, so
each fault is counted once.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import httpx2

from conformance.outcomes import CheckOutcome, Outcome
from conformance.payloads import ENTERPRISE_URN, ERROR_URN, LIST_URN, patch_body
from conformance.session import SCIM_JSON, Exchange, ScimSession, eq_filter, query
from conformance.target import ScimTarget, SuiteOptions

logger = logging.getLogger(__name__)

Check = Callable[[], None]


class CheckFailed(Exception):
    """The server behaved differently from what the check expects."""


class CheckSkipped(Exception):
    """The check cannot run, because a resource it needs does not exist."""


@dataclass(frozen=True, slots=True)
class ListPage:
    """A ListResponse (RFC 7644 section 3.4.2) whose shape has been checked."""

    total_results: int
    start_index: int | None
    items_per_page: int | None
    resources: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [resource["id"] for resource in self.resources]


class Scenario:
    """Run one IdP's checks in order, then delete what they left behind."""

    suite: ClassVar[str]
    user_agent: ClassVar[str | None] = None
    """``User-Agent`` of every request. None sends no header, "" an empty one."""
    accept: ClassVar[str | None] = SCIM_JSON
    content_type: ClassVar[str] = SCIM_JSON

    def __init__(self, session: ScimSession) -> None:
        self.session = session
        self._ids: dict[str, str] = {}
        self._created: dict[str, str] = {}
        """Path of each resource still to delete, mapped to its role."""

    @classmethod
    def run_suite(cls, target: ScimTarget, options: SuiteOptions) -> list[CheckOutcome]:
        """Run every check of the suite against ``target`` and clean up after it."""
        with ScimSession(
            target,
            timeout=options.request_timeout,
            user_agent=cls.user_agent,
            accept=cls.accept,
            content_type=cls.content_type,
        ) as session:
            scenario = cls(session)
            try:
                return [
                    scenario.run_check(title, check)
                    for title, check in scenario.checks()
                ]
            finally:
                scenario.clean_up()

    def checks(self) -> Iterable[tuple[str, Check]]:
        """Return the suite's checks as (title, check) pairs, in running order."""
        raise NotImplementedError

    def run_check(self, title: str, check: Check) -> CheckOutcome:
        """Run one check and turn its result or exception into an outcome."""
        try:
            check()
        except CheckFailed as exc:
            return self._outcome(title, Outcome.failed, "MISMATCH", str(exc))
        except CheckSkipped as exc:
            return self._outcome(title, Outcome.skipped, "SKIPPED", str(exc))
        except httpx2.HTTPError as exc:
            reason = f"the request failed: {type(exc).__name__}: {exc}"
            return self._outcome(title, Outcome.failed, "ERROR", reason)
        except Exception as exc:
            # A response the check did not expect, such as a list where an
            # object belongs, must fail this check and not the whole suite.
            logger.exception("check raised suite=%s check=%s", self.suite, title)
            reason = f"the check raised {type(exc).__name__}: {exc}"
            return self._outcome(title, Outcome.failed, "ERROR", reason)
        return self._outcome(title, Outcome.passed, "PASSED", None)

    def _outcome(
        self, title: str, outcome: Outcome, status: str, reason: str | None
    ) -> CheckOutcome:
        return CheckOutcome(
            suite=self.suite, title=title, outcome=outcome, status=status, reason=reason
        )

    # Resources shared between checks

    def remember(self, role: str, endpoint: str, resource: dict[str, Any]) -> str:
        """Record a created resource under ``role`` and schedule its deletion."""
        resource_id = resource.get("id")
        if not isinstance(resource_id, str) or not resource_id:
            raise CheckFailed(f"expected a non-empty string id in {resource!r}")
        self._ids[role] = resource_id
        self._created[resource_path(endpoint, resource_id)] = role
        return resource_id

    def id_of(self, role: str) -> str:
        """Return the id of the resource created as ``role``.

        :raises CheckSkipped: if no earlier check created it.
        """
        try:
            return self._ids[role]
        except KeyError:
            raise CheckSkipped(
                f"needs the {role}, which an earlier check did not create"
            ) from None

    def path_of(self, role: str, endpoint: str) -> str:
        """Return the path of the resource created as ``role``, such as ``/Users/ID``.

        :raises CheckSkipped: if no earlier check created it.
        """
        return resource_path(endpoint, self.id_of(role))

    def forget(self, role: str, endpoint: str) -> None:
        """Drop ``role`` once a check has deleted it."""
        resource_id = self._ids.pop(role, None)
        if resource_id is not None:
            self._created.pop(resource_path(endpoint, resource_id), None)

    def clean_up(self) -> None:
        """Delete the resources still recorded, newest first, and log failures.

        Cleanup is not a check: the suites that test DELETE do it in checks of
        their own, and a server without DELETE still gets a full report.
        """
        for path, role in reversed(list(self._created.items())):
            try:
                exchange = self.session.delete(path)
            except httpx2.HTTPError as exc:
                logger.warning(
                    "cleanup failed suite=%s path=%s: %s", self.suite, path, exc
                )
                continue
            if exchange.status not in (200, 204, 404):
                logger.warning(
                    "cleanup failed suite=%s role=%s path=%s status=%s",
                    self.suite,
                    role,
                    path,
                    exchange.status,
                )
        self._created.clear()
        self._ids.clear()

    # Requests that many checks send

    def create(
        self, role: str, endpoint: str, body: dict[str, Any], **options: Any
    ) -> dict[str, Any]:
        """POST ``body``, expect 201 with the resource, and record it as ``role``."""
        exchange = self.session.post(f"/{endpoint}", body, **options)
        resource = expect_resource(exchange, 201)
        self.remember(role, endpoint, resource)
        return resource

    def read(self, role: str, endpoint: str, params: str = "") -> dict[str, Any]:
        """GET the resource created as ``role`` and expect 200."""
        path = self.path_of(role, endpoint) + params
        return expect_resource(self.session.get(path), 200)

    def patch(
        self, role: str, endpoint: str, *operations: dict[str, Any], **options: Any
    ) -> Exchange:
        """PATCH the resource created as ``role`` and expect 200 or 204.

        A 200 must carry the resource itself (RFC 7644 section 3.5.2).
        """
        resource_id = self.id_of(role)
        path = resource_path(endpoint, resource_id)
        exchange = self.session.patch(path, patch_body(*operations), **options)
        expect_status(exchange, 200, 204)
        if exchange.status == 200:
            returned = expect_resource(exchange, 200)
            expect_equal("id in the PATCH response", resource_id, returned.get("id"))
        return exchange

    def patch_and_read(
        self, role: str, endpoint: str, *operations: dict[str, Any]
    ) -> dict[str, Any]:
        """PATCH the resource, expect 200 or 204, then GET it and return the body."""
        self.patch(role, endpoint, *operations)
        return self.read(role, endpoint)

    def search(self, endpoint: str, params: Mapping[str, object]) -> ListPage:
        """GET ``endpoint`` with the query ``params`` and expect a ListResponse."""
        return expect_list(self.session.get(f"/{endpoint}{query(params)}"))

    def find(self, endpoint: str, attribute: str, value: str) -> ListPage:
        """Search ``endpoint`` with the filter ``attribute eq "value"``."""
        return self.search(endpoint, {"filter": eq_filter(attribute, value)})

    def expect_found(
        self, endpoint: str, attribute: str, value: str, role: str
    ) -> dict[str, Any]:
        """Expect the ``eq`` filter to match exactly the resource of ``role``."""
        resource_id = self.id_of(role)
        page = self.find(endpoint, attribute, value)
        where = f"filter {eq_filter(attribute, value)}"
        expect_equal(f"totalResults of {where}", 1, page.total_results)
        expect_equal(f"ids matched by {where}", [resource_id], page.ids)
        return page.resources[0]

    def expect_not_found(self, endpoint: str, attribute: str, value: str) -> None:
        """Expect the ``eq`` filter to match nothing."""
        page = self.find(endpoint, attribute, value)
        where = f"filter {eq_filter(attribute, value)}"
        expect_equal(f"totalResults of {where}", 0, page.total_results)
        expect_equal(f"Resources of {where}", [], page.resources)

    def delete_and_expect_gone(self, role: str, endpoint: str) -> None:
        """DELETE the resource, expect 204, then expect a SCIM 404 from GET."""
        path = self.path_of(role, endpoint)
        expect_status(self.session.delete(path), 204)
        self.forget(role, endpoint)
        expect_error(self.session.get(path), 404)


# Expectations. Each raises CheckFailed with the expected and the actual value.


def expect_status(exchange: Exchange, *expected: int) -> None:
    if exchange.status not in expected:
        choices = " or ".join(str(status) for status in expected)
        raise CheckFailed(f"expected status {choices}; got: {exchange.summary()}")


def expect_resource(exchange: Exchange, *statuses: int) -> dict[str, Any]:
    """Expect one of ``statuses`` and a JSON object body, and return the body."""
    expect_status(exchange, *statuses)
    body = exchange.json()
    if not isinstance(body, dict):
        raise CheckFailed(f"expected a JSON object body; got: {exchange.summary()}")
    return body


def expect_list(exchange: Exchange, *, paged: bool = False) -> ListPage:
    """Expect 200 and a ListResponse with integer counts and resources with ids.

    With ``paged``, ``startIndex`` and ``itemsPerPage`` are required too, as
    RFC 7644 section 3.4.2 requires them in a paginated response.
    """
    body = expect_resource(exchange, 200)
    if LIST_URN not in body.get("schemas", []):
        raise CheckFailed(
            f"expected schemas to contain {LIST_URN}; got: {exchange.summary()}"
        )

    numbers: dict[str, int | None] = {}
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        value = body.get(key)
        required = key == "totalResults" or paged
        if value is None and not required:
            numbers[key] = None
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise CheckFailed(
                f"expected {key} to be a JSON integer; got {value!r} from "
                f"{exchange.request_line}"
            )
        numbers[key] = value

    resources = body.get("Resources", [])
    if not isinstance(resources, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in resources
    ):
        raise CheckFailed(
            "expected Resources to be a list of objects that each have a string id; "
            f"got: {exchange.summary()}"
        )
    items_per_page = numbers["itemsPerPage"]
    if items_per_page is not None and items_per_page != len(resources):
        raise CheckFailed(
            f"expected itemsPerPage to equal the {len(resources)} resources returned; "
            f"got {items_per_page} from {exchange.request_line}"
        )
    total = numbers["totalResults"]
    assert total is not None
    return ListPage(total, numbers["startIndex"], items_per_page, resources)


def expect_error(
    exchange: Exchange,
    status: int,
    *,
    scim_type: str | None = None,
    detail_required: bool = False,
) -> dict[str, Any]:
    """Expect a SCIM error (RFC 7644 section 3.12) with ``status`` as a string."""
    body = expect_resource(exchange, status)
    if ERROR_URN not in body.get("schemas", []):
        raise CheckFailed(
            f"expected schemas to contain {ERROR_URN}; got: {exchange.summary()}"
        )
    if body.get("status") != str(status):
        raise CheckFailed(
            f'expected "status": "{status}" (a JSON string); got: {exchange.summary()}'
        )
    if scim_type is not None and body.get("scimType") != scim_type:
        raise CheckFailed(
            f'expected "scimType": "{scim_type}"; got: {exchange.summary()}'
        )
    detail = body.get("detail")
    if detail_required and not (isinstance(detail, str) and detail.strip()):
        raise CheckFailed(f"expected a non-empty detail; got: {exchange.summary()}")
    return body


def expect_equal(label: str, expected: object, actual: object) -> None:
    if actual != expected:
        raise CheckFailed(f"expected {label} to be {expected!r}; got {actual!r}")


def expect_true(condition: bool, message: str) -> None:
    """Fail with ``message``, which states the expected and the actual value."""
    if not condition:
        raise CheckFailed(message)


# Paths and readers of resource attributes


def resource_path(endpoint: str, resource_id: str) -> str:
    """Return ``/endpoint/id`` with the id percent-encoded, as the server sent it."""
    return f"/{endpoint}/{quote(resource_id, safe='')}"


def member_filter(member_id: str) -> str:
    """Return the PATCH path ``members[value eq "id"]`` that selects one member."""
    return f"members[{eq_filter('value', member_id)}]"


def value_at(resource: dict[str, Any], path: str) -> Any:
    """Return the attribute at a dotted ``path``, or None if any part is absent.

    A number part indexes a list, as in ``emails.0.value``. A path that starts
    with the enterprise User URN reads from its extension object, as in
    ``urn:...:enterprise:2.0:User:employeeNumber``.
    """
    current: Any = resource
    if path.startswith(ENTERPRISE_URN + ":"):
        current = resource.get(ENTERPRISE_URN)
        path = path.removeprefix(ENTERPRISE_URN + ":")
    for part in path.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def typed_values(resource: dict[str, Any], attribute: str, kind: str) -> list[Any]:
    """Return the ``value`` of each element of ``attribute`` whose type is ``kind``."""
    elements = resource.get(attribute) or []
    return [
        element.get("value")
        for element in elements
        if isinstance(element, dict) and element.get("type") == kind
    ]


def repeated(ids: list[str]) -> list[str]:
    """Return the ids that occur more than once in ``ids``, sorted."""
    return sorted(item for item, times in Counter(ids).items() if times > 1)


def member_ids(group: dict[str, Any]) -> list[str]:
    """Return the sorted member ids of a group, empty when it has no members."""
    members = group.get("members") or []
    return sorted(str(member.get("value")) for member in members)
