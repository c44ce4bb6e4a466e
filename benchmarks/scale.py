"""corpusaudit against datatrove on real-text corpora of 15K, 60K and 240K documents.

Per size (``scale_corpus.py``: NLTK, COLD and Davidson texts with 10% near-duplicate copies, cached
under ``~/.cache/corpusaudit-bench/``) three runs, interleaved size by size, each a subprocess on
the same number of workers:

* ``corpusaudit subset``: ``corpusaudit run`` with the detectors datatrove has an equivalent of:
  ``quality.language``, ``dedup.exact``, ``dedup.minhash``, ``pii``;
* ``datatrove``: ``scale_datatrove.py`` in datatrove's own venv (``datatrove_env.py``): JsonlReader,
  LanguageFilter (lid.176, the same model file), exact dedup, MinHash dedup (signature, buckets,
  cluster, filter; the same band split as corpusaudit's defaults), PIIFormatter, JsonlWriter;
* ``corpusaudit full``: ``corpusaudit run`` with the default detectors (adds ``provenance``).

The work is not identical, and the table says what each run did rather than hiding it: corpusaudit
also writes a ledger row per document, Parquet shards, a signature index, run.json, the seal and
the reports on every run, and its ``pii`` is Presidio with about 20 entity types where datatrove's
PIIFormatter replaces e-mail and IP addresses by regex. datatrove shingles every document with
spaCy's English tokenizer, which cuts unspaced Chinese only at punctuation, so its 5-grams are five
clauses and one edited character changes them (on the 3,000-document corpus it found 53 of the 147
near-duplicate pairs of Chinese texts and all 153 others); corpusaudit uses character 5-grams
there. The "dups out" column shows what each removed as a duplicate (the corpus holds ``copies``
true near duplicates, and a few more among the originals' threads).

Measured per run (``scale_measure.py``): wall seconds, documents/s, CPU seconds of the whole
process tree, peak RSS of the largest process and of the tree, peak temp bytes (corpusaudit's
``RUN_DIR/_work``, datatrove's working folders), and the output files and bytes (corpusaudit: the
run folder; datatrove: its output folder), and "others s", the CPU seconds the rest of the machine
used meanwhile: on a shared machine wall times move with it, CPU seconds much less. Ratios are
corpusaudit / datatrove. One run per tool and
size, after one untimed warm-up run of each tool on 1,000 documents (``--no-warmup`` skips it):
expect a few percent of noise, more at small sizes where start-up dominates.

Run: ``.venv/bin/python benchmarks/scale.py --setup`` once (creates datatrove's venv), then
``.venv/bin/python benchmarks/scale.py [--sizes 15000,60000,240000] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import datatrove_env  # beside this script: benchmarks/ is not a package
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scale_corpus
from scale_measure import become_subreaper, folder_usage, measure

from detectors.dedup.minhash import MinHashParams, lsh_bands
from detectors.quality.language import bundled_model_path

HERE = Path(__file__).resolve().parent
RUNS = datatrove_env.CACHE / "runs"
SUBSET = ("quality.language", "dedup.exact", "dedup.minhash", "pii")
DUP_RULES = ("exact-duplicate", "near-duplicate")
SETUP = ".venv/bin/python benchmarks/scale.py --setup"
SOURCES = """\
sources:
  - id: bench
    kind: open-dataset
    license: LicenseRef-Scale-Bench
    collection_record: >-
      benchmarks/scale_corpus.py over ../shared/data: NLTK data packages, COLD (Apache-2.0),
      Davidson et al. 2017 (MIT)
    jurisdiction: US
    collected_at: 2026-12-01
