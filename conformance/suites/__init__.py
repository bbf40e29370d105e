"""The registry of conformance suites, by the name ``--suite`` takes.

A suite is a callable that runs its checks against a :class:`ScimTarget` and
returns one :class:`CheckOutcome` per check. Add a suite by adding its entry
to :data:`SUITES`.
"""

from collections.abc import Callable

from conformance.outcomes import CheckOutcome
from conformance.suites.scim2_tester import SUITE_NAME as SCIM2_TESTER
from conformance.suites.scim2_tester import run_scim2_tester
from conformance.target import ScimTarget, SuiteOptions

Suite = Callable[[ScimTarget, SuiteOptions], list[CheckOutcome]]

SUITES: dict[str, Suite] = {
    SCIM2_TESTER: run_scim2_tester,
}

DEFAULT_SUITES = (SCIM2_TESTER,)


def parse_suite_names(text: str) -> list[str]:
    """Split a comma-separated list of suite names, rejecting unknown names."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("missing suite name: pass names separated by commas")

    unknown = [name for name in names if name not in SUITES]
    if unknown:
        raise ValueError(
            f"unknown suite {', '.join(unknown)}: "
            f"choose from {', '.join(sorted(SUITES))}"
        )
    return list(dict.fromkeys(names))
