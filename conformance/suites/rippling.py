"""The rippling suite: Rippling's custom SCIM app, driven by HR events.

Rippling's Test Connection reads ``GET /ServiceProviderConfig``, according to
a third-party setup guide. Before it creates a user it filters on
``externalId``. Its admin declares the attributes it sends, among them
``emails.primary`` and ``employeeNumber``. Hire and termination dates make it
deactivate and reactivate users, and with "Create & Delete Groups" and "Use
PATCH to edit Groups" set it creates, patches and deletes groups. These
shapes come from third-party integration guides rather than from Rippling.
"""

from collections.abc import Iterable
from typing import Any

from conformance.payloads import (
    ENTERPRISE_URN,
    SERVICE_PROVIDER_CONFIG_URN,
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
    expect_resource,
    expect_true,
    member_ids,
    value_at,
)

SUITE_NAME = "rippling"

DOMAIN = "rippling.conformance.example"
EMPLOYEE_NUMBER = f"{ENTERPRISE_URN}:employeeNumber"


def primary_emails(resource: dict[str, Any]) -> list[Any]:
    return [
        email.get("value")
        for email in resource.get("emails") or []
        if isinstance(email, dict) and email.get("primary") is True
    ]


class RipplingScenario(Scenario):
    suite = SUITE_NAME
    user_agent = "scimbridge-conformance (rippling)"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.person = new_person("Oriana", "Szabo", DOMAIN)
        self.group_name = f"Rippling People Ops {run_tag()}"

    def checks(self) -> Iterable[tuple[str, Check]]:
        return [
            ("test connection: GET /ServiceProviderConfig", self.test_connection),
            (
                "user: lookup by externalId before create finds nothing",
                self.lookup_absent,
            ),
            ("user: create with emails.primary and employeeNumber", self.create_user),
            ("user: lookup by externalId finds the user", self.lookup_present),
            ("user: change the primary email", self.change_primary_email),
            ("user: replace employeeNumber", self.replace_employee_number),
            ("user: deactivate on termination", self.deactivate),
            ("user: reactivate on rehire", self.reactivate),
            ("group: create", self.create_group),
            ("group: PATCH adds a member", self.add_member),
            ("group: PATCH renames", self.rename_group),
            ("group: delete", self.delete_group),
        ]

    def test_connection(self) -> None:
        config = expect_resource(self.session.get("/ServiceProviderConfig"), 200)
        expect_true(
            SERVICE_PROVIDER_CONFIG_URN in config.get("schemas", []),
            f"expected schemas to contain {SERVICE_PROVIDER_CONFIG_URN}; "
            f"got {config.get('schemas')!r}",
        )
        expect_equal("patch.supported", True, value_at(config, "patch.supported"))
        expect_equal("filter.supported", True, value_at(config, "filter.supported"))

    def lookup_absent(self) -> None:
        self.expect_not_found("Users", "externalId", self.person.external_id)

    def create_user(self) -> None:
        body = user_body(self.person)
        body["schemas"] = [USER_URN, ENTERPRISE_URN]
        body[ENTERPRISE_URN] = {"employeeNumber": "R-1187"}
        resource = self.create("user", "Users", body)
        expect_equal("primary emails", [self.person.email], primary_emails(resource))
        expect_equal("employeeNumber", "R-1187", value_at(resource, EMPLOYEE_NUMBER))

    def lookup_present(self) -> None:
        self.expect_found("Users", "externalId", self.person.external_id, "user")

    def change_primary_email(self) -> None:
        new_email = f"oriana.szabo.{run_tag()}@{DOMAIN}"
        emails = [
            {"value": new_email, "type": "work", "primary": True},
            {"value": self.person.email, "type": "other", "primary": False},
        ]
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "emails", emails)
        )
        expect_equal("primary emails", [new_email], primary_emails(stored))
        values = sorted(email.get("value") for email in stored.get("emails") or [])
        expect_equal("email values", sorted([new_email, self.person.email]), values)

    def replace_employee_number(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", EMPLOYEE_NUMBER, "R-2290")
        )
        expect_equal("employeeNumber", "R-2290", value_at(stored, EMPLOYEE_NUMBER))

    def deactivate(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "active", False)
        )
        expect_equal("active", False, stored.get("active"))
        found = self.expect_found(
            "Users", "externalId", self.person.external_id, "user"
        )
        expect_equal("active of the filtered user", False, found.get("active"))

    def reactivate(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "active", True)
        )
        expect_equal("active", True, stored.get("active"))
        expect_equal("employeeNumber", "R-2290", value_at(stored, EMPLOYEE_NUMBER))

    def create_group(self) -> None:
        resource = self.create("group", "Groups", group_body(self.group_name))
        expect_equal("displayName", self.group_name, resource.get("displayName"))

    def add_member(self) -> None:
        user_id = self.id_of("user")
        stored = self.patch_and_read(
            "group", "Groups", operation("add", "members", [{"value": user_id}])
        )
        expect_equal("members", [user_id], member_ids(stored))

    def rename_group(self) -> None:
        self.group_name += " Americas"
        stored = self.patch_and_read(
            "group", "Groups", operation("replace", "displayName", self.group_name)
        )
        expect_equal("displayName", self.group_name, stored.get("displayName"))

    def delete_group(self) -> None:
        self.delete_and_expect_gone("group", "Groups")


run_rippling = RipplingScenario.run_suite
