"""`scimbridge admin-token`, `domain`, `role` and `login-policy`, run in-process.

The commands run on the shared test database, so on PostgreSQL too when
``SCIMBRIDGE_TEST_DATABASE_URL`` is set. That database gets its schema from
the table definitions rather than from migrations, so the fixture skips the
CLI's migration step; tests/test_cli.py covers that step.
"""

import json
import os
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimbridge.cli import main
from scimbridge.commands import common
from scimbridge.config import Settings
from scimbridge.directory.access import ConnectionKind
from scimbridge.services import Services
from tests.admin.org_admin import unique_domain


@pytest.fixture(autouse=True)
def cli_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at the shared test database, with the test secret key."""
    for name in list(os.environ):
        if name.startswith("SCIMBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SCIMBRIDGE_DATABASE_URL", settings.database_url)
    assert settings.secret_key is not None
    monkeypatch.setenv("SCIMBRIDGE_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setattr(common, "prepare_database", lambda _settings: None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """Run a command with --json, check that it succeeded, and parse its output."""
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    assert out.count("\n") == 1, out
    return json.loads(out)


def assert_fails(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Check for exit status 1 and one error line, as text and as JSON."""
    status, out, err = run(capsys, *argv)
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert message in err

    status, out, err = run(capsys, *argv, "--json")
    assert status == 1
    assert message in json.loads(out)["error"]


@pytest.fixture
def slug(capsys: pytest.CaptureFixture[str]) -> str:
    """A new organization's slug."""
    slug = f"org-{uuid.uuid4().hex[:12]}"
    run_json(capsys, "org", "create", slug)
    return slug


# Org admin tokens


def test_admin_token_create_json(
    slug: str, capsys: pytest.CaptureFixture[str], client: TestClient
) -> None:
    """The new token works on the admin API; stderr warns it is shown only once."""
    org = run_json(capsys, "org", "show", slug)

    status, out, err = run(capsys, "admin-token", "create", slug, "--json")

    assert status == 0
    issued = json.loads(out)
    assert set(issued) == {"token", "prefix", "org_id", "created_at"}
    assert issued["org_id"] == org["id"]
    assert issued["token"].startswith("oadm_")
    assert "shown only once" in err
    response = client.get(
        f"/admin/organizations/{slug}/roles",
        headers={"Authorization": f"Bearer {issued['token']}"},
    )
    assert response.status_code == 200, response.text


