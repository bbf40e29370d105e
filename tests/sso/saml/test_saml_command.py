"""``scimbridge saml check``: the ACS validation on saved files, step by step."""

import argparse
import json
from pathlib import Path

import pytest

from scimbridge.commands import saml
from scimbridge.commands.common import CommandError
from scimbridge.config import Settings
from tests.sso.saml.idp import (
    ACS_URL,
    REQUEST_ID,
    SP_ENTITY_ID,
    USER,
    ResponseSpec,
    encrypt_assertion,
    idp_metadata,
    signed_response,
    sp_key,
    to_base64,
    to_bytes,
)

AT = "2025-03-14T12:00:00Z"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "idp.xml").write_bytes(idp_metadata())
    (tmp_path / "response.xml").write_bytes(to_bytes(signed_response()))
    (tmp_path / "response.b64").write_bytes(to_base64(signed_response()))
    return tmp_path


def run(
    capsys: pytest.CaptureFixture[str],
    files: Path,
    *argv: str,
    settings: Settings | None = None,
) -> tuple[int, str]:
    """Parse ``saml check`` arguments as the scimbridge command does, and run it."""
    parser = argparse.ArgumentParser(prog="scimbridge")
    saml.add_commands(parser.add_subparsers(required=True))
    args = parser.parse_args(
        [
            "saml",
            "check",
            "--idp-metadata",
            str(files / "idp.xml"),
            "--sp-entity-id",
            SP_ENTITY_ID,
            "--acs-url",
            ACS_URL,
            *argv,
        ]
    )
    status = args.handler(args, settings or Settings(allow_loopback_idp=False))
    return status, capsys.readouterr().out


