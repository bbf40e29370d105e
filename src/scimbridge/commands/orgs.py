"""``scimbridge org``: create, list, show, suspend and activate organizations."""

import argparse

from pydantic import ValidationError

from scimbridge.admin.schemas import (
    OrganizationCreate,
    OrganizationList,
    OrganizationOut,
)
from scimbridge.commands.common import (
    CommandError,
    Subcommands,
    add_json_flag,
    find_org,
    format_table,
    org_not_found,
    print_json,
    run_with_services,
)
from scimbridge.config import Settings
from scimbridge.directory.errors import InvalidRecord, NotFound, UniquenessConflict
from scimbridge.directory.models import Organization, OrgStatus
from scimbridge.services import Services


def add_commands(commands: Subcommands) -> None:
    org = commands.add_parser("org", help="manage organizations")
    actions = org.add_subparsers(title="actions", required=True)

    create = actions.add_parser("create", help="create an active organization")
    create.add_argument("slug", help="1 to 63 lowercase letters, digits and hyphens")
    create.add_argument("--name", help="display name (default: the slug)")
    add_json_flag(create)
    create.set_defaults(handler=create_command)

    listing = actions.add_parser("list", help="list every organization")
    add_json_flag(listing)
    listing.set_defaults(handler=list_command)

    for name, help_text, handler in (
        ("show", "show one organization", show_command),
        ("suspend", "suspend an organization; its SCIM requests fail", suspend_command),
        ("activate", "activate a suspended organization", activate_command),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("org", metavar="SLUG", help="organization slug or id")
        add_json_flag(action)
        action.set_defaults(handler=handler)


def create_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        request = OrganizationCreate(slug=args.slug, name=args.name)
    except ValidationError as exc:
        raise CommandError(f"invalid --name: {exc.errors()[0]['msg']}") from exc

    async def create(services: Services) -> Organization:
        try:
            return await services.orgs.create(request.slug, request.name)
        except InvalidRecord as exc:
            raise CommandError(str(exc)) from exc
        except UniquenessConflict as exc:
            raise CommandError(
                f"an organization with slug {request.slug!r} exists"
            ) from exc

    print_org(args, run_with_services(settings, create))
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    async def list_orgs(services: Services) -> list[Organization]:
        return await services.orgs.list()

    orgs = run_with_services(settings, list_orgs)
    if args.json:
        print_json(
            OrganizationList(organizations=[OrganizationOut.of(o) for o in orgs])
        )
        return 0
    if not orgs:
        print("no organizations")
        return 0
    rows = [[org.slug, org.status.value, str(org.id), org.name] for org in orgs]
    print(format_table(["SLUG", "STATUS", "ID", "NAME"], rows))
    return 0


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    async def show(services: Services) -> Organization:
        return await find_org(services, args.org)

    print_org(args, run_with_services(settings, show))
    return 0


def suspend_command(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, OrgStatus.suspended)


def activate_command(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, OrgStatus.active)


def _set_status(args: argparse.Namespace, settings: Settings, status: OrgStatus) -> int:
    async def set_status(services: Services) -> Organization:
        try:
            return await services.orgs.set_status(args.org, status)
        except NotFound as exc:
            raise org_not_found(args.org) from exc

    print_org(args, run_with_services(settings, set_status))
    return 0


def print_org(args: argparse.Namespace, org: Organization) -> None:
    if args.json:
        print_json(OrganizationOut.of(org))
        return
    fields = [
        ("slug", org.slug),
        ("name", org.name),
        ("id", str(org.id)),
        ("status", org.status.value),
        ("created_at", org.created_at.isoformat()),
        ("updated_at", org.updated_at.isoformat()),
    ]
    for label, value in fields:
        print(f"{label + ':':<12}{value}")