def test_admin_token_create_text(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Text output is the token alone on stdout, with the warning on stderr."""
    status, out, err = run(capsys, "admin-token", "create", slug)

    assert status == 0
    assert out.count("\n") == 1
    assert out.startswith("oadm_")
    assert out.strip() not in err


def test_admin_token_list_hides_secret(
    slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = run_json(capsys, "admin-token", "create", slug)

    status, out, _ = run(capsys, "admin-token", "list", slug, "--json")

    assert status == 0
    assert issued["token"] not in out
    tokens = json.loads(out)["tokens"]
    assert [token["prefix"] for token in tokens] == [issued["prefix"]]
    assert set(tokens[0]) == {"prefix", "created_at", "last_used_at", "revoked_at"}
    status, out, _ = run(capsys, "admin-token", "list", slug)
    assert issued["token"] not in out
    assert out.splitlines()[0].split() == [
        "PREFIX",
        "CREATED_AT",
        "LAST_USED_AT",
        "REVOKED_AT",
    ]
    assert out.splitlines()[1].split()[0] == issued["prefix"]


def test_admin_token_revoke(
    slug: str, capsys: pytest.CaptureFixture[str], client: TestClient
) -> None:
    org = run_json(capsys, "org", "show", slug)
    issued = run_json(capsys, "admin-token", "create", slug)

    revoked = run_json(capsys, "admin-token", "revoke", slug, issued["prefix"])

    assert revoked == {"org_id": org["id"], "prefix": issued["prefix"], "revoked": True}
    tokens = run_json(capsys, "admin-token", "list", slug)["tokens"]
    assert tokens[0]["revoked_at"] is not None
    response = client.get(
        f"/admin/organizations/{slug}",
        headers={"Authorization": f"Bearer {issued['token']}"},
    )
    assert response.status_code == 401
    assert_fails(
        capsys,
        ["admin-token", "revoke", slug, issued["prefix"]],
        f"no active org admin token with prefix '{issued['prefix']}'",
    )


def test_admin_token_lists_are_empty(
    slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "admin-token", "list", slug)

    assert status == 0
    assert out == "no org admin tokens\n"


# Domains


def test_domain_add_and_list(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    domain = unique_domain()

    added = run_json(capsys, "domain", "add", slug, domain.upper() + ".")
    listed = run_json(capsys, "domain", "list", slug)

    assert set(added) == {"domain", "verified", "created_at"}
    assert added["domain"] == domain
    assert added["verified"] is False
    assert listed == {"domains": [added]}
    status, out, _ = run(capsys, "domain", "list", slug)
    assert out.splitlines()[0].split() == ["DOMAIN", "VERIFIED", "CREATED_AT"]
    assert out.splitlines()[1].split()[:2] == [domain, "no"]


def test_domain_add_verified(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    added = run_json(capsys, "domain", "add", slug, unique_domain(), "--verified")

    assert added["verified"] is True


def test_domain_verify(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    domain = unique_domain()
    run_json(capsys, "domain", "add", slug, domain)

    verified = run_json(capsys, "domain", "verify", slug, domain)

    assert verified["domain"] == domain
    assert verified["verified"] is True
    status, out, _ = run(capsys, "domain", "verify", slug, domain)
    assert status == 0
    assert out == f"Domain {domain} is verified.\n"


def test_domain_failures(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Invalid, repeated, unknown and already verified domains fail with a reason."""
    other = f"org-{uuid.uuid4().hex[:12]}"
    run_json(capsys, "org", "create", other)
    verified_elsewhere = unique_domain()
    run_json(capsys, "domain", "add", other, verified_elsewhere, "--verified")
    run_json(capsys, "domain", "add", slug, verified_elsewhere)
    unknown = unique_domain()

    assert_fails(capsys, ["domain", "add", slug, "not a domain"], "invalid domain")
    assert_fails(capsys, ["domain", "add", slug, verified_elsewhere], "already added")
    assert_fails(capsys, ["domain", "verify", slug, unknown], f"no domain '{unknown}'")
    assert_fails(
        capsys,
        ["domain", "verify", slug, verified_elsewhere],
        "verified by another organization",
    )


# Roles


def test_role_add(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    role = run_json(
        capsys,
        "role",
        "add",
        slug,
        "billing",
        "--description",
        "Pays invoices",
        "--permission",
        "invoices:read",
        "--permission",
        "invoices:pay",
        "--default",
    )

    assert set(role) == {
        "id",
        "name",
        "description",
        "permissions",
        "is_default",
        "created_at",
    }
    assert role["name"] == "billing"
    assert role["description"] == "Pays invoices"
    assert role["permissions"] == ["invoices:read", "invoices:pay"]
    assert role["is_default"] is True


def test_role_add_failures(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "role", "add", slug, "admin")

    assert_fails(capsys, ["role", "add", slug, "admin"], "already has a role")
    assert_fails(capsys, ["role", "add", slug, "Admin"], "invalid role name")
    assert_fails(
        capsys,
        ["role", "add", slug, "viewer", "--permission", "a b"],
        "whitespace",
    )
    assert_fails(
        capsys,
        ["role", "add", slug, "viewer", "--permission", "a", "--permission", "a"],
        "repeated permissions: a",
    )


def test_role_map_and_list(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`role list` shows every role with the mappings that grant it."""
    admin = run_json(capsys, "role", "add", slug, "admin")
    viewer = run_json(capsys, "role", "add", slug, "viewer", "--default")

    group = run_json(
        capsys,
        "role",
        "map",
        slug,
        "admin",
        "--source",
        "scim_group",
        "--value",
        "Admins",
    )
    claim = run_json(
        capsys,
        "role",
        "map",
        slug,
        "admin",
        "--source",
        "oidc_claim",
        "--attribute",
        "groups",
        "--value",
        "idp-admins",
    )
    listing = run_json(capsys, "role", "list", slug)

    assert group["role_id"] == admin["id"]
    assert group["source"] == "scim_group"
    assert group["value"] == "Admins"
    assert group["attribute"] is None
    assert claim["attribute"] == "groups"
    assert listing == {"roles": [admin, viewer], "role_mappings": [group, claim]}
    status, out, _ = run(capsys, "role", "list", slug)
    lines = out.splitlines()
    assert lines[0].split() == ["ROLE", "DEFAULT", "PERMISSIONS", "GRANTED_BY"]
    assert "scim_group Admins, oidc_claim groups=idp-admins" in lines[1]
    assert lines[2].split() == ["viewer", "yes", "-", "-"]


def test_role_map_connection(
    slug: str, capsys: pytest.CaptureFixture[str], client: TestClient
) -> None:
    """A mapping may name one of the org's connections, of the matching kind."""
    org = run_json(capsys, "org", "show", slug)
    run_json(capsys, "role", "add", slug, "admin")
    services: Services = client.app.state.services  # type: ignore[attr-defined]

    async def add_connection() -> uuid.UUID:
        connection = await services.signin.add_connection(
            uuid.UUID(org["id"]), ConnectionKind.saml, "Corp IdP", {}, {}
        )
        return connection.id

    assert client.portal is not None
    saml = str(client.portal.call(add_connection))
    argv = ["role", "map", slug, "admin", "--attribute", "memberOf", "--value", "x"]

    mapping = run_json(
        capsys, *argv, "--source", "saml_attribute", "--connection", saml
    )

    assert mapping["connection_id"] == saml
    assert_fails(
        capsys,
        [*argv, "--source", "oidc_claim", "--connection", saml],
        "need a connection of kind oidc",
    )
    unknown = str(uuid.uuid4())
    assert_fails(
        capsys,
        [*argv, "--source", "saml_attribute", "--connection", unknown],
        f"has no connection '{unknown}'",
    )


def test_role_map_failures(slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "role", "add", slug, "admin")

    assert_fails(
        capsys,
        ["role", "map", slug, "owner", "--source", "scim_group", "--value", "x"],
        "has no role named 'owner'",
    )
    assert_fails(
        capsys,
        ["role", "map", slug, "admin", "--source", "saml_attribute", "--value", "x"],
        "needs an attribute",
    )
    assert_fails(
        capsys,
        [
            *["role", "map", slug, "admin", "--source", "scim_group"],
            *["--value", "x", "--attribute", "groups"],
        ],
        "takes no attribute",
    )


def test_role_map_rejects_bad_connection_id(
    slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A connection id that is not a UUID is a usage error, before any lookup."""
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                *["role", "map", slug, "admin", "--source", "oidc_claim"],
                *["--value", "x", "--attribute", "groups", "--connection", "idp"],
            ]
        )

    assert exit_info.value.code == 2
    assert "invalid id 'idp'" in capsys.readouterr().err


# Login policy


def test_login_policy_show_default(
    slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = run_json(capsys, "login-policy", "show", slug)

    assert policy == {
        "link_by": "userName",
        "jit_provisioning": False,
        "session_lifetime_seconds": 28800,
    }
    status, out, _ = run(capsys, "login-policy", "show", slug)
    assert status == 0
    assert out.split() == [
        "link_by:",
        "userName",
        "jit_provisioning:",
        "off",
        "session_lifetime_seconds:",
        "28800",
    ]


def test_login_policy_set_changes_given_fields(
    slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`set` changes only the fields it is given."""
    first = run_json(capsys, "login-policy", "set", slug, "--jit", "--link-by", "email")
    second = run_json(capsys, "login-policy", "set", slug, "--session-lifetime", "3600")
    third = run_json(capsys, "login-policy", "set", slug, "--no-jit")

    assert first == {
        "link_by": "email",
        "jit_provisioning": True,
        "session_lifetime_seconds": 28800,
    }
    assert second == {**first, "session_lifetime_seconds": 3600}
    assert third == {**second, "jit_provisioning": False}
    assert run_json(capsys, "login-policy", "show", slug) == third


def test_login_policy_set_failures(
    slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_fails(capsys, ["login-policy", "set", slug], "nothing to change")
    assert_fails(
        capsys,
        ["login-policy", "set", slug, "--session-lifetime", "59"],
        "session lifetime must be 60 s to 30 days",
    )
    assert run_json(capsys, "login-policy", "show", slug)["link_by"] == "userName"


# Every command


@pytest.mark.parametrize(
    "argv",
    [
        ["admin-token", "create", "nobody"],
        ["admin-token", "list", "nobody"],
        ["admin-token", "revoke", "nobody", "0000abcd"],
        ["domain", "add", "nobody", "corp.example"],
        ["domain", "list", "nobody"],
        ["domain", "verify", "nobody", "corp.example"],
        ["role", "add", "nobody", "admin"],
        ["role", "list", "nobody"],
        ["role", "map", "nobody", "admin", "--source", "scim_group", "--value", "x"],
        ["login-policy", "show", "nobody"],
        ["login-policy", "set", "nobody", "--jit"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_unknown_org_fails(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert_fails(capsys, argv, "no organization has the slug or id 'nobody'")
