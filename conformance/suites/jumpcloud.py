"""The jumpcloud suite: JumpCloud's custom SCIM integration.

When an admin sets the connector up, JumpCloud creates a test user and a test
group and then deletes both. It deprovisions users both softly (``active:
false``) and by DELETE. Its removal of group members with a ``value`` list on
the path ``members`` and no filter, as Entra ID sends without its compliance
flag, is reported by a third party only.
"""

from collections.abc import Iterable
from typing import Any

from conformance.payloads import group_body, new_person, operation, run_tag, user_body
from conformance.scenario import (
    Check,
    Scenario,
    expect_equal,
    member_ids,
    value_at,
)

SUITE_NAME = "jumpcloud"

DOMAIN = "jumpcloud.conformance.example"


class JumpCloudScenario(Scenario):
    suite = SUITE_NAME
    user_agent = "scimbridge-conformance (jumpcloud)"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.probe = new_person("Test", "Connection", DOMAIN)
        self.probe_group = f"JumpCloud Test Group {run_tag()}"
        self.person = new_person("Leocadia", "Ferreira", DOMAIN)
        self.colleague = new_person("Kwabena", "Lindqvist", DOMAIN)
        self.group_name = f"JumpCloud Finance {run_tag()}"

    def checks(self) -> Iterable[tuple[str, Check]]:
        return [
            ("connection test: create a test user", self.create_probe_user),
            ("connection test: create a test group", self.create_probe_group),
            ("connection test: delete the test user", self.delete_probe_user),
            ("connection test: delete the test group", self.delete_probe_group),
            ("user: lookup by userName finds nothing", self.lookup_absent),
            ("user: create", self.create_user),
            ("user: lookup by userName finds the user", self.lookup_present),
            ("user: update with replace", self.update_user),
            ("group: create", self.create_group),
            ("group: add members", self.add_members),
            (
                "group: remove a member with a value list and no filter",
                self.remove_member,
            ),
            ("user: deprovision by active false", self.deactivate),
            ("user: deprovision by DELETE", self.delete_user),
            ("group: delete", self.delete_group),
        ]

    def create_probe_user(self) -> None:
        self.create("test user", "Users", user_body(self.probe))

    def create_probe_group(self) -> None:
        self.create("test group", "Groups", group_body(self.probe_group))

    def delete_probe_user(self) -> None:
        self.delete_and_expect_gone("test user", "Users")

    def delete_probe_group(self) -> None:
        self.delete_and_expect_gone("test group", "Groups")

    def lookup_absent(self) -> None:
        self.expect_not_found("Users", "userName", self.person.user_name)

    def create_user(self) -> None:
        resource = self.create("user", "Users", user_body(self.person))
        expect_equal("userName", self.person.user_name, resource.get("userName"))

    def lookup_present(self) -> None:
        self.expect_found("Users", "userName", self.person.user_name, "user")

    def update_user(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "name.familyName", "Ferreira-Lund")
        )
        expect_equal(
            "name.familyName", "Ferreira-Lund", value_at(stored, "name.familyName")
        )

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
            "group", "Groups", operation("remove", "members", [{"value": colleague_id}])
        )
        expect_equal("members after removing one", [user_id], member_ids(stored))

    def deactivate(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "active", False)
        )
        expect_equal("active", False, stored.get("active"))
        found = self.expect_found("Users", "userName", self.person.user_name, "user")
        expect_equal("active of the filtered user", False, found.get("active"))

    def delete_user(self) -> None:
        self.delete_and_expect_gone("user", "Users")
        self.expect_not_found("Users", "userName", self.person.user_name)

    def delete_group(self) -> None:
        self.delete_and_expect_gone("group", "Groups")


run_jumpcloud = JumpCloudScenario.run_suite
