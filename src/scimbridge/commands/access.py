"""Org admin tokens and sign-in configuration on the command line.

``scimbridge admin-token``, ``domain``, ``role`` and ``login-policy`` run
with the rights of the platform admin, like the other commands, and apply the
same checks as the admin API.
"""

import argparse
import uuid
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from scimbridge.admin.access import add_role_mapping
from scimbridge.admin.access_schemas import (
    DomainCreate,
    DomainList,
    DomainOut,
    LoginPolicyBody,
    RoleCreate,
    RoleMappingCreate,
    RoleMappingOut,
    RoleOut,
)
from scimbridge.admin.errors import problem_message
from scimbridge.commands.common import (
    CommandError,
    Handler,
    Subcommands,
    add_json_flag,
    find_org,
    format_table,
    print_json,
    run_with_services,
)
from scimbridge.commands.tokens import ADMIN_TOKENS, add_token_commands
from scimbridge.config import Settings
from scimbridge.directory.access import LinkBy, MappingSource, RoleMapping
from scimbridge.directory.errors import InvalidRecord, NotFound, UniquenessConflict
from scimbridge.directory.signin import normalize_domain
from scimbridge.services import Services

ModelT = TypeVar("ModelT", bound=BaseModel)


def add_commands(commands: Subcommands) -> None:
    add_token_commands(commands, ADMIN_TOKENS)
    _add_domain_commands(commands)
    _add_role_commands(commands)
    _add_login_policy_commands(commands)


def _add_org_action(
    actions: Subcommands, name: str, help_text: str
) -> argparse.ArgumentParser:
    action = actions.add_parser(name, help=help_text)
    action.add_argument("org", metavar="SLUG", help="organization slug or id")
    return action


def _finish(action: argparse.ArgumentParser, handler: Handler) -> None:
    add_json_flag(action)
    action.set_defaults(handler=handler)


