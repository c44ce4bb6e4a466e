"""Helpers to run audits from tests and compare their outputs byte for byte."""

from __future__ import annotations

import hashlib
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
