"""Config, source manifest and policy validation: one clear error naming file, field and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import load_config
from schemas.loading import ConfigError

SOURCES = """
sources:
  - id: forum
    kind: web-crawl
    license: CC-BY-SA-4.0
    collection_record: crawl job 2026-03, robots.txt honoured
    jurisdiction: US
    collected_at: 2026-03-01
"""
AUDIT = """
sources: sources.yaml
inputs:
  - source: forum
    paths: [data.jsonl]
"""


def _write(tmp_path: Path, audit: str = AUDIT, sources: str = SOURCES) -> Path:
    (tmp_path / "sources.yaml").write_text(sources)
    (tmp_path / "audit.yaml").write_text(audit)
    return tmp_path / "audit.yaml"


def test_valid_config_loads_with_default_policy_and_detectors(tmp_path: Path) -> None:
    loaded = load_config(_write(tmp_path))
    names = [d.name for d in loaded.audit.detectors]
    assert names == ["quality.language", "dedup.exact", "dedup.minhash", "pii", "provenance"]
    assert loaded.policy_path.name == "policy.yaml" and loaded.policy.rules
    assert loaded.resolve("data.jsonl") == tmp_path.resolve() / "data.jsonl"


@pytest.mark.parametrize(
    ("audit", "sources", "expected"),
    [
        (
            AUDIT.replace("source: forum", "source: blog"),
            SOURCES,
            r"audit\.yaml: inputs\[0\]\.source: 'blog' is not declared",
        ),
        (
            AUDIT + "output: {shard_target_bytes: 0}\n",
            SOURCES,
            r"audit\.yaml: output\.shard_target_bytes: .*greater than 0",
        ),
        (
            AUDIT + "engine: {name: flink}\n",
            SOURCES,
            r"audit\.yaml: engine\.name: Input should be 'local', 'ray' or 'spark'",
        ),
        (AUDIT + "outptu: {}\n", SOURCES, r"audit\.yaml: outptu: Extra inputs are not permitted"),
        (
            AUDIT,
            SOURCES.replace("web-crawl", "scraped"),
            r"sources\.yaml: sources\[0\] \(forum\)\.kind: Input should be",
        ),
        (
            AUDIT,
            SOURCES.replace("CC-BY-SA-4.0", "CC-BY-SA-4.0 AND"),
            r"sources\.yaml: sources\[0\] \(forum\)\.license: .*SPDX",
        ),
        (
            AUDIT,
            SOURCES.replace("CC-BY-SA-4.0", "Made-Up-1.0"),
            r"sources\.yaml: sources\[0\] \(forum\)\.license: .*Made-Up-1\.0",
        ),
        (
            AUDIT,
            SOURCES.replace("2026-03-01", "last spring"),
            r"sources\.yaml: sources\[0\] \(forum\)\.collected_at: ",
        ),
        (
            AUDIT,
            SOURCES.replace("    collection_record: crawl job 2026-03, robots.txt honoured\n", ""),
            r"sources\.yaml: sources\[0\] \(forum\): .*collection_record or a contract",
        ),
        (
            AUDIT,
            SOURCES.replace("web-crawl", "commercial"),
            r"sources\.yaml: sources\[0\] \(forum\): .*contract reference",
        ),
        ("inputs: [\n", SOURCES, r"audit\.yaml: line \d+, column \d+: not valid YAML"),
    ],
)
def test_invalid_config_names_file_field_and_problem(
    tmp_path: Path, audit: str, sources: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(tmp_path, audit, sources))


def test_invalid_policy_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(
        "rules:\n  - id: x\n    when: 'a +'\n    action: drop\n    reason: r\n"
    )
    with pytest.raises(ConfigError, match=r"policy\.yaml: rules\[0\] \(x\)\.when: .*cannot parse expression"):
        load_config(_write(tmp_path, AUDIT + "policy: policy.yaml\n"))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")
