"""The ``python -m conformance`` command line."""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from conformance.outcomes import CheckOutcome, Outcome, Tally
from conformance.runner import run_suites
from conformance.server import ServerError, running_scimbridge
from conformance.suites import ALL, DEFAULT_SUITES, SUITES, parse_suite_names
from conformance.target import ScimTarget, SuiteOptions

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "CONFORMANCE_SCIM_TOKEN"
EXIT_FAILED_CHECKS = 1
EXIT_SERVER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the suites and return the exit code.

    The exit code is 0 when no check failed, 1 when one did, and 2 when
    ``serve-and-run`` could not start scimbridge.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx2 logs every request at INFO, which would bury the runner's events.
    logging.getLogger("httpx2").setLevel(logging.WARNING)

    try:
        suites = parse_suite_names(args.suite)
    except ValueError as exc:
        parser.error(str(exc))
    options = SuiteOptions(
        request_timeout=args.timeout,
        include_tags=frozenset(args.tag),
        exclude_tags=frozenset(args.exclude_tag),
        resource_types=tuple(args.resource_type),
    )

    if args.command == "scim":
        token = args.token or os.environ.get(TOKEN_VARIABLE)
        if not token:
            parser.error(f"missing bearer token: pass --token or set {TOKEN_VARIABLE}")
        target = ScimTarget(base_url=args.url, token=token)
        return report(run_suites(suites, target, options))

    database_url = args.database_url or os.environ.get("SCIMBRIDGE_DATABASE_URL")
    try:
        with running_scimbridge(
            database_url, startup_timeout=args.startup_timeout
        ) as server:
            return report(run_suites(suites, server.target, options))
    except ServerError as exc:
        logger.error("serve-and-run failed: %s", exc)
        return EXIT_SERVER_ERROR


def report(outcomes: Sequence[CheckOutcome]) -> int:
    """Print one line per check and the summary line, then return the exit code."""
    for check in outcomes:
        print(check.line())
    tally = Tally.of(outcomes)
    print(tally.summary_line())
    failed = any(check.outcome is Outcome.failed for check in outcomes)
    return EXIT_FAILED_CHECKS if failed else 0


def build_parser() -> argparse.ArgumentParser:
    suite_options = argparse.ArgumentParser(add_help=False)
    suite_options.add_argument(
        "--suite",
        default=",".join(DEFAULT_SUITES),
        metavar="NAMES",
        help="Comma-separated suites to run, from: "
        f"{', '.join(sorted(SUITES))}, or {ALL} for every suite. "
        "Default: %(default)s.",
    )
    suite_options.add_argument(
        "--tag",
        action="append",
        default=[],
        help="Run only the checks with this scim2-tester tag, such as discovery "
        "or crud:read. Repeatable.",
    )
    suite_options.add_argument(
        "--exclude-tag",
        action="append",
        default=[],
        metavar="TAG",
        help="Skip the checks with this scim2-tester tag. Repeatable.",
    )
    suite_options.add_argument(
        "--resource-type",
        action="append",
        default=[],
        metavar="NAME",
        help="Check only this resource type, such as User. Repeatable.",
    )
    suite_options.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="Timeout of each HTTP request, in seconds. Default: %(default)s.",
    )
    suite_options.add_argument(
        "-v", "--verbose", action="store_true", help="Log progress to stderr."
    )

    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Run conformance suites against a SCIM service. Prints one "
        "line per check and a last line 'N passed, M failed'.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    scim = commands.add_parser(
        "scim",
        parents=[suite_options],
        help="Run the suites against a SCIM service that is already running.",
    )
    scim.add_argument(
        "--url",
        required=True,
        help="SCIM base URL, such as http://127.0.0.1:8000/scim/v2.",
    )
    scim.add_argument(
        "--token",
        help=f"Bearer token of the organization. Defaults to ${TOKEN_VARIABLE}. "
        "Prefer the variable, since other users of the machine can read "
        "command lines.",
    )

    serve = commands.add_parser(
        "serve-and-run",
        parents=[suite_options],
        help="Start scimbridge on 127.0.0.1, run the suites, then stop it.",
    )
    serve.add_argument(
        "--database-url",
        help="SQLAlchemy URL of the database to serve. Defaults to "
        "$SCIMBRIDGE_DATABASE_URL, else a temporary SQLite file.",
    )
    serve.add_argument(
        "--startup-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="Time scimbridge gets to respond to its first request, in seconds. "
        "Default: %(default)s.",
    )
    return parser
