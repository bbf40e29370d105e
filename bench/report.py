"""Markdown tables and target checks for the benchmark results.

Run ``python -m bench.report FILE.json`` to print the tables of a saved run.
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import PhaseResult
from bench.profiling import rank_functions
from bench.scale import ScaleRun
from bench.workload import ServerRun

THROUGHPUT_TARGETS = {
    "create": 2.0,
    "get": 3.0,
    "filter": 3.0,
    "list": 20.0,
    "patch": 2.0,
}
"""Minimum ratio of scimbridge-on-PostgreSQL ops/s to the reference server's."""
SCALE_FILTER_P99_MS = 20.0
MEMORY_GROWTH_LIMIT = 0.05
"""Largest RSS growth allowed over the list phase, as a share of its baseline."""
MEMORY_BASELINE_SHARE = 0.10
"""The baseline is the first sample after this share of the listed users, so
that buffers allocated by the first pages do not count as growth."""
MIB = 2**20


@dataclass
class TargetCheck:
    target: str
    value: str
    met: bool


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _phase_row(label: str, phase: PhaseResult) -> list[str]:
    return [
        phase.operation,
        label,
        str(phase.requests),
        str(phase.errors),
        f"{phase.ops_per_second:.0f}",
        f"{phase.p50_ms:.1f}",
        f"{phase.p99_ms:.1f}",
        f"{phase.server_cpu_ms:.2f}",
        "-" if phase.database_cpu_ms is None else f"{phase.database_cpu_ms:.2f}",
        f"{phase.client_cpu_ms:.2f}",
        f"{phase.machine_cpu_percent:.0f}",
        "-"
        if phase.background_cpu_percent is None
        else f"{phase.background_cpu_percent:.0f}",
    ]


PHASE_HEADER = [
    "Operation",
    "Server",
    "Requests",
    "Errors",
    "ops/s",
    "p50 ms",
    "p99 ms",
    "server CPU ms/req",
    "PostgreSQL CPU ms/req",
    "client CPU ms/req",
    "machine CPU %",
    "CPU busy before %",
]


def phases_table(runs: list[ServerRun]) -> str:
    """Tabulate every operation of every server, grouped by operation."""
    rows = []
    operations = [phase.operation for phase in runs[0].phases] if runs else []
    for operation in operations:
        for run in runs:
            for phase in run.phases:
                if phase.operation == operation:
                    rows.append(_phase_row(run.server, phase))
    return _table(PHASE_HEADER, rows)


def _phase(run: ServerRun | None, operation: str) -> PhaseResult | None:
    if run is None:
        return None
    return next((p for p in run.phases if p.operation == operation), None)


def cpu_per_request_ms(phase: PhaseResult) -> float:
    """Return the server's CPU time per request plus its PostgreSQL backends'."""
    return phase.server_cpu_ms + (phase.database_cpu_ms or 0.0)


def ratio_checks(
    candidate: ServerRun, reference: ServerRun
) -> tuple[str, list[TargetCheck]]:
    """Compare ops/s of ``candidate`` with ``reference`` against the targets.

    Operations without a target, such as ``discovery``, get a row but no check.
    """
    rows = []
    checks = []
    for ours in candidate.phases:
        theirs = _phase(reference, ours.operation)
        if theirs is None or theirs.ops_per_second == 0:
            continue
        ratio = ours.ops_per_second / theirs.ops_per_second
        target = THROUGHPUT_TARGETS.get(ours.operation)
        row = [
            ours.operation,
            f"{ours.ops_per_second:.0f}",
            f"{theirs.ops_per_second:.0f}",
            f"{ratio:.2f}x",
            f"{cpu_per_request_ms(ours):.2f} / {cpu_per_request_ms(theirs):.2f}",
            f"{cpu_per_request_ms(theirs) / cpu_per_request_ms(ours):.2f}x",
            f"{ours.p99_ms:.1f} / {theirs.p99_ms:.1f}",
        ]
        if target is None:
            rows.append([*row, "-", "-"])
            continue
        met = ratio >= target and ours.errors == 0
        rows.append([*row, f">= {target:.0f}x", "met" if met else "not met"])
        label = f"{candidate.server}: {ours.operation} >= {target:.0f}x reference"
        checks.append(TargetCheck(label, f"{ratio:.2f}x", met))
    header = [
        "Operation",
        f"{candidate.server} ops/s",
        "reference ops/s",
        "ratio",
        "CPU ms/req (ours / reference)",
        "CPU ratio (reference / ours)",
        "p99 ms (ours / reference)",
        "target",
        "result",
    ]
    return _table(header, rows), checks


def list_memory_growth(run: ServerRun) -> tuple[int, int, int] | None:
    """Return (baseline RSS, final RSS, users listed) over the list phase."""
    trace = run.list_rss_trace
    if len(trace) < 2:
        return None
    listed = trace[-1][0]
    baseline = next(
        (rss for users, rss in trace if users >= MEMORY_BASELINE_SHARE * listed),
        trace[0][1],
    )
    return baseline, trace[-1][1], listed


