"""Check outcomes shared by every suite, and the lines the runner prints for them."""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """The category a check counts under in the summary line."""

    passed = "passed"
    failed = "failed"
    skipped = "skipped"


LABELS = {Outcome.passed: "PASS", Outcome.failed: "FAIL", Outcome.skipped: "SKIP"}


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One check result of a suite, in a form that does not depend on the suite."""

    suite: str
    title: str
    outcome: Outcome
    status: str
    """The status name the suite itself gave, such as scim2-tester's ``ERROR``."""
    reason: str | None = None
    """Explanation of a failure or a skip. Suites leave it unset for a plain pass."""

    def line(self) -> str:
        """Format the check as one printable line: outcome, suite, title, reason."""
        head = f"{LABELS[self.outcome]} {self.suite}: {_printable(self.title)}"
        if self.outcome is Outcome.passed and self.reason is None:
            return head
        reason = _printable(self.reason) if self.reason else "no reason given"
        return f"{head} [{self.status}] {reason}"


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts of passed, failed and skipped checks."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, outcomes: Iterable[CheckOutcome]) -> "Tally":
        counts = {outcome: 0 for outcome in Outcome}
        for check in outcomes:
            counts[check.outcome] += 1
        return cls(
            passed=counts[Outcome.passed],
            failed=counts[Outcome.failed],
            skipped=counts[Outcome.skipped],
        )

    def summary_line(self) -> str:
        """Format ``N passed, M failed``, followed by ``, K skipped`` when K > 0."""
        line = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            line += f", {self.skipped} skipped"
        return line


def _printable(text: str) -> str:
    """Fold ``text`` onto one line and escape control characters.

    Reasons quote what the server sent, so a hostile or broken server could
    otherwise break the one-line-per-check output or send terminal escapes.
    """
    folded = " ".join(text.split())
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode()
        for char in folded
    )
