"""Near-duplicate detection: datasketch-identical signatures, distributed components, ledger clusters,
and the compact signature index that later runs deduplicate against."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from detectors.dedup.minhash import MinHashDetector, band_keys, hash32, lsh_bands, shingles, signatures
from detectors.dedup.near_clusters import estimated_jaccard
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


def test_equal_rows_in_different_bands_get_different_keys() -> None:
    constant = np.full(512, 7, dtype=np.uint32)  # every band holds the same rows
    assert len(set(band_keys(constant, 42, 12))) == 42


def _annotated(texts: list[str]) -> tuple[MinHashDetector, pa.Array, pa.Array]:
    detector = MinHashDetector({})
    sigs, bands = detector.annotate(pa.record_batch({"text": pa.array(texts, pa.string())}))
    return detector, sigs, bands


def test_the_index_form_gives_back_exact_signatures_or_b_bit_ones_with_their_bands(
    nltk_records: list[dict],
) -> None:
    rng = random.Random(3)
    texts = [r["text"] for r in rng.sample(nltk_records, 400)]
    texts += [r["text"] for r in nltk_records if r["source"].startswith("state_union")][:10]
    detector, sigs, bands = _annotated(texts)
    (near,) = detector.passes()
    stored_sigs, stored_bands = near.to_index(sigs.drop_null(), bands.drop_null())
    expanded_sigs, expanded_bands = near.from_index(stored_sigs, stored_bands)
    exact = pc.is_null(stored_bands).to_pylist()
    assert 0 < sum(exact) < len(exact), "short documents stored exactly, long ones as b-bit"
    rows = zip(sigs.drop_null().to_pylist(), bands.drop_null().to_pylist(), exact, strict=True)
    for row, (sig, keys, is_exact) in enumerate(rows):
        assert expanded_bands[row].as_py() == keys
        if is_exact:
            assert expanded_sigs[row].as_py() == sig
        else:
            assert expanded_sigs[row].as_py() == np.frombuffer(sig, np.uint32).astype(np.uint8).tobytes()


def _distinct_originals(records: list[dict], count: int, rng: random.Random) -> list[str]:
    """Real documents of at least 30 words, none sharing a band with an earlier one, so that each
    edited copy below has exactly one original to be a near duplicate of."""
    long = [r["text"] for r in records if len(r["text"].split()) >= 250]
    short = [r["text"] for r in records if 30 <= len(r["text"].split()) < 250]
    candidates = rng.sample(long, min(len(long), count // 3)) + rng.sample(short, count)
    _, _, bands = _annotated(candidates)
    seen: set[int] = set()
    chosen = []
    for text, keys in zip(candidates, bands.to_pylist(), strict=True):
        if keys and not seen.intersection(keys):
            seen.update(keys)
            chosen.append(text)
    return chosen[:count]


def _scatter_edit(text: str, rng: random.Random, share: float) -> str:
    words = text.split()
    for index in rng.sample(range(len(words)), int(len(words) * share)):
        words[index] = rng.choice(["changed", "edited", "other"])
    return " ".join(words)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> dict:
    """A release of 300 real documents, then a run of edited copies (around the threshold) and
    new documents against its index; plus what full signatures decide for every copy."""
    rng = random.Random(11)
    originals = _distinct_originals(nltk_records, 300, rng)
    copies = [_scatter_edit(text, rng, rng.uniform(0.0, 0.06)) for text in originals[:200]]
    folder = tmp_path_factory.mktemp("releases")
    first, second = folder / "first", folder / "second"
    first.mkdir()
    second.mkdir()
    released = [{"id": f"o-{i}", "text": text} for i, text in enumerate(originals)]
    first_run = audit(_write_corpus(first, released), first / "run", partitions=1)
    later = [{"id": f"c-{i}", "text": text} for i, text in enumerate(copies)]
    config = _write_corpus(second, later, previous=str(first / "run"))
    second_run = audit(config, second / "run", partitions=1)
    _, original_sigs, original_bands = _annotated(originals)
    _, copy_sigs, copy_bands = _annotated(copies)
    expected = {}
    for index, (sig, keys) in enumerate(zip(copy_sigs.to_pylist(), copy_bands.to_pylist(), strict=True)):
        matches = [
            (estimated_jaccard(sig, other, 512), f"web/o-{o}")
            for o, (other, other_keys) in enumerate(
                zip(original_sigs.to_pylist(), original_bands.to_pylist(), strict=True)
            )
            if set(keys) & set(other_keys)
        ]
        best = max(matches, default=(0.0, None))
        expected[f"web/c-{index}"] = best if best[0] >= 0.8 else (None, None)
    return {"first": first_run, "second": second_run, "expected": expected}


def test_cross_release_matches_agree_with_full_signature_matches(releases: dict) -> None:
    ledger = _ledger(releases["second"])
    expected = releases["expected"]
    found = {doc: ledger[doc]["evidence"].get("dedup.near_dup_of") for doc in expected}
    positives = sum(1 for _, keeper in expected.values() if keeper)
    assert 40 <= positives <= len(expected) - 40, "copies on both sides of the threshold"
    agree = sum(found[doc] == keeper for doc, (_, keeper) in expected.items())
    assert agree / len(expected) >= 0.97, (agree, len(expected))
    errors = [
        abs(ledger[doc]["evidence"]["dedup.near_jaccard"] - full)
        for doc, (full, keeper) in expected.items()
        if keeper and found[doc] == keeper
    ]
    assert max(errors) < 0.03 and sum(errors) / len(errors) < 0.01
    index = pa.concat_tables(
        pq.read_table(releases["first"].run_dir / e["path"])
        for e in releases["first"].record["outputs"]
        if e["kind"] == "index"
    )
    b_bit = set(index.filter(pc.is_valid(index["bands"]))["doc_id"].to_pylist())
    assert sum(keeper in b_bit for _, keeper in expected.values()) >= 20, "b-bit keepers were matched too"


def _index_and_kept_text_bytes(run: RunResult) -> tuple[int, int]:
    index_bytes = sum(e["bytes"] for e in run.record["outputs"] if e["kind"] == "index")
    kept = [row for row in _ledger(run).values() if row["action"] in ("keep", "redact")]
    return index_bytes, sum(row["text_bytes"] for row in kept)


def test_the_signature_index_is_at_most_the_kept_text_of_real_documents(
    releases: dict, tmp_path: Path, nltk_records: list[dict]
) -> None:
    index_bytes, text_bytes = _index_and_kept_text_bytes(releases["first"])
    assert index_bytes <= text_bytes
    # a plain sample of the mixed corpus: mostly short posts, chat lines and reviews
    sample = random.Random(2).sample(nltk_records, 2000)
    records = [{"id": f"n-{i}", "text": r["text"]} for i, r in enumerate(sample)]
    run = audit(_write_corpus(tmp_path, records), tmp_path / "run")
    index_bytes, text_bytes = _index_and_kept_text_bytes(run)
    assert 0 < index_bytes <= text_bytes
