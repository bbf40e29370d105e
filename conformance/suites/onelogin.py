"""The onelogin suite: OneLogin's "SCIM v2 Enterprise" connector.

The shapes come from public server logs rather than from OneLogin's
documentation. Lookups end with a stray ``&``
(``?filter=userName+eq+%22...%22&``). Updates are PUT to ``/Users/{id}?``
with a trailing ``?``, and their bodies list the legacy schema URIs
``urn:scim:schemas:core:2.0`` and ``urn:scim:schemas:extension:enterprise:2.0``.
PATCH ops are lowercase, group membership changes are ``PATCH /Groups/{id}``,
and the ``User-Agent`` header is empty.
"""

from collections.abc import Iterable
from typing import Any

from conformance.payloads import (
    ENTERPRISE_URN,
    USER_URN,
    group_body,
    new_person,
    operation,
    run_tag,
    user_body,
)
from conformance.scenario import (
    Check,
    Scenario,
    expect_equal,
    expect_list,
    expect_resource,
    expect_true,
    member_filter,
    member_ids,
    value_at,
)
from conformance.session import eq_filter, query

SUITE_NAME = "onelogin"

DOMAIN = "onelogin.conformance.example"
LEGACY_CORE_URN = "urn:scim:schemas:core:2.0"
LEGACY_ENTERPRISE_URN = "urn:scim:schemas:extension:enterprise:2.0"


class OneLoginScenario(Scenario):
    suite = SUITE_NAME
    user_agent = ""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.person = new_person("Caspian", "Wolde", DOMAIN)
        self.colleague = new_person("Marguerite", "Eze", DOMAIN)
        self.group_name = f"OneLogin Support {run_tag()}"

    def checks(self) -> Iterable[tuple[str, Check]]:
        return [
            ("user: lookup with a trailing & finds nothing", self.lookup_absent),
            ("user: create", self.create_user),
            ("user: lookup with a trailing & finds the user", self.lookup_present),
            (
                "user: PUT to /Users/{id}? with a trailing ?",
                self.put_trailing_question_mark,
            ),
            ("user: PUT with legacy schema URIs", self.put_legacy_schemas),
            (
                "user: PUT as OneLogin sends it, legacy enterprise data",
                self.put_as_sent,
            ),
            ("user: GET /Users/{id}/ with a trailing /", self.get_trailing_slash),
            ("user: deactivate with lowercase replace", self.deactivate),
            ("group: create", self.create_group),
            ("group: PATCH /Groups adds members with lowercase add", self.add_members),
            (
                "group: PATCH /Groups removes a member with lowercase remove",
                self.remove_member,
            ),
        ]

    def lookup(self) -> Any:
        params = {"filter": eq_filter("userName", self.person.user_name)}
        path = f"/Users{query(params, plus_spaces=True)}&"
        return expect_list(self.session.get(path))

    def lookup_absent(self) -> None:
        expect_equal("totalResults before create", 0, self.lookup().total_results)

    def create_user(self) -> None:
        resource = self.create("user", "Users", user_body(self.person))
        expect_equal("userName", self.person.user_name, resource.get("userName"))

    def lookup_present(self) -> None:
        user_id = self.id_of("user")
        expect_equal("ids found by the lookup", [user_id], self.lookup().ids)

    def put_body(self, schemas: list[str], title: str) -> dict[str, Any]:
        body = user_body(self.person, title=title)
        body["schemas"] = schemas
        return body

    def put_and_read(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        returned = expect_resource(self.session.put(path, body), 200)
        expect_true(
            USER_URN in returned.get("schemas", []),
            f"expected the PUT response schemas to contain {USER_URN}; "
            f"got {returned.get('schemas')!r}",
        )
        return self.read("user", "Users")

    def put_trailing_question_mark(self) -> None:
        path = self.path_of("user", "Users") + "?"
        stored = self.put_and_read(path, self.put_body([USER_URN], "Support Lead"))
        expect_equal("title after PUT", "Support Lead", stored.get("title"))

    def put_legacy_schemas(self) -> None:
        path = self.path_of("user", "Users")
        body = self.put_body(
            [LEGACY_CORE_URN, LEGACY_ENTERPRISE_URN], "Support Manager"
        )
        stored = self.put_and_read(path, body)
        expect_equal("title after PUT", "Support Manager", stored.get("title"))

    def put_as_sent(self) -> None:
        path = self.path_of("user", "Users") + "?"
        body = self.put_body(
            [LEGACY_CORE_URN, LEGACY_ENTERPRISE_URN], "Head of Support"
        )
        body[LEGACY_ENTERPRISE_URN] = {
            "department": "Customer Care",
            "employeeNumber": "OL-5521",
        }
        stored = self.put_and_read(path, body)
        expect_equal("title after PUT", "Head of Support", stored.get("title"))
        expect_equal(
            "enterprise department sent under the legacy URN",
            "Customer Care",
            value_at(stored, f"{ENTERPRISE_URN}:department"),
        )
        expect_equal(
            "enterprise employeeNumber sent under the legacy URN",
            "OL-5521",
            value_at(stored, f"{ENTERPRISE_URN}:employeeNumber"),
        )

    def get_trailing_slash(self) -> None:
        exchange = self.session.get(self.path_of("user", "Users") + "/")
        resource = expect_resource(exchange, 200)
        expect_equal("id", self.id_of("user"), resource.get("id"))

    def deactivate(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "active", False)
        )
        expect_equal("active", False, stored.get("active"))
        expect_equal("userName", self.person.user_name, stored.get("userName"))

    def create_group(self) -> None:
        resource = self.create("group", "Groups", group_body(self.group_name))
        expect_equal("displayName", self.group_name, resource.get("displayName"))

    def add_members(self) -> None:
        user_id = self.id_of("user")
        self.id_of("group")
        colleague = self.create("colleague", "Users", user_body(self.colleague))
        members = [{"value": user_id}, {"value": colleague["id"]}]
        stored = self.patch_and_read(
            "group", "Groups", operation("add", "members", members)
        )
        expect_equal("members", sorted([user_id, colleague["id"]]), member_ids(stored))

    def remove_member(self) -> None:
        user_id = self.id_of("user")
        colleague_id = self.id_of("colleague")
        stored = self.patch_and_read(
            "group",
            "Groups",
            operation("remove", member_filter(colleague_id)),
        )
        expect_equal("members after removing one", [user_id], member_ids(stored))


run_onelogin = OneLoginScenario.run_suite
