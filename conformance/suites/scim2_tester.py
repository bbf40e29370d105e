"""The scim2-tester suite: every check of ``scim2_tester.check_server``."""

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server

from conformance.outcomes import CheckOutcome, Outcome
from conformance.target import ScimTarget, SuiteOptions

SUITE_NAME = "scim2-tester"

STATUS_OUTCOMES = {
    Status.SUCCESS: Outcome.passed,
    Status.COMPLIANT: Outcome.passed,
    Status.ACCEPTABLE: Outcome.passed,
    # scim2-tester defines DEVIATION as departing from a SHOULD while staying
    # within the RFC, so it counts as passed. The printed line shows the status.
    Status.DEVIATION: Outcome.passed,
    Status.ERROR: Outcome.failed,
    Status.CRITICAL: Outcome.failed,
    Status.SKIPPED: Outcome.skipped,
}


def run_scim2_tester(target: ScimTarget, options: SuiteOptions) -> list[CheckOutcome]:
    """Run scim2-tester against ``target`` and convert each of its check results.

    ``check_server`` reads ServiceProviderConfig, ResourceTypes and Schemas
    first, builds the resource models from what the server publishes, and then
    runs the CRUD and PATCH checks on each discovered resource type. The client
    is therefore created without models, since models given upfront would
    replace the server's own description.

    Proxy settings from the environment are ignored, so requests go straight
    to ``target.base_url``.
    """
    headers = {"Authorization": f"Bearer {target.token}"}
    with Client(
        base_url=target.base_url,
        headers=headers,
        timeout=options.request_timeout,
        trust_env=False,
    ) as http_client:
        results = check_server(
            SyncSCIMClient(http_client),
            include_tags=set(options.include_tags) or None,
            exclude_tags=set(options.exclude_tags) or None,
            resource_types=list(options.resource_types) or None,
        )
    return [_to_outcome(result) for result in results]


def _to_outcome(result: CheckResult) -> CheckOutcome:
    title = result.title or "untitled check"
    if result.resource_type:
        title = f"{result.resource_type}/{title}"

    outcome = STATUS_OUTCOMES[result.status]
    plain_pass = result.status is Status.SUCCESS
    return CheckOutcome(
        suite=SUITE_NAME,
        title=title,
        outcome=outcome,
        status=result.status.name,
        reason=None if plain_pass else result.reason,
    )
