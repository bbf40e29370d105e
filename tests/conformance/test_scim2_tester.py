"""scim2-tester, the public SCIM 2.0 conformance suite, run against scimbridge.

The server is a real ``scimbridge serve`` process on 127.0.0.1. Its database
is a scratch database on the PostgreSQL server of SCIMBRIDGE_TEST_DATABASE_URL
when that variable is set, and a temporary SQLite file otherwise.
"""

import os
from collections.abc import Iterator

import pytest

from conformance import (
    CheckOutcome,
    Outcome,
    RunningServer,
    Tally,
    isolated_database,
    run_suites,
    running_scimbridge,
)


@pytest.fixture
def scimbridge_server() -> Iterator[RunningServer]:
    """Serve scimbridge on loopback; teardown stops it and drops its database."""
    requested_url = os.environ.get("SCIMBRIDGE_TEST_DATABASE_URL")
    with (
        isolated_database(requested_url) as database_url,
        running_scimbridge(database_url) as server,
    ):
        yield server


def test_scim2_tester_reports_no_failure(scimbridge_server: RunningServer) -> None:
    """Every scim2-tester check passes or is skipped against scimbridge."""
    outcomes = run_suites(["scim2-tester"], scimbridge_server.target)
    failures = [check for check in outcomes if check.outcome is Outcome.failed]

    assert outcomes, "scim2-tester returned no check result"
    assert not failures, _failure_report(
        outcomes, failures, scimbridge_server.log_tail()
    )


def _failure_report(
    outcomes: list[CheckOutcome], failures: list[CheckOutcome], server_log: str
) -> str:
    lines = [f"scim2-tester: {Tally.of(outcomes).summary_line()}"]
    lines += [check.line() for check in failures]
    lines += ["", "Last lines of the scimbridge log:", server_log]
    return "\n".join(lines)
