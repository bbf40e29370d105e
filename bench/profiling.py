"""Sample a server with py-spy during a phase, and rank functions by samples.

py-spy reads the server's memory from outside through ptrace, so the server
needs no change. Its sampling takes some CPU on the same machine, so a
profiled run's throughput is not comparable with an unprofiled one.
"""

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE_HZ = 200
STOP_TIMEOUT_SECONDS = 30.0
NO_PYTHON_FRAME = "(no Python frame)"
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^:()]*)(?::\d+)?\)$")


def py_spy_path() -> str:
    """Return the py-spy executable of this virtualenv or of PATH."""
    beside_python = Path(sys.executable).parent / "py-spy"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy not found: install it with 'pip install py-spy'")
    return found


class Profiler:
    """A ``py-spy record`` process attached to one server for one phase."""

    def __init__(self, pid: int, output: Path, max_seconds: float) -> None:
        executable = py_spy_path()
        self.output = output
        command = [
            executable,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            str(SAMPLE_RATE_HZ),
            "--duration",
            str(int(max_seconds) + 1),
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        self._log = output.with_suffix(".log").open("wb")
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        """Stop sampling. py-spy writes its output when it receives SIGINT."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


@dataclass(frozen=True)
class FunctionSamples:
    function: str
    self_share: float
    total_share: float


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["path"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def _count_samples(raw_file: Path) -> tuple[Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in raw_file.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # --subprocesses puts a "process PID:command" frame at each stack's root.
        frames = [
            _short(frame)
            for frame in stack.split(";")
            if not frame.startswith("process ")
        ] or [NO_PYTHON_FRAME]
        own[frames[-1]] += count
        for function in set(frames):
            anywhere[function] += count
        total += count
    return own, anywhere, total


def rank_functions(raw_file: Path, limit: int = 20) -> list[FunctionSamples]:
    """Read py-spy's collapsed stacks and rank functions by their own samples.

    ``total_share`` counts samples with the function anywhere on the stack.
    """
    own, anywhere, total = _count_samples(raw_file)
    return [
        FunctionSamples(function, samples / total, anywhere[function] / total)
        for function, samples in own.most_common(limit)
    ]
