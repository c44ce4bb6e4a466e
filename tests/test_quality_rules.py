"""The quality rule detectors (quality.gopher, .repetition, .c4, .fineweb, .chinese) on real text.

Measured values are checked against expectations computed here from the rules' published
definitions, word by word and line by line in plain Python over spaCy's tokens and sentences (the
detectors compute them as arrays). When datatrove's venv exists, a sample of the NLTK corpus is
also run through datatrove's filters and every rule must decide as they do on 99% of documents.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import subprocess
import sys
from collections import Counter
from itertools import groupby
from pathlib import Path

import pyarrow as pa
import pytest
import regex
import spacy
import yaml

from detectors import build_detector
from detectors.quality.punctuation import PUNCTUATION_SET, TERMINAL_PUNCTUATION
from pipeline.decide.columns import split_rules
from pipeline.record.ledger import read_ledger
from schemas.config import DEFAULT_POLICY
from schemas.policy import Policy
from tests.conftest import REPO, SHARED_DATA, require
from tests.runs import audit, small_corpus

sys.path.insert(0, str(REPO / "benchmarks"))
import datatrove_env  # benchmarks/ is not a package
from quality_agreement import FAMILIES, Disagreement, agreement, compare, explain, measure, rule_fires

FAMILY_NAMES = ("quality.gopher", "quality.repetition", "quality.c4", "quality.fineweb")
STOP_WORDS = {"the", "be", "to", "of", "and", "that", "have", "with"}
C4_POLICY = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    """spaCy's English tokenizer with its sentencizer: the published rules' words and sentences."""
    english = spacy.blank("en")
    english.add_pipe("sentencizer")
    return english


@pytest.fixture(scope="module")
def sample(nltk_records: list[dict]) -> list[str]:
    """Random documents of every source, the longest addresses, and every document a rare rule
    reads (a '#', a bullet, a brace, an ellipsis, repeated lines)."""
    rng = random.Random(18)
    texts = [record["text"] for record in rng.sample(nltk_records, 150)]
    by_length = sorted(nltk_records, key=lambda record: -len(record["text"]))
    texts += [record["text"] for record in by_length[:4]]
    for rare in ("#", "•", "{", "...", "…", "lorem ipsum", "javascript", "cookies"):
        texts += [record["text"] for record in nltk_records if rare in record["text"].lower()][:15]
    texts += [r["text"] for r in nltk_records if r["source"] in ("webtext-grail", "webtext-pirates")][:10]
    return texts


def _columns(names: tuple[str, ...], batch: pa.RecordBatch) -> dict[str, list]:
    columns = {}
    for name in names:
        detector = build_detector(name)
        for spec, array in zip(detector.output_fields(), detector.annotate(batch), strict=True):
            columns[spec.name] = array.to_pylist()
    return columns


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def expected_gopher(text: str, words: list[str]) -> dict:
    kept = [w for w in words if any(c not in PUNCTUATION_SET for c in w)]
    lines = text.splitlines()
    return {
        "words": len(kept),
        "mean_word_length": _share(sum(map(len, kept)), len(kept)),
        "hash_ratio": _share(text.count("#"), len(words)),
        "ellipsis_ratio": _share(text.count("...") + text.count("…"), len(words)),
        "bullet_lines_share": _share(sum(s.lstrip()[:1] in ("•", "-") for s in lines), len(lines)),
        "ellipsis_lines_share": _share(sum(s.rstrip().endswith(("...", "…")) for s in lines), len(lines)),
        "alpha_words_share": _share(sum(any(c.isalpha() for c in w) for w in words), len(words)),
        "stop_words": len(STOP_WORDS & set(words)),
    }


def _repeats(items: list) -> tuple[int, int]:
    seen, count, chars = set(), 0, 0
    for item in items:
        if item in seen:
            count, chars = count + 1, chars + len(item)
        seen.add(item)
    return count, chars


def expected_repetition(text: str, words: list[str]) -> dict:
    paragraphs = re.split(r"\n{2,}", text.strip())
    lines = re.split(r"\n+", text)
    (para_dups, para_chars), (line_dups, line_chars) = _repeats(paragraphs), _repeats(lines)
    values = {
        "dup_para_share": para_dups / len(paragraphs),
        "dup_para_char_share": para_chars / len(text),
        "dup_line_share": line_dups / len(lines),
        "dup_line_char_share": line_chars / len(text),
    }
    for n in (2, 3, 4):
        grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        top = Counter(grams).most_common(1)
        values[f"top_{n}gram_char_share"] = len(top[0][0]) * top[0][1] / len(text) if top else None
    for n in range(5, 11):
        seen, repeated, i = set(), 0, 0
        while i <= len(words) - n:
            gram = tuple(words[i : i + n])
            if gram in seen:
                repeated, i = repeated + sum(map(len, gram)), i + n
            else:
                seen.add(gram)
                i += 1
        values[f"dup_{n}gram_char_share"] = repeated / len(text)
    return values


def expected_c4(text: str, nlp: spacy.language.Language) -> dict:
    counts = Counter()
    sentences, kept = 0, 0
    flags = {"lorem_ipsum": False, "curly_bracket": False}
    lines = text.splitlines()
    for raw in lines:
        words = raw.strip().split()
        line = re.sub(r"\[\d*]|\[edit]|\[citation needed]", "", raw.strip())
        lower = line.lower()
        if any(len(w) > 1000 for w in words):
            counts["long_word_lines"] += 1
        elif not line.endswith((".", "?", "!", '"', "'")) or line.endswith("..."):
            counts["no_terminal_punct_lines"] += 1
        elif len(words) < 3:
            counts["short_lines"] += 1
        elif "lorem ipsum" in lower:
            flags["lorem_ipsum"] = True
        elif "javascript" in lower:
            counts["javascript_lines"] += 1
        elif "{" in line:
            flags["curly_bracket"] = True
        elif any(p in lower for p in C4_POLICY):
            counts["policy_lines"] += 1
        else:
            kept += 1
            sentences += len(list(nlp(line).sents))
    removals = (
        "long_word_lines",
        "no_terminal_punct_lines",
        "short_lines",
        "javascript_lines",
        "policy_lines",
    )
    return {
        "lines": len(lines),
        "lines_kept": kept,
        "kept_share": _share(kept, len(lines)),
        **{name: counts[name] for name in removals},
        "sentences": sentences,
        **flags,
    }


def expected_fineweb(text: str, words: list[str]) -> dict:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return dict.fromkeys(("line_punct_ratio", "short_line_ratio", "char_dup_ratio", "newline_ratio")) | {
            "lines": 0
        }
    return {
        "lines": len(lines),
        "line_punct_ratio": sum(line[-1] in TERMINAL_PUNCTUATION for line in lines) / len(lines),
        "short_line_ratio": sum(len(line) <= 30 for line in lines) / len(lines),
        "char_dup_ratio": _repeats(lines)[1] / len(text.replace("\n", "")),
        "newline_ratio": text.count("\n") / len(words),
    }


def _assert_close(family: str, got: dict[str, list], expected: list[dict]) -> None:
    for i, row in enumerate(expected):
        for key, value in row.items():
            actual = got[f"{family}.{key}"][i]
            if isinstance(value, float):
                assert actual == pytest.approx(value, rel=1e-12), (family, key, i)
            else:
                assert actual == value, (family, key, i)


def test_english_measures_equal_the_published_definitions(sample: list[str], nlp) -> None:
    got = _columns(FAMILY_NAMES, pa.record_batch({"text": pa.array(sample)}))
    words = [[t.text for t in nlp.tokenizer(text) if not t.is_space] for text in sample]
    _assert_close("quality.gopher", got, [expected_gopher(t, w) for t, w in zip(sample, words, strict=True)])
    _assert_close(
        "quality.repetition", got, [expected_repetition(t, w) for t, w in zip(sample, words, strict=True)]
    )
    _assert_close("quality.c4", got, [expected_c4(t, nlp) for t in sample])
    _assert_close(
        "quality.fineweb", got, [expected_fineweb(t, w) for t, w in zip(sample, words, strict=True)]
    )
    # the sample exercises the rules it is meant to: repeats, symbols, sentences and braces
    assert max(got["quality.repetition.dup_5gram_char_share"]) > 0.15
    assert max(got["quality.gopher.hash_ratio"]) > 0.1 and any(got["quality.c4.curly_bracket"])
    assert max(got["quality.c4.sentences"]) > 1000


def test_a_batch_is_measured_the_same_alone_or_with_others(sample: list[str]) -> None:
    together = _columns(FAMILY_NAMES, pa.record_batch({"text": pa.array(sample[:40])}))
    for i in (0, 7, 39):
        alone = _columns(FAMILY_NAMES, pa.record_batch({"text": pa.array([sample[i]])}))
        assert {k: v[0] for k, v in alone.items()} == {k: v[i] for k, v in together.items()}


def chinese_texts() -> list[str]:
    with require(SHARED_DATA / "harm" / "cold_dev.csv").open(encoding="utf-8") as handle:
        comments = [row["TEXT"] for row in csv.DictReader(handle)][:300]
    return [*comments, "\n".join(comments[:40]), "哈" * 25 + "。好的，" + "重复的句子。" * 30]


def expected_chinese(text: str) -> dict:
    chars = [c for c in text if not c.isspace()]
    lines = [line for line in text.split("\n") if line.strip()]
    grams = Counter(text[i : i + 10] for i in range(len(text) - 9))
    frequencies = sorted(grams.values(), reverse=True)
    top = min(math.isqrt(len(frequencies)), sum(f > 1 for f in frequencies))
    return {
        "chars": len(chars),
        "cjk_share": len(regex.findall(r"\p{Han}", text)) / len(chars),
        "punct_share": sum(regex.match(r"\p{P}", c) is not None for c in chars) / len(chars),
        "mean_line_length": len(chars) / len(lines),
        "max_char_run": max(len(list(run)) for char, run in groupby(text) if not char.isspace()),
        "char_rep_ratio": sum(frequencies[:top]) / sum(frequencies) if frequencies else 0.0,
    }


def test_chinese_measures_on_real_comments() -> None:
    texts = chinese_texts()
    batch = pa.record_batch({"text": pa.array(texts), "lang": pa.array(["zh"] * len(texts))})
    got = _columns(("quality.chinese",), batch)
    _assert_close("quality.chinese", got, [expected_chinese(text) for text in texts])
    assert got["quality.chinese.max_char_run"][-1] == 25 and got["quality.chinese.char_rep_ratio"][-1] > 0.5


def test_each_family_measures_only_the_languages_its_rules_fit(sample: list[str]) -> None:
    chinese = chinese_texts()[0]
    texts = [sample[0], sample[0], sample[0], chinese, None]
    langs = ["en", "fr", None, "zh", "en"]
    batch = pa.record_batch({"text": pa.array(texts), "quality.lang": pa.array(langs)})
    got = _columns((*FAMILY_NAMES, "quality.chinese"), batch)
    measured = {
        name: [value is not None for value in got[column]]
        for name, column in [
            ("gopher", "quality.gopher.words"),
            ("repetition", "quality.repetition.dup_line_share"),
            ("fineweb", "quality.fineweb.lines"),
            ("c4", "quality.c4.lines"),
            ("chinese", "quality.chinese.chars"),
        ]
    }
    assert measured == {
        "gopher": [True, True, True, False, False],
        "repetition": [True, True, True, False, False],
        "fineweb": [True, True, True, False, False],
        "c4": [True, False, True, False, False],
        "chinese": [False, False, False, True, False],
    }
    stop_words = got["quality.gopher.stop_words"]
    assert stop_words[1] is None and stop_words[0] == stop_words[2] is not None  # no French list by default
    french = build_detector("quality.gopher", {"stop_words": {"fr": ["le", "la", "de"]}})
    texts = pa.array(["Le chat de la maison dort.", "Le chat de la maison dort."])
    batch = pa.record_batch({"text": texts, "quality.lang": pa.array(["fr", "en"])})
    counted = dict(zip([f.name for f in french.output_fields()], french.annotate(batch), strict=True))
    assert counted["quality.gopher.stop_words"].to_pylist() == [2, None]  # case-sensitive: not "Le"


def test_blank_and_missing_texts_give_nulls_not_errors() -> None:
    batch = pa.record_batch({"text": pa.array([None, "", "   \n\n  ", "Fine."])})
    got = _columns((*FAMILY_NAMES, "quality.chinese"), batch)
    assert got["quality.gopher.words"] == [None, 0, 0, 1]
    assert got["quality.gopher.alpha_words_share"][:3] == [None, None, None]
    assert got["quality.fineweb.lines"] == [None, 0, 0, 1] and got["quality.fineweb.newline_ratio"][2] is None
    assert got["quality.repetition.dup_line_share"][1] is None and got["quality.c4.sentences"] == [
        None,
        0,
        0,
        0,
    ]


def _default_policy() -> Policy:
    return Policy.model_validate(yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8")))


def test_every_default_quality_rule_compiles_against_the_detectors_columns() -> None:
    fields = [f for name in (*FAMILY_NAMES, "quality.chinese") for f in build_detector(name).output_fields()]
    types = {f.name: f.type for f in fields}
    _, left_out = split_rules(_default_policy(), list(types), types)
    prefixes = ("gopher-", "repetition-", "c4-", "fineweb-", "chinese-")
    assert not [r for r in left_out if r["rule_id"].startswith(prefixes)]
    ids = [rule.id for rule in _default_policy().rules]
    for family in FAMILIES.values():
        rules = [i for i in ids if i.startswith(family.prefix)]
        assert rules == [r for r in family.reasons.values() if r in rules]  # datatrove's order of checks


def test_a_run_drops_by_the_first_quality_rule_and_records_the_measures(
    tmp_path: Path, nltk_records: list[dict]
) -> None:
    records = random.Random(5).sample(nltk_records, 120)
    detectors = "[" + ", ".join(f"{{name: {n}}}" for n in ("quality.language", *FAMILY_NAMES)) + "]"
    run = audit(small_corpus(tmp_path / "cfg", records, detectors=detectors), tmp_path / "out", partitions=1)
    ledger = {
        row["doc_id"]: row
        for row in read_ledger(run.run_dir, run.record, ["doc_id", "rule_id", "evidence"]).to_pylist()
    }
    table = measure([r["text"] for r in records])
    fires = rule_fires(table)
    checked = 0
    for i, record in enumerate(records):
        row = ledger[f"forum/{record['id']}"]
        evidence = json.loads(row["evidence"])
        if evidence.get("quality.lang") != "en":
            continue  # measured by fewer families, or held back by no-language first
        checked += 1
        assert row["rule_id"] == next((rule for rule in fires if fires[rule][i]), "default"), record["id"]
        for name in (
            "quality.gopher.words",
            "quality.repetition.top_2gram_char_share",
            "quality.c4.sentences",
        ):
            assert evidence.get(name) == table.column(name)[i].as_py()
    assert checked > 80
    assert sum(row["rule_id"].startswith(("gopher-", "c4-")) for row in ledger.values()) > len(records) / 2


def test_explanations_name_the_cause(sample: list[str]) -> None:
    texts = sample[:3]
    table = measure(texts)
    spacy_words = [_words(text) for text in texts]
    items = [
        Disagreement(0, "gopher", "gopher-short-doc", None),
        Disagreement(1, "gopher", "gopher-short-doc", "gopher-few-stop-words"),
        Disagreement(2, "c4", None, "c4-few-sentences"),
    ]
    sentences = table.column("quality.c4.sentences").to_pylist()
    details = [
        {"words": spacy_words[0] + 1, "c4_sentences": sentences[0]},
        {"words": spacy_words[1], "c4_sentences": sentences[1]},
        {"words": spacy_words[2], "c4_sentences": sentences[2] + 1},
    ]
    explain(items, texts, table, details)
    assert (
        items[0].cause == f"word tokenisation: {spacy_words[0]} words here, {spacy_words[0] + 1} in datatrove"
    )
    assert items[1].cause == "both drop the document; the first rule to fail differs"
    assert items[2].cause == f"C4 sentence count: {sentences[2]} here, {sentences[2] + 1} in datatrove"
    kept_by_datatrove = compare(rule_fires(table), [dict.fromkeys(FAMILIES) for _ in texts])
    assert kept_by_datatrove.filters["c4"]["datatrove_drop"] == 0
    assert {item.theirs for item in kept_by_datatrove.disagreements} == {None}


def _words(text: str) -> int:
    return sum(not token.is_space for token in spacy.blank("en").tokenizer(text))


needs_datatrove = pytest.mark.skipif(
    not datatrove_env.ready(),
    reason=f"datatrove's venv is not set up at {datatrove_env.VENV}; create it with "
    ".venv/bin/python benchmarks/scale.py --setup",
)


@needs_datatrove
def test_punctuation_sets_are_datatroves() -> None:
    script = (
        "import json; from datatrove.utils.text import PUNCTUATION_SET as P, TERMINAL_PUNCTUATION as T;"
        "print(json.dumps([sorted(P), sorted(T)]))"
    )
    out = subprocess.run(
        [str(datatrove_env.python()), "-c", script], capture_output=True, text=True, check=True
    )
    punctuation, terminal = json.loads(out.stdout)
    assert set(punctuation) == PUNCTUATION_SET and set(terminal) == TERMINAL_PUNCTUATION


@needs_datatrove
def test_every_rule_decides_as_datatrove_on_a_sample(nltk_records: list[dict]) -> None:
    texts = [r["text"] for r in random.Random(7).sample(nltk_records, 1500)]
    result, _ = agreement(texts)
    assert all(row["agreement"] >= 0.99 for row in result.filters.values()), result.filters
    assert all(row["agreement"] >= 0.99 for row in result.rules.values()), result.rules
    assert not [item for item in result.disagreements if item.cause.startswith("unexplained")]
    assert result.filters["gopher"]["datatrove_drop"] > 1000  # most of the sample is short posts
