"""Near-duplicate detection: datasketch-identical signatures, distributed components, ledger clusters."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from detectors.dedup.minhash import hash32, lsh_bands, shingles, signatures
from pipeline.engines.local import LocalEngine
from pipeline.passes.clusters import EDGE_SCHEMA, connected_components
from pipeline.run import RunResult
from tests.conftest import NLTK_CORPUS, require
from tests.runs import audit

POLICY = """rules:
  - {id: exact-duplicate, when: "dedup.exact_dup_of is not None", action: drop, reason: exact duplicate}
  - {id: near-duplicate, when: "dedup.near_dup_of is not None", action: drop, reason: near duplicate}
"""


def test_signatures_equal_datasketch_for_word_and_character_shingles(nltk_records: list[dict]) -> None:
    cjk = ("Chinese_Mandarin", "Japanese_Nihongo", "Korean_Hankuko")
    texts = [r["text"] for r in nltk_records if r["source"] == "inaugural"][:20]
    texts += [r["text"] for r in nltk_records if r.get("language_name") in cjk]
    sets = [shingles(text, 5, "auto") for text in texts]
    assert any(len(s[0]) == 5 and " " not in s[0] for s in sets if s), "CJK texts use character shingles"
    ours = signatures(sets, 128, 1)
    for shingle_set, signature in zip(sets, ours, strict=True):
        reference = MinHash(num_perm=128, seed=1, hashfunc=hash32)
        reference.update_batch(shingle_set)
        assert np.array_equal(reference.hashvalues, signature)


def test_band_parameters_follow_the_threshold() -> None:
    assert lsh_bands(0.8, 128) == (9, 13)
    bands, rows = lsh_bands(0.5, 128)
    assert bands * rows <= 128 and rows < 13


def _yield(table: pa.Table, units: pa.Table) -> Iterator[pa.Table]:
    yield table


def _union_find_components(edges: list[tuple[int, int]]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in edges:
        a, b = find(u), find(v)
        parent[max(a, b)] = min(a, b)
    return {node: find(node) for node in parent}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_star_rounds_find_the_same_components_as_union_find(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    edges = [(rng.randrange(400), rng.randrange(400)) for _ in range(300)]
    edges += [(i, i + 1) for i in range(500, 560)]  # a long path: many rounds
    edges = [(u, v) for u, v in edges if u != v]
    with LocalEngine(2, tmp_path, progress=False) as engine:
        edge_table = pa.table({"u": [u for u, _ in edges], "v": [v for _, v in edges]}, schema=EDGE_SCHEMA)
        dataset = engine.read(pa.table({"i": [0]}), partial(_yield, edge_table), EDGE_SCHEMA, "edges")
        result = engine.collect(connected_components(engine, dataset), EDGE_SCHEMA)
    found = dict(zip(result["u"].to_pylist(), result["v"].to_pylist(), strict=True))
    expected = _union_find_components(edges)
    assert {node: root for node, root in expected.items() if node != root} == found


def _write_corpus(folder: Path, records: list[dict], previous: str = "", keeper: str = "earliest") -> Path:
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "policy.yaml").write_text(POLICY)
    (folder / "sources.yaml").write_text(
        "sources:\n  - {id: web, kind: web-crawl, license: CC-BY-4.0, collection_record: test crawl,"
        " jurisdiction: US, collected_at: 2026-01-01}\n"
    )
    params = f"{{keeper: {keeper}, quality_column: quality.chars, previous_indexes: [{previous}]}}"
    (folder / "audit.yaml").write_text(
        "sources: sources.yaml\npolicy: policy.yaml\ninputs:\n  - {source: web, paths: [corpus.jsonl]}\n"
        "detectors:\n  - {name: quality.language}\n  - {name: dedup.exact}\n"
        f"  - {{name: dedup.minhash, params: {params}}}\n"
    )
    return folder / "audit.yaml"


def _speeches() -> list[str]:
    with __import__("gzip").open(require(NLTK_CORPUS), "rt") as handle:
        return [json.loads(line)["text"] for line in handle if '"inaugural/' in line][:6]


def _edit(text: str, rng: random.Random, share: float) -> str:
    words = text.split()
    for index in rng.sample(range(len(words)), int(len(words) * share)):
        words[index] = "changed"
    return "Posted by admin\n" + " ".join(words)


def _ledger(run: RunResult) -> dict[str, dict]:
    rows = pa.concat_tables(
        [pq.read_table(run.run_dir / e["path"]) for e in run.record["ledger_files"]]
    ).to_pylist()
    return {row["doc_id"]: row | {"evidence": json.loads(row["evidence"])} for row in rows}


def test_near_duplicates_of_real_speeches_are_clustered_with_their_keeper(tmp_path: Path) -> None:
    rng = random.Random(5)
    speeches = _speeches()
    records = [{"id": f"orig-{i}", "text": text} for i, text in enumerate(speeches)]
    records += [
        {"id": "copy-0", "text": _edit(speeches[0], rng, 0.005)},
        {"id": "copy-1", "text": _edit(speeches[1], rng, 0.005)},
    ]
    records += [{"id": "far-2", "text": _edit(speeches[2], rng, 0.5)}]  # too different to be a near duplicate
    run = audit(_write_corpus(tmp_path, records), tmp_path / "run", partitions=2)
    ledger = _ledger(run)
    for copy, original in (("copy-0", "orig-0"), ("copy-1", "orig-1")):
        evidence = ledger[f"web/{copy}"]["evidence"]
        assert ledger[f"web/{copy}"]["rule_id"] == "near-duplicate"
        assert evidence["dedup.near_dup_of"] == f"web/{original}"
        assert evidence["dedup.near_cluster"] == ledger[f"web/{original}"]["evidence"]["dedup.near_cluster"]
        assert 0.8 <= evidence["dedup.near_jaccard"] < 1.0
        assert ledger[f"web/{original}"]["action"] == "keep"
    assert (
        ledger["web/far-2"]["action"] == "keep"
        and "dedup.near_cluster" not in ledger["web/far-2"]["evidence"]
    )
    assert all("dedup.minhash_sig" not in row["evidence"] for row in ledger.values())
    (detector,) = [d for d in run.record["detectors"] if d["name"] == "dedup.minhash"]
    assert (detector["lsh_bands"], detector["lsh_rows"]) == lsh_bands(0.7, 512) == (42, 12)


def test_a_later_run_drops_what_an_earlier_release_already_holds(tmp_path: Path) -> None:
    rng = random.Random(9)
    speeches = _speeches()
    first_folder, second_folder = tmp_path / "march", tmp_path / "april"
    first_folder.mkdir()
    second_folder.mkdir()
    march = audit(
        _write_corpus(first_folder, [{"id": f"m-{i}", "text": t} for i, t in enumerate(speeches[:3])]),
        first_folder / "run",
    )
    assert [e["rows"] for e in march.record["outputs"] if e["kind"] == "index"] == [3]
    april_records = [
        {"id": "a-new", "text": speeches[4]},
        {"id": "a-repeat", "text": _edit(speeches[1], rng, 0.005)},
    ]
    config = _write_corpus(second_folder, april_records, previous=str(first_folder / "run"))
    april = _ledger(audit(config, second_folder / "run"))
    assert april["web/a-repeat"]["rule_id"] == "near-duplicate"
    assert april["web/a-repeat"]["evidence"]["dedup.near_dup_of"] == "web/m-1"
    assert april["web/a-new"]["action"] == "keep"


@pytest.mark.parametrize(
    ("keeper", "expected"), [("earliest", "web/short"), ("longest", "web/long"), ("quality", "web/long")]
)
def test_keeper_rule_decides_which_copy_stays(tmp_path: Path, keeper: str, expected: str) -> None:
    speech = _speeches()[0]
    records = [{"id": "short", "text": speech}, {"id": "long", "text": speech + " God bless America."}]
    ledger = _ledger(audit(_write_corpus(tmp_path, records, keeper=keeper), tmp_path / "run", partitions=1))
    other = "web/long" if expected == "web/short" else "web/short"
    assert ledger[expected]["action"] == "keep"
    assert ledger[other]["evidence"]["dedup.near_dup_of"] == expected
    assert ledger[other]["evidence"]["dedup.near_cluster"] == "web/short"  # the cluster id never moves