"""
MiB = 1024 * 1024
WARMUP_SIZE = 1000


def corpusaudit_config(folder: Path, corpus: Path, variant: str, workers: int) -> Path:
    """An audit.yaml over the corpus shards: the subset's four detectors, or the defaults."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    detectors = "".join(f"  - {{name: {name}}}\n" for name in SUBSET) if variant == "subset" else None
    config = (
        f"name: scale-{variant}\nsources: sources.yaml\n"
        f"inputs:\n  - {{source: bench, paths: [{json.dumps(str(corpus / '*.jsonl'))}]}}\n"
        f"engine: {{name: local, partitions: {workers}}}\n"
        + (f"detectors:\n{detectors}" if detectors else "")
    )
    path = folder / f"audit-{variant}.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def run_corpusaudit(corpus: Path, variant: str, size: int, workers: int, keep: bool) -> dict:
    """``corpusaudit run`` into a fresh folder (never a resume); its usage and what it wrote."""
    scratch = RUNS / f"corpusaudit-{variant}-{size}"
    shutil.rmtree(scratch, ignore_errors=True)
    config = corpusaudit_config(scratch, corpus, variant, workers)
    run_dir = scratch / "run"
    command = [
        str(Path(sys.executable).parent / "corpusaudit"),
        "run",
        str(config),
        "--out",
        str(run_dir),
        "-q",
    ]
    usage = measure(command, scratch / "log.txt", (run_dir / "_work",))
    result = {"command": command, "log": str(scratch / "log.txt"), **usage.as_dict()}
    if usage.returncode == 0:
        record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        rules = pc.value_counts(pq.read_table(run_dir / "ledger", columns=["rule_id"]).column("rule_id"))
        by_rule = {item["values"].as_py(): item["counts"].as_py() for item in rules}
        files, size_bytes = folder_usage(run_dir)
        result |= {
            "docs_in": record["counts"]["read"],
            "docs_out": record["counts"]["kept"] + record["counts"]["redacted"],
            "dups_removed": sum(by_rule.get(rule, 0) for rule in DUP_RULES),
            "counts": record["counts"],
            "output_files": files,
            "output_bytes": size_bytes,
        }
    if not keep and usage.returncode == 0:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def datatrove_counts(work: Path) -> dict:
    """Documents read, written and dropped by the two dedup filters, from the last stage's stats.

    ``stats.json`` lists the steps in pipeline order: reader, language, exact filter, MinHash
    filter, PII, writer (``scale_datatrove.py``).
    """
    steps = json.loads((work / "logs" / "filter_write" / "stats.json").read_text(encoding="utf-8"))
    return {
        "docs_in": steps[0]["stats"]["documents"]["total"],
        "docs_out": steps[5]["stats"]["total"],
        "dups_removed": sum(steps[index]["stats"].get("dropped", 0) for index in (2, 3)),
    }


def run_datatrove(python: Path, corpus: Path, size: int, workers: int, keep: bool) -> dict:
    """The datatrove pipeline in its venv into fresh folders; its usage and what it wrote."""
    scratch = RUNS / f"datatrove-{size}"
    shutil.rmtree(scratch, ignore_errors=True)  # datatrove skips tasks its logs mark completed
    scratch.mkdir(parents=True)
    work, output = scratch / "work", scratch / "output"
    bands, rows = lsh_bands(
        MinHashParams().band_threshold or MinHashParams().threshold, MinHashParams().num_perm
    )
    command = [
        str(python), str(HERE / "scale_datatrove.py"), str(corpus), str(work), str(output),
        "--model", str(bundled_model_path()), "--workers", str(workers),
        "--tasks", str(scale_corpus.SHARDS), "--buckets", str(bands), "--rows", str(rows),
        "--ngram", str(MinHashParams().ngram),
    ]  # fmt: skip
    env = {**os.environ, "HF_ASSETS_CACHE": str(datatrove_env.CACHE / "hf-assets"), "HF_HUB_OFFLINE": "1"}
    usage = measure(command, scratch / "log.txt", (work,), env=env)
    result = {"command": command, "log": str(scratch / "log.txt"), **usage.as_dict()}
    if usage.returncode == 0:
        files, size_bytes = folder_usage(output)
        result |= {**datatrove_counts(work), "output_files": files, "output_bytes": size_bytes}
        result["temp_bytes_left"] = folder_usage(work)[1]
    if not keep and usage.returncode == 0:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def ratios(ours: dict, theirs: dict) -> dict:
    """corpusaudit / datatrove: docs/s above 1 means corpusaudit is faster, CPU s above 1 costlier."""
    if ours["returncode"] or theirs["returncode"]:
        return {}
    return {
        "docs_per_second": ours["docs_per_second"] / theirs["docs_per_second"],
        "cpu_seconds": ours["cpu_seconds"] / theirs["cpu_seconds"],
        "peak_rss_tree": ours["peak_rss_tree_bytes"] / theirs["peak_rss_tree_bytes"],
    }


