"""The IdP scenario suites, run against a live scimbridge on loopback.

Each suite replays the requests one IdP sends (Okta, Entra ID with and
without its compliance flag, OneLogin, JumpCloud, Ping, Rippling). All of
them run one after the other against the same server and organization, which
also checks that the suites tolerate each other's data.
"""

import pytest

from conformance import (
    IDP_SUITES,
    SUITES,
    CheckOutcome,
    Outcome,
    RunningServer,
    Tally,
    parse_suite_names,
    run_suites,
)


@pytest.mark.parametrize("suite", list(IDP_SUITES))
def test_idp_suite_reports_no_failure(
    suite: str, shared_scimbridge_server: RunningServer
) -> None:
    """Every check of the IdP suite passes against scimbridge."""
    outcomes = run_suites([suite], shared_scimbridge_server.target)
    failures = [check for check in outcomes if check.outcome is Outcome.failed]

    assert outcomes, f"{suite} returned no check result"
    assert not failures, _failure_report(
        suite, outcomes, shared_scimbridge_server.log_tail()
    )


def test_suite_all_selects_every_suite() -> None:
    """``--suite all`` runs scim2-tester and every IdP suite, each once."""
    selected = parse_suite_names("okta,all")

    assert sorted(selected) == sorted(SUITES)
    assert "scim2-tester" in selected
    assert set(IDP_SUITES) <= set(selected)


def test_unknown_suite_name_is_rejected() -> None:
    """An unknown name raises ValueError that lists the valid names."""
    with pytest.raises(ValueError, match="unknown suite okat"):
        parse_suite_names("okat")


def _failure_report(suite: str, outcomes: list[CheckOutcome], server_log: str) -> str:
    lines = [f"{suite}: {Tally.of(outcomes).summary_line()}"]
    lines += [check.line() for check in outcomes if check.outcome is not Outcome.passed]
    lines += ["", "Last lines of the scimbridge log:", server_log]
    return "\n".join(lines)
