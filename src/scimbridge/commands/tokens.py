"""``scimbridge scim-token``: create, list and revoke an organization's SCIM tokens."""

import argparse
import json
import sys
from datetime import datetime

from scimbridge.admin.schemas import IssuedScimToken, ScimTokenList, ScimTokenOut
from scimbridge.commands.common import (
    CommandError,
    Subcommands,
    add_json_flag,
    find_org,
    format_table,
    print_json,
    run_with_services,
)
from scimbridge.config import Settings
from scimbridge.directory.models import Organization
from scimbridge.services import Services


def add_commands(commands: Subcommands) -> None:
    tokens = commands.add_parser("scim-token", help="manage SCIM bearer tokens")
    actions = tokens.add_subparsers(title="actions", required=True)

    for name, help_text, handler in (
        ("create", "create a token for an IdP (shown only once)", create_command),
        ("list", "list tokens, without their secrets", list_command),
        ("revoke", "revoke the active token with a prefix", revoke_command),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("org", metavar="SLUG", help="organization slug or id")
        if name == "revoke":
            action.add_argument("prefix", help="the token's prefix, from the list")
        add_json_flag(action)
        action.set_defaults(handler=handler)


def create_command(args: argparse.Namespace, settings: Settings) -> int:
    async def create(services: Services) -> tuple[Organization, IssuedScimToken]:
        org = await find_org(services, args.org)
        return org, IssuedScimToken.of(await services.scim_tokens.create(org))

    org, issued = run_with_services(settings, create)
    # The token alone goes to stdout, so `$(scimbridge scim-token create ...)`
    # captures it, and the warning goes to stderr.
    if args.json:
        print_json(issued)
    else:
        print(issued.token)
    print(
        f"Created SCIM token {issued.prefix} for organization {org.slug}. "
        "It is shown only once: store it in the IdP's SCIM settings now.",
        file=sys.stderr,
    )
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    async def list_tokens(services: Services) -> list[ScimTokenOut]:
        org = await find_org(services, args.org)
        return [
            ScimTokenOut.of(token) for token in await services.scim_tokens.list(org)
        ]

    tokens = run_with_services(settings, list_tokens)
    if args.json:
        print_json(ScimTokenList(tokens=tokens))
        return 0
    if not tokens:
        print("no SCIM tokens")
        return 0
    rows = [
        [
            token.prefix,
            token.created_at.isoformat(),
            _optional_time(token.last_used_at),
            _optional_time(token.revoked_at),
        ]
        for token in tokens
    ]
    print(format_table(["PREFIX", "CREATED_AT", "LAST_USED_AT", "REVOKED_AT"], rows))
    return 0


def revoke_command(args: argparse.Namespace, settings: Settings) -> int:
    async def revoke(services: Services) -> Organization:
        org = await find_org(services, args.org)
        if not await services.scim_tokens.revoke(org, args.prefix):
            raise CommandError(
                f"organization {org.slug!r} has no active SCIM token with prefix "
                f"{args.prefix!r}. Run `scimbridge scim-token list {org.slug}` "
                "to see its tokens."
            )
        return org

    org = run_with_services(settings, revoke)
    if args.json:
        print(
            json.dumps({"org_id": str(org.id), "prefix": args.prefix, "revoked": True})
        )
    else:
        print(f"Revoked SCIM token {args.prefix} of organization {org.slug}.")
    return 0


def _optional_time(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()
