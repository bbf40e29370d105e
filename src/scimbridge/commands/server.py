"""``scimbridge serve`` and ``scimbridge db upgrade``."""

import argparse
import json
import os

import uvicorn

from scimbridge.commands.common import (
    CommandError,
    Subcommands,
    add_json_flag,
    prepare_database,
)
from scimbridge.config import Settings
from scimbridge.logs import configure_logging
from scimbridge.storage.migrate import current_revision, upgrade_database

APP_FACTORY = "scimbridge.app:create_app"


def add_commands(commands: Subcommands) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP server",
        description="Run the server with uvicorn. On SQLite, pending migrations "
        "are applied first; on PostgreSQL the schema must be current.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=_port, default=8000, help="TCP port to bind (default: 8000)"
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="number of worker processes (default: 1)",
    )
    serve.set_defaults(handler=serve_command)

    db = commands.add_parser("db", help="manage the database schema")
    actions = db.add_subparsers(title="actions", required=True)
    upgrade = actions.add_parser("upgrade", help="apply every pending migration")
    add_json_flag(upgrade)
    upgrade.set_defaults(handler=db_upgrade_command)


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers > 1 and not settings.redis_url:
        # Each worker would keep its own in-process sessions, so a SCIM
        # deactivation handled by one worker would miss the others' sessions.
        raise CommandError(
            "--workers above 1 needs SCIMBRIDGE_REDIS_URL: without Redis each "
            "worker keeps its own sessions and cannot revoke the others'"
        )
    configure_logging(settings.log_level)
    prepare_database(settings)
    if not settings.is_sqlite and settings.secret_key is None:
        # Only SQLite keeps a generated key file, so without the key every
        # SSO login on PostgreSQL would fail when it reads connection secrets.
        raise CommandError(
            "SCIMBRIDGE_SECRET_KEY is missing. On PostgreSQL it encrypts IdP "
            "client secrets and SP private keys, so set it to a long random value"
        )
    if not (settings.issuer or settings.base_url):
        # The OpenID Provider's issuer must be one stable string, so without a
        # configured public URL it is the address this server listens on.
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        os.environ["SCIMBRIDGE_ISSUER"] = f"http://{host}:{args.port}"
    # Each worker builds its own application, reading the same environment.
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # scimbridge logs its own access line without the query string,
        # which can carry provisioned values such as a filtered userName.
        access_log=False,
    )
    return 0


def db_upgrade_command(args: argparse.Namespace, settings: Settings) -> int:
    upgrade_database(settings.database_url)
    revision = current_revision(settings.database_url)
    if args.json:
        print(json.dumps({"revision": revision}))
    else:
        print(f"database schema is at revision {revision}")
    return 0


def _port(value: str) -> int:
    port = _integer(value)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {value}: use 1 to 65535")
    return port


def _positive(value: str) -> int:
    number = _integer(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"invalid count {value}: use 1 or more")
    return number


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {value!r}") from None
