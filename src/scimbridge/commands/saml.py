"""``scimbridge saml check``: validate a SAML Response exactly as the ACS does."""

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from scimbridge.commands.common import CommandError, Subcommands, add_json_flag
from scimbridge.config import Settings
from scimbridge.sso.saml.config import SpConfig
from scimbridge.sso.saml.errors import SamlError
from scimbridge.sso.saml.metadata import parse_idp_metadata
from scimbridge.sso.saml.replay import InMemoryReplayGuard
from scimbridge.sso.saml.response import SamlLogin, validate_response


def add_commands(commands: Subcommands) -> None:
    saml = commands.add_parser("saml", help="debug SAML connections")
    actions = saml.add_subparsers(title="actions", required=True)

    check = actions.add_parser(
        "check",
        help="validate a SAML Response as the ACS would",
        description="Run the ACS validation on a saved SAML Response and print "
        "each step. Exit status 0 and the login as JSON when it is valid; 1 and "
        "the error code and detail as JSON when it is not.",
    )
    check.add_argument(
        "response_file",
        metavar="RESPONSE_FILE",
        help="file with the Response XML or its base64 form (the SAMLResponse field)",
    )
    check.add_argument(
        "--idp-metadata", required=True, metavar="FILE", help="IdP metadata XML file"
    )
    check.add_argument(
        "--sp-entity-id",
        required=True,
        metavar="ID",
        help="the SP entity ID (audience)",
    )
    check.add_argument(
        "--acs-url",
        required=True,
        metavar="URL",
        help="the AssertionConsumerService URL",
    )
    check.add_argument(
        "--at",
        type=_instant,
        metavar="ISO8601",
        help="check validity windows at this time (default: now; UTC if no offset)",
    )
    check.add_argument(
        "--request-id",
        metavar="ID",
        help="the AuthnRequest ID expected in InResponseTo (default: none)",
    )
    check.add_argument(
        "--allow-idp-initiated",
        action="store_true",
        help="accept an unsolicited Response (IdP-initiated sign-in)",
    )
    check.add_argument(
        "--allow-sha1",
        action="store_true",
        help="accept rsa-sha1 signatures and sha1 digests, as a connection can",
    )
    check.add_argument(
        "--require-signed-assertion",
        action="store_true",
        help="reject a Response whose Assertion itself is not signed",
    )
    check.add_argument(
        "--sp-key",
        action="append",
        default=[],
        metavar="FILE",
        help="PEM SP private key for an encrypted assertion; repeat for a rollover",
    )
    add_json_flag(check)
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    metadata = _read(args.idp_metadata, "--idp-metadata")
    try:
        idp = parse_idp_metadata(metadata, allow_http=settings.allow_loopback_idp)
    except SamlError as exc:
        raise CommandError(
            f"invalid --idp-metadata {args.idp_metadata}: {exc}"
        ) from exc
    idp = replace(
        idp,
        allow_sha1=args.allow_sha1,
        require_signed_assertion=args.require_signed_assertion,
    )
    sp = SpConfig(
        entity_id=args.sp_entity_id,
        acs_url=args.acs_url,
        decryption_keys=[_read(path, "--sp-key").decode() for path in args.sp_key],
    )
    message = _read(args.response_file, "RESPONSE_FILE")

    def print_step(name: str, ok: bool, error: SamlError | None) -> None:
        if args.json:
            return
        if ok:
            print(f"ok  {name}")
        else:
            assert error is not None
            print(f"FAIL {name}: {error.code}: {error.detail}")

    try:
        login = validate_response(
            message,
            idp=idp,
            sp=sp,
            now=args.at or datetime.now(UTC),
            expected_request_id=args.request_id,
            allow_idp_initiated=args.allow_idp_initiated,
            replay=InMemoryReplayGuard(),
            on_step=print_step,
        )
    except SamlError as exc:
        print(json.dumps(exc.to_dict()))
        return 1
    print(json.dumps(_login_json(login)))
    return 0


def _login_json(login: SamlLogin) -> dict[str, object]:
    return {
        "name_id": login.name_id,
        "name_id_format": login.name_id_format,
        "attributes": login.attributes,
        "issuer": login.issuer,
        "assertion_id": login.assertion_id,
        "session_index": login.session_index,
        "authn_instant": login.authn_instant.isoformat(),
        "session_not_on_or_after": (
            login.session_not_on_or_after.isoformat()
            if login.session_not_on_or_after
            else None
        ),
    }


def _read(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {option} {path}: {exc.strerror}") from exc


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 date and time, such as 2025-03-14T12:00:00Z"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
