"""``scimbridge connection``: add SAML and OIDC connections, list, enable, disable."""

import argparse
import json
from pathlib import Path
from typing import Any
from uuid import UUID

from scimbridge.commands.common import (
    CommandError,
    Subcommands,
    add_json_flag,
    find_org,
    format_table,
    run_with_services,
)
from scimbridge.config import Settings
from scimbridge.directory.access import Connection
from scimbridge.directory.errors import DirectoryError, NotFound
from scimbridge.services import Services
from scimbridge.sso.connections import (
    CLIENT_AUTH_METHODS,
    create_oidc_connection,
    create_saml_connection,
    fetch_idp_metadata,
    public_view,
)
from scimbridge.sso.oidc.errors import OidcError
from scimbridge.sso.saml.errors import SamlError

MAX_FILE_BYTES = 1024 * 1024


def add_commands(commands: Subcommands) -> None:
    connection = commands.add_parser(
        "connection", help="manage an organization's SAML and OIDC connections"
    )
    actions = connection.add_subparsers(title="actions", required=True)

    saml = actions.add_parser(
        "add-saml", help="add a SAML connection from IdP metadata"
    )
    saml.add_argument("org", metavar="ORG", help="organization slug or id")
    source = saml.add_mutually_exclusive_group(required=True)
    source.add_argument("--metadata", type=Path, help="IdP metadata XML file")
    source.add_argument("--metadata-url", help="https URL of the IdP metadata")
    saml.add_argument("--name", default="SAML", help="name shown to users")
    saml.add_argument(
        "--allow-idp-initiated",
        action="store_true",
        help="accept logins the IdP starts (unsolicited Responses)",
    )
    saml.add_argument("--sign-requests", action="store_true", help="sign AuthnRequests")
    saml.add_argument(
        "--allow-sha1",
        action="store_true",
        help="accept SHA-1 signatures (legacy IdPs)",
    )
    saml.add_argument(
        "--require-signed-assertion",
        action="store_true",
        help="require the Assertion itself to be signed",
    )
    add_json_flag(saml)
    saml.set_defaults(handler=add_saml_command)

    oidc = actions.add_parser("add-oidc", help="add an OIDC connection to an issuer")
    oidc.add_argument("org", metavar="ORG", help="organization slug or id")
    oidc.add_argument("--issuer", required=True, help="issuer URL, https://...")
    oidc.add_argument("--client-id", required=True, help="client id at the issuer")
    oidc.add_argument(
        "--client-secret-file", type=Path, help="file holding the client secret"
    )
    oidc.add_argument(
        "--private-key-file", type=Path, help="PEM key for private_key_jwt"
    )
    oidc.add_argument(
        "--auth-method",
        choices=CLIENT_AUTH_METHODS,
        default="client_secret_basic",
        help="token endpoint client authentication (default client_secret_basic)",
    )
    oidc.add_argument("--name", default="OIDC", help="name shown to users")
    add_json_flag(oidc)
    oidc.set_defaults(handler=add_oidc_command)

    listing = actions.add_parser("list", help="list an organization's connections")
    listing.add_argument("org", metavar="ORG", help="organization slug or id")
    add_json_flag(listing)
    listing.set_defaults(handler=list_command)

    for name, enabled in (("enable", True), ("disable", False)):
        action = actions.add_parser(name, help=f"{name} a connection")
        action.add_argument("org", metavar="ORG", help="organization slug or id")
        action.add_argument("connection_id", metavar="CONNECTION_ID")
        add_json_flag(action)
        action.set_defaults(handler=set_enabled_command, enabled=enabled)


def _base_url(settings: Settings) -> str:
    return settings.public_url()


def _read(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(f"{what} file {path} exceeds {MAX_FILE_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {what} file {path}: {exc.strerror}") from exc


def _print(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(view))
        return
    for key, value in view.items():
        print(f"{key}: {value}")


def add_saml_command(args: argparse.Namespace, settings: Settings) -> int:
    metadata = _read(args.metadata, "metadata") if args.metadata else b""

    async def create(services: Services) -> Connection:
        org = await find_org(services, args.org)
        xml = metadata
        if args.metadata_url:
            xml = await fetch_idp_metadata(
                services.logins.provider_http, args.metadata_url
            )
        return await create_saml_connection(
            services.signin,
            org.id,
            name=args.name,
            metadata_xml=xml,
            base_url=_base_url(settings),
            allow_idp_initiated=args.allow_idp_initiated,
            sign_requests=args.sign_requests,
            allow_sha1=args.allow_sha1,
            require_signed_assertion=args.require_signed_assertion,
            allow_http=settings.allow_loopback_idp,
        )

    connection = _run(settings, create)
    _print(public_view(connection, _base_url(settings)), args.json)
    return 0


def add_oidc_command(args: argparse.Namespace, settings: Settings) -> int:
    secret = None
    key = None
    if args.auth_method == "private_key_jwt":
        if args.private_key_file is None:
            raise CommandError("--auth-method private_key_jwt needs --private-key-file")
        key = _read(args.private_key_file, "private key").decode()
    else:
        if args.client_secret_file is None:
            raise CommandError(
                f"--auth-method {args.auth_method} needs --client-secret-file"
            )
        secret = _read(args.client_secret_file, "client secret").decode().strip()

    async def create(services: Services) -> Connection:
        org = await find_org(services, args.org)
        return await create_oidc_connection(
            services.signin,
            services.logins.provider_http,
            org.id,
            name=args.name,
            issuer=args.issuer,
            client_id=args.client_id,
            base_url=_base_url(settings),
            client_secret=secret,
            auth_method=args.auth_method,
            private_key_pem=key,
        )

    connection = _run(settings, create)
    _print(public_view(connection, _base_url(settings)), args.json)
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    async def listing(services: Services) -> list[Connection]:
        org = await find_org(services, args.org)
        return await services.signin.list_connections(org.id)

    connections = _run(settings, listing)
    views = [public_view(connection, _base_url(settings)) for connection in connections]
    if args.json:
        print(json.dumps({"connections": views}))
        return 0
    rows = [
        [view["id"], view["kind"], view["name"], "yes" if view["enabled"] else "no"]
        for view in views
    ]
    print(format_table(["ID", "KIND", "NAME", "ENABLED"], rows))
    return 0


def set_enabled_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        connection_id = UUID(args.connection_id)
    except ValueError as exc:
        raise CommandError(f"invalid connection id {args.connection_id!r}") from exc

    async def update(services: Services) -> Connection:
        org = await find_org(services, args.org)
        return await services.signin.update_connection(
            org.id, connection_id, enabled=args.enabled
        )

    connection = _run(settings, update)
    _print(public_view(connection, _base_url(settings)), args.json)
    return 0


def _run(settings: Settings, operation: Any) -> Any:
    """Run ``operation``, turning setup failures into one-line command errors."""
    try:
        return run_with_services(settings, operation)
    except NotFound as exc:
        raise CommandError(f"not found: {exc}") from exc
    except (SamlError, OidcError) as exc:
        raise CommandError(f"{exc.code}: {exc.detail}") from exc
    except DirectoryError as exc:
        raise CommandError(str(exc)) from exc
