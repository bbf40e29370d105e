"""The scimbridge command line, run in-process on a fresh SQLite file per test."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from scimbridge.cli import main
from scimbridge.commands import common
from scimbridge.storage.migrate import current_revision, head_revision

ADMIN_TOKEN = "admin-token-" + "x" * 24


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at an empty SQLite file that no migration has touched."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    for name in list(os.environ):
        if name.startswith("SCIMBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SCIMBRIDGE_DATABASE_URL", url)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI and return its exit status, stdout and stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """Run the CLI with --json, check that it succeeded, and parse its output."""
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def assert_fails(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Check for exit status 1 and one error line on stderr, with no traceback."""
    status, out, err = run(capsys, *argv)
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert message in err
    assert "Traceback" not in err


# Database


def test_first_command_migrates_sqlite(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a new SQLite file, `org create` applies the migrations itself."""
    assert current_revision(database_url) is None

    status, out, err = run(capsys, "org", "create", "acme")

    assert status == 0, err
    assert "acme" in out
    assert current_revision(database_url) == head_revision()


def test_db_upgrade(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "db", "upgrade") == {"revision": head_revision()}
    assert current_revision(database_url) == head_revision()

    status, out, _ = run(capsys, "db", "upgrade")
    assert status == 0
    assert out == f"database schema is at revision {head_revision()}\n"


def test_postgres_behind_stops_commands(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL a schema behind head stops the command with a hint to upgrade."""
    monkeypatch.setenv(
        "SCIMBRIDGE_DATABASE_URL", "postgresql+asyncpg://scimbridge@127.0.0.1/unused"
    )
    monkeypatch.setattr(common, "current_revision", lambda _url: None)

    assert_fails(capsys, ["org", "list"], "run `scimbridge db upgrade`")


# Organizations


def test_org_create_json(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    org = run_json(capsys, "org", "create", "acme", "--name", "Acme Inc.")

    assert set(org) == {"id", "slug", "name", "status", "created_at", "updated_at"}
    assert org["slug"] == "acme"
    assert org["name"] == "Acme Inc."
    assert org["status"] == "active"


def test_org_create_text(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "org", "create", "acme")

    assert status == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["slug"].strip() == "acme"
    assert lines["name"].strip() == "acme"
    assert lines["status"].strip() == "active"


def test_org_list(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "org", "list") == {"organizations": []}
    acme = run_json(capsys, "org", "create", "acme")
    globex = run_json(capsys, "org", "create", "globex")

    assert run_json(capsys, "org", "list") == {"organizations": [acme, globex]}
    status, out, _ = run(capsys, "org", "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SLUG", "STATUS", "ID", "NAME"]
    assert lines[1].split() == ["acme", "active", acme["id"], "acme"]
    assert lines[2].split() == ["globex", "active", globex["id"], "globex"]


def test_org_show_by_slug_or_id(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_json(capsys, "org", "create", "acme")

    assert run_json(capsys, "org", "show", "acme") == created
    assert run_json(capsys, "org", "show", created["id"]) == created


def test_org_suspend_and_activate(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, "org", "create", "acme")

    assert run_json(capsys, "org", "suspend", "acme")["status"] == "suspended"
    assert run_json(capsys, "org", "show", "acme")["status"] == "suspended"
    assert run_json(capsys, "org", "activate", "acme")["status"] == "active"
    assert run_json(capsys, "org", "show", "acme")["status"] == "active"


def test_org_create_bad_slug_fails(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_fails(capsys, ["org", "create", "Acme!"], "invalid slug 'Acme!'")


def test_org_create_long_name_fails(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_fails(capsys, ["org", "create", "acme", "--name", "n" * 201], "--name")


def test_org_create_duplicate_fails(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, "org", "create", "acme")

    assert_fails(
        capsys, ["org", "create", "acme"], "an organization with slug 'acme' exists"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["org", "show", "nobody"],
        ["org", "suspend", "nobody"],
        ["org", "activate", "nobody"],
        ["scim-token", "create", "nobody"],
        ["scim-token", "list", "nobody"],
        ["scim-token", "revoke", "nobody", "0000abcd"],
    ],
)
def test_unknown_org_fails(
    database_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert_fails(capsys, argv, "no organization has the slug or id 'nobody'")


# SCIM tokens


def test_scim_token_create_json(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints the token and its prefix; stderr warns it is shown only once."""
    org = run_json(capsys, "org", "create", "acme")

    status, out, err = run(capsys, "scim-token", "create", "acme", "--json")

    assert status == 0
    issued = json.loads(out)
    assert set(issued) == {"token", "prefix", "org_id", "created_at"}
    assert issued["org_id"] == org["id"]
    assert issued["token"].startswith("scim_")
    assert issued["prefix"] in issued["token"]
    assert "shown only once" in err


def test_scim_token_create_text(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Text output is the token alone on stdout, with the warning on stderr."""
    run_json(capsys, "org", "create", "acme")

    status, out, err = run(capsys, "scim-token", "create", "acme")

    assert status == 0
    assert out.count("\n") == 1
    assert out.startswith("scim_")
    assert "shown only once" in err
    assert out.strip() not in err


def test_scim_token_list_hides_secret(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, "org", "create", "acme")
    issued = run_json(capsys, "scim-token", "create", "acme")

    status, out, _ = run(capsys, "scim-token", "list", "acme", "--json")

    assert status == 0
    assert issued["token"] not in out
    tokens = json.loads(out)["tokens"]
    assert len(tokens) == 1
    assert set(tokens[0]) == {"prefix", "created_at", "last_used_at", "revoked_at"}
    assert tokens[0]["prefix"] == issued["prefix"]
    assert tokens[0]["revoked_at"] is None

    status, out, _ = run(capsys, "scim-token", "list", "acme")
    assert status == 0
    assert issued["token"] not in out
    assert out.splitlines()[0].split() == [
        "PREFIX",
        "CREATED_AT",
        "LAST_USED_AT",
        "REVOKED_AT",
    ]
    assert out.splitlines()[1].split()[0] == issued["prefix"]


def test_scim_token_revoke(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    org = run_json(capsys, "org", "create", "acme")
    issued = run_json(capsys, "scim-token", "create", "acme")

    revoked = run_json(capsys, "scim-token", "revoke", "acme", issued["prefix"])

    assert revoked == {"org_id": org["id"], "prefix": issued["prefix"], "revoked": True}
    tokens = run_json(capsys, "scim-token", "list", "acme")["tokens"]
    assert tokens[0]["revoked_at"] is not None


def test_scim_token_revoke_unknown_prefix_fails(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Revoking an unknown or already revoked prefix exits 1 and names the prefix."""
    run_json(capsys, "org", "create", "acme")
    issued = run_json(capsys, "scim-token", "create", "acme")
    run_json(capsys, "scim-token", "revoke", "acme", issued["prefix"])

    for prefix in ("ffffffff", issued["prefix"]):
        assert_fails(
            capsys,
            ["scim-token", "revoke", "acme", prefix],
            f"no active SCIM token with prefix '{prefix}'",
        )


# Settings and usage


def test_invalid_setting_fails_without_secret(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A too-short admin token is reported by name, and its value is not printed."""
    monkeypatch.setenv("SCIMBRIDGE_ADMIN_TOKEN", "tooshort-secret")

    status, _, err = run(capsys, "org", "list")

    assert status == 1
    assert "admin_token" in err
    assert "tooshort-secret" not in err


def test_missing_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])

    assert exit_info.value.code == 2
    assert "usage: scimbridge" in capsys.readouterr().err


# serve


def test_serve_migrates_then_runs_uvicorn(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.setenv("SCIMBRIDGE_REDIS_URL", "redis://127.0.0.1:6379/15")

    status = main(["serve", "--port", "8123", "--workers", "2"])

    assert status == 0
    assert current_revision(database_url) == head_revision()
    assert calls == [
        (
            ("scimbridge.app:create_app",),
            {
                "factory": True,
                "host": "127.0.0.1",
                "port": 8123,
                "workers": 2,
                "access_log": False,
            },
        )
    ]


def test_serve_workers_need_redis(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Several workers without Redis would each keep their own sessions."""
    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.delenv("SCIMBRIDGE_REDIS_URL", raising=False)

    status = main(["serve", "--workers", "2"])

    assert status == 1
    assert calls == []
    assert "SCIMBRIDGE_REDIS_URL" in capsys.readouterr().err


def test_serve_postgres_behind_does_not_start(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(a))
    monkeypatch.setenv(
        "SCIMBRIDGE_DATABASE_URL", "postgresql+asyncpg://scimbridge@127.0.0.1/unused"
    )
    monkeypatch.setattr(common, "current_revision", lambda _url: None)

    assert_fails(capsys, ["serve"], "run `scimbridge db upgrade`")
    assert calls == []


def test_serve_postgres_needs_secret_key(
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Serve stops at start, because without the key every SSO login fails."""
    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(a))
    monkeypatch.setenv(
        "SCIMBRIDGE_DATABASE_URL", "postgresql+asyncpg://scimbridge@127.0.0.1/unused"
    )
    monkeypatch.setattr(common, "current_revision", lambda _url: head_revision())

    assert_fails(capsys, ["serve"], "SCIMBRIDGE_SECRET_KEY")
    assert calls == []


def test_serve_rejects_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", "70000"])

    assert exit_info.value.code == 2
    assert "invalid port 70000" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_answers_admin_requests(database_url: str, tmp_path: Path) -> None:
    """`python -m scimbridge serve` migrates SQLite and serves /admin on 127.0.0.1."""
    port = _free_port()
    env = {
        **os.environ,
        "SCIMBRIDGE_ADMIN_TOKEN": ADMIN_TOKEN,
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "scimbridge", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        response = _get_when_ready(
            f"http://127.0.0.1:{port}/admin/organizations",
            {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

    output = (tmp_path / "serve.log").read_text()
    assert response is not None, output
    assert response.status_code == 200, output
    assert response.json() == {"organizations": []}


def _get_when_ready(url: str, headers: dict[str, str]) -> httpx.Response | None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, headers=headers, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    return None


def test_json_error_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    """With --json, a failing command prints one JSON object holding the error."""
    status = main(["org", "show", "no-such-org-anywhere", "--json"])
    assert status == 1
    output = json.loads(capsys.readouterr().out)
    assert "no-such-org-anywhere" in output["error"]
