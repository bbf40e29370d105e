"""The ping suite: the PingFederate SCIM provisioner and PingOne.

Ping matches users by ``userName`` and updates them only with PUT, so
deactivation is a PUT with ``active: false`` and a disabled user can still be
updated. Groups are changed with PATCH. Ping finds a group by reading every
page of an unfiltered ``GET /Groups``, so pagination must work without a
filter. Deprovisioning is by ``active: false`` or by DELETE, at the admin's
choice.
"""

from collections.abc import Iterable
from typing import Any

from conformance.payloads import group_body, new_person, operation, run_tag, user_body
from conformance.scenario import (
    Check,
    CheckFailed,
    Scenario,
    expect_equal,
    expect_list,
    expect_resource,
    member_filter,
    member_ids,
    repeated,
)
from conformance.session import query

SUITE_NAME = "ping"

DOMAIN = "ping.conformance.example"
GROUP_PAGE_SIZE = 2
"""Page size of the group walk, small so that even three groups span pages."""
MAX_PAGES = 5000


class PingScenario(Scenario):
    suite = SUITE_NAME
    user_agent = "scimbridge-conformance (ping)"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.person = new_person("Agnieszka", "Moreau", DOMAIN)
        self.colleague = new_person("Teodor", "Ballantyne", DOMAIN)
        tag = run_tag()
        self.group_names = {
            "group": f"Ping Operations {tag}",
            "second group": f"Ping Legal {tag}",
            "third group": f"Ping Design {tag}",
        }

    def checks(self) -> Iterable[tuple[str, Check]]:
        return [
            ("user: lookup by userName finds nothing", self.lookup_absent),
            ("user: create", self.create_user),
            ("user: update with PUT", self.update_user),
            ("user: deactivate with PUT active false", self.deactivate),
            ("user: PUT updates a disabled user", self.update_disabled),
            ("user: reactivate with PUT active true", self.reactivate),
            ("group: create three groups", self.create_groups),
            (
                "group: unfiltered GET /Groups pages list each group once",
                self.walk_groups,
            ),
            ("group: PATCH adds members", self.add_members),
            ("group: PATCH removes a member", self.remove_member),
            ("group: PATCH renames", self.rename_group),
            ("user: deprovision by DELETE", self.delete_user),
            ("group: delete", self.delete_group),
        ]

    def lookup_absent(self) -> None:
        self.expect_not_found("Users", "userName", self.person.user_name)

    def create_user(self) -> None:
        resource = self.create("user", "Users", user_body(self.person))
        expect_equal("userName", self.person.user_name, resource.get("userName"))

    def put_user(self, **changes: Any) -> dict[str, Any]:
        """PUT the whole user with ``changes``, expect 200, and GET it back."""
        path = self.path_of("user", "Users")
        expect_resource(self.session.put(path, user_body(self.person, **changes)), 200)
        return self.read("user", "Users")

    def update_user(self) -> None:
        stored = self.put_user(title="Operations Analyst", nickName="Aga")
        expect_equal("title", "Operations Analyst", stored.get("title"))
        expect_equal("nickName", "Aga", stored.get("nickName"))
        expect_equal("active", True, stored.get("active"))

    def deactivate(self) -> None:
        stored = self.put_user(title="Operations Analyst", active=False)
        expect_equal("active", False, stored.get("active"))
        expect_equal("userName", self.person.user_name, stored.get("userName"))
        found = self.expect_found("Users", "userName", self.person.user_name, "user")
        expect_equal("active of the filtered user", False, found.get("active"))

    def update_disabled(self) -> None:
        stored = self.put_user(title="Senior Operations Analyst", active=False)
        expect_equal("title", "Senior Operations Analyst", stored.get("title"))
        expect_equal("active", False, stored.get("active"))

    def reactivate(self) -> None:
        stored = self.put_user(title="Senior Operations Analyst", active=True)
        expect_equal("active", True, stored.get("active"))

    def create_groups(self) -> None:
        for role, name in self.group_names.items():
            resource = self.create(role, "Groups", group_body(name))
            expect_equal("displayName", name, resource.get("displayName"))

    def walk_groups(self) -> None:
        wanted = {role: self.id_of(role) for role in self.group_names}
        ids: list[str] = []
        start = 1
        for _ in range(MAX_PAGES):
            params = {"startIndex": start, "count": GROUP_PAGE_SIZE}
            page = expect_list(self.session.get(f"/Groups{query(params)}"), paged=True)
            expect_equal(f"startIndex of page {start}", start, page.start_index)
            ids.extend(page.ids)
            start += GROUP_PAGE_SIZE
            if start > page.total_results:
                break
        else:
            raise CheckFailed(f"the walk did not end within {MAX_PAGES} pages")

        expect_equal("groups listed on more than one page", [], repeated(ids))
        missing = sorted(
            role for role, group_id in wanted.items() if group_id not in ids
        )
        expect_equal("groups the walk did not find", [], missing)

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

    def rename_group(self) -> None:
        name = self.group_names["group"] + " EMEA"
        stored = self.patch_and_read(
            "group", "Groups", operation("replace", "displayName", name)
        )
        expect_equal("displayName", name, stored.get("displayName"))
        expect_equal(
            "members after the rename", [self.id_of("user")], member_ids(stored)
        )

    def delete_user(self) -> None:
        self.delete_and_expect_gone("user", "Users")
        self.expect_not_found("Users", "userName", self.person.user_name)

    def delete_group(self) -> None:
        for role in self.group_names:
            self.delete_and_expect_gone(role, "Groups")


run_ping = PingScenario.run_suite