def table(size: int, corpus: dict, runs: dict[str, dict], ratio: dict[str, dict], workers: int) -> str:
    """One size's runs and ratios as fixed-width text."""
    lines = [
        f"{size:,} documents ({corpus['originals']:,} originals + {corpus['copies']:,} near-dup copies, "
        f"{corpus['text_bytes'] / MiB:.1f} MiB of text), {workers} workers",
        f"{'run':<20}{'wall s':>8}{'docs/s':>8}{'CPU s':>8}{'RSS proc':>10}{'RSS tree':>10}"
        f"{'temp peak':>10}{'out files':>10}{'out MiB':>9}{'docs out':>9}{'dups out':>9}{'others s':>9}",
    ]
    for name, run in runs.items():
        if run["returncode"]:
            lines.append(f"{name:<20}failed with exit code {run['returncode']}; see {run['log']}")
            continue
        lines.append(
            f"{name:<20}{run['wall_seconds']:8.1f}{run['docs_per_second']:8.0f}{run['cpu_seconds']:8.1f}"
            f"{run['peak_rss_process_bytes'] / MiB:9.0f}M{run['peak_rss_tree_bytes'] / MiB:9.0f}M"
            f"{run['peak_temp_bytes'] / MiB:9.1f}M{run['output_files']:10d}{run['output_bytes'] / MiB:9.1f}"
            f"{run['docs_out']:9d}{run['dups_removed']:9d}{run['other_cpu_seconds']:9.1f}"
            + ("" if run["cpu_complete"] else "  (CPU incomplete: a process outlived the reap deadline)")
        )
    for name, values in ratio.items():
        if values:
            lines.append(
                f"{name}: docs/s {values['docs_per_second']:.2f}x, CPU s {values['cpu_seconds']:.2f}x, "
                f"RSS tree {values['peak_rss_tree']:.2f}x"
            )
    return "\n".join(lines)


def bench_size(python: Path, size: int, args: argparse.Namespace) -> dict:
    """The three runs of one size, in the order corpusaudit subset, datatrove, corpusaudit full."""
    corpus, counts = scale_corpus.cached(size, args.seed)
    runs = {
        "corpusaudit subset": run_corpusaudit(corpus, "subset", size, args.workers, args.keep),
        "datatrove": run_datatrove(python, corpus, size, args.workers, args.keep),
        "corpusaudit full": run_corpusaudit(corpus, "full", size, args.workers, args.keep),
    }
    for run in runs.values():
        run["docs_per_second"] = size / run["wall_seconds"]
    ratio = {
        f"{name} / datatrove": ratios(runs[name], runs["datatrove"])
        for name in ("corpusaudit subset", "corpusaudit full")
    }
    print(table(size, counts, runs, ratio, args.workers), flush=True)
    print(flush=True)
    return {"size": size, "corpus": {**counts, "folder": str(corpus)}, "runs": runs, "ratios": ratio}


def warm_up(python: Path, args: argparse.Namespace) -> None:
    """One untimed run of each tool on a small corpus first, so the first timed run does not pay
    for cold file caches (interpreters, imports, models) that the later runs would not."""
    corpus, _ = scale_corpus.cached(WARMUP_SIZE, args.seed)
    seconds = {
        "corpusaudit": run_corpusaudit(corpus, "subset", WARMUP_SIZE, args.workers, False)["wall_seconds"],
        "datatrove": run_datatrove(python, corpus, WARMUP_SIZE, args.workers, False)["wall_seconds"],
    }
    print(
        f"warm-up on {WARMUP_SIZE:,} documents, not reported: "
        + ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())
        + "\n",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setup", action="store_true", help="create datatrove's venv, then exit")
    parser.add_argument("--sizes", default="15000,60000,240000", help="comma-separated document counts")
    parser.add_argument("--workers", type=int, default=2, help="corpusaudit partitions, datatrove workers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up runs")
    parser.add_argument("--keep", action="store_true", help=f"keep run folders under {RUNS}")
    args = parser.parse_args()
    if args.setup:
        print(datatrove_env.create())
        return
    python = datatrove_env.require(SETUP)
    sizes = [int(size) for size in args.sizes.split(",")]
    subreaper = become_subreaper()
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "settings": {
            "workers": args.workers,
            "seed": args.seed,
            "shards": scale_corpus.SHARDS,
            "corpusaudit_subset": list(SUBSET),
            "datatrove": list(datatrove_env.REQUIREMENTS),
            "cpu_of_orphans_counted": subreaper,
        },
        "sizes": [],
    }
    if not subreaper:
        print("not Linux: CPU seconds miss processes their parent never waited for", file=sys.stderr)
    if not args.no_warmup:
        warm_up(python, args)
    for size in sizes:
        results["sizes"].append(bench_size(python, size, args))
        if args.json:  # after every size, so a long run keeps what it measured
            args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
