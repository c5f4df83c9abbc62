"""How the benchmark measures: wall-clock seconds and the peak memory of a child process.

The peak resident set size comes from the kernel (`wait4` returns the child's rusage,
`ru_maxrss` in KiB on Linux), so it is exact, not sampled. dbt runs its models in
threads of one process; should it ever start children, their peak counts too once
they are waited for.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO

from backfill_tools.dbtrun import DbtProject, DbtResult


@dataclass(frozen=True)
class Timed:
    """One measured command: seconds, peak RSS in MiB (None when not a child process)."""

    seconds: float
    peak_rss_mib: float | None = None


def _drain(stream: IO[str], into: list[str]) -> None:
    into.append(stream.read())


@dataclass(frozen=True)
class Finished:
    """How a child process ended, what it printed and its peak RSS in MiB."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float


def wait_measured(process: subprocess.Popen) -> Finished:
    """Wait for `process`, its pipes drained in threads, and read its rusage."""
    outputs: dict[str, list[str]] = {"stdout": [], "stderr": []}
    readers = [
        threading.Thread(target=_drain, args=(stream, outputs[name]), daemon=True)
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
        if stream is not None
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        process.returncode,
        "".join(outputs["stdout"]),
        "".join(outputs["stderr"]),
        usage.ru_maxrss / 1024,
    )


def run_dbt_measured(
    project: DbtProject, *args: str, vars: dict[str, object] | None = None
) -> tuple[DbtResult, Timed]:
    """Run one real dbt command; what it printed, its seconds and its peak RSS.

    A failed command raises: a benchmark of a run that did not finish means nothing.
    """
    started = time.monotonic()
    finished = wait_measured(project.start(*args, vars=vars))
    seconds = time.monotonic() - started
    result = DbtResult(
        project.command(*args, vars=vars), finished.returncode, finished.stdout, finished.stderr
    )
    if not result.ok:
        raise RuntimeError(
            f"`dbt {' '.join(args)}` failed ({result.returncode}):\n{result.output[-6000:]}"
        )
    return result, Timed(seconds, finished.peak_rss_mib)
