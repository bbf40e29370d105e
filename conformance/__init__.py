"""Conformance suites run against a live SCIM service.

``python -m conformance scim --url URL`` runs them against a service that is
already up, and ``python -m conformance serve-and-run`` starts scimbridge on
127.0.0.1 first. Python callers such as the test suite use :func:`run_suites`
and :func:`running_scimbridge` for the same steps.
"""

from conformance.databases import isolated_database
from conformance.outcomes import CheckOutcome, Outcome, Tally
from conformance.runner import run_suites
from conformance.server import RunningServer, ServerError, running_scimbridge
from conformance.suites import IDP_SUITES, SUITES, parse_suite_names
from conformance.target import ScimTarget, SuiteOptions

__all__ = [
    "IDP_SUITES",
    "SUITES",
    "CheckOutcome",
    "Outcome",
    "RunningServer",
    "ScimTarget",
    "ServerError",
    "SuiteOptions",
    "Tally",
    "isolated_database",
    "parse_suite_names",
    "run_suites",
    "running_scimbridge",
]
