"""Run the registered suites against a target and collect their outcomes."""

import logging
from collections.abc import Sequence

from conformance.outcomes import CheckOutcome, Outcome, Tally
from conformance.suites import SUITES
from conformance.target import ScimTarget, SuiteOptions

logger = logging.getLogger(__name__)


def run_suites(
    names: Sequence[str],
    target: ScimTarget,
    options: SuiteOptions | None = None,
) -> list[CheckOutcome]:
    """Run the suites ``names`` one after the other and return all their outcomes.

    A suite that raises, or that returns no check at all, adds one failed
    outcome instead, so a broken suite can never read as a clean run.

    :raises KeyError: if a name is not in :data:`conformance.suites.SUITES`.
    """
    options = options or SuiteOptions()
    outcomes: list[CheckOutcome] = []
    for name in names:
        suite = SUITES[name]
        logger.info("suite started suite=%s url=%s", name, target.base_url)
        try:
            suite_outcomes = suite(target, options)
        except Exception as exc:
            logger.exception("suite raised suite=%s", name)
            reason = f"{type(exc).__name__}: {exc}"
            suite_outcomes = [_suite_failure(name, "RAISED", reason)]

        if not suite_outcomes:
            reason = "the suite returned no check"
            suite_outcomes = [_suite_failure(name, "EMPTY", reason)]

        tally = Tally.of(suite_outcomes)
        logger.info("suite finished suite=%s %s", name, tally.summary_line())
        outcomes.extend(suite_outcomes)
    return outcomes


def _suite_failure(suite: str, status: str, reason: str) -> CheckOutcome:
    return CheckOutcome(
        suite=suite,
        title="suite run",
        outcome=Outcome.failed,
        status=status,
        reason=reason,
    )
