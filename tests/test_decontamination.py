"""Benchmark decontamination on the real GSM8K and HumanEval files: copies of items in every copy
style are found and named, clean text and unindexed items of the same benchmarks are not, the
benchmark formats load alike, paths resolve against the config, and a run drops a planted document
and counts it in the datasheet."""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from detectors import build_detector
from detectors.decontamination.columns import BENCHMARKS, ITEM_IDS, ITEMS, OVERLAP
from detectors.decontamination.detector import DecontaminationDetector, DecontaminationParams
from detectors.decontamination.items import read_benchmark_file
from detectors.decontamination.tokens import tokens
from pipeline.annotate.detectors import build_detectors
from pipeline.record.ledger import read_ledger
from schemas.config import load_config
from schemas.loading import ConfigError
from tests.conftest import REPO, SHARED_DATA, require
from tests.runs import audit, small_corpus

sys.path.insert(0, str(REPO / "benchmarks"))
import decontamination_corpus as corpus

GSM8K = SHARED_DATA / "benchmarks" / "gsm8k_test.jsonl"
HUMANEVAL = SHARED_DATA / "benchmarks" / "humaneval.jsonl.gz"
SEED = 11
NUMBER = re.compile(r"\d+")
SAMPLE = 60  # indexed items of each benchmark copied in every style


def real_benchmarks() -> list[dict]:
    return [
        {"name": "gsm8k", "paths": [str(require(GSM8K))], "fields": ["question"]},
        {"name": "humaneval", "paths": [str(require(HUMANEVAL))], "fields": ["prompt"]},
    ]


def annotate(detector: DecontaminationDetector, texts: list[str | None]) -> list[dict]:
    batch = pa.record_batch([pa.array(texts, pa.string())], names=["text"])
    columns = [a.to_pylist() for a in detector.annotate(batch)]
    names = [f.name for f in detector.output_fields()]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


@pytest.fixture(scope="module")
def split() -> corpus.Split:
    require(GSM8K), require(HUMANEVAL)
    return corpus.split(SEED)


@pytest.fixture(scope="module")
def indexed(split: corpus.Split, tmp_path_factory: pytest.TempPathFactory) -> DecontaminationDetector:
    """GSM8K (a third, plain and another third as multiple choice) and half of HumanEval indexed."""
    specs = corpus.write_benchmarks(split.records, tmp_path_factory.mktemp("bench"))
    return DecontaminationDetector({"benchmarks": specs})


@pytest.fixture(scope="module")
def nltk_texts() -> list[str]:
    require(corpus.NLTK)
    return corpus.nltk_texts()


def test_every_copy_style_of_real_items_is_found_and_names_the_item(
    split: corpus.Split, indexed: DecontaminationDetector, nltk_texts: list[str]
) -> None:
    rng = random.Random(SEED)
    sample = {name: rng.sample(items, SAMPLE) for name, items in split.indexed.items()}
    docs = corpus.contaminated(sample, corpus.surrounding_texts(nltk_texts), SEED)
    rows = annotate(indexed, [d.text for d in docs])
    found: dict[str, list[bool]] = {}
    for doc, row in zip(docs, rows, strict=True):
        found.setdefault(doc.style, []).append(doc.item_id in json.loads(row[ITEM_IDS] or "[]"))
    assert set(found) == set(corpus.STYLES) | set(corpus.CHOICE_STYLES)
    recall = {style: sum(hits) / len(hits) for style, hits in found.items()}
    assert min(recall.values()) >= 0.95, recall
    whole = [row for doc, row in zip(docs, rows, strict=True) if doc.style in {"uppercase", "full_width"}]
    assert all(row[OVERLAP] == 1.0 for row in whole)


def test_clean_text_and_unindexed_items_of_the_same_benchmarks_are_not_flagged(
    split: corpus.Split, indexed: DecontaminationDetector, nltk_texts: list[str]
) -> None:
    clean = annotate(indexed, nltk_texts[:4000])
    assert sum(row[BENCHMARKS] is not None for row in clean) == 0
    held_out = annotate(indexed, [item.text for item in split.held_out])
    flagged = [row for row in held_out if row[BENCHMARKS] is not None]
    assert len(held_out) > 900 and len(flagged) <= 0.01 * len(held_out)
    assert sum(row[OVERLAP] > 0 for row in held_out) >= 10  # some share 8-grams with indexed items


