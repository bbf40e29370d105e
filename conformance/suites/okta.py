"""The okta suite: the requests Okta sends to a SCIM 2.0 app, and its SPEC test.

Okta's lifecycle for OIN apps checks existence with a ``userName`` filter and
creates users with ``password``, ``groups: []`` and ``locale``. It updates a
profile by GET and then PUT of the whole resource. It never deletes users, but
deactivates and reactivates them with a path-less ``replace`` whose value is a
map. Group push creates groups with no members and repeats a path-less rename
that carries the read-only ``id`` with every membership change. Membership
deltas arrive as a filtered ``remove`` plus an ``add`` in one PATCH.

The SPEC test checks are those of Okta's published SCIM 2.0 SPEC test, which
Okta runs before an OIN review. Its ``OKTA SCIM Integration`` client sends
bodies as ``application/json``.
"""

import math
import uuid
from collections.abc import Iterable
from typing import Any

from conformance.payloads import (
    USER_URN,
    group_body,
    new_person,
    operation,
    patch_body,
    run_tag,
    user_body,
)
from conformance.scenario import (
    Check,
    CheckFailed,
    CheckSkipped,
    Scenario,
    expect_equal,
    expect_error,
    expect_list,
    expect_resource,
    expect_true,
    member_filter,
    member_ids,
    repeated,
    resource_path,
    value_at,
)
from conformance.session import SCIM_JSON, eq_filter, query

SUITE_NAME = "okta"

DOMAIN = "okta.conformance.example"
IMPORT_PAGE_SIZE = 100
"""Page size of an Okta import (``GET /Users?startIndex=1&count=100``)."""
MAX_IMPORT_PAGES = 1000
"""Pages an import walk reads before it gives up on a server that never ends."""

SPEC_USER_AGENT = "OKTA SCIM Integration"
SPEC_ACCEPT = "application/scim+json; charset=utf-8"
SPEC_CONTENT_TYPE = "application/json"
SPEC_FIELDS = (
    "id",
    "name.familyName",
    "name.givenName",
    "userName",
    "active",
    "emails.0.value",
)
"""Fields the SPEC test reads from the listed user. ``emails.0`` is the first email."""
NOT_UUID_ID = "010101001010101011001010101011"
NUMERIC_ID = "00919288221112222"

MEDIA_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    SCIM_JSON,
    f"{SCIM_JSON}; charset=utf-8",
)


