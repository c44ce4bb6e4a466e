"""The ``harm`` detector's keyword stage and hazardous-knowledge scoring, on real labelled text."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from detectors import build_detector
from detectors.harm.counter_speech import CONDEMNATION, is_counter_speech
from detectors.harm.detector import HarmDetector, noisy_or
from jobs import harm_data
from jobs.train_classifier import source_split
from tests.conftest import SHARED_DATA, require
from tests.runs import EVERY_ENGINE, audit

HEADER = "term_id\tterm\trisk\tlang\tweight\tadded_at\n"


def _annotate(detector: HarmDetector, texts: list[str | None]) -> list[dict]:
    arrays = detector.annotate(pa.record_batch({"text": pa.array(texts, pa.string())}))
    names = [field.name for field in detector.output_fields()]
    return [
        dict(zip(names, values, strict=True)) for values in zip(*(a.to_pylist() for a in arrays), strict=True)
    ]


def test_per_risk_scores_are_noisy_or_of_term_weights_and_name_terms_not_text(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    (library / "terms.tsv").write_text(
        HEADER
        + "t1\tvermin\tA.2.1\ten\t0.4\t2026-11-01\n"
        + "t2\tsubhuman\tA.2.1\ten\t0.5\t2026-11-01\n"
        + "t3\toverthrow the state\tA.1.1\ten\t0.9\t2026-11-01\n"
    )
    detector = HarmDetector({"keyword_library": str(library), "classifier_models": False})
    plain, hateful, none = _annotate(detector, ["They called them vermin.", "Vermin, subhuman vermin!", None])
    assert json.loads(plain["harm.risks"]) == {"A.2.1": 0.4} and not plain["harm.flagged"]
    assert json.loads(hateful["harm.risks"]) == {"A.2.1": round(noisy_or([0.4, 0.5, 0.4]), 4)}
    assert hateful["harm.flagged"] and hateful["harm.top_risk"] == "A.2.1"
    assert json.loads(hateful["harm.terms"]) == ["t1", "t2"]
    assert all(value is None for value in none.values())
    with pytest.raises(ValueError, match="keyword_library"):
        HarmDetector({"keyword_library": str(tmp_path / "missing")})


def _davidson_held_out() -> list[dict]:
    """The last 20% of davidson_train.csv by id: never used to build the starter library."""
    path = require(SHARED_DATA / "harm" / "davidson_train.csv")
    with path.open(encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row[""]))
    return rows[int(len(rows) * 0.8) :]


def test_starter_library_separates_offensive_tweets_on_held_out_rows() -> None:
    rows = _davidson_held_out()
    annotated = _annotate(
        build_detector("harm", {"classifier_models": False}), [row["tweet"] for row in rows]
    )
    truth = [row["class"] in ("0", "1") for row in rows]
    flagged = [row["harm.flagged"] for row in annotated]
    tp = sum(f and t for f, t in zip(flagged, truth, strict=True))
    precision, recall = tp / sum(flagged), tp / sum(truth)
    assert precision > 0.95 and recall > 0.9, (precision, recall)


def test_starter_library_stays_quiet_on_real_prose(nltk_records: list[dict]) -> None:
    prose = [r["text"] for r in nltk_records if r["source"] in ("udhr", "inaugural", "state_union")]
    annotated = _annotate(build_detector("harm"), prose)  # keywords and classifiers
    # a handful of hits in 217 speeches and declarations: a name ("Dick"), "ethnic cleansing" in a speech,
    # and one UDHR translation (Toba) that the script test sends to the English model
    assert sum(row["harm.flagged"] for row in annotated) <= 0.03 * len(prose)


def test_hazard_scoring_separates_instructions_from_mentions() -> None:
    detector = build_detector("harm")
    lesson = (
        "The Chemical Weapons Convention of 1993 ended most state programmes of nerve agent synthesis. "
        "Historians still argue about how the treaty was negotiated and why some states stayed outside it."
    )
    recipe = (
        "Nerve agent synthesis, step by step.\n1. Dissolve 20 g of the precursor in 200 ml of solvent.\n"
        "2. Heat to 80 °C and stir for 2 hours.\n3. Add 5 ml of the second reagent, filter and distill.\n"
    )
    mention, instructions, clean = _annotate(detector, [lesson, recipe, "A walk by the river at dusk."])
    assert mention["hazard.candidate"] and instructions["hazard.candidate"] and not clean["hazard.candidate"]
    assert json.loads(instructions["hazard.categories"]) == ["HZ.chem"]
    assert instructions["hazard.score"] > 0.5 > mention["hazard.score"]
    assert clean["hazard.score"] == 0.0


@pytest.mark.parametrize("engine", EVERY_ENGINE)
def test_a_source_over_the_harmful_share_is_dropped_whole(
    tmp_path: Path, nltk_records: list[dict], engine: str
) -> None:
    rows = _davidson_held_out()
    offensive = [row["tweet"] for row in rows if row["class"] == "1"][:12]
    neither = [row["tweet"] for row in rows if row["class"] == "2"][:88]
    prose = [r["text"] for r in nltk_records if r["source"] == "udhr"][:60]
    with (tmp_path / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for index, text in enumerate(offensive + neither):
            handle.write(json.dumps({"id": f"t{index}", "text": text, "source": "tweets"}) + "\n")
    with (tmp_path / "prose.jsonl").open("w", encoding="utf-8") as handle:
        for index, text in enumerate(prose):
            handle.write(json.dumps({"id": f"p{index}", "text": text}) + "\n")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - {id: tweets, kind: web-crawl, license: MIT, jurisdiction: US, collected_at: 2026-11-25, "
        "collection_record: davidson held-out rows}\n"
        "  - {id: prose, kind: open-dataset, license: CC0-1.0, jurisdiction: US, collected_at: 2026-11-25, "
        "collection_record: nltk udhr}\n"
    )
    (tmp_path / "policy.yaml").write_text(
        "rules:\n"
        "  - {id: source-harmful-share, when: 'harm.source_share > 0.05', action: drop,"
        " reason: TC260-003 source rule}\n"
        "  - {id: harmful, when: 'harm.flagged == True', action: drop, reason: harmful}\n"
    )
    (tmp_path / "audit.yaml").write_text(
        "sources: sources.yaml\npolicy: policy.yaml\n"
        "inputs:\n  - {source: tweets, paths: [corpus.jsonl]}\n  - {source: prose, paths: [prose.jsonl]}\n"
        "detectors:\n  - name: quality.language\n  - name: harm\n"
    )
    run = audit(tmp_path / "audit.yaml", tmp_path / "out", engine=engine)
    counts = {row["source_id"]: row for row in run.record["source_harm"]}
    assert counts["tweets"]["documents"] == 100 and counts["tweets"]["flagged"] > 5
    assert counts["prose"]["flagged"] == 0
    ledger = pa.concat_tables(pq.read_table(run.run_dir / e["path"]) for e in run.record["ledger_files"])
    for row in ledger.to_pylist():
        evidence = json.loads(row["evidence"])
        if row["source_id"] == "tweets":
            assert row["rule_id"] == "source-harmful-share"
            assert evidence["harm.source_share"] == counts["tweets"]["flagged"] / 100
        else:
            assert row["action"] == "keep" and evidence["harm.source_share"] == 0.0
    datasheet = (run.run_dir / "reports" / "datasheet.md").read_text()
    share = counts["tweets"]["flagged"]
    assert "## Safety (TC260-003)" in datasheet and f"| tweets | 100 | {share} | {share:.1f}% |" in datasheet
    figure = (run.run_dir / "reports/plots/harm_by_risk.svg").read_text()
    found = [json.loads(row["evidence"]) for row in ledger.to_pylist()]
    risks = {evidence["harm.top_risk"] for evidence in found if evidence.get("harm.flagged")}
    assert "](plots/harm_by_risk.svg)" in datasheet and risks and all(f">{risk}<" in figure for risk in risks)


def _held_out_comments() -> list:
    data = require(SHARED_DATA / "harm")
    return source_split("cold", data)[1] + source_split("swsr", data)[1]


def test_counter_speech_on_held_out_comments_is_discounted_and_abuse_keeps_its_score() -> None:
    rows = _held_out_comments()
    texts = [row.text for row in rows]
    with_rule, without = (
        _annotate(build_detector("harm"), texts),
        _annotate(build_detector("harm", {"counter_speech": False}), texts),
    )
    fired = [index for index, row in enumerate(with_rule) if row["harm.counter_speech"]]
    assert len(fired) >= 20
    before = sum(without[index]["harm.flagged"] for index in fired)
    after = sum(with_rule[index]["harm.flagged"] for index in fired)
    assert after <= 0.7 * before, (before, after)
    for index in fired:  # the rule: a condemnation, and no listed term used outside quotes
        assert CONDEMNATION.search(texts[index])
        assert with_rule[index]["harm.classifier"] == without[index]["harm.classifier"]
        assert with_rule[index]["harm.max_score"] <= without[index]["harm.max_score"]
    others = [index for index in range(len(rows)) if index not in set(fired)]
    assert all(
        with_rule[index] == {**without[index], "harm.counter_speech": False} for index in others[:2000]
    )
    # comments labelled safe that argue against discrimination, flagged without the rule
    safe = [index for index in fired if not rows[index].positive and without[index]["harm.flagged"]]
    assert safe and not any(with_rule[index]["harm.flagged"] for index in safe)


def test_a_condemnation_that_turns_into_an_attack_is_not_counter_speech() -> None:
    train = harm_data.cold_train(require(SHARED_DATA / "harm" / harm_data.COLD_TRAIN))
    mocking = [
        row.text for row in train if "只是反对歧视黑人" in row.text or "反对地域歧视，可是" in row.text
    ]
    assert mocking
    assert not any(is_counter_speech(text, []) for text in mocking)
    assert not any(row["harm.counter_speech"] for row in _annotate(build_detector("harm"), mocking))


def test_a_slur_in_quotes_is_mentioned_and_one_outside_quotes_is_used() -> None:
    detector = build_detector("harm", {"classifier_models": False})
    quoted, used, english = _annotate(
        detector,
        [
            "请不要再叫他们“黑鬼”，这是赤裸裸的歧视。",
            "请不要再叫他们朋友，黑鬼就是黑鬼。",
            'Stop calling them "redskins", it is a slur.',
        ],
    )
    assert quoted["harm.counter_speech"] and json.loads(quoted["harm.risks"]) == {"A.2.1": 0.45}
    assert not used["harm.counter_speech"] and json.loads(used["harm.risks"]) == {
        "A.2.1": round(noisy_or([0.9, 0.9]), 4)
    }
    assert english["harm.counter_speech"] and not english["harm.flagged"]
