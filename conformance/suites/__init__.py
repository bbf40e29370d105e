"""The registry of conformance suites, by the name ``--suite`` takes.

A suite is a callable that runs its checks against a :class:`ScimTarget` and
returns one :class:`CheckOutcome` per check. Add a suite by adding its entry
to :data:`SUITES`. The name ``all`` selects every suite.
"""

from collections.abc import Callable

from conformance.outcomes import CheckOutcome
from conformance.suites import entra, jumpcloud, okta, onelogin, ping, rippling
from conformance.suites.scim2_tester import SUITE_NAME as SCIM2_TESTER
from conformance.suites.scim2_tester import run_scim2_tester
from conformance.target import ScimTarget, SuiteOptions

Suite = Callable[[ScimTarget, SuiteOptions], list[CheckOutcome]]

IDP_SUITES: dict[str, Suite] = {
    okta.SUITE_NAME: okta.run_okta,
    entra.SUITE_NAME: entra.run_entra,
    entra.FLAG_SUITE_NAME: entra.run_entra_flag,
    onelogin.SUITE_NAME: onelogin.run_onelogin,
    jumpcloud.SUITE_NAME: jumpcloud.run_jumpcloud,
    ping.SUITE_NAME: ping.run_ping,
    rippling.SUITE_NAME: rippling.run_rippling,
}
"""Suites that replay what one IdP sends, each on resources of its own."""

SUITES: dict[str, Suite] = {
    SCIM2_TESTER: run_scim2_tester,
    **IDP_SUITES,
}

ALL = "all"
DEFAULT_SUITES = (SCIM2_TESTER,)


def parse_suite_names(text: str) -> list[str]:
    """Split a comma-separated list of suite names, rejecting unknown names.

    ``all`` stands for every suite in :data:`SUITES`, in registry order.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("missing suite name: pass names separated by commas")

    unknown = [name for name in names if name != ALL and name not in SUITES]
    if unknown:
        raise ValueError(
            f"unknown suite {', '.join(unknown)}: "
            f"choose from {', '.join(sorted(SUITES))}, or {ALL}"
        )

    expanded: list[str] = []
    for name in names:
        expanded.extend(SUITES if name == ALL else [name])
    return list(dict.fromkeys(expanded))
