from tests.conftest import ScimOrg


def test_user_roundtrip(org: ScimOrg) -> None:
    user = org.create_user("jane@example.com", name={"givenName": "Jane"})
    fetched = org.get(f"/Users/{user['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["userName"] == "jane@example.com"