def test_a_sentence_sharing_a_phrase_with_an_item_is_not_flagged(nltk_texts: list[str]) -> None:
    detector = DecontaminationDetector({"benchmarks": real_benchmarks()})
    question = json.loads(GSM8K.read_text(encoding="utf-8").splitlines()[0])["question"]
    phrase = " ".join(question.split()[8:20])  # 12 words of the item, more than one 8-gram
    host = next(t for t in nltk_texts if len(t.split()) > 60)
    (row,) = annotate(detector, [f"{host[:200]} {phrase} {host[200:400]}"])
    assert row[BENCHMARKS] is None and row[ITEMS] == 0
    assert 0 < row[OVERLAP] < detector.params.min_overlap
    (whole,) = annotate(detector, [f"{host[:200]} {question} {host[200:400]}"])
    assert json.loads(whole[ITEM_IDS]) == ["gsm8k:0"]


def test_templated_variants_are_told_apart_by_what_differs(tmp_path: Path) -> None:
    """GSM8K questions with their numbers changed (as GSM-Symbolic does): the shared wording is a
    template of the benchmark, so a new variant is not flagged while a copied one is."""
    questions = [json.loads(line)["question"] for line in require(GSM8K).read_text().splitlines()[:3]]
    rng = random.Random(SEED)
    variants = [NUMBER.sub(lambda m: str(rng.randint(100, 999)), q) for q in questions for _ in range(8)]
    path = tmp_path / "variants.jsonl"
    path.write_text("".join(json.dumps({"q": v}) + "\n" for v in variants))
    detector = DecontaminationDetector(
        {"benchmarks": [{"name": "sym", "paths": [str(path)], "fields": ["q"]}]}
    )
    assert detector.describe()["index"]["template_ngrams_left_out"] > 10
    fresh = NUMBER.sub(lambda m: str(rng.randint(1000, 9999)), questions[1])
    copied, new = annotate(detector, [variants[9], fresh])
    assert "sym:9" in json.loads(copied[ITEM_IDS])
    assert new[BENCHMARKS] is None


def test_evidence_fields_for_matched_clean_and_missing_documents() -> None:
    detector = DecontaminationDetector({"benchmarks": real_benchmarks()})
    gsm = [json.loads(line)["question"] for line in GSM8K.read_text().splitlines()[:3]]
    with gzip.open(HUMANEVAL, "rt") as handle:
        prompt = json.loads(next(handle))["prompt"]
    assert [(f.name, str(f.type)) for f in detector.output_fields()] == [
        (BENCHMARKS, "string"), (ITEMS, "int64"), (OVERLAP, "double"), (ITEM_IDS, "string"),
    ]  # fmt: skip
    both, clean, missing = annotate(detector, [f"{prompt}\n{gsm[2]}\n{gsm[0]}", "Nothing to see here.", None])
    assert json.loads(both[BENCHMARKS]) == ["gsm8k", "humaneval"]
    assert both[ITEMS] == 3 and json.loads(both[ITEM_IDS]) == ["gsm8k:0", "gsm8k:2", "humaneval:0"]
    assert both[OVERLAP] == 1.0
    assert clean == {BENCHMARKS: None, ITEMS: 0, OVERLAP: 0.0, ITEM_IDS: None}
    assert missing == {BENCHMARKS: None, ITEMS: None, OVERLAP: None, ITEM_IDS: None}
    described = detector.describe()
    assert [(b["name"], b["items"], b["indexed"]) for b in described["benchmarks"]] == [
        ("gsm8k", 1319, 1319), ("humaneval", 164, 164),
    ]  # fmt: skip
    assert len(described["benchmarks"][0]["files"][0]["sha256"]) == 64


def test_normalisation_undoes_what_copying_does() -> None:
    original = tokens("Janet’s ducks lay 1,200 eggs. (A) twenty-five")
    assert original == ["janets", "ducks", "lay", "1200", "eggs", "twentyfive"]
    assert tokens("ＪＡＮＥＴ’Ｓ ＤＵＣＫＳ ＬＡＹ １，２００ ＥＧＧＳ．　Ｂ）　twenty-\nfive") == original
    assert tokens("janets ducks lay 1200 eggs [c] twentyfive") == original
    assert tokens("小明有12个苹果") == ["小", "明", "有", "12", "个", "苹", "果"]


