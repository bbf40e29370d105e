"""scim2-tester, the public SCIM 2.0 conformance suite, run against scimbridge.

The ``scimbridge_server`` fixture (in this folder's conftest) serves a real
``scimbridge serve`` process on 127.0.0.1.
"""

from conformance import CheckOutcome, Outcome, RunningServer, Tally, run_suites


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
