"""Reports state their limits: what did not run and what that means, a harmful share that rests on
the starter keywords alone, and a source whose terms forbid redistribution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO_CONFIG
from tests.runs import SMALL_SOURCES, audit, demo_variant, small_corpus

MARKDOWN_REPORTS = (
    "datasheet.md",
    "README.md",
    "eu_ai_act_summary.md",
    "tc260_assessment.en.md",
    "tc260_assessment.zh.md",
)
NO_NER = "no name or address recognition ran: personal names, addresses and organisations were not looked for"
NO_PII = "no personal-information detection ran"


@pytest.fixture(scope="module")
def keyword_only_run(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> Path:
    folder = tmp_path_factory.mktemp("limits")
    sources = SMALL_SOURCES + "    redistribution: forbidden\n"
    config = small_corpus(
        folder, nltk_records[:60], sources=sources,
        detectors="[{name: dedup.exact}, {name: harm, params: {classifier_models: false}}]",
    )  # fmt: skip
    return audit(config, folder / "run", partitions=1).run_dir


def test_every_report_says_what_did_not_run_and_what_that_means(keyword_only_run: Path) -> None:
    for name in MARKDOWN_REPORTS:
        text = (keyword_only_run / "reports" / name).read_text(encoding="utf-8")
        assert "| personal names and addresses (NER) | **no** |" in text, name
        assert NO_NER in text and NO_PII in text, name
        assert "| exact duplicates | yes |" in text and "| near duplicates | **no** |" in text, name
    croissant = json.loads((keyword_only_run / "reports" / "croissant.json").read_text())
    limits = " ".join(croissant["rai:dataLimitations"])
    assert f"Not checked: personal names and addresses (NER): {NO_NER}." in limits
    assert "Not checked: language identification" in limits


def test_a_share_from_the_starter_keywords_alone_is_labelled(keyword_only_run: Path) -> None:
    label = (
        "the starter keyword library 2026.11.0 shipped for the demo only, with no classifier: "
        "a low or 0% share says little about the corpus"
    )
    for name in ("datasheet.md", "tc260_assessment.en.md", "tc260_assessment.zh.md"):
        assert label in (keyword_only_run / "reports" / name).read_text(encoding="utf-8"), name
    croissant = json.loads((keyword_only_run / "reports" / "croissant.json").read_text())
    assert f"Harmful shares computed from {label}." in croissant["rai:dataLimitations"]


def test_a_source_that_forbids_redistribution_is_never_marked_publishable(keyword_only_run: Path) -> None:
    card = (keyword_only_run / "reports" / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---\n")[1])
    assert "not-for-redistribution" in header["tags"] and header["viewer"] is False
    assert "**Not for redistribution.**" in card
    croissant = json.loads((keyword_only_run / "reports" / "croissant.json").read_text())
    assert croissant["conditionsOfAccess"].startswith("Not for redistribution: the terms of forum")
    assert "**Not publishable as is.**" in (keyword_only_run / "reports" / "datasheet.md").read_text()


def test_without_the_conflict_nothing_is_withheld(tmp_path: Path) -> None:
    sources = (DEMO_CONFIG.parent / "sources.yaml").read_text()
    assert "redistribution: forbidden" in sources
    (tmp_path / "open-sources.yaml").write_text(
        sources.replace("redistribution: forbidden", "redistribution: allowed")
    )
    config = demo_variant(tmp_path, **{"sources: sources.yaml": "sources: open-sources.yaml"})
    reports = audit(config, tmp_path / "run").run_dir / "reports"
    card = (reports / "README.md").read_text()
    assert "not-for-redistribution" not in card and "viewer: false" not in card
    assert "conditionsOfAccess" not in json.loads((reports / "croissant.json").read_text())
    assert "Not publishable" not in (reports / "datasheet.md").read_text()
    assert "| personal names and addresses (NER) | yes |" in (reports / "datasheet.md").read_text()
    assert (
        "and the classifiers offensive_en, offensive_zh" in (reports / "tc260_assessment.en.md").read_text()
    )