def test_chinese_items_match_by_characters(tmp_path: Path) -> None:
    require(corpus.COLD), require(corpus.SWSR)
    chinese = corpus.chinese_split(SEED)
    path = tmp_path / "cold.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["TEXT"], *([item.text] for item in chinese.items[:400])])
    detector = DecontaminationDetector(
        {"benchmarks": [{"name": "cold", "paths": [str(path)], "fields": ["TEXT"]}]}
    )
    rng = random.Random(SEED)
    styles = corpus.CHINESE_STYLES
    docs = corpus.contaminated({"cold": chinese.items[:100]}, chinese.swsr[:500], SEED, styles)
    rows = annotate(detector, [d.text for d in docs])
    hits = [d.item_id in json.loads(r[ITEM_IDS] or "[]") for d, r in zip(docs, rows, strict=True)]
    assert sum(hits) >= 0.95 * len(hits)
    clean = annotate(detector, rng.sample(chinese.swsr, 2000))
    assert sum(row[BENCHMARKS] is not None for row in clean) <= 20


def _write_formats(folder: Path, rows: list[dict]) -> dict[str, Path]:
    paths = {"jsonl.gz": folder / "b.jsonl.gz", "csv": folder / "b.csv", "parquet": folder / "b.parquet"}
    paths["jsonl.gz"].write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["question", "choices"])
        writer.writeheader()
        writer.writerows({"question": r["question"], "choices": "\n".join(r["choices"])} for r in rows)
    pq.write_table(pa.Table.from_pylist(rows), paths["parquet"])
    return paths


def test_jsonl_gz_csv_and_parquet_give_the_same_items(split: corpus.Split, tmp_path: Path) -> None:
    rows = split.records["gsm8k_mc"][:50]
    paths = _write_formats(tmp_path, rows)
    expected = tuple("\n".join([r["question"], *r["choices"]]) for r in rows)
    for path in paths.values():
        loaded = read_benchmark_file(str(path), ["question", "choices"])
        assert loaded.texts == expected and len(loaded.sha256) == 64
    detectors = {
        kind: DecontaminationDetector(
            {"benchmarks": [{"name": "mc", "paths": [str(p)], "fields": ["question", "choices"]}]}
        )
        for kind, p in paths.items()
    }
    keys = {kind: d.index().keys.tobytes() for kind, d in detectors.items()}
    assert len(set(keys.values())) == 1
    with pytest.raises(ValueError, match="no column answer"):
        DecontaminationDetector(
            {"benchmarks": [{"name": "mc", "paths": [str(paths["csv"])], "fields": ["answer"]}]}
        )
    with pytest.raises(ValueError, match="no record has the field"):
        read_benchmark_file(str(paths["jsonl.gz"]), ["answer"])
    (tmp_path / "b.txt").write_text("x")
    with pytest.raises(ValueError, match="not a benchmark format"):
        read_benchmark_file(str(tmp_path / "b.txt"), ["question"])


def test_benchmark_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    bench = tmp_path / "cfg" / "bench"
    bench.mkdir(parents=True)
    (bench / "gsm8k_test.jsonl").write_bytes(require(GSM8K).read_bytes())
    detectors = (
        "[{name: decontamination, params: {benchmarks: "
        "[{name: gsm8k, paths: [bench/gsm8k_test.jsonl], fields: [question]}]}}]"
    )
    config = small_corpus(tmp_path / "cfg", [{"id": "a", "text": "hello"}], detectors=detectors)
    (detector,) = build_detectors(load_config(config))
    assert detector.params.benchmarks[0].paths == [str(bench / "gsm8k_test.jsonl")]
    missing = small_corpus(tmp_path / "other", [{"id": "a", "text": "hello"}], detectors=detectors)
    with pytest.raises(
        ConfigError, match=r"detectors\[0\]: detector decontamination: benchmarks\[0\] \(gsm8k\)"
    ):
        build_detectors(load_config(missing))
    with pytest.raises(ValueError, match="unique"):
        build_detector("decontamination", {"benchmarks": real_benchmarks() + real_benchmarks()[:1]})


