"""How the benchmark measures: wall-clock seconds and the peak memory of a child process.

The peak is the kernel's high-water mark of the child's resident set (`VmHWM` in
`/proc/<pid>/status`), read every 0.1 s while it runs; being a high-water mark it
misses nothing but a rise in the last tenth of a second. (`wait4`'s `ru_maxrss` is no
good here: Linux folds the parent's peak into the child's at exec, so a benchmark that
generated a million leads in-process would report its own memory as dbt's.) dbt runs its
models in threads of one process, so that process is the whole of it.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from backfill_tools.dbtrun import DbtProject, DbtResult

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Timed:
    """One measured command: seconds, peak RSS in MiB (None when not a child process)."""

    seconds: float
    peak_rss_mib: float | None = None


def read_peak_rss_mib(pid: int) -> float | None:
    """The process's resident-set high-water mark so far, in MiB (None once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


class PeakWatcher:
    """Follows a process's RSS high-water mark in a thread until it ends."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.is_set():
            current = read_peak_rss_mib(self.pid)
            if current is None:
                return
            self.peak = max(self.peak or 0.0, current)
            self._done.wait(POLL_SECONDS)

    def __enter__(self) -> PeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def run_dbt_measured(
    project: DbtProject, *args: str, vars: dict[str, object] | None = None
) -> tuple[DbtResult, Timed]:
    """Run one real dbt command; what it printed, its seconds and its peak RSS.

    A failed command raises: a benchmark of a run that did not finish means nothing.
    """
    started = time.monotonic()
    process: subprocess.Popen = project.start(*args, vars=vars)
    with PeakWatcher(process.pid) as watcher:
        stdout, stderr = process.communicate()
    seconds = time.monotonic() - started
    result = DbtResult(project.command(*args, vars=vars), process.returncode, stdout, stderr)
    if not result.ok:
        raise RuntimeError(
            f"`dbt {' '.join(args)}` failed ({result.returncode}):\n{result.output[-6000:]}"
        )
    return result, Timed(seconds, watcher.peak)
