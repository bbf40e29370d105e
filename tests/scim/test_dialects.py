"""IdP deviations accepted by the named rules in scimbridge.scim.dialects."""

from tests.conftest import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, ScimOrg

LEGACY_CORE = "urn:scim:schemas:core:2.0"
LEGACY_ENTERPRISE = "urn:scim:schemas:extension:enterprise:2.0"
ENTRA_TYPO_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def test_onelogin_legacy_schemas_on_put(org: ScimOrg) -> None:
    """OneLogin's pre-RFC core and enterprise URNs are read as the RFC ones."""
    user = org.create_user("legacy@example.com")
    body = {
        "schemas": [LEGACY_CORE, LEGACY_ENTERPRISE],
        "userName": "legacy@example.com",
        "name": {"givenName": "Lee"},
        LEGACY_ENTERPRISE: {"department": "Ops"},
    }
    response = org.put(f"/Users/{user['id']}?", body)
    assert response.status_code == 200, response.text
    stored = org.get(f"/Users/{user['id']}").json()
    assert stored["schemas"] == [USER_SCHEMA, ENTERPRISE_SCHEMA]
    assert stored[ENTERPRISE_SCHEMA]["department"] == "Ops"
    assert LEGACY_ENTERPRISE not in stored


def test_entra_typo_enterprise_urn(org: ScimOrg) -> None:
    """Entra ID's enterprise URN without its last colon is accepted."""
    response = org.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA, ENTRA_TYPO_ENTERPRISE],
            "userName": "typo@example.com",
            ENTERPRISE_SCHEMA: {"employeeNumber": "7"},
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["schemas"] == [USER_SCHEMA, ENTERPRISE_SCHEMA]


def test_entra_explicit_nulls(org: ScimOrg) -> None:
    """Entra ID's explicit nulls on create leave the attributes unassigned."""
    response = org.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "userName": "nulls@example.com",
            "title": None,
            "addresses": None,
            "roles": [],
            ENTERPRISE_SCHEMA: {"manager": None, "department": None},
        },
    )
    assert response.status_code == 201, response.text
    assert "title" not in response.json()


def test_entra_vendor_group_schema(org: ScimOrg) -> None:
    """Entra ID's own group schema next to the core one is accepted and dropped."""
    response = org.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA, ENTRA_GROUP],
            "displayName": "Sales",
            "externalId": "g1",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["schemas"] == [GROUP_SCHEMA]


def test_unknown_schema_still_rejected(org: ScimOrg) -> None:
    """A schema URN no rule names still gives 400 invalidValue."""
    response = org.post(
        "/Users",
        {"schemas": [USER_SCHEMA, "urn:example:custom"], "userName": "u@example.com"},
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_onelogin_trailing_ampersand(org: ScimOrg) -> None:
    """A filter query ending with a stray & is read normally."""
    org.create_user("amp@example.com")
    response = org.client.get(
        "/scim/v2/Users?filter=userName+eq+%22amp%40example.com%22&",
        headers=org.headers,
    )
    assert response.status_code == 200
    assert response.json()["totalResults"] == 1


def test_entra_manager_plain_string(org: ScimOrg) -> None:
    """Entra ID's manager PATCH with a plain string id sets manager.value."""
    boss = org.create_user("boss@example.com")
    user = org.create_user("report@example.com")
    response = org.patch(
        f"/Users/{user['id']}",
        [{"op": "Add", "path": f"{ENTERPRISE_SCHEMA}:manager", "value": boss["id"]}],
    )
    assert response.status_code == 200, response.text
    assert response.json()[ENTERPRISE_SCHEMA]["manager"]["value"] == boss["id"]


def test_entra_flag_pathless_dotted_keys(org: ScimOrg) -> None:
    """The aadOptscim062020 path-less replace with dotted and URN keys merges."""
    user = org.create_user(
        "flag@example.com", name={"givenName": "A", "familyName": "B"}
    )
    response = org.patch(
        f"/Users/{user['id']}",
        [
            {
                "op": "replace",
                "value": {
                    "name.givenName": "Alma",
                    f"{ENTERPRISE_SCHEMA}:employeeNumber": "99",
                    "active": False,
                },
            }
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == {"givenName": "Alma", "familyName": "B"}
    assert body[ENTERPRISE_SCHEMA]["employeeNumber"] == "99"
    assert body["active"] is False


def test_entra_add_missing_address(org: ScimOrg) -> None:
    """A Replace on addresses[type eq "work"].streetAddress creates the address."""
    user = org.create_user("addr@example.com")
    response = org.patch(
        f"/Users/{user['id']}",
        [
            {
                "op": "Replace",
                "path": 'addresses[type eq "work"].streetAddress',
                "value": "1 Main St",
            }
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["addresses"] == [
        {"type": "work", "streetAddress": "1 Main St"}
    ]


def test_entra_group_add_member_null_ref(org: ScimOrg) -> None:
    """Entra ID's member add with "$ref": null adds the member."""
    user = org.create_user("m@example.com")
    group = org.create_group("G")
    response = org.patch(
        f"/Groups/{group['id']}",
        [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": user["id"]}],
            }
        ],
    )
    assert response.status_code == 204, response.text
    members = org.get(f"/Groups/{group['id']}").json()["members"]
    assert [m["value"] for m in members] == [user["id"]]


def test_add_on_single_valued_replaces(org: ScimOrg) -> None:
    """An add on externalId of a group that has one replaces it."""
    group = org.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "X", "externalId": "old"}
    ).json()
    org.patch(
        f"/Groups/{group['id']}", [{"op": "Add", "path": "externalId", "value": "new"}]
    )
    assert org.get(f"/Groups/{group['id']}").json()["externalId"] == "new"


def test_remove_without_path_rejected(org: ScimOrg) -> None:
    """A remove with no path gives 400 noTarget (RFC 7644 section 3.5.2.2)."""
    user = org.create_user("np@example.com")
    response = org.patch(f"/Users/{user['id']}", [{"op": "remove"}])
    assert response.status_code == 400
    assert response.json()["scimType"] == "noTarget"


def test_entra_manager_filter_without_urn(org: ScimOrg) -> None:
    """Entra ID's `id eq ... and manager eq ...` finds the user by manager id."""
    boss = org.create_user("chief@example.com")
    user = org.create_user(
        "staff@example.com",
        schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
        **{ENTERPRISE_SCHEMA: {"manager": {"value": boss["id"]}}},
    )
    query = f'id eq "{user["id"]}" and manager eq "{boss["id"]}"'
    found = org.get("/Users", params={"filter": query}).json()
    assert found["totalResults"] == 1
    other = f'id eq "{user["id"]}" and manager eq "{user["id"]}"'
    assert org.get("/Users", params={"filter": other}).json()["totalResults"] == 0


def test_empty_manager_means_none(org: ScimOrg) -> None:
    """A manager with an empty value is read as no manager."""
    response = org.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "userName": "nomanager@example.com",
            ENTERPRISE_SCHEMA: {"manager": {"value": ""}, "department": "R&D"},
        },
    )
    assert response.status_code == 201, response.text
    assert "manager" not in response.json()[ENTERPRISE_SCHEMA]


def test_double_slash_path(org: ScimOrg) -> None:
    """A base URL joined with a doubled slash still reaches the endpoint."""
    assert org.client.get("/scim/v2//Users", headers=org.headers).status_code == 200