def _validated(model: type[ModelT], **fields: object) -> ModelT:
    """Build a request model, reporting its first validation error as a CommandError."""
    try:
        return model(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        prefix = f"invalid {where}: " if where else "invalid request: "
        raise CommandError(prefix + problem_message(error)) from exc


# Domains


def _add_domain_commands(commands: Subcommands) -> None:
    domains = commands.add_parser(
        "domain",
        help="manage an organization's email domains",
        description="A verified domain routes every login with an email address "
        "of that domain to its organization; a domain can be verified by one "
        "organization only.",
    )
    actions = domains.add_subparsers(title="actions", required=True)

    add = _add_org_action(actions, "add", "add an email domain, unverified by default")
    add.add_argument("domain", help="a DNS name such as example.com")
    add.add_argument(
        "--verified", action="store_true", help="add the domain as verified"
    )
    _finish(add, domain_add_command)
    listing = _add_org_action(actions, "list", "list the organization's domains")
    _finish(listing, domain_list_command)
    verify = _add_org_action(actions, "verify", "mark a domain verified")
    verify.add_argument("domain", help="a domain of the organization")
    _finish(verify, domain_verify_command)


def domain_add_command(args: argparse.Namespace, settings: Settings) -> int:
    request = _validated(DomainCreate, domain=args.domain, verified=args.verified)

    async def add(services: Services) -> DomainOut:
        org = await find_org(services, args.org)
        try:
            domain = await services.signin.add_domain(
                org.id, request.domain, verified=request.verified
            )
        except InvalidRecord as exc:
            raise CommandError(str(exc)) from exc
        except UniquenessConflict as exc:
            raise CommandError(
                f"the domain {request.domain!r} is already added to organization "
                f"{org.slug!r}, or verified by another organization"
            ) from exc
        return DomainOut.of(domain)

    _print_domain(args, run_with_services(settings, add))
    return 0


def domain_list_command(args: argparse.Namespace, settings: Settings) -> int:
    async def list_domains(services: Services) -> list[DomainOut]:
        org = await find_org(services, args.org)
        return [DomainOut.of(d) for d in await services.signin.list_domains(org.id)]

    domains = run_with_services(settings, list_domains)
    if args.json:
        print_json(DomainList(domains=domains))
        return 0
    if not domains:
        print("no domains")
        return 0
    rows = [
        [d.domain, "yes" if d.verified else "no", d.created_at.isoformat()]
        for d in domains
    ]
    print(format_table(["DOMAIN", "VERIFIED", "CREATED_AT"], rows))
    return 0


def domain_verify_command(args: argparse.Namespace, settings: Settings) -> int:
    async def verify(services: Services) -> DomainOut:
        org = await find_org(services, args.org)
        not_found = CommandError(
            f"organization {org.slug!r} has no domain {args.domain!r}. Add it "
            f"with `scimbridge domain add {org.slug} {args.domain}` first."
        )
        try:
            await services.signin.set_domain_verified(org.id, args.domain, True)
        except (InvalidRecord, NotFound) as exc:
            raise not_found from exc
        except UniquenessConflict as exc:
            raise CommandError(
                f"the domain {args.domain!r} is verified by another organization"
            ) from exc
        normalized = normalize_domain(args.domain)
        for domain in await services.signin.list_domains(org.id):
            if domain.domain == normalized:
                return DomainOut.of(domain)
        raise not_found

    _print_domain(args, run_with_services(settings, verify))
    return 0


def _print_domain(args: argparse.Namespace, domain: DomainOut) -> None:
    if args.json:
        print_json(domain)
        return
    state = "verified" if domain.verified else "unverified"
    print(f"Domain {domain.domain} is {state}.")


# Roles


def _add_role_commands(commands: Subcommands) -> None:
    roles = commands.add_parser("role", help="manage an organization's roles")
    actions = roles.add_subparsers(title="actions", required=True)

    add = _add_org_action(actions, "add", "create a role")
    add.add_argument(
        "name", help="lowercase letters, digits and . _ : -, up to 100 characters"
    )
    add.add_argument("--description", default="", help="what the role is for")
    add.add_argument(
        "--permission",
        action="append",
        default=[],
        dest="permissions",
        metavar="P",
        help="a permission the role grants; repeat for several",
    )
    add.add_argument(
        "--default",
        action="store_true",
        dest="is_default",
        help="grant the role to every member",
    )
    _finish(add, role_add_command)

    listing = _add_org_action(actions, "list", "list roles and role mappings")
    _finish(listing, role_list_command)

    mapping = _add_org_action(actions, "map", "grant a role from a group or claim")
    mapping.add_argument("role", metavar="ROLE_NAME", help="the role to grant")
    mapping.add_argument(
        "--source",
        required=True,
        choices=[source.value for source in MappingSource],
        help="where the value comes from",
    )
    mapping.add_argument(
        "--value",
        required=True,
        help="the SCIM group (id or displayName), attribute value or claim value",
    )
    mapping.add_argument(
        "--attribute",
        help="the SAML attribute or OIDC claim name (needed for those sources)",
    )
    mapping.add_argument(
        "--connection",
        type=_uuid,
        metavar="ID",
        help="apply only to logins through this connection",
    )
    _finish(mapping, role_map_command)


class RoleListing(BaseModel):
    """The output of ``role list --json``: roles and their mappings."""

    roles: list[RoleOut]
    role_mappings: list[RoleMappingOut]


def role_add_command(args: argparse.Namespace, settings: Settings) -> int:
    request = _validated(
        RoleCreate,
        name=args.name,
        description=args.description,
        permissions=args.permissions,
        is_default=args.is_default,
    )

    async def add(services: Services) -> RoleOut:
        org = await find_org(services, args.org)
        try:
            role = await services.signin.add_role(
                org.id,
                request.name,
                description=request.description,
                permissions=request.permissions,
                is_default=request.is_default,
            )
        except InvalidRecord as exc:
            raise CommandError(str(exc)) from exc
        except UniquenessConflict as exc:
            raise CommandError(
                f"organization {org.slug!r} already has a role named {request.name!r}"
            ) from exc
        return RoleOut.of(role)

    role = run_with_services(settings, add)
    if args.json:
        print_json(role)
    else:
        print(f"Created role {role.name} ({role.id}).")
    return 0


def role_list_command(args: argparse.Namespace, settings: Settings) -> int:
    async def list_roles(services: Services) -> RoleListing:
        org = await find_org(services, args.org)
        roles = await services.signin.list_roles(org.id)
        mappings = await services.signin.list_mappings(org.id)
        return RoleListing(
            roles=[RoleOut.of(role) for role in roles],
            role_mappings=[RoleMappingOut.of(mapping) for mapping in mappings],
        )

    listing = run_with_services(settings, list_roles)
    if args.json:
        print_json(listing)
        return 0
    if not listing.roles:
        print("no roles")
        return 0
    rows = []
    for role in listing.roles:
        granted_by = [
            _describe_mapping(mapping)
            for mapping in listing.role_mappings
            if mapping.role_id == role.id
        ]
        rows.append(
            [
                role.name,
                "yes" if role.is_default else "no",
                " ".join(role.permissions) or "-",
                ", ".join(granted_by) or "-",
            ]
        )
    print(format_table(["ROLE", "DEFAULT", "PERMISSIONS", "GRANTED_BY"], rows))
    return 0


def _describe_mapping(mapping: RoleMappingOut) -> str:
    if mapping.attribute is None:
        return f"{mapping.source.value} {mapping.value}"
    return f"{mapping.source.value} {mapping.attribute}={mapping.value}"


def role_map_command(args: argparse.Namespace, settings: Settings) -> int:
    async def add(services: Services) -> RoleMapping:
        org = await find_org(services, args.org)
        roles = {role.name: role for role in await services.signin.list_roles(org.id)}
        role = roles.get(args.role)
        if role is None:
            raise CommandError(
                f"organization {org.slug!r} has no role named {args.role!r}. "
                f"Run `scimbridge role list {org.slug}` to see its roles."
            )
        request = _validated(
            RoleMappingCreate,
            role_id=role.id,
            source=MappingSource(args.source),
            value=args.value,
            attribute=args.attribute,
            connection_id=args.connection,
        )
        try:
            return await add_role_mapping(services, org, request)
        except InvalidRecord as exc:
            raise CommandError(str(exc)) from exc
        except NotFound as exc:
            raise CommandError(
                f"organization {org.slug!r} has no "
                f"{exc.resource_type.lower()} {str(exc.resource_id)!r}"
            ) from exc

    mapping = RoleMappingOut.of(run_with_services(settings, add))
    if args.json:
        print_json(mapping)
    else:
        print(f"Role {args.role} is granted by {_describe_mapping(mapping)}.")
    return 0


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid id {value!r}: use a UUID") from None


# Login policy


def _add_login_policy_commands(commands: Subcommands) -> None:
    policy = commands.add_parser(
        "login-policy", help="show or change an organization's sign-in rules"
    )
    actions = policy.add_subparsers(title="actions", required=True)

    show = _add_org_action(actions, "show", "show the login policy")
    _finish(show, login_policy_show_command)

    change = _add_org_action(
        actions, "set", "change the given fields; the others keep their value"
    )
    change.add_argument(
        "--link-by",
        choices=[link.value for link in LinkBy],
        help="the member attribute a first login is matched on",
    )
    change.add_argument(
        "--jit",
        action=argparse.BooleanOptionalAction,
        dest="jit_provisioning",
        help="create a member at first login when none matches",
    )
    change.add_argument(
        "--session-lifetime",
        type=int,
        metavar="SECONDS",
        dest="session_lifetime_seconds",
        help="lifetime of a sign-in session in seconds, 60 to 2592000 (30 days)",
    )
    _finish(change, login_policy_set_command)


def login_policy_show_command(args: argparse.Namespace, settings: Settings) -> int:
    async def show(services: Services) -> LoginPolicyBody:
        org = await find_org(services, args.org)
        return LoginPolicyBody.of(await services.signin.policy(org.id))

    _print_policy(args, run_with_services(settings, show))
    return 0


def login_policy_set_command(args: argparse.Namespace, settings: Settings) -> int:
    changes = {
        name: getattr(args, name)
        for name in ("link_by", "jit_provisioning", "session_lifetime_seconds")
        if getattr(args, name) is not None
    }
    if not changes:
        raise CommandError(
            "nothing to change: give --link-by, --jit or --no-jit, or "
            "--session-lifetime"
        )

    async def change(services: Services) -> LoginPolicyBody:
        org = await find_org(services, args.org)
        current = LoginPolicyBody.of(await services.signin.policy(org.id))
        fields = current.model_dump() | changes
        if "link_by" in changes:
            fields["link_by"] = LinkBy(changes["link_by"])
        request = _validated(LoginPolicyBody, **fields)
        try:
            policy = await services.signin.set_policy(request.to_policy(org.id))
        except InvalidRecord as exc:
            raise CommandError(str(exc)) from exc
        return LoginPolicyBody.of(policy)

    _print_policy(args, run_with_services(settings, change))
    return 0


def _print_policy(args: argparse.Namespace, policy: LoginPolicyBody) -> None:
    if args.json:
        print_json(policy)
        return
    fields = [
        ("link_by", policy.link_by.value),
        ("jit_provisioning", "on" if policy.jit_provisioning else "off"),
        ("session_lifetime_seconds", str(policy.session_lifetime_seconds)),
    ]
    for label, value in fields:
        print(f"{label + ':':<26}{value}")
