"""SSO connections through the admin API, by an organization's own admins."""

from starlette.testclient import TestClient

from tests.admin.org_admin import PLATFORM, new_tenant
from tests.sso.saml.idp import idp_metadata


def test_org_admin_adds_saml_connection(client: TestClient) -> None:
    """An org admin creates a SAML connection and gets the SP values, no secret."""
    tenant = new_tenant(client)
    created = client.post(
        f"{tenant.path}/connections/saml",
        json={"name": "Okta", "metadata_xml": idp_metadata().decode()},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "saml"
    assert body["acs_url"].endswith("/acs")
    assert "PRIVATE KEY" not in created.text

    listed = client.get(f"{tenant.path}/connections", headers=tenant.headers)
    assert [c["id"] for c in listed.json()["connections"]] == [body["id"]]

    disabled = client.patch(
        f"{tenant.path}/connections/{body['id']}",
        json={"enabled": False},
        headers=tenant.headers,
    )
    assert disabled.json()["enabled"] is False
    deleted = client.delete(f"{tenant.path}/connections/{body['id']}", headers=PLATFORM)
    assert deleted.status_code == 204
    assert client.get(f"{tenant.path}/connections", headers=PLATFORM).json() == {
        "connections": []
    }


def test_invalid_metadata_rejected(client: TestClient) -> None:
    """Metadata with a DOCTYPE gives 400 with the SAML error code."""
    tenant = new_tenant(client)
    response = client.post(
        f"{tenant.path}/connections/saml",
        json={"metadata_xml": "<!DOCTYPE x []>" + idp_metadata().decode()},
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "saml.doctype" in response.json()["error_description"]


def test_other_org_admin_gets_404(client: TestClient) -> None:
    """Another organization's admin cannot see or change a connection."""
    owner = new_tenant(client)
    stranger = new_tenant(client)
    created = client.post(
        f"{owner.path}/connections/saml",
        json={"metadata_xml": idp_metadata().decode()},
        headers=owner.headers,
    ).json()
    for method, suffix, body in (
        ("GET", "", None),
        ("GET", f"/{created['id']}", None),
        ("PATCH", f"/{created['id']}", {"enabled": False}),
        ("DELETE", f"/{created['id']}", None),
    ):
        response = client.request(
            method,
            f"{owner.path}/connections{suffix}",
            json=body,
            headers=stranger.headers,
        )
        assert response.status_code == 404, (method, suffix)
    assert (
        client.get(
            f"{owner.path}/connections/{created['id']}", headers=owner.headers
        ).json()["enabled"]
        is True
    )


def test_oidc_connection_needs_valid_discovery(client: TestClient) -> None:
    """An issuer whose discovery fails gives 400 and no connection."""
    tenant = new_tenant(client)
    response = client.post(
        f"{tenant.path}/connections/oidc",
        json={
            "issuer": "http://127.0.0.1:9/nothing-listens-here",
            "client_id": "app",
            "client_secret": "s",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert "oidc." in response.json()["error_description"]
    assert client.get(f"{tenant.path}/connections", headers=tenant.headers).json() == {
        "connections": []
    }
