"""``scimbridge app`` and ``scimbridge signing-key``: the apps that delegate login."""

import argparse

from pydantic import ValidationError

from scimbridge.admin.app_schemas import (
    AppClientCreate,
    AppClientList,
    AppClientOut,
    IssuedAppClient,
    SigningKeyList,
    SigningKeyOut,
)
from scimbridge.admin.apps import register_app
from scimbridge.commands.common import (
    CommandError,
    Subcommands,
    add_json_flag,
    format_table,
    print_json,
    run_with_services,
)
from scimbridge.config import Settings
from scimbridge.directory.errors import NotFound
from scimbridge.provider.clients import InvalidClient
from scimbridge.services import Services


def add_commands(commands: Subcommands) -> None:
    app = commands.add_parser("app", help="manage apps that delegate login (OIDC)")
    actions = app.add_subparsers(title="actions", required=True)

    create = actions.add_parser(
        "create",
        help="register an app; prints its client_id and, once, its secret",
    )
    create.add_argument("name", help="the app's name, shown to admins")
    create.add_argument(
        "--redirect-uri",
        action="append",
        required=True,
        dest="redirect_uris",
        help="a redirect URI, matched exactly (repeat for several)",
    )
    create.add_argument(
        "--public",
        action="store_true",
        help="a native app with no secret, which proves itself with PKCE alone",
    )
    create.add_argument(
        "--post-logout-redirect-uri",
        action="append",
        default=[],
        dest="post_logout_redirect_uris",
        help="where RP-initiated logout may return (repeat for several)",
    )
    create.add_argument(
        "--backchannel-logout-uri", help="where to POST back-channel logout tokens"
    )
    create.add_argument(
        "--org",
        action="append",
        dest="organizations",
        help="allow only this organization, by slug or id (repeat for several)",
    )
    add_json_flag(create)
    create.set_defaults(handler=create_command)

    listing = actions.add_parser("list", help="list the registered apps")
    add_json_flag(listing)
    listing.set_defaults(handler=list_command)

    for name, help_text, handler in (
        ("show", "show one app", show_command),
        ("rotate-secret", "replace an app's secret and print it once", rotate_command),
        (
            "disable",
            "stop an app from starting logins and redeeming tokens",
            disable_command,
        ),
        ("enable", "enable a disabled app", enable_command),
        ("delete", "delete an app", delete_command),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("client_id", metavar="CLIENT_ID")
        add_json_flag(action)
        action.set_defaults(handler=handler)

    key = commands.add_parser("signing-key", help="manage the token signing keys")
    key_actions = key.add_subparsers(title="actions", required=True)
    key_list = key_actions.add_parser(
        "list", help="list current, next and retired keys"
    )
    add_json_flag(key_list)
    key_list.set_defaults(handler=list_keys_command)
    rotate = key_actions.add_parser(
        "rotate", help="make the next key current and create a new next key"
    )
    add_json_flag(rotate)
    rotate.set_defaults(handler=rotate_keys_command)


def _print_app(args: argparse.Namespace, app: AppClientOut) -> None:
    if args.json:
        print_json(app)
        return
    print(f"client_id: {app.client_id}")
    print(f"name: {app.name}")
    print(f"type: {'public' if app.public else 'confidential'}")
    print(f"enabled: {'yes' if app.enabled else 'no'}")
    for uri in app.redirect_uris:
        print(f"redirect URI: {uri}")
    for uri in app.post_logout_redirect_uris:
        print(f"post-logout redirect URI: {uri}")
    if app.backchannel_logout_uri:
        print(f"back-channel logout URI: {app.backchannel_logout_uri}")
    organizations = app.organizations
    print(
        "organizations: "
        + ("all" if organizations is None else ", ".join(map(str, organizations)))
    )
    if isinstance(app, IssuedAppClient) and app.client_secret:
        print(f"client_secret: {app.client_secret}")
        print("Store the secret now: it is not shown again.")


def create_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        body = AppClientCreate(
            name=args.name,
            redirect_uris=args.redirect_uris,
            public=args.public,
            post_logout_redirect_uris=args.post_logout_redirect_uris,
            backchannel_logout_uri=args.backchannel_logout_uri,
            organizations=args.organizations,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise CommandError(f"invalid {error['loc'][0]}: {error['msg']}") from exc

    async def create(services: Services) -> IssuedAppClient:
        try:
            issued = await register_app(services, body)
        except InvalidClient as exc:
            raise CommandError(str(exc)) from exc
        except NotFound as exc:
            raise CommandError(f"unknown organization: {exc}") from exc
        return IssuedAppClient.issued(issued.client, issued.secret)

    _print_app(args, run_with_services(settings, create))
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    async def load(services: Services) -> AppClientList:
        clients = await services.provider.clients.list()
        return AppClientList(apps=[AppClientOut.of(client) for client in clients])

    listing = run_with_services(settings, load)
    if args.json:
        print_json(listing)
        return 0
    rows = [
        [
            app.client_id,
            app.name,
            "public" if app.public else "confidential",
            "yes" if app.enabled else "no",
        ]
        for app in listing.apps
    ]
    print(format_table(["CLIENT_ID", "NAME", "TYPE", "ENABLED"], rows))
    return 0


def _no_app(client_id: str) -> CommandError:
    return CommandError(
        f"no app has the client_id {client_id!r}. Run `scimbridge app list` to "
        "see them all."
    )


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    async def load(services: Services) -> AppClientOut:
        client = await services.provider.clients.get(args.client_id)
        if client is None:
            raise _no_app(args.client_id)
        return AppClientOut.of(client)

    _print_app(args, run_with_services(settings, load))
    return 0


def rotate_command(args: argparse.Namespace, settings: Settings) -> int:
    async def rotate(services: Services) -> IssuedAppClient:
        try:
            issued = await services.provider.clients.rotate_secret(args.client_id)
        except InvalidClient as exc:
            raise CommandError(str(exc)) from exc
        if issued is None:
            raise _no_app(args.client_id)
        return IssuedAppClient.issued(issued.client, issued.secret)

    _print_app(args, run_with_services(settings, rotate))
    return 0


def _set_enabled(args: argparse.Namespace, settings: Settings, enabled: bool) -> int:
    async def change(services: Services) -> AppClientOut:
        client = await services.provider.clients.set_enabled(args.client_id, enabled)
        if client is None:
            raise _no_app(args.client_id)
        return AppClientOut.of(client)

    _print_app(args, run_with_services(settings, change))
    return 0


def disable_command(args: argparse.Namespace, settings: Settings) -> int:
    return _set_enabled(args, settings, False)


def enable_command(args: argparse.Namespace, settings: Settings) -> int:
    return _set_enabled(args, settings, True)


def delete_command(args: argparse.Namespace, settings: Settings) -> int:
    async def delete(services: Services) -> bool:
        return await services.provider.clients.delete(args.client_id)

    if not run_with_services(settings, delete):
        raise _no_app(args.client_id)
    if args.json:
        print('{"deleted": true}')
    else:
        print(f"app {args.client_id} deleted")
    return 0


def _print_keys(args: argparse.Namespace, keys: SigningKeyList) -> None:
    if args.json:
        print_json(keys)
        return
    rows = [
        [key.kid, key.state, key.retired_at.isoformat() if key.retired_at else ""]
        for key in keys.keys
    ]
    print(format_table(["KID", "STATE", "RETIRED_AT"], rows))


def list_keys_command(args: argparse.Namespace, settings: Settings) -> int:
    async def load(services: Services) -> SigningKeyList:
        keys = await services.provider.keys.list()
        return SigningKeyList(keys=[SigningKeyOut.of(key) for key in keys])

    _print_keys(args, run_with_services(settings, load))
    return 0


def rotate_keys_command(args: argparse.Namespace, settings: Settings) -> int:
    async def rotate(services: Services) -> SigningKeyList:
        await services.provider.keys.rotate()
        keys = await services.provider.keys.list()
        return SigningKeyList(keys=[SigningKeyOut.of(key) for key in keys])

    _print_keys(args, run_with_services(settings, rotate))
    return 0
