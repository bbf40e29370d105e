"""The entra and entra-flag suites: Microsoft Entra ID's two PATCH dialects.

Without the ``aadOptscim062020`` flag on the tenant URL, Entra capitalizes
``op`` (``Replace``, ``Add``, ``Remove``) and sends booleans as the strings
``"True"`` and ``"False"``. It updates one attribute per operation and removes
group members with a ``value`` list on the path ``members``. It also sends
value-filter paths for elements that do not exist yet, explicit nulls, a
misspelled enterprise URN, and a Microsoft vendor URN on groups. The ``entra``
suite replays these requests, and the checks of Microsoft's SCIM Validator.

With the flag (the ``entra-flag`` suite), ops are lowercase and booleans are
JSON booleans. Several attributes change in one path-less ``replace`` whose
keys are dotted (``name.givenName``) or fully qualified URNs, and member
removal uses a filtered path. Entra may send either dialect to one tenant.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from conformance.payloads import (
    ENTERPRISE_URN,
    GROUP_URN,
    USER_URN,
    Person,
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
    expect_true,
    member_filter,
    member_ids,
    typed_values,
    value_at,
)
from conformance.session import SCIM_JSON, eq_filter, query

SUITE_NAME = "entra"
FLAG_SUITE_NAME = "entra-flag"

DOMAIN = "entra.conformance.example"
ENTRA_CONTENT_TYPE = f"{SCIM_JSON}; charset=utf-8"
MICROSOFT_GROUP_URN = (
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
)
MISSPELLED_ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
"""The enterprise URN without its last colon, as older Entra payloads send it."""


def entra_user_body(person: Person, object_id: str) -> dict[str, Any]:
    """Build the User that Entra creates: enterprise schema, meta, ``roles: []``."""
    body = user_body(
        person,
        externalId=object_id,
        meta={"resourceType": "User"},
        roles=[],
    )
    body["schemas"] = [USER_URN, ENTERPRISE_URN]
    body["name"]["formatted"] = person.display_name
    body[ENTERPRISE_URN] = {"employeeNumber": f"E-{run_tag()}"}
    return body


def entra_group_body(display_name: str, object_id: str) -> dict[str, Any]:
    """Build the Group that Entra creates: vendor URN, objectId, no members."""
    body = group_body(
        display_name, externalId=object_id, meta={"resourceType": "Group"}
    )
    body["schemas"] = [GROUP_URN, MICROSOFT_GROUP_URN]
    return body


def expect_known_schemas(resource: dict[str, Any]) -> None:
    """Expect the core User URN in ``schemas``, and not the misspelled one."""
    schemas = resource.get("schemas", [])
    expect_true(
        USER_URN in schemas and MISSPELLED_ENTERPRISE_URN not in schemas,
        f"expected schemas with {USER_URN} and without the misspelled "
        f"{MISSPELLED_ENTERPRISE_URN}; got {schemas!r}",
    )


class EntraScenario(Scenario):
    """Entra ID without the ``aadOptscim062020`` flag, plus its SCIM Validator."""

    suite = SUITE_NAME
    content_type = ENTRA_CONTENT_TYPE

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.person = new_person("Hollis", "Achterberg", DOMAIN)
        self.object_id = str(uuid.uuid4())
        self.colleague = new_person("Wren", "Castellanos", DOMAIN)
        self.group_name = f"Sales EMEA {run_tag()}"
        self.group_object_id = str(uuid.uuid4())
        self.validator = new_person("Juniper", "Okonkwo", DOMAIN)
        self.validator_group = f"Validator Group {run_tag()}"

    def checks(self) -> Iterable[tuple[str, Check]]:
        return [
            (
                "test connection: GUID filter, no Content-Type or User-Agent",
                self.test_connection,
            ),
            (
                "user: create with enterprise schema, meta and roles []",
                self.create_user,
            ),
            ("user: create with explicit nulls", self.create_with_nulls),
            ("user: create with the misspelled enterprise URN", self.create_misspelled),
            (
                "user: create as Microsoft's documented example",
                self.create_documented_example,
            ),
            ("user: filter on userName", self.filter_user_name),
            ("user: filter on externalId", self.filter_external_id),
            ("user: filter on externalId is case-exact", self.filter_external_id_case),
            ('user: filter on emails[type eq "work"].value', self.filter_work_email),
            ('user: Replace emails[type eq "work"].value', self.replace_work_email),
            ("user: Replace name.familyName", self.replace_family_name),
            ("user: Replace externalId", self.replace_external_id),
            (
                "user: Replace enterprise employeeNumber by URN path",
                self.replace_employee_number,
            ),
            (
                'user: Replace addresses[type eq "work"].streetAddress on no address',
                self.replace_street,
            ),
            (
                'user: Replace phoneNumbers[type eq "mobile"].value as sent',
                self.replace_mobile,
            ),
            ("user: Add enterprise department by URN path", self.add_department),
            ("user: Add manager as a plain string id", self.add_manager),
            ("group: create with the Microsoft vendor group URN", self.create_group),
            (
                "group: filter on displayName, excludedAttributes=members",
                self.filter_group,
            ),
            ("group: filter on a displayName with quotes", self.filter_quoted_name),
            ("group: Add members with $ref null", self.add_members),
            (
                "group: read with excludedAttributes=members",
                self.read_group_without_members,
            ),
            ("group: Replace displayName", self.rename_group),
            ("group: Add on externalId replaces it", self.add_group_external_id),
            ("group: Remove members with a value list", self.remove_member),
            ('user: disable with Replace and "False"', self.disable),
            (
                "user: disabled user stays visible with its groups",
                self.disabled_visible,
            ),
            ('user: enable with Replace and "True"', self.enable),
            ("group: delete, then GET returns 404", self.delete_group),
            ("user: delete, then GET returns 404 and filter nothing", self.delete_user),
            ("validator: create user", self.validator_create_user),
            ("validator: filter user on userName", self.validator_filter_user),
            ("validator: get user", self.validator_get_user),
            ("validator: PATCH add title", self.validator_add),
            ("validator: PATCH replace with value paths", self.validator_replace),
            ("validator: disable user", self.validator_disable),
            ("validator: create group", self.validator_create_group),
            ("validator: filter group on displayName", self.validator_filter_group),
            ("validator: get group", self.validator_get_group),
            ("validator: PATCH add member", self.validator_add_member),
            ("validator: PATCH replace displayName", self.validator_rename),
            ("validator: PATCH remove member", self.validator_remove_member),
            ("validator: delete group", self.validator_delete_group),
            ("validator: delete user", self.validator_delete_user),
        ]

    # Users

    def test_connection(self) -> None:
        path = f"/Users{query({'filter': eq_filter('userName', str(uuid.uuid4()))})}"
        exchange = self.session.get(path, user_agent=None, content_type=None)
        page = expect_list(exchange)
        expect_equal("totalResults for a random GUID", 0, page.total_results)
        expect_equal("response Content-Type", SCIM_JSON, exchange.content_type)

    def create_user(self) -> None:
        body = entra_user_body(self.person, self.object_id)
        resource = self.create("user", "Users", body)
        expect_equal("userName", self.person.user_name, resource.get("userName"))
        expect_equal("externalId", self.object_id, resource.get("externalId"))
        expect_equal(
            "employeeNumber",
            body[ENTERPRISE_URN]["employeeNumber"],
            value_at(resource, f"{ENTERPRISE_URN}:employeeNumber"),
        )

    def create_with_nulls(self) -> None:
        person = new_person("Soren", "Blackwood", DOMAIN)
        body = entra_user_body(person, str(uuid.uuid4()))
        body.update(
            addresses=None, phoneNumbers=None, title=None, preferredLanguage=None
        )
        body[ENTERPRISE_URN].update(department=None, manager=None)
        resource = self.create("user with nulls", "Users", body)
        expect_equal("userName", person.user_name, resource.get("userName"))
        for attribute in ("addresses", "phoneNumbers", "title", "preferredLanguage"):
            expect_true(
                resource.get(attribute) in (None, []),
                f"expected {attribute} sent as null to stay unassigned; "
                f"got {resource.get(attribute)!r}",
            )

    def create_misspelled(self) -> None:
        person = new_person("Tamsin", "Ueda", DOMAIN)
        body = user_body(person)
        body["schemas"] = [USER_URN, MISSPELLED_ENTERPRISE_URN]
        resource = self.create("user with misspelled URN", "Users", body)
        expect_equal("userName", person.user_name, resource.get("userName"))
        expect_known_schemas(resource)

    def create_documented_example(self) -> None:
        person = new_person("Ilse", "Marchetti", DOMAIN)
        # Microsoft's documented create request: the misspelled enterprise URN,
        # and enterprise attributes sent as top-level nulls.
        body = user_body(
            person,
            externalId=person.user_name.split("@")[0],
            addresses=None,
            phoneNumbers=None,
            preferredLanguage=None,
            title=None,
            department=None,
            manager=None,
            meta={"resourceType": "User"},
        )
        body["schemas"] = [USER_URN, MISSPELLED_ENTERPRISE_URN]
        resource = self.create("user as documented", "Users", body)
        expect_equal("userName", person.user_name, resource.get("userName"))
        expect_known_schemas(resource)

    def filter_user_name(self) -> None:
        self.expect_found("Users", "userName", self.person.user_name, "user")

    def filter_external_id(self) -> None:
        self.expect_found("Users", "externalId", self.object_id, "user")

    def filter_external_id_case(self) -> None:
        self.id_of("user")
        self.expect_not_found("Users", "externalId", self.object_id.upper())

    def filter_work_email(self) -> None:
        self.expect_found(
            "Users", 'emails[type eq "work"].value', self.person.email, "user"
        )

    def replace_work_email(self) -> None:
        new_email = f"h.achterberg.{run_tag()}@{DOMAIN}"
        path = 'emails[type eq "work"].value'
        stored = self.patch_and_read(
            "user", "Users", operation("Replace", path, new_email)
        )
        expect_equal("work emails", [new_email], typed_values(stored, "emails", "work"))

    def replace_family_name(self) -> None:
        stored = self.patch_and_read(
            "user",
            "Users",
            operation("Replace", "name.familyName", "Achterberg-Nkemelu"),
        )
        expect_equal(
            "name.familyName", "Achterberg-Nkemelu", value_at(stored, "name.familyName")
        )
        expect_equal(
            "name.givenName", self.person.given_name, value_at(stored, "name.givenName")
        )

    def replace_external_id(self) -> None:
        new_object_id = str(uuid.uuid4())
        stored = self.patch_and_read(
            "user", "Users", operation("Replace", "externalId", new_object_id)
        )
        expect_equal("externalId", new_object_id, stored.get("externalId"))
        self.object_id = new_object_id
        self.expect_found("Users", "externalId", new_object_id, "user")

    def replace_employee_number(self) -> None:
        path = f"{ENTERPRISE_URN}:employeeNumber"
        stored = self.patch_and_read(
            "user", "Users", operation("Replace", path, "E-77031")
        )
        expect_equal("employeeNumber", "E-77031", value_at(stored, path))

    def replace_street(self) -> None:
        before = self.read("user", "Users")
        expect_true(
            not before.get("addresses"),
            f"expected a user with no addresses; got {before.get('addresses')!r}",
        )
        path = 'addresses[type eq "work"].streetAddress'
        stored = self.patch_and_read(
            "user", "Users", operation("Replace", path, "18 Quayside Row")
        )
        streets = [
            address.get("streetAddress")
            for address in stored.get("addresses") or []
            if address.get("type") == "work"
        ]
        expect_equal("work streetAddress values", ["18 Quayside Row"], streets)

    def replace_mobile(self) -> None:
        number = "+44 (0)20 7946 0321"
        path = 'phoneNumbers[type eq "mobile"].value'
        stored = self.patch_and_read(
            "user", "Users", operation("Replace", path, number)
        )
        expect_equal(
            "mobile phone numbers",
            [number],
            typed_values(stored, "phoneNumbers", "mobile"),
        )

    def add_department(self) -> None:
        path = f"{ENTERPRISE_URN}:department"
        stored = self.patch_and_read(
            "user", "Users", operation("Add", path, "Field Sales")
        )
        expect_equal("department", "Field Sales", value_at(stored, path))

    def add_manager(self) -> None:
        self.id_of("user")
        manager = self.create(
            "colleague", "Users", entra_user_body(self.colleague, str(uuid.uuid4()))
        )
        path = f"{ENTERPRISE_URN}:manager"
        stored = self.patch_and_read(
            "user", "Users", operation("Add", path, manager["id"])
        )
        expect_equal("manager.value", manager["id"], value_at(stored, f"{path}.value"))

    # Groups

    def create_group(self) -> None:
        body = entra_group_body(self.group_name, self.group_object_id)
        resource = self.create("group", "Groups", body)
        expect_equal("displayName", self.group_name, resource.get("displayName"))
        expect_equal("externalId", self.group_object_id, resource.get("externalId"))

    def filter_group(self) -> None:
        group_id = self.id_of("group")
        params = {
            "excludedAttributes": "members",
            "filter": eq_filter("displayName", self.group_name),
        }
        page = self.search("Groups", params)
        expect_equal(
            f"ids matched by displayName {self.group_name!r}", [group_id], page.ids
        )
        listed = page.resources[0]
        expect_true(
            "members" not in listed,
            f"expected no members with excludedAttributes=members; got {listed!r}",
        )

    def filter_quoted_name(self) -> None:
        name = f'Partners "Tier 1" & Resellers {run_tag()}'
        resource = self.create("group with quotes", "Groups", group_body(name))
        expect_equal("displayName", name, resource.get("displayName"))
        self.expect_found("Groups", "displayName", name, "group with quotes")

    def add_members(self) -> None:
        user_id = self.id_of("user")
        colleague_id = self.id_of("colleague")
        members = [
            {"$ref": None, "value": user_id},
            {"$ref": None, "value": colleague_id},
        ]
        stored = self.patch_and_read(
            "group", "Groups", operation("Add", "members", members)
        )
        expect_equal("members", sorted([user_id, colleague_id]), member_ids(stored))

    def read_group_without_members(self) -> None:
        resource = self.read(
            "group", "Groups", query({"excludedAttributes": "members"})
        )
        expect_true(
            "members" not in resource,
            f"expected no members with excludedAttributes=members; got {resource!r}",
        )
        expect_equal("displayName", self.group_name, resource.get("displayName"))

    def rename_group(self) -> None:
        self.group_name = f"Sales EMEA North {run_tag()}"
        stored = self.patch_and_read(
            "group", "Groups", operation("Replace", "displayName", self.group_name)
        )
        expect_equal("displayName", self.group_name, stored.get("displayName"))
        self.expect_found("Groups", "displayName", self.group_name, "group")

    def add_group_external_id(self) -> None:
        new_object_id = str(uuid.uuid4())
        stored = self.patch_and_read(
            "group", "Groups", operation("Add", "externalId", new_object_id)
        )
        expect_equal("externalId", new_object_id, stored.get("externalId"))

    def remove_member(self) -> None:
        user_id = self.id_of("user")
        colleague_id = self.id_of("colleague")
        removal = operation("Remove", "members", [{"value": colleague_id}])
        stored = self.patch_and_read("group", "Groups", removal)
        expect_equal("members after removing one", [user_id], member_ids(stored))

        stored = self.patch_and_read("group", "Groups", removal)
        expect_equal(
            "members after the same removal again", [user_id], member_ids(stored)
        )

    # Lifecycle

    def disable(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("Replace", "active", "False")
        )
        expect_equal("active (a JSON boolean)", False, stored.get("active"))

    def disabled_visible(self) -> None:
        user_id = self.id_of("user")
        found = self.expect_found("Users", "userName", self.person.user_name, "user")
        expect_equal("active of the filtered user", False, found.get("active"))
        self.expect_found("Users", "externalId", self.object_id, "user")
        group = self.read("group", "Groups")
        expect_true(
            user_id in member_ids(group),
            f"expected disabled user {user_id} to stay a group member; "
            f"got members {member_ids(group)}",
        )

    def enable(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("Replace", "active", "True")
        )
        expect_equal("active (a JSON boolean)", True, stored.get("active"))

    def delete_group(self) -> None:
        self.delete_and_expect_gone("group", "Groups")

    def delete_user(self) -> None:
        self.delete_and_expect_gone("user", "Users")
        self.expect_not_found("Users", "userName", self.person.user_name)

    # SCIM Validator. NOTE: Microsoft does not publish the validator's exact
    # requests, so these send RFC 7644 shapes: lowercase ops, JSON booleans.

    def validator_create_user(self) -> None:
        body = entra_user_body(self.validator, str(uuid.uuid4()))
        self.create("validator user", "Users", body)

    def validator_filter_user(self) -> None:
        self.expect_found(
            "Users", "userName", self.validator.user_name, "validator user"
        )

    def validator_get_user(self) -> None:
        resource = self.read("validator user", "Users")
        expect_equal("userName", self.validator.user_name, resource.get("userName"))

    def validator_add(self) -> None:
        stored = self.patch_and_read(
            "validator user", "Users", operation("add", "title", "Account Director")
        )
        expect_equal("title", "Account Director", stored.get("title"))

    def validator_replace(self) -> None:
        new_email = f"j.okonkwo.{run_tag()}@{DOMAIN}"
        stored = self.patch_and_read(
            "validator user",
            "Users",
            operation("replace", 'emails[type eq "work"].value', new_email),
            operation("replace", "name.givenName", "Juno"),
        )
        expect_equal("work emails", [new_email], typed_values(stored, "emails", "work"))
        expect_equal("name.givenName", "Juno", value_at(stored, "name.givenName"))

    def validator_disable(self) -> None:
        stored = self.patch_and_read(
            "validator user", "Users", operation("replace", "active", False)
        )
        expect_equal("active", False, stored.get("active"))

    def validator_create_group(self) -> None:
        # The vendor URN has a check of its own, so a server that rejects it
        # still gets the validator's group checks.
        self.create("validator group", "Groups", group_body(self.validator_group))

    def validator_filter_group(self) -> None:
        self.expect_found(
            "Groups", "displayName", self.validator_group, "validator group"
        )

    def validator_get_group(self) -> None:
        resource = self.read("validator group", "Groups")
        expect_equal("displayName", self.validator_group, resource.get("displayName"))

    def validator_add_member(self) -> None:
        user_id = self.id_of("validator user")
        stored = self.patch_and_read(
            "validator group",
            "Groups",
            operation("add", "members", [{"value": user_id}]),
        )
        expect_equal("members", [user_id], member_ids(stored))

    def validator_rename(self) -> None:
        self.validator_group += " Renamed"
        stored = self.patch_and_read(
            "validator group",
            "Groups",
            operation("replace", "displayName", self.validator_group),
        )
        expect_equal("displayName", self.validator_group, stored.get("displayName"))

    def validator_remove_member(self) -> None:
        user_id = self.id_of("validator user")
        stored = self.patch_and_read(
            "validator group",
            "Groups",
            operation("remove", member_filter(user_id)),
        )
        expect_equal("members", [], member_ids(stored))

    def validator_delete_group(self) -> None:
        self.delete_and_expect_gone("validator group", "Groups")

    def validator_delete_user(self) -> None:
        self.delete_and_expect_gone("validator user", "Users")


class EntraFlagScenario(Scenario):
    """Entra ID with ``aadOptscim062020`` appended to the tenant URL."""

    suite = FLAG_SUITE_NAME
    content_type = ENTRA_CONTENT_TYPE

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.person = new_person("Anouk", "Delacroix", DOMAIN)
        self.colleague = new_person("Bastian", "Oyelaran", DOMAIN)
        self.group_name = f"Field Engineering {run_tag()}"

    def checks(self) -> Iterable[tuple[str, Check]]:
        return [
            ("user: create with enterprise schema", self.create_user),
            ("user: add enterprise department by URN path", self.add_department),
            ("user: path-less replace with dotted and URN keys", self.replace_many),
            ("user: disable with replace and false", self.disable),
            ("user: disabled user stays visible to filter", self.disabled_visible),
            ("user: enable with replace and true", self.enable),
            ("group: create", self.create_group),
            ("group: add members", self.add_members),
            ("group: remove a member by filtered path", self.remove_member),
            ("group: rename with replace", self.rename_group),
            ("group: delete, then GET returns 404", self.delete_group),
            ("user: delete, then GET returns 404", self.delete_user),
        ]

    def create_user(self) -> None:
        body = entra_user_body(self.person, str(uuid.uuid4()))
        resource = self.create("user", "Users", body)
        expect_equal("userName", self.person.user_name, resource.get("userName"))

    def add_department(self) -> None:
        path = f"{ENTERPRISE_URN}:department"
        stored = self.patch_and_read(
            "user", "Users", operation("add", path, "Applied Research")
        )
        expect_equal("department", "Applied Research", value_at(stored, path))

    def replace_many(self) -> None:
        employee_number = f"{ENTERPRISE_URN}:employeeNumber"
        new_email = f"a.delacroix.{run_tag()}@{DOMAIN}"
        values = {
            "name.givenName": "Anouk-Marie",
            "name.familyName": "Delacroix-Sato",
            "displayName": "Anouk-Marie Delacroix-Sato",
            employee_number: "E-40912",
        }
        stored = self.patch_and_read(
            "user",
            "Users",
            operation("replace", value=values),
            operation("replace", 'emails[type eq "work"].value', new_email),
        )
        for path, expected in values.items():
            expect_equal(path, expected, value_at(stored, path))
        expect_equal("work emails", [new_email], typed_values(stored, "emails", "work"))
        expect_true(
            "name.givenName" not in stored and employee_number not in stored,
            f"expected dotted and URN keys to set attributes, not to be stored as "
            f"names of their own; got {stored!r}",
        )

    def disable(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "active", False)
        )
        expect_equal("active", False, stored.get("active"))

    def disabled_visible(self) -> None:
        found = self.expect_found("Users", "userName", self.person.user_name, "user")
        expect_equal("active of the filtered user", False, found.get("active"))

    def enable(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", "active", True)
        )
        expect_equal("active", True, stored.get("active"))

    def create_group(self) -> None:
        # The entra suite checks the vendor URN, so a server that rejects it
        # still gets this suite's membership checks.
        body = group_body(self.group_name, externalId=str(uuid.uuid4()))
        resource = self.create("group", "Groups", body)
        expect_equal("displayName", self.group_name, resource.get("displayName"))

    def add_members(self) -> None:
        user_id = self.id_of("user")
        self.id_of("group")
        colleague = self.create(
            "colleague", "Users", entra_user_body(self.colleague, str(uuid.uuid4()))
        )
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
        self.group_name += " West"
        stored = self.patch_and_read(
            "group", "Groups", operation("replace", "displayName", self.group_name)
        )
        expect_equal("displayName", self.group_name, stored.get("displayName"))

    def delete_group(self) -> None:
        self.delete_and_expect_gone("group", "Groups")

    def delete_user(self) -> None:
        self.delete_and_expect_gone("user", "Users")


run_entra = EntraScenario.run_suite
run_entra_flag = EntraFlagScenario.run_suite
