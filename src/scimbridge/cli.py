"""The ``scimbridge`` command: run the server, migrate, manage organizations and tokens.

Settings come from the ``SCIMBRIDGE_`` environment variables, as for the
server. On the SQLite default every command first applies pending migrations,
so ``scimbridge org create acme`` works on a fresh checkout. On PostgreSQL
only ``scimbridge db upgrade`` changes the schema, and the other commands stop
while it is behind.
"""

import argparse
import json
import sys

from alembic.util.exc import CommandError as AlembicCommandError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from scimbridge import __version__
from scimbridge.commands import access, apps, connections, orgs, saml, server, tokens
from scimbridge.commands.common import CommandError, Handler
from scimbridge.config import Settings
from scimbridge.storage.secrets import SecretKeyMissing


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv`` (default: ``sys.argv[1:]``) and return its status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, load_settings())
    except (CommandError, SecretKeyMissing) as exc:
        message = str(exc)
    except AlembicCommandError as exc:
        message = f"migration failed: {exc}"
    except SQLAlchemyError as exc:
        message = f"database request failed: {_first_line(exc)}"
    except OSError as exc:
        # Apart from the database the commands do no I/O, so an OSError here
        # is a failed database connection.
        message = f"database connection failed: {exc}"
    if getattr(args, "json", False):
        print(json.dumps({"error": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return 1


def load_settings() -> Settings:
    """Read the settings from the environment, naming each invalid one."""
    try:
        return Settings()
    except ValidationError as exc:
        # Report each error's location and message only, because its input
        # value could be a secret such as the admin token.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scimbridge",
        description="SCIM 2.0 identity bridge. Settings come from SCIMBRIDGE_* "
        "environment variables, such as SCIMBRIDGE_DATABASE_URL.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(title="commands", required=True)
    server.add_commands(commands)
    orgs.add_commands(commands)
    tokens.add_commands(commands)
    connections.add_commands(commands)
    saml.add_commands(commands)
    access.add_commands(commands)
    apps.add_commands(commands)
    return parser


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