def test_valid_response(capsys: pytest.CaptureFixture[str], files: Path) -> None:
    status, out = run(
        capsys,
        files,
        "--at",
        AT,
        "--request-id",
        REQUEST_ID,
        str(files / "response.xml"),
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "ok  decode message"
    assert "ok  verify Assertion signature" in lines
    assert lines[-2] == "ok  check replay"
    result = json.loads(lines[-1])
    assert result["name_id"] == USER
    assert result["attributes"]["groups"] == ["engineering", "admins"]


def test_json_prints_only_the_object(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    status, out = run(
        capsys,
        files,
        "--json",
        "--at",
        AT,
        "--request-id",
        REQUEST_ID,
        str(files / "response.b64"),
    )
    assert status == 0
    result = json.loads(out)
    assert result["name_id"] == USER
    assert result["issuer"] == "https://idp.example.com/saml/metadata"


def test_invalid_response(capsys: pytest.CaptureFixture[str], files: Path) -> None:
    """Without --request-id the Response is unsolicited, which is off by default."""
    status, out = run(capsys, files, "--at", AT, str(files / "response.xml"))
    assert status == 1
    lines = out.splitlines()
    assert lines[-2].startswith("FAIL check SubjectConfirmation: ")
    assert "saml.in_response_to_mismatch" in lines[-2]
    error = json.loads(lines[-1])
    assert error["error"] == "saml.in_response_to_mismatch"
    assert error["detail"]


def test_invalid_response_json(capsys: pytest.CaptureFixture[str], files: Path) -> None:
    wrong = signed_response(ResponseSpec(audiences=("https://other.example",)))
    (files / "wrong.xml").write_bytes(to_bytes(wrong))
    status, out = run(
        capsys,
        files,
        "--json",
        "--at",
        AT,
        "--request-id",
        REQUEST_ID,
        str(files / "wrong.xml"),
    )
    assert status == 1
    assert json.loads(out)["error"] == "saml.audience_mismatch"


def test_at_decides_time_checks(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    response = str(files / "response.xml")
    status, out = run(
        capsys, files, "--json", "--at", "2025-03-14T13:00:00Z", "--request-id",
        REQUEST_ID, response,
    )  # fmt: skip
    assert status == 1
    assert json.loads(out)["error"] == "saml.expired"

    status, out = run(capsys, files, "--json", "--request-id", REQUEST_ID, response)
    assert status == 1
    assert json.loads(out)["error"] == "saml.expired"


def test_at_without_offset_is_utc(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    status, _ = run(
        capsys, files, "--json", "--at", "2025-03-14T12:00:00", "--request-id",
        REQUEST_ID, str(files / "response.xml"),
    )  # fmt: skip
    assert status == 0


def test_idp_initiated(capsys: pytest.CaptureFixture[str], files: Path) -> None:
    spec = ResponseSpec(in_response_to=None, confirmation_in_response_to=None)
    (files / "unsolicited.xml").write_bytes(to_bytes(signed_response(spec)))
    status, out = run(
        capsys, files, "--json", "--at", AT, str(files / "unsolicited.xml")
    )
    assert status == 1
    assert json.loads(out)["error"] == "saml.unsolicited"
    status, out = run(
        capsys, files, "--json", "--at", AT, "--allow-idp-initiated",
        str(files / "unsolicited.xml"),
    )  # fmt: skip
    assert status == 0
    assert json.loads(out)["name_id"] == USER


def test_encrypted_response_with_sp_key(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    response = signed_response()
    encrypt_assertion(response)
    (files / "encrypted.xml").write_bytes(to_bytes(response))
    (files / "sp.pem").write_text(sp_key().key_pem)
    arguments = ["--json", "--at", AT, "--request-id", REQUEST_ID]
    status, out = run(capsys, files, *arguments, str(files / "encrypted.xml"))
    assert json.loads(out)["error"] == "saml.decryption_failed"
    status, out = run(
        capsys,
        files,
        *arguments,
        "--sp-key",
        str(files / "sp.pem"),
        str(files / "encrypted.xml"),
    )
    assert status == 0
    assert json.loads(out)["name_id"] == USER


def test_missing_file(capsys: pytest.CaptureFixture[str], files: Path) -> None:
    with pytest.raises(CommandError) as raised:
        run(capsys, files, str(files / "absent.xml"))
    assert "cannot read RESPONSE_FILE" in str(raised.value)


def test_invalid_metadata(capsys: pytest.CaptureFixture[str], files: Path) -> None:
    (files / "idp.xml").write_bytes(b"<!DOCTYPE x><x/>")
    with pytest.raises(CommandError) as raised:
        run(capsys, files, str(files / "response.xml"))
    assert "saml.doctype" in str(raised.value)


def test_loopback_http_metadata(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    """An http:// IdP on loopback passes only with SCIMBRIDGE_ALLOW_LOOPBACK_IDP."""
    metadata = idp_metadata(sso_url="http://127.0.0.1:8002/sso")
    (files / "idp.xml").write_bytes(metadata)
    arguments = ["--json", "--at", AT, "--request-id", REQUEST_ID]
    response = str(files / "response.xml")
    with pytest.raises(CommandError) as raised:
        run(capsys, files, *arguments, response)
    assert "saml.metadata_insecure_url" in str(raised.value)

    loopback = Settings(allow_loopback_idp=True)
    status, out = run(capsys, files, *arguments, response, settings=loopback)
    assert status == 0
    assert json.loads(out)["name_id"] == USER


def test_require_signed_assertion(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    response = signed_response(sign_assertion=False, sign_response=True)
    (files / "outer.xml").write_bytes(to_bytes(response))
    arguments = ("--json", "--at", AT, "--request-id", REQUEST_ID)

    status, _ = run(capsys, files, *arguments, str(files / "outer.xml"))
    assert status == 0
    status, out = run(
        capsys,
        files,
        *arguments,
        "--require-signed-assertion",
        str(files / "outer.xml"),
    )
    assert status == 1
    assert json.loads(out)["error"] == "saml.assertion_unsigned"


def test_missing_request_id_explained(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    status, out = run(capsys, files, "--json", "--at", AT, str(files / "response.xml"))
    assert status == 1
    error = json.loads(out)
    assert error["error"] == "saml.in_response_to_mismatch"
    assert "no pending request" in error["detail"]
