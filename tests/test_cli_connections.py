"""`scimbridge connection`: SAML from metadata, OIDC from an issuer on loopback."""

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scimbridge.cli import main
from tests.sso.saml.idp import idp_metadata


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    for name in list(os.environ):
        if name.startswith("SCIMBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SCIMBRIDGE_DATABASE_URL", url)
    monkeypatch.setenv("SCIMBRIDGE_BASE_URL", "https://sso.example.test")
    return url


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    status = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture
def issuer() -> Iterator[str]:
    """An OpenID Provider discovery document served on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DiscoveryHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _DiscoveryHandler.issuer = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


class _DiscoveryHandler(BaseHTTPRequestHandler):
    issuer = ""

    def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
        if self.path == "/saml/metadata":
            body = idp_metadata()
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path != "/.well-known/openid-configuration":
            self.send_error(404)
            return
        body = json.dumps(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def test_add_saml_and_list(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """add-saml imports metadata and prints the SP URLs the IdP needs."""
    _json(capsys, "org", "create", "acme")
    metadata = tmp_path / "idp.xml"
    metadata.write_bytes(idp_metadata())
    created = _json(
        capsys, "connection", "add-saml", "acme", "--metadata", str(metadata)
    )
    assert created["kind"] == "saml"
    assert created["acs_url"].startswith("https://sso.example.test/sso/saml/")
    assert created["acs_url"].endswith("/acs")
    assert created["idp_entity_id"] == "https://idp.example.com/saml/metadata"
    assert "sp_private_keys" not in json.dumps(created)

    listed = _json(capsys, "connection", "list", "acme")
    assert [c["id"] for c in listed["connections"]] == [created["id"]]

    disabled = _json(capsys, "connection", "disable", "acme", created["id"])
    assert disabled["enabled"] is False


def test_changed_secret_key_fails_cleanly(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Secrets sealed under another key give one error line, not a traceback."""
    _json(capsys, "org", "create", "acme")
    metadata = tmp_path / "idp.xml"
    metadata.write_bytes(idp_metadata())
    created = _json(
        capsys, "connection", "add-saml", "acme", "--metadata", str(metadata)
    )
    monkeypatch.setenv("SCIMBRIDGE_SECRET_KEY", "a-different-key-of-24-characters")

    status = main(["connection", "disable", "acme", created["id"]])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ")
    assert "SCIMBRIDGE_SECRET_KEY" in err
    assert "Traceback" not in err


def test_add_saml_rejects_doctype(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Metadata with a DOCTYPE fails with one error line and no connection."""
    _json(capsys, "org", "create", "acme")
    metadata = tmp_path / "evil.xml"
    metadata.write_bytes(
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + idp_metadata()
    )
    status = main(["connection", "add-saml", "acme", "--metadata", str(metadata)])
    err = capsys.readouterr().err
    assert status == 1
    assert "saml.doctype" in err
    assert _json(capsys, "connection", "list", "acme")["connections"] == []


def test_add_oidc_runs_discovery(
    database_url: str,
    issuer: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """add-oidc validates the issuer's discovery document before saving."""
    monkeypatch.setenv("SCIMBRIDGE_ALLOW_LOOPBACK_IDP", "true")
    _json(capsys, "org", "create", "acme")
    secret = tmp_path / "secret"
    secret.write_text("client-secret-value\n")
    created = _json(
        capsys,
        "connection",
        "add-oidc",
        "acme",
        "--issuer",
        issuer,
        "--client-id",
        "app-1",
        "--client-secret-file",
        str(secret),
    )
    assert created["issuer"] == issuer
    assert created["redirect_uri"].endswith("/callback")
    assert "client-secret-value" not in json.dumps(created)


def test_add_oidc_wrong_issuer_fails(
    database_url: str,
    issuer: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An issuer whose document names another issuer is rejected."""
    monkeypatch.setenv("SCIMBRIDGE_ALLOW_LOOPBACK_IDP", "true")
    _json(capsys, "org", "create", "acme")
    secret = tmp_path / "secret"
    secret.write_text("s")
    status = main(
        [
            "connection",
            "add-oidc",
            "acme",
            "--issuer",
            issuer + "/other",
            "--client-id",
            "app-1",
            "--client-secret-file",
            str(secret),
        ]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert "oidc." in err


def test_add_oidc_loopback_needs_flag(
    database_url: str, issuer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the development flag an http loopback issuer is rejected."""
    _json(capsys, "org", "create", "acme")
    secret = tmp_path / "secret"
    secret.write_text("s")
    status = main(
        [
            "connection",
            "add-oidc",
            "acme",
            "--issuer",
            issuer,
            "--client-id",
            "app-1",
            "--client-secret-file",
            str(secret),
        ]
    )
    assert status == 1
    assert "oidc.discovery_invalid" in capsys.readouterr().err


def test_add_saml_from_metadata_url(
    database_url: str,
    issuer: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """add-saml fetches metadata from a URL, loopback only with the dev setting."""
    _json(capsys, "org", "create", "acme")
    url = f"{issuer}/saml/metadata"
    status = main(["connection", "add-saml", "acme", "--metadata-url", url])
    assert status == 1
    assert "saml.metadata_invalid" in capsys.readouterr().err

    monkeypatch.setenv("SCIMBRIDGE_ALLOW_LOOPBACK_IDP", "true")
    created = _json(capsys, "connection", "add-saml", "acme", "--metadata-url", url)
    assert created["idp_entity_id"] == "https://idp.example.com/saml/metadata"