class OktaScenario(Scenario):
    suite = SUITE_NAME
    user_agent = "Okta SCIM Client 1.0.0"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.person = new_person("Marisol", "Quint", DOMAIN)
        self.second = new_person("Tobias", "Fenwick", DOMAIN)
        self.third = new_person("Odile", "Varga", DOMAIN)
        self.spec_person = new_person("Renzo", "Akintola", DOMAIN)
        self.group_name = f"Okta Engineering {run_tag()}"
        self.first_listed_user: dict[str, Any] | None = None

    def checks(self) -> Iterable[tuple[str, Check]]:
        return [
            ("user: lookup by userName finds nothing yet", self.lookup_absent),
            ("user: create with password, groups [] and locale", self.create_user),
            ("user: duplicate create returns 409 uniqueness", self.create_duplicate),
            ("user: lookup by userName finds the user", self.lookup_present),
            ("user: read by id", self.read_user),
            ("user: profile update by GET then full PUT", self.update_profile),
            ("user: deactivate by path-less replace", self.deactivate),
            ("user: reactivate by path-less replace", self.reactivate),
            ("user: password sync by path-less replace", self.sync_password),
            ("user: import walk returns each user once", self.import_walk),
            ("user: import page past the end is empty", self.import_past_end),
            ("user: PUT, PATCH and DELETE of unknown ids return 404", self.unknown_ids),
            ("request bodies in JSON and SCIM JSON media types", self.media_types),
            ("group push: create with members []", self.create_group),
            ("group push: rename by path-less replace carrying id", self.rename_group),
            ("group push: add members with the rename repeated", self.add_members),
            ("group push: membership delta in one PATCH", self.membership_delta),
            ("group push: PUT of a member with groups [] keeps it", self.put_member),
            ("group push: import lists the group", self.import_groups),
            ("group push: replace members with []", self.empty_group),
            ("group push: delete group", self.delete_group),
            ("spec test: list one user with required fields", self.spec_list_one),
            ("spec test: get the listed user by id", self.spec_get_listed),
            ("spec test: unknown userName filter finds nothing", self.spec_unknown),
            ("spec test: id that is not a UUID returns 404", self.spec_not_uuid),
            ("spec test: create a random user", self.spec_create),
            ("spec test: same create again returns 409", self.spec_duplicate),
            ("spec test: userName filter in capitals finds it", self.spec_caps),
            ("spec test: list groups", self.spec_groups),
            ("spec test: Authorization non-token returns 401", self.spec_bad_token),
            ("spec test: numeric unknown id returns 404", self.spec_numeric_id),
        ]

    # User lifecycle

    def lookup_absent(self) -> None:
        params = {
            "filter": eq_filter("userName", self.person.user_name),
            "startIndex": 1,
            "count": IMPORT_PAGE_SIZE,
        }
        page = expect_list(self.session.get(f"/Users{query(params)}"), paged=True)
        expect_equal("totalResults for an absent userName", 0, page.total_results)
        expect_equal("Resources for an absent userName", [], page.resources)

    def create_body(self) -> dict[str, Any]:
        return user_body(
            self.person,
            locale="en-US",
            groups=[],
            password="Okta-Conformance-9!",
        )

    def create_user(self) -> None:
        exchange = self.session.post("/Users", self.create_body())
        resource = expect_resource(exchange, 201)
        self.remember("user", "Users", resource)

        expect_equal("userName", self.person.user_name, resource.get("userName"))
        expect_equal("active", True, resource.get("active"))
        expect_equal("externalId", self.person.external_id, resource.get("externalId"))
        expect_true(
            "password" not in resource,
            "expected no password in the response, as RFC 7643 returns it never; "
            f"got: {exchange.summary()}",
        )
        location = exchange.headers.get("location")
        expect_true(
            bool(location), f"expected a Location header; got: {exchange.summary()}"
        )
        meta_location = value_at(resource, "meta.location")
        if meta_location is not None:
            expect_equal("Location header (meta.location)", meta_location, location)

    def create_duplicate(self) -> None:
        self.id_of("user")
        exchange = self.session.post("/Users", self.create_body())
        expect_error(exchange, 409, scim_type="uniqueness")

    def lookup_present(self) -> None:
        self.expect_found("Users", "userName", self.person.user_name, "user")

    def read_user(self) -> None:
        resource = self.read("user", "Users")
        expect_equal("id", self.id_of("user"), resource.get("id"))
        expect_equal("userName", self.person.user_name, resource.get("userName"))
        expect_equal(
            "name.givenName",
            self.person.given_name,
            value_at(resource, "name.givenName"),
        )

    def update_profile(self) -> None:
        resource = self.read("user", "Users")
        resource["name"] = {**resource.get("name", {}), "familyName": "Quint-Orlov"}
        resource["displayName"] = "Marisol Quint-Orlov"
        resource["groups"] = []
        resource["active"] = True
        path = self.path_of("user", "Users")
        returned = expect_resource(self.session.put(path, resource), 200)
        expect_equal(
            "name.familyName in the PUT response",
            "Quint-Orlov",
            value_at(returned, "name.familyName"),
        )

        stored = self.read("user", "Users")
        expect_equal(
            "name.familyName after PUT",
            "Quint-Orlov",
            value_at(stored, "name.familyName"),
        )
        expect_equal(
            "displayName after PUT", "Marisol Quint-Orlov", stored.get("displayName")
        )
        expect_equal(
            "userName after PUT", self.person.user_name, stored.get("userName")
        )

    def deactivate(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", value={"active": False})
        )
        self.expect_merged(stored, active=False)

    def reactivate(self) -> None:
        stored = self.patch_and_read(
            "user", "Users", operation("replace", value={"active": True})
        )
        self.expect_merged(stored, active=True)

    def sync_password(self) -> None:
        stored = self.patch_and_read(
            "user",
            "Users",
            operation("replace", value={"password": "Rotated-Secret-42!"}),
        )
        expect_true(
            "password" not in stored, f"expected no password in GET; got {stored!r}"
        )
        self.expect_merged(stored, active=True)

    def expect_merged(self, stored: dict[str, Any], *, active: bool) -> None:
        """Expect ``active`` set and the rest kept: a path-less replace merges."""
        expect_equal("active", active, stored.get("active"))
        expect_equal("userName", self.person.user_name, stored.get("userName"))
        expect_equal(
            "emails[0].value", self.person.email, value_at(stored, "emails.0.value")
        )

    def walk_users(self, count: int) -> list[str]:
        """Return the ids on every page of ``GET /Users``, read as an Okta import."""
        ids: list[str] = []
        start = 1
        total: int | None = None
        for _ in range(MAX_IMPORT_PAGES):
            params = {"startIndex": start, "count": count}
            page = expect_list(self.session.get(f"/Users{query(params)}"), paged=True)
            expect_equal(f"startIndex of page {start}", start, page.start_index)
            if total is None:
                total = page.total_results
            expect_equal(f"totalResults of page {start}", total, page.total_results)
            ids.extend(page.ids)
            if start + count > total:
                break
            # The import moves startIndex on by count, so a short page that is
            # not the last one makes it skip users.
            expect_equal(
                f"users on the page at startIndex {start}", count, len(page.ids)
            )
            start += count
        else:
            raise CheckFailed(f"the walk did not end within {MAX_IMPORT_PAGES} pages")

        expect_equal("ids read over all pages", total, len(ids))
        expect_equal("ids listed on more than one page", [], repeated(ids))
        return ids

    def import_walk(self) -> None:
        user_id = self.id_of("user")
        first = self.walk_users(IMPORT_PAGE_SIZE)
        expect_true(user_id in first, f"expected the import to list user {user_id}")

        # Smaller pages make a multi-page walk even on a server with few users.
        small = max(2, math.ceil(len(first) / 3))
        second = self.walk_users(small)
        expect_equal(
            f"order of ids in pages of {small} versus pages of 100", first, second
        )

    def import_past_end(self) -> None:
        first = expect_list(self.session.get(f"/Users{query({'count': 1})}"))
        start = first.total_results + 1
        params = {"startIndex": start, "count": IMPORT_PAGE_SIZE}
        page = expect_list(self.session.get(f"/Users{query(params)}"), paged=True)
        expect_equal(
            "totalResults past the end", first.total_results, page.total_results
        )
        expect_equal("Resources past the end", [], page.resources)
        expect_equal("startIndex past the end", start, page.start_index)

    def unknown_ids(self) -> None:
        body = user_body(new_person("Nadia", "Unknown", DOMAIN))
        deactivate = patch_body(operation("replace", value={"active": False}))
        for unknown in (NOT_UUID_ID, str(uuid.uuid4())):
            path = resource_path("Users", unknown)
            expect_error(self.session.put(path, body), 404)
            expect_error(self.session.patch(path, deactivate), 404)
            expect_error(self.session.delete(path), 404)
            expect_error(self.session.get(resource_path("Groups", unknown)), 404)

    def media_types(self) -> None:
        for number, media_type in enumerate(MEDIA_TYPES, start=1):
            person = new_person("Ines", f"Medina{number}", DOMAIN)
            exchange = self.session.post(
                "/Users", user_body(person), content_type=media_type
            )
            if exchange.status != 201:
                raise CheckFailed(
                    f"expected 201 for a body sent as {media_type}; "
                    f"got: {exchange.summary()}"
                )
            self.remember(
                f"user sent as {media_type}", "Users", expect_resource(exchange, 201)
            )

    # Group push

    def create_group(self) -> None:
        resource = self.create(
            "group", "Groups", group_body(self.group_name, members=[])
        )
        expect_equal("displayName", self.group_name, resource.get("displayName"))
        expect_equal("members", [], member_ids(resource))

    def rename_op(self, name: str) -> dict[str, Any]:
        value = {"id": self.id_of("group"), "displayName": name}
        return operation("replace", value=value)

    def rename_group(self) -> None:
        self.group_name += " Platform"
        stored = self.patch_and_read("group", "Groups", self.rename_op(self.group_name))
        expect_equal(
            "displayName after rename", self.group_name, stored.get("displayName")
        )
        expect_equal("id after rename", self.id_of("group"), stored.get("id"))

    def add_members(self) -> None:
        self.id_of("group")
        user_id = self.id_of("user")
        second = self.create("second member", "Users", user_body(self.second))
        members = [
            {"value": user_id, "display": self.person.user_name},
            {"value": second["id"], "display": self.second.user_name},
        ]
        stored = self.patch_and_read(
            "group",
            "Groups",
            self.rename_op(self.group_name),
            operation("add", "members", members),
        )
        expect_equal("members", sorted([user_id, second["id"]]), member_ids(stored))

    def membership_delta(self) -> None:
        user_id = self.id_of("user")
        second_id = self.id_of("second member")
        third = self.create("third member", "Users", user_body(self.third))
        operations = (
            self.rename_op(self.group_name),
            operation("remove", member_filter(second_id)),
            operation(
                "add",
                "members",
                [{"value": third["id"], "display": self.third.user_name}],
            ),
        )
        expected = sorted([user_id, third["id"]])
        stored = self.patch_and_read("group", "Groups", *operations)
        expect_equal("members after the delta", expected, member_ids(stored))

        stored = self.patch_and_read("group", "Groups", *operations)
        expect_equal("members after the same delta again", expected, member_ids(stored))

    def put_member(self) -> None:
        group_id = self.id_of("group")
        user_id = self.id_of("user")
        resource = self.read("user", "Users")
        resource["groups"] = []
        expect_resource(self.session.put(self.path_of("user", "Users"), resource), 200)
        group = self.read("group", "Groups")
        expect_true(
            user_id in member_ids(group),
            f"expected user {user_id} to stay in group {group_id}, because "
            f"User.groups is read-only; got members {member_ids(group)}",
        )

    def import_groups(self) -> None:
        group_id = self.id_of("group")
        start = 1
        for _ in range(MAX_IMPORT_PAGES):
            params = {"startIndex": start, "count": IMPORT_PAGE_SIZE}
            page = expect_list(self.session.get(f"/Groups{query(params)}"), paged=True)
            if group_id in page.ids:
                return
            start += IMPORT_PAGE_SIZE
            if start > page.total_results:
                break
        raise CheckFailed(
            f"expected the group import to list group {group_id}; it did not"
        )

    def empty_group(self) -> None:
        stored = self.patch_and_read(
            "group", "Groups", operation("replace", "members", [])
        )
        expect_equal("members after replace with []", [], member_ids(stored))

    def delete_group(self) -> None:
        self.delete_and_expect_gone("group", "Groups")

    # SPEC test

    def spec_send(
        self, method: str, path: str, body: Any = None, **options: Any
    ) -> Any:
        return self.session.send(
            method,
            path,
            body,
            user_agent=SPEC_USER_AGENT,
            content_type=SPEC_CONTENT_TYPE if body is not None else None,
            headers={"Accept": SPEC_ACCEPT},
            **options,
        )

    def expect_spec_fields(self, resource: dict[str, Any], where: str) -> None:
        missing = [field for field in SPEC_FIELDS if value_at(resource, field) is None]
        expect_equal(f"SPEC test fields missing from {where}", [], missing)

    def spec_list_one(self) -> None:
        exchange = self.spec_send(
            "GET", f"/Users{query({'count': 1, 'startIndex': 1})}"
        )
        page = expect_list(exchange, paged=True)
        expect_true(
            page.total_results >= 1,
            "expected at least one user, which the SPEC test needs; got totalResults 0",
        )
        expect_equal("number of Resources for count=1", 1, len(page.resources))
        listed = page.resources[0]
        self.expect_spec_fields(listed, f"listed user {listed['id']}")
        self.first_listed_user = listed

    def spec_get_listed(self) -> None:
        listed = self.first_listed_user
        if listed is None:
            raise CheckSkipped("needs the user that the list check failed to read")
        exchange = self.spec_send("GET", resource_path("Users", listed["id"]))
        resource = expect_resource(exchange, 200)
        self.expect_spec_fields(resource, f"user {listed['id']}")
        for field in SPEC_FIELDS:
            expect_equal(
                f"{field} in GET versus the list",
                value_at(listed, field),
                value_at(resource, field),
            )

    def spec_unknown(self) -> None:
        unknown = f"nobody.{run_tag()}@{DOMAIN}"
        path = f"/Users{query({'filter': eq_filter('userName', unknown)})}"
        page = expect_list(self.spec_send("GET", path))
        expect_equal("totalResults for an unknown userName", 0, page.total_results)

    def spec_not_uuid(self) -> None:
        exchange = self.spec_send("GET", f"/Users/{NOT_UUID_ID}")
        expect_error(exchange, 404, detail_required=True)
        expect_equal("Content-Type of the 404", SCIM_JSON, exchange.content_type)

    def spec_body(self) -> dict[str, Any]:
        body = user_body(self.spec_person)
        del body["externalId"]
        return body

    def spec_create(self) -> None:
        exchange = self.spec_send("POST", "/Users", self.spec_body())
        resource = expect_resource(exchange, 201)
        self.remember("SPEC test user", "Users", resource)
        expect_equal("userName", self.spec_person.user_name, resource.get("userName"))
        expect_equal(
            "name.givenName",
            self.spec_person.given_name,
            value_at(resource, "name.givenName"),
        )
        expect_equal(
            "name.familyName",
            self.spec_person.family_name,
            value_at(resource, "name.familyName"),
        )
        expect_equal("active", True, resource.get("active"))
        expect_true(
            USER_URN in resource.get("schemas", []),
            f"expected schemas to contain {USER_URN}; got {resource.get('schemas')!r}",
        )

    def spec_duplicate(self) -> None:
        self.id_of("SPEC test user")
        exchange = self.spec_send("POST", "/Users", self.spec_body())
        expect_error(exchange, 409)

    def spec_caps(self) -> None:
        user_id = self.id_of("SPEC test user")
        shouted = self.spec_person.user_name.upper()
        path = f"/Users{query({'filter': eq_filter('userName', shouted)})}"
        page = expect_list(self.spec_send("GET", path))
        expect_equal(f"ids matched by userName eq {shouted!r}", [user_id], page.ids)

    def spec_groups(self) -> None:
        expect_list(self.spec_send("GET", "/Groups"))

    def spec_bad_token(self) -> None:
        exchange = self.spec_send("GET", "/Users", authorization="non-token")
        expect_error(exchange, 401, detail_required=True)

    def spec_numeric_id(self) -> None:
        exchange = self.spec_send("GET", f"/Users/{NUMERIC_ID}")
        expect_error(exchange, 404)


run_okta = OktaScenario.run_suite
