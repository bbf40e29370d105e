"""Discovery endpoints (RFC 7644 section 4) and what they advertise."""

from typing import Any

import pytest
from starlette.testclient import TestClient

from scimbridge.config import Settings
from tests.conftest import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, ScimOrg

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def _get(client: TestClient, path: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/scim/v2{path}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    return dict(response.json())


def _attribute(schema: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [a for a in schema["attributes"] if a["name"] == name]
    return dict(found)


# ServiceProviderConfig


def test_config_features(client: TestClient, settings: Settings) -> None:
    """ServiceProviderConfig advertises the features and limits in the settings."""
    config = _get(client, "/ServiceProviderConfig")
    assert config["schemas"] == [SPC_SCHEMA]
    assert config["patch"] == {"supported": True}
    assert config["bulk"] == {
        "supported": True,
        "maxOperations": settings.scim_bulk_max_operations,
        "maxPayloadSize": settings.scim_max_payload_bytes,
    }
    assert config["filter"] == {
        "supported": True,
        "maxResults": settings.scim_max_results,
    }
    assert config["sort"] == {"supported": True}
    assert config["etag"] == {"supported": True}
    assert config["changePassword"] == {"supported": False}
    assert config["documentationUri"].startswith("https://")


def test_config_authentication(client: TestClient) -> None:
    """ServiceProviderConfig names bearer tokens as the one authentication scheme."""
    [scheme] = _get(client, "/ServiceProviderConfig")["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken"
    assert scheme["name"]
    assert scheme["description"]
    assert scheme["specUri"] == "https://www.rfc-editor.org/rfc/rfc6750"
    assert scheme["primary"] is True


def test_config_meta(client: TestClient) -> None:
    """ServiceProviderConfig carries its resource type and location."""
    meta = _get(client, "/ServiceProviderConfig")["meta"]
    assert meta["resourceType"] == "ServiceProviderConfig"
    assert meta["location"] == "http://testserver/scim/v2/ServiceProviderConfig"


def test_config_limits_enforced(org: ScimOrg) -> None:
    """A request one above the advertised maxOperations gives 413."""
    limit = _get(org.client, "/ServiceProviderConfig")["bulk"]["maxOperations"]
    operations = [{"method": "DELETE", "path": f"/Users/{i}"} for i in range(limit + 1)]
    response = org.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": operations})
    assert response.status_code == 413


def test_config_max_results_enforced(org: ScimOrg) -> None:
    """A count above the advertised maxResults is cut to maxResults."""
    limit = _get(org.client, "/ServiceProviderConfig")["filter"]["maxResults"]
    org.create_user("one@example.com")
    response = org.get("/Users", params={"count": limit * 10, "startIndex": 1})
    assert response.status_code == 200
    assert response.json()["itemsPerPage"] == 1


def test_config_etag_matches_behaviour(org: ScimOrg) -> None:
    """With etag supported, a GET response carries an ETag header."""
    user = org.create_user("etag@example.com")
    response = org.get(f"/Users/{user['id']}")
    assert response.headers["etag"] == user["meta"]["version"]


def test_discovery_needs_no_token(client: TestClient) -> None:
    """Discovery endpoints return 200 without a bearer token."""
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        response = client.get(f"/scim/v2{path}")
        assert response.status_code == 200, path


def test_discovery_with_token(org: ScimOrg) -> None:
    """Discovery endpoints also return 200 with a bearer token."""
    response = org.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.json()["bulk"]["supported"] is True


# ResourceTypes


def test_resource_types_list(client: TestClient) -> None:
    """/ResourceTypes lists User and Group in a ListResponse."""
    body = _get(client, "/ResourceTypes")
    assert body["schemas"] == [LIST_RESPONSE_SCHEMA]
    assert body["totalResults"] == 2
    assert body["itemsPerPage"] == 2
    assert body["startIndex"] == 1
    assert {r["id"] for r in body["Resources"]} == {"User", "Group"}


def test_resource_type_user(client: TestClient) -> None:
    """The User resource type names its endpoint, schema and extension."""
    user = _get(client, "/ResourceTypes/User")
    assert user["schemas"] == [RESOURCE_TYPE_SCHEMA]
    assert user["id"] == "User"
    assert user["name"] == "User"
    assert user["endpoint"] == "/Users"
    assert user["schema"] == USER_SCHEMA
    assert user["schemaExtensions"] == [
        {"schema": ENTERPRISE_SCHEMA, "required": False}
    ]
    assert user["meta"]["resourceType"] == "ResourceType"
    assert user["meta"]["location"] == "http://testserver/scim/v2/ResourceTypes/User"


def test_resource_type_group(client: TestClient) -> None:
    """The Group resource type names its endpoint and schema."""
    group = _get(client, "/ResourceTypes/Group")
    assert group["endpoint"] == "/Groups"
    assert group["schema"] == GROUP_SCHEMA
    assert not group.get("schemaExtensions")


def test_resource_type_locations_resolve(client: TestClient) -> None:
    """Each listed resource type is served at its meta.location."""
    for listed in _get(client, "/ResourceTypes")["Resources"]:
        path = listed["meta"]["location"].removeprefix("http://testserver/scim/v2")
        assert _get(client, path) == listed


# Schemas


def test_schemas_list(client: TestClient) -> None:
    """/Schemas lists the User, enterprise User and Group schemas."""
    body = _get(client, "/Schemas")
    assert body["schemas"] == [LIST_RESPONSE_SCHEMA]
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 3
    ids = {r["id"] for r in body["Resources"]}
    assert ids == {USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA}


def test_schema_locations_resolve(client: TestClient) -> None:
    """Each listed schema is served at its meta.location."""
    for listed in _get(client, "/Schemas")["Resources"]:
        assert listed["schemas"] == [SCHEMA_SCHEMA]
        assert listed["meta"]["resourceType"] == "Schema"
        path = listed["meta"]["location"].removeprefix("http://testserver/scim/v2")
        assert _get(client, path) == listed


def test_user_schema(client: TestClient) -> None:
    """The User schema states the characteristics the server applies."""
    schema = _get(client, f"/Schemas/{USER_SCHEMA}")
    assert schema["id"] == USER_SCHEMA
    assert schema["name"] == "User"
    user_name = _attribute(schema, "userName")
    assert user_name["required"] is True
    assert user_name["caseExact"] is False
    assert user_name["uniqueness"] == "server"
    assert _attribute(schema, "groups")["mutability"] == "readOnly"
    password = _attribute(schema, "password")
    assert password["returned"] == "never"
    assert password["mutability"] == "writeOnly"
    emails = _attribute(schema, "emails")
    assert emails["multiValued"] is True
    assert {s["name"] for s in emails["subAttributes"]} >= {"value", "type", "primary"}


def test_enterprise_schema(client: TestClient) -> None:
    """The enterprise User extension schema lists its attributes."""
    schema = _get(client, f"/Schemas/{ENTERPRISE_SCHEMA}")
    assert schema["id"] == ENTERPRISE_SCHEMA
    names = {a["name"] for a in schema["attributes"]}
    assert names == {
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    }


def test_group_schema(client: TestClient) -> None:
    """The Group schema lists displayName and members."""
    schema = _get(client, f"/Schemas/{GROUP_SCHEMA}")
    assert schema["id"] == GROUP_SCHEMA
    assert _attribute(schema, "displayName")["required"] is True
    members = _attribute(schema, "members")
    assert members["multiValued"] is True
    assert {s["name"] for s in members["subAttributes"]} >= {"value", "type"}


# Errors


@pytest.mark.parametrize(
    "path",
    [
        "/ResourceTypes/Widget",
        "/ResourceTypes/user",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Widget",
        "/Schemas/User",
    ],
)
def test_unknown_id_not_found(client: TestClient, path: str) -> None:
    """An unknown resource type or schema id gives 404 with a SCIM error."""
    response = client.get(f"/scim/v2{path}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "404"
    assert body["detail"]


@pytest.mark.parametrize(
    "path", ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]
)
def test_filter_forbidden(client: TestClient, path: str) -> None:
    """A filter on a discovery endpoint gives 403, so no client trusts a match."""
    response = client.get(f"/scim/v2{path}", params={"filter": 'id eq "User"'})
    assert response.status_code == 403
