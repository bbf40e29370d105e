"""Describe the scimbridge source a benchmark measured: commit and local changes."""

import subprocess
from pathlib import Path

import scimbridge


def describe_source() -> str:
    """Return the commit of the imported scimbridge and its changed files, if any.

    Uncommitted changes under ``src/`` alter what a benchmark measures, so
    they are listed by name. Returns a note instead when git is unavailable or
    the package is not in a git checkout.
    """
    package_dir = Path(scimbridge.__file__).resolve().parent
    try:
        commit = _git(package_dir, "rev-parse", "--short", "HEAD").strip()
        changed = _git(package_dir, "status", "--porcelain", "--", ".")
    except (OSError, subprocess.CalledProcessError):
        return f"scimbridge from {package_dir} (not in a git checkout)"
    # Porcelain lines are two status letters, a space, then the path.
    files = [line[3:] for line in changed.splitlines() if line.strip()]
    if not files:
        return f"scimbridge at commit {commit}, no local changes under src/"
    return f"scimbridge at commit {commit} with uncommitted changes to " + ", ".join(
        files
    )


def _git(directory: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(directory), *arguments],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
