"""What resuming a killed run costs, against a full run, with and without annotate checkpoints.

Builds a plain JSONL copy of the shared NLTK corpus (15,235 documents, in a fixed random order) so
that ``limits.split_bytes`` cuts it into read tasks, then, per repeat: one uninterrupted run; and for
every ``--kill-at`` fraction, a run killed (SIGKILL to its whole process group) once its checkpoints
hold that share of the documents, resumed with the same command, and the same killed folder resumed
again with its checkpoints deleted (what a resume cost before checkpoints). Every run is
``python -m jobs.audit`` in a subprocess (the default detectors unless ``--detectors``), and every
resumed run must end with the uninterrupted run's ledger root. Prints medians of wall and CPU
seconds and the resumed/full ratios, the checkpoints' size against the input's, and the seconds
per stage of a full and a resumed run.

Run: ``.venv/bin/python benchmarks/resume_cost.py [--split-bytes 524288] [--repeats 3]
[--detectors quality.language dedup.exact ...]`` (default: the default detectors).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.write.checkpoints import CHECKPOINT_DIR, checkpointed_rows

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "corpora" / "nltk_mixed.jsonl.gz"
WIDTHS = (9, 5, 9, 6, 10, 16, 6)
SEED = 0
"""Documents are written in a fixed random order, so that a share of them is about that share of the work."""
STAGE_LINE = re.compile(r"\] ([^:]+): .*done in ([\d.]+) s")


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float
    stages: dict[str, float]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(config: Path, out: Path, partitions: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jobs.audit",
        str(config),
        "--out",
        str(out),
        "--partitions",
        str(partitions),
    ]


def _stages(stderr: str) -> dict[str, float]:
    """Seconds per stage label from the plain progress lines, summed over repeated labels."""
    seconds: dict[str, float] = {}
    for label, value in STAGE_LINE.findall(stderr):
        seconds[label] = seconds.get(label, 0.0) + float(value)
    return seconds


def _run(config: Path, out: Path, partitions: int) -> Timed:
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run(_command(config, out, partitions), cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"run into {out} failed:\n{done.stderr[-3000:]}")
    return Timed(wall, _cpu() - cpu, _stages(done.stderr))


def _kill_at(config: Path, out: Path, partitions: int, documents: int, fraction: float) -> float:
    """Start a run and kill it once checkpoints hold ``fraction`` of the documents; the share held."""
    process = subprocess.Popen(
        _command(config, out, partitions), cwd=REPO, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    held = 0
    while held < fraction * documents:
        if process.poll() is not None:
            raise SystemExit(f"the run into {out} ended before {fraction:.0%} of it was checkpointed")
        time.sleep(0.02)
        held = checkpointed_rows(out) if (out / CHECKPOINT_DIR).is_dir() else 0
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return checkpointed_rows(out) / documents


def _root(out: Path) -> str:
    return json.loads((out / "run.json").read_text())["ledger_merkle_root"]


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _corpus(work: Path, split_bytes: int, detectors: list[str]) -> tuple[Path, int]:
    data = work / "corpus" / "nltk_mixed.jsonl"
    data.parent.mkdir(parents=True)
    with gzip.open(CORPUS, "rb") as source:
        lines = source.read().splitlines(keepends=True)
    random.Random(SEED).shuffle(lines)  # the file ends with the long UDHR texts; spread the work
    data.write_bytes(b"".join(lines))
    config = work / "audit.yaml"
    config.write_text(
        f"name: resume-cost\nsources: {REPO / 'benchmarks' / 'nltk_sources.yaml'}\n"
        f"inputs:\n  - {{source: nltk, paths: ['{data}']}}\n"
        f"limits: {{split_bytes: {split_bytes}}}\noutput: {{shard_target_bytes: 1048576}}\n"
        + (f"detectors: [{', '.join(f'{{name: {name}}}' for name in detectors)}]\n" if detectors else "")
    )
    return config, data.stat().st_size


@dataclass
class Results:
    documents: int = 0
    tasks: int = 0
    input_bytes: int = 0
    full: list[Timed] = field(default_factory=list)
    resumed: dict[float, list[Timed]] = field(default_factory=dict)
    without: dict[float, list[Timed]] = field(default_factory=dict)
    held: dict[float, list[float]] = field(default_factory=dict)
    kept_bytes: list[int] = field(default_factory=list)


def measure(
    work: Path, split_bytes: int, partitions: int, repeats: int, kill_at: list[float], detectors: list[str]
) -> Results:
    config, input_bytes = _corpus(work, split_bytes, detectors)
    results = Results(input_bytes=input_bytes)
    for repeat in range(repeats):
        reference = work / f"full-{repeat}"
        results.full.append(_run(config, reference, partitions))
        record = json.loads((reference / "run.json").read_text())
        results.documents, results.tasks = record["counts"]["read"], record["units"]["tasks"]
        for fraction in kill_at:
            out, without = work / f"killed-{repeat}-{fraction}", work / f"without-{repeat}-{fraction}"
            results.held.setdefault(fraction, []).append(
                _kill_at(config, out, partitions, results.documents, fraction)
            )
            results.kept_bytes.append(_folder_bytes(out / CHECKPOINT_DIR))
            shutil.copytree(out, without, symlinks=True)
            shutil.rmtree(without / CHECKPOINT_DIR)
            results.resumed.setdefault(fraction, []).append(_run(config, out, partitions))
            results.without.setdefault(fraction, []).append(_run(config, without, partitions))
            if {_root(out), _root(without)} != {record["ledger_merkle_root"]}:
                raise SystemExit(f"a resumed run of repeat {repeat} ended with another ledger root")
            if (out / CHECKPOINT_DIR).exists():
                raise SystemExit(f"{out}: the finished run left its checkpoints behind")
            shutil.rmtree(out)
            shutil.rmtree(without)
        shutil.rmtree(reference)
    return results


def report(results: Results, split_bytes: int, partitions: int) -> None:
    median = statistics.median
    full_wall, full_cpu = median(t.wall for t in results.full), median(t.cpu for t in results.full)
    kept = max(results.kept_bytes)
    print(
        f"corpus: {results.documents} documents, {results.input_bytes / 1e6:.1f} MB of JSONL, "
        f"{results.tasks} read tasks (split_bytes {split_bytes}), {partitions} partitions, "
        f"{len(results.full)} repeat(s), medians"
    )
    print(
        f"checkpoints at the kill: at most {kept / 1e6:.2f} MB, {kept / results.input_bytes:.1%} of the input"
    )
    print(f"full run: {full_wall:.1f} s wall, {full_cpu:.1f} s CPU")
    heads = ("killed at", "held", "resumed s", "/ full", "CPU / full", "no checkpoints s", "/ full")
    print(" ".join(f"{head:>{width}}" for head, width in zip(heads, WIDTHS, strict=True)))
    for fraction, runs in results.resumed.items():
        wall, cpu = median(t.wall for t in runs), median(t.cpu for t in runs)
        bare = median(t.wall for t in results.without[fraction])
        print(
            f"{fraction:>9.0%} {median(results.held[fraction]):>5.0%} {wall:>9.1f} {wall / full_wall:>6.2f} "
            f"{cpu / full_cpu:>10.2f} {bare:>16.1f} {bare / full_wall:>6.2f}"
        )
    fraction, resumed = next(iter(results.resumed.items()))
    print(f"seconds per stage (median): full run, resumed after a kill at {fraction:.0%}")
    rows = {label: (median(t.stages.get(label, 0.0) for t in results.full),
                    median(t.stages.get(label, 0.0) for t in resumed))
            for t in results.full + resumed for label in t.stages}  # fmt: skip
    rows["outside stages"] = tuple(  # start-up, planning, the run record and the reports
        median(t.wall - sum(t.stages.values()) for t in runs) for runs in (results.full, resumed)
    )
    for label, (full, again) in sorted(rows.items(), key=lambda item: -item[1][0]):
        if max(full, again) >= 0.1:
            print(f"  {label:<24} {full:6.1f} {again:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split-bytes", type=int, default=512 << 10, help="input bytes per read task")
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kill-at", type=float, nargs="+", default=[0.9, 1.0], help="checkpointed shares")
    parser.add_argument("--detectors", nargs="+", default=[], help="detector names (default: the defaults)")
    args = parser.parse_args()
    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} not found; it comes with ../shared/data beside the repo")
    with tempfile.TemporaryDirectory(prefix="resume-cost-") as scratch:
        results = measure(
            Path(scratch), args.split_bytes, args.partitions, args.repeats, args.kill_at, args.detectors
        )
    report(results, args.split_bytes, args.partitions)


if __name__ == "__main__":
    main()
