"""Helpers to run audits from tests and compare their outputs byte for byte."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from pipeline.run import RunResult, run_audit
from schemas.config import load_config

EVERY_ENGINE = [
    "local",
    pytest.param("ray", marks=pytest.mark.slow),
    pytest.param("spark", marks=pytest.mark.slow),
]
"""Engine parameters for tests that must hold on all three; the distributed ones are slow."""


def audit(config: Path, out: Path, engine: str = "local", partitions: int = 2, **kwargs: object) -> RunResult:
    return run_audit(
        load_config(config), engine=engine, partitions=partitions, out_dir=out, progress=False, **kwargs
    )


def output_digests(run_dir: Path) -> dict[str, str]:
    """SHA-256 of every shard, quarantine, export and ledger file, by relative path."""
    return {
        path.relative_to(run_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in ("shards", "quarantine", "export", "ledger")
        for path in sorted((run_dir / folder).glob("*"))
    }


def demo_variant(folder: Path, **replacements: str) -> Path:
    """A copy of the demo's audit.yaml with text replaced, beside links to every other demo file."""
    demo = Path(__file__).resolve().parents[1] / "demo"
    for path in demo.iterdir():
        if path.name != "audit.yaml":
            (folder / path.name).symlink_to(path)
    text = (demo / "audit.yaml").read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    config = folder / "audit.yaml"
    config.write_text(text)
    return config


def write_seeded_corpus(folder: Path, seed: int, per_type: int) -> list:
    """The labelled personal-information set of ``benchmarks/pii_corpus.py`` (real sentences of the
    shared corpus with known identifiers and decoys) as source ``seeded``: ``seeded.jsonl`` and
    ``sources.yaml`` in ``folder``; the documents, so tests know every value inserted.

    The generator (and Faker) load on first call, not for every test that imports this module."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from pii_corpus import build  # benchmarks/ is not a package

    docs = build(seed=seed, per_type=per_type)
    with (folder / "seeded.jsonl").open("w", encoding="utf-8") as handle:
        for index, doc in enumerate(docs):
            handle.write(json.dumps({"id": f"d{index:04d}", "text": doc.text}, ensure_ascii=False) + "\n")
    (folder / "sources.yaml").write_text(
        "sources:\n  - {id: seeded, kind: open-dataset, license: CC0-1.0, jurisdiction: US, "
        f"collected_at: 2026-11-25, collection_record: benchmarks/pii_corpus.py seed {seed}}}\n"
    )
    return docs


SMALL_SOURCES = """sources:
  - id: forum
    kind: open-dataset
    license: CC0-1.0
    collection_record: NLTK corpora sample, copied for the tests
    jurisdiction: US
    collected_at: 2024-02-01
"""


DETECTORS = "[{name: quality.language}, {name: dedup.exact}]"
INPUTS = '[{source: forum, paths: ["data/*.jsonl"]}]'


def small_corpus(
    folder: Path,
    records: list[dict],
    *,
    detectors: str = DETECTORS,
    inputs: str = INPUTS,
    extra: str = "",
    sources: str = SMALL_SOURCES,
) -> Path:
    """A small audit of ``records`` (JSONL under ``data/``, source ``forum``) with one partition."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    with (folder / "data" / "part-0.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps({"id": record["id"], "text": record["text"]}) + "\n")
    (folder / "sources.yaml").write_text(sources)
    config = folder / "audit.yaml"
    config.write_text(
        f"name: hostile\nsources: sources.yaml\ninputs: {inputs}\ndetectors: {detectors}\n"
        f"engine: {{partitions: 1}}\n{extra}"
    )
    return config
