"""``scimbridge scim-token`` and ``admin-token``: an organization's bearer tokens.

Both kinds are created, listed and revoked the same way. The secret is shown
once, on stdout alone, and only its hash is stored.
"""

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

# Org admin tokens have the same fields as SCIM tokens, so one set of output
# models serves both kinds.
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
from scimbridge.directory.models import Organization, ScimToken
from scimbridge.directory.tokens import ScimTokens
from scimbridge.services import Services


@dataclass(frozen=True, slots=True)
class TokenKind:
    """One kind of organization bearer token, and the words the commands use for it."""

    command: str
    noun: str
    help: str
    description: str | None
    create_help: str
    hand_over: str
    """The instruction printed after a new token, such as where to store it."""
    store: Callable[[Services], ScimTokens]


SCIM_TOKENS = TokenKind(
    command="scim-token",
    noun="SCIM token",
    help="manage SCIM bearer tokens",
    description=None,
    create_help="create a token for an IdP (shown only once)",
    hand_over="store it in the IdP's SCIM settings now",
    store=lambda services: services.scim_tokens,
)
ADMIN_TOKENS = TokenKind(
    command="admin-token",
    noun="org admin token",
    help="manage org admin tokens",
    description="An org admin token lets an organization's IT admins manage "
    "its domains, login policy, roles, role mappings and SCIM tokens through "
    "the admin API, and nothing of any other organization.",
    create_help="create a token (shown only once)",
    hand_over="hand it to the organization's IT admin now",
    store=lambda services: services.admin_tokens,
)


def add_commands(commands: Subcommands) -> None:
    add_token_commands(commands, SCIM_TOKENS)


def add_token_commands(commands: Subcommands, kind: TokenKind) -> None:
    """Add ``create``, ``list`` and ``revoke`` for one kind of token."""
    tokens = commands.add_parser(
        kind.command, help=kind.help, description=kind.description
    )
    actions = tokens.add_subparsers(title="actions", required=True)

    for name, help_text, handler in (
        ("create", kind.create_help, create_command),
        ("list", "list tokens, without their secrets", list_command),
        ("revoke", "revoke the active token with a prefix", revoke_command),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("org", metavar="SLUG", help="organization slug or id")
        if name == "revoke":
            action.add_argument("prefix", help="the token's prefix, from the list")
        add_json_flag(action)
        action.set_defaults(handler=handler, token_kind=kind)


def create_command(args: argparse.Namespace, settings: Settings) -> int:
    kind: TokenKind = args.token_kind

    async def create(services: Services) -> tuple[Organization, IssuedScimToken]:
        org = await find_org(services, args.org)
        return org, IssuedScimToken.of(await kind.store(services).create(org))

    org, issued = run_with_services(settings, create)
    # The token alone goes to stdout, so `$(scimbridge scim-token create ...)`
    # captures it, and the warning goes to stderr.
    if args.json:
        print_json(issued)
    else:
        print(issued.token)
    print(
        f"Created {kind.noun} {issued.prefix} for organization {org.slug}. "
        f"It is shown only once: {kind.hand_over}.",
        file=sys.stderr,
    )
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    kind: TokenKind = args.token_kind

    async def list_tokens(services: Services) -> list[ScimToken]:
        org = await find_org(services, args.org)
        return await kind.store(services).list(org)

    records = run_with_services(settings, list_tokens)
    tokens = [ScimTokenOut.of(token) for token in records]
    if args.json:
        print_json(ScimTokenList(tokens=tokens))
        return 0
    if not tokens:
        print(f"no {kind.noun}s")
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
    kind: TokenKind = args.token_kind

    async def revoke(services: Services) -> Organization:
        org = await find_org(services, args.org)
        if not await kind.store(services).revoke(org, args.prefix):
            raise CommandError(
                f"organization {org.slug!r} has no active {kind.noun} with prefix "
                f"{args.prefix!r}. Run `scimbridge {kind.command} list {org.slug}` "
                "to see its tokens."
            )
        return org

    org = run_with_services(settings, revoke)
    if args.json:
        print(
            json.dumps({"org_id": str(org.id), "prefix": args.prefix, "revoked": True})
        )
    else:
        print(f"Revoked {kind.noun} {args.prefix} of organization {org.slug}.")
    return 0


def _optional_time(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()
