"""Resources of one command and every process under it: wall, CPU, peak memory, peak temp bytes.

CPU time is taken from ``getrusage(RUSAGE_CHILDREN)`` before and after, which counts a process only
once it has been waited for. Pipelines leave processes their parent never waits for (a
multiprocessing forkserver outlives the parent that started it, and its workers are its
children), and the CPU time of those would be lost. So this process makes itself a *child
subreaper* (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``): orphans of the tree are re-parented to it, and
after the command exits it waits for every remaining descendant before reading the usage. The
sampled per-process CPU (psutil, every ``INTERVAL``) is kept beside it as a cross-check; it misses
the time after a process's last sample, so it is a lower bound. ``other_cpu_seconds`` is what the
rest of the machine used meanwhile (busy time of all cores minus the command's and this process's
sampling): on a shared machine it says how much a wall time was slowed by others.

Memory is RSS, sampled every ``INTERVAL``: the largest single process and the whole tree (the
tree's sum counts pages that forked workers share once per process, so it over-states what the
machine needed). Temp bytes are the files under the given folders, walked every
``DISK_EVERY`` samples.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

INTERVAL = 0.1
DISK_EVERY = 5
REAP_SECONDS = 60.0
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Have orphaned descendants re-parented here, so their CPU time reaches RUSAGE_CHILDREN."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def folder_usage(*folders: Path) -> tuple[int, int]:
    """Files and bytes under the folders; files vanishing mid-walk are skipped."""
    files = size = 0
    for folder in folders:
        for root, _, names in os.walk(folder):
            for name in names:
                try:
                    size += os.lstat(os.path.join(root, name)).st_size
                    files += 1
                except FileNotFoundError:
                    continue
    return files, size


@dataclass
class Usage:
    """What one command cost; ``cpu_complete`` is False if some descendant could not be waited for."""

    returncode: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cpu_seconds_sampled: float = 0.0
    cpu_complete: bool = True
    peak_rss_process_bytes: int = 0
    peak_rss_tree_bytes: int = 0
    peak_temp_bytes: int = 0
    other_cpu_seconds: float = 0.0
    processes_seen: int = 0
    samples: int = 0
    _cpu_by_pid: dict[int, float] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict:
        values = asdict(self)
        values.pop("_cpu_by_pid")
        return values


class _Sampler(threading.Thread):
    """Samples every descendant of this process (the command's tree, orphans included)."""

    def __init__(self, usage: Usage, temp_folders: tuple[Path, ...]) -> None:
        super().__init__(daemon=True)
        self.usage = usage
        self.temp_folders = temp_folders
        self.stop = threading.Event()

    def sample(self) -> None:
        sizes = []
        for proc in psutil.Process().children(recursive=True):
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
            except psutil.Error:  # ended between listing and reading
                continue
            sizes.append(rss)
            self.usage._cpu_by_pid[proc.pid] = times.user + times.system
        if sizes:
            self.usage.peak_rss_process_bytes = max(self.usage.peak_rss_process_bytes, max(sizes))
            self.usage.peak_rss_tree_bytes = max(self.usage.peak_rss_tree_bytes, sum(sizes))
        if self.temp_folders and self.usage.samples % DISK_EVERY == 0:
            self.usage.peak_temp_bytes = max(self.usage.peak_temp_bytes, folder_usage(*self.temp_folders)[1])
        self.usage.samples += 1

    def run(self) -> None:
        while not self.stop.wait(INTERVAL):
            self.sample()


def _reap_descendants() -> bool:
    """Wait for every remaining child (re-parented orphans); False if some outlive the deadline."""
    deadline = time.monotonic() + REAP_SECONDS
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            time.sleep(0.05)
    return False


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, every process) since boot."""
    times = psutil.cpu_times()
    return (
        times.user + times.nice + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
    )


def measure(command: list[str], log: Path, temp_folders: tuple[Path, ...] = (), **popen: object) -> Usage:
    """Run ``command`` to the end (output to ``log``) and return what it and its descendants used.

    Nothing else may run beside it: every descendant of this process is counted as the command's.
    """
    usage = Usage()
    sampler = _Sampler(usage, temp_folders)
    busy_before, self_before = _busy_seconds(), resource.getrusage(resource.RUSAGE_SELF)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]
        sampler.start()
        usage.returncode = proc.wait()
    usage.wall_seconds = time.perf_counter() - started
    usage.cpu_complete = _reap_descendants()
    sampler.stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    sampling = (self_after.ru_utime - self_before.ru_utime) + (self_after.ru_stime - self_before.ru_stime)
    usage.other_cpu_seconds = max(0.0, _busy_seconds() - busy_before - usage.cpu_seconds - sampling)
    usage.cpu_seconds_sampled = sum(usage._cpu_by_pid.values())
    usage.processes_seen = len(usage._cpu_by_pid)
    return usage