def test_a_run_drops_planted_items_and_the_datasheet_counts_them(
    tmp_path: Path, nltk_texts: list[str]
) -> None:
    bench = tmp_path / "cfg" / "bench"
    bench.mkdir(parents=True)
    (bench / "gsm8k<i>.jsonl").write_bytes(require(GSM8K).read_bytes())
    (bench / "humaneval.jsonl.gz").write_bytes(require(HUMANEVAL).read_bytes())
    questions = [json.loads(line)["question"] for line in GSM8K.read_text().splitlines()]
    with gzip.open(HUMANEVAL, "rt") as handle:
        prompts = [json.loads(line)["prompt"] for line in handle]
    clean = [{"id": f"c{i}", "text": text} for i, text in enumerate(nltk_texts[:60])]
    planted = [
        {
            "id": "p0",
            "text": f"{nltk_texts[100]}\n\nToday's puzzle: {questions[17].upper()}\n\nAnswers below.",
        },
        {"id": "p1", "text": f"Homework help!!\n{questions[17]}\n{questions[400]}"},
        {"id": "p2", "text": f"Solve this:\n{prompts[5]}"},
    ]
    detectors = (
        "[{name: decontamination, params: {benchmarks: ["
        "{name: gsm8k, paths: ['bench/gsm8k<i>.jsonl'], fields: [question]}, "
        "{name: humaneval, paths: [bench/humaneval.jsonl.gz], fields: [prompt]}]}}]"
    )
    config = small_corpus(tmp_path / "cfg", clean + planted, detectors=detectors)
    run = audit(config, tmp_path / "run", partitions=1)
    ledger = read_ledger(run.run_dir, run.record, ["doc_id", "action", "rule_id", "evidence"]).to_pylist()
    decided = {row["doc_id"].removeprefix("forum/"): row for row in ledger}
    for doc in ("p0", "p1", "p2"):
        assert decided[doc]["action"] == "drop" and decided[doc]["rule_id"] == "benchmark-contamination"
    assert json.loads(json.loads(decided["p1"]["evidence"])[ITEM_IDS]) == ["gsm8k:17", "gsm8k:400"]
    assert all(decided[row["id"]]["action"] == "keep" for row in clean)
    datasheet = (run.run_dir / "reports" / "datasheet.md").read_text(encoding="utf-8")
    assert "### Benchmark contamination" in datasheet
    assert "| gsm8k | 1319 | 1319 | 2 | 2 | 2 | 0 |" in datasheet
    assert "| humaneval | 164 | 164 | 1 | 1 | 1 | 0 |" in datasheet
    assert "gsm8k&lt;i&gt;.jsonl" in datasheet
    page = (run.run_dir / "reports" / "datasheet.html").read_text(encoding="utf-8")
    assert "gsm8k&lt;i&gt;.jsonl" in page and "<i>" not in page
    assert "benchmark contamination | yes | gsm8k (1319 items), humaneval (164 items)" in datasheet


def test_the_readme_example_configures_the_detector(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "name: decontamination" in b]
    (spec,) = yaml.safe_load(block)["detectors"]
    commented = dict(re.findall(r"#\s*(\w+): ([\d.]+)\s", block))
    defaults = DecontaminationParams.model_fields
    assert commented and {k: float(v) for k, v in commented.items()} == {
        k: float(defaults[k].default) for k in commented
    }  # every option the README names is real, with its real default
    for benchmark in spec["params"]["benchmarks"]:
        (path,) = benchmark["paths"]
        (tmp_path / "cfg" / path).parent.mkdir(parents=True, exist_ok=True)
        source = {"gsm8k": GSM8K, "humaneval": HUMANEVAL}[benchmark["name"]]
        (tmp_path / "cfg" / path).write_bytes(require(source).read_bytes())
    config = small_corpus(tmp_path / "cfg", [{"id": "a", "text": "hello"}], detectors=json.dumps([spec]))
    (detector,) = build_detectors(load_config(config))
    assert [(b["name"], b["indexed"]) for b in detector.describe()["benchmarks"]] == [
        ("gsm8k", 1319), ("humaneval", 164),
    ]  # fmt: skip