def memory_table(runs: list[ServerRun]) -> tuple[str, list[TargetCheck]]:
    moments = ["started", "after_create", "after_get", "after_filter", "after_list"]
    moments.append("after_patch")
    header = ["Server", *[m.replace("_", " ") for m in moments]]
    header += ["list phase: users listed", "list phase: RSS growth"]
    rows = []
    checks = []
    for run in runs:
        row = [run.server]
        row += [
            f"{run.rss_bytes[m] / MIB:.0f} MiB" if m in run.rss_bytes else "-"
            for m in moments
        ]
        growth = list_memory_growth(run)
        if growth is None:
            row += ["-", "-"]
        else:
            baseline, final, listed = growth
            share = (final - baseline) / baseline
            growth_text = f"{(final - baseline) / MIB:+.1f} MiB ({share:+.1%})"
            row += [f"{listed:,}", growth_text]
            checks.append(
                TargetCheck(
                    f"{run.server}: RSS flat while listing",
                    f"{share:+.1%} over {listed:,} users",
                    share <= MEMORY_GROWTH_LIMIT,
                )
            )
        rows.append(row)
    return _table(header, rows), checks


def scale_tables(scale: ScaleRun) -> tuple[str, list[TargetCheck]]:
    rows = [
        _phase_row(f"{phase.connections} connection(s)", phase)
        for phase in scale.phases
    ]
    header = ["Operation", "Connections", *PHASE_HEADER[2:]]
    text = _table(header, rows)
    checks = []
    for phase in scale.phases:
        if phase.operation != "filter_target":
            continue
        checks.append(
            TargetCheck(
                f"userName eq p99 < {SCALE_FILTER_P99_MS:.0f} ms "
                f"({scale.target_users:,} users in the org, {scale.total_rows:,} "
                f"rows, {phase.connections} connection(s))",
                f"{phase.p99_ms:.1f} ms",
                phase.p99_ms < SCALE_FILTER_P99_MS and phase.errors == 0,
            )
        )
    if scale.explain:
        explain_rows = [
            [
                plan["statement"],
                plan["user_name"],
                f"{plan['planning_ms']:.2f}",
                f"{plan['execution_ms']:.2f}",
                ", ".join(plan["indexes"]) or "none (sequential scan)",
            ]
            for plan in scale.explain
        ]
        header = ["Statement", "userName", "planning ms", "execution ms", "indexes"]
        text += "\n\nEXPLAIN ANALYZE of the statements behind the filter:\n\n"
        text += _table(header, explain_rows)
    return text, checks


def runs_table(runs: list[ServerRun]) -> str:
    rows = [
        [
            run.server,
            "-" if run.workers is None else str(run.workers),
            f"{run.users_created:,} of {run.users_requested:,}",
            run.schema or "-",
        ]
        for run in runs
    ]
    header = ["Server", "Workers", "Users created", "Schema"]
    return _table(header, rows)


def profiles_text(runs: list[ServerRun], limit: int = 12) -> str:
    """List the functions with the most own samples in each profiled phase."""
    parts = []
    for run in runs:
        for operation, path in run.profiles.items():
            ranked = rank_functions(Path(path), limit)
            rows = [
                [
                    item.function.replace("|", "\\|"),
                    f"{item.self_share:.1%}",
                    f"{item.total_share:.1%}",
                ]
                for item in ranked
            ]
            parts.append(f"### {run.server}: {operation}\n")
            parts.append(_table(["Function", "own samples", "on stack"], rows))
            parts.append("")
    return "\n".join(parts)


def targets_table(checks: list[TargetCheck]) -> str:
    rows = [[c.target, c.value, "met" if c.met else "not met"] for c in checks]
    return _table(["Target", "Measured", "Result"], rows)


def summary(runs: list[ServerRun], scale: ScaleRun | None) -> tuple[str, list[Any]]:
    """Return the Markdown report and the target checks."""
    parts: list[str] = []
    checks: list[TargetCheck] = []
    if runs:
        parts += ["## Runs", "", runs_table(runs), ""]
        parts += ["## Throughput and latency", "", phases_table(runs), ""]
        reference = next((r for r in runs if r.server == "reference"), None)
        candidates = [r for r in runs if r.server.startswith("scimbridge-postgresql")]
        for candidate in candidates:
            if reference is None:
                break
            text, found = ratio_checks(candidate, reference)
            parts += [f"## {candidate.server} / reference", "", text, ""]
            checks += found
        text, found = memory_table(runs)
        parts += ["## Server memory (RSS)", "", text, ""]
        checks += found
    if any(run.profiles for run in runs):
        parts += ["## Profiles (py-spy)", "", profiles_text(runs)]
    if scale is not None:
        text, found = scale_tables(scale)
        parts += ["## Scale: PostgreSQL", "", text, ""]
        checks += found
    if checks:
        parts += ["## Targets", "", targets_table(checks), ""]
    return "\n".join(parts), checks


def runs_from_json(document: dict[str, Any]) -> tuple[list[ServerRun], ScaleRun | None]:
    """Rebuild the results of a run from the JSON that ``--output`` wrote."""
    runs = []
    for stored in document.get("runs") or []:
        fields = dict(stored)
        phases = [PhaseResult(**phase) for phase in fields.pop("phases")]
        fields["list_rss_trace"] = [tuple(pair) for pair in fields["list_rss_trace"]]
        runs.append(ServerRun(**fields, phases=phases))
    scale = None
    if document.get("scale"):
        fields = dict(document["scale"])
        phases = [PhaseResult(**phase) for phase in fields.pop("phases")]
        scale = ScaleRun(**fields, phases=phases)
    return runs, scale


def main() -> None:
    """Print the Markdown report of one or more JSON result files."""
    for path in sys.argv[1:]:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        runs, scale = runs_from_json(document)
        print(f"<!-- {document.get('command')} -->\n")
        print(summary(runs, scale)[0])


if __name__ == "__main__":
    main()
