"""The scale benchmark's corpus builder (benchmarks/scale_corpus.py) on the real shared data."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path

import pytest

from detectors.dedup.minhash import shingles
from schemas.document import normalise_text
from tests.conftest import NLTK_CORPUS, REPO, SHARED_DATA, require

sys.path.insert(0, str(REPO / "benchmarks"))
from dedup_corpus import jaccard  # benchmarks/ is not a package
from scale_corpus import COPY_SHARE, NGRAM, SHARDS, THRESHOLD, build

SIZE = 2000


def read_folder(folder: Path) -> list[dict]:
    return [
        json.loads(line) for shard in sorted(folder.glob("*.jsonl")) for line in shard.open(encoding="utf-8")
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[dict], dict]:
    require(NLTK_CORPUS)
    require(SHARED_DATA / "harm" / "cold_train.csv")
    folder = tmp_path_factory.mktemp("scale") / "corpus"
    counts = build(folder, SIZE, seed=7)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    return folder, counts, read_folder(folder), truth


def test_same_seed_same_bytes_other_seed_other_corpus(built, tmp_path: Path) -> None:
    folder, _, _, _ = built
    build(tmp_path / "again", SIZE, seed=7)
    build(tmp_path / "other", SIZE, seed=8)
    for shard in sorted(folder.glob("*.jsonl")):
        assert (tmp_path / "again" / shard.name).read_bytes() == shard.read_bytes()
    assert read_folder(tmp_path / "other") != read_folder(folder)


def test_count_shards_and_unique_ids(built) -> None:
    folder, counts, documents, _ = built
    assert len(documents) == counts["documents"] == SIZE
    assert len(list(folder.glob("*.jsonl"))) == SHARDS
    assert all(path.stat().st_size > 0 for path in folder.glob("*.jsonl"))
    assert len({doc["id"] for doc in documents}) == SIZE


def test_ten_percent_are_true_near_duplicates_of_originals_in_the_corpus(built) -> None:
    _, counts, documents, truth = built
    by_id = {doc["id"]: doc["text"] for doc in documents}
    assert counts["copies"] == len(truth["copy_of"]) == round(SIZE * COPY_SHARE)
    assert len(set(truth["copy_of"].values())) == counts["copies"]  # one copy per original
    for copy, original in truth["copy_of"].items():
        assert copy in by_id and original in by_id and original not in truth["copy_of"]
        assert normalise_text(by_id[copy]) != normalise_text(by_id[original])  # not an exact duplicate
        similarity = jaccard(shingles(by_id[copy], NGRAM, "auto"), shingles(by_id[original], NGRAM, "auto"))
        assert similarity >= THRESHOLD


def test_originals_are_real_texts_of_all_three_families(built) -> None:
    _, counts, documents, truth = built
    with gzip.open(NLTK_CORPUS, "rt", encoding="utf-8") as handle:
        nltk = "\n".join(json.loads(line)["text"] for line in handle)
    texts = [nltk]
    for name, column in (
        ("cold_train.csv", "TEXT"),
        ("cold_dev.csv", "TEXT"),
        ("davidson_train.csv", "tweet"),
    ):
        with (SHARED_DATA / "harm" / name).open(encoding="utf-8-sig", newline="") as handle:
            texts.extend(row[column] for row in csv.DictReader(handle))
    real = "\n".join(texts)
    originals = [doc for doc in documents if doc["id"] not in truth["copy_of"]]
    for doc in originals[:300]:
        for line in doc["text"].split("\n"):
            assert line.strip() in real
    assert all(counts["originals_by_family"][name] > SIZE / 10 for name in ("nltk", "cold", "davidson"))
