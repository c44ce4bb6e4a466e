"""Do corpusaudit's quality rules decide as datatrove's filters do? Rule by rule, document by document.

On a corpus of real documents (default ``../shared/data/corpora/nltk_mixed.jsonl.gz``) it runs
corpusaudit's ``quality.gopher``, ``quality.repetition``, ``quality.c4`` and ``quality.fineweb``
detectors and evaluates the default policy's rules over what they measured (the published
thresholds), and runs datatrove 0.10.1's ``GopherQualityFilter``, ``GopherRepetitionFilter``,
``C4QualityFilter`` and ``FineWebQualityFilter`` with their defaults on the same documents
(``benchmarks/quality_datatrove.py``, in datatrove's own venv). No language is given to either
side, so every document is measured by every rule, as datatrove measures it.

Two agreements are printed:

* per filter: corpusaudit drops a document (one of the filter's rules fires) exactly when
  datatrove's filter drops it;
* per rule: a rule is the first of its filter to fire (in datatrove's order of checks) exactly
  when datatrove gives that rule as its reason, the finest comparison datatrove's output allows.

Every disagreement is listed, grouped by its cause: word counts that differ (tokenisation), C4
sentence counts that differ, both sides dropping for a different first rule, or word n-grams that
datatrove compares by their concatenation without spaces. Run:

    .venv/bin/python benchmarks/scale.py --setup            # once: datatrove's venv
    .venv/bin/python benchmarks/quality_agreement.py [--sample N] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import spacy
import yaml
from datatrove_env import python, require  # beside this script: benchmarks/ is not a package

from detectors import build_detector
from detectors.quality.repetition import DUPLICATE_NGRAMS
from detectors.quality.words import batch_words
from pipeline.decide.policy import CompiledPolicy
from schemas.config import DEFAULT_POLICY
from schemas.policy import Policy

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "corpora" / "nltk_mixed.jsonl.gz"
DRIVER = Path(__file__).with_name("quality_datatrove.py")
SETUP = ".venv/bin/python benchmarks/scale.py --setup"
DETECTORS = ("quality.gopher", "quality.repetition", "quality.c4", "quality.fineweb")
BATCH = 1024


@dataclass(frozen=True)
class Family:
    """One datatrove filter, its rules in the default policy, and its reasons in its check order."""

    title: str
    prefix: str
    reasons: dict[str, str]
    """datatrove's reason -> the policy rule making the same check."""


FAMILIES = {
    "gopher": Family(
        "Gopher quality (GopherQualityFilter)",
        "gopher-",
        {
            "gopher_short_doc": "gopher-short-doc",
            "gopher_long_doc": "gopher-long-doc",
            "gopher_below_avg_threshold": "gopher-short-words",
            "gopher_above_avg_threshold": "gopher-long-words",
            "gopher_too_many_hashes": "gopher-hashes",
            "gopher_too_many_ellipsis": "gopher-ellipses",
            "gopher_too_many_bullets": "gopher-bullet-lines",
            "gopher_too_many_end_ellipsis": "gopher-ellipsis-lines",
            "gopher_below_alpha_threshold": "gopher-few-alpha-words",
            "gopher_enough_stop_words": "gopher-few-stop-words",
        },
    ),
    "repetition": Family(
        "Gopher repetition (GopherRepetitionFilter)",
        "repetition-",
        {
            "dup_para_frac": "repetition-dup-paragraphs",
            "dup_para_char_frac": "repetition-dup-paragraph-chars",
            "dup_line_frac": "repetition-dup-lines",
            "dup_line_char_frac": "repetition-dup-line-chars",
            **{f"top_{n}_gram": f"repetition-top-{n}gram" for n in (2, 3, 4)},
            **{f"duplicated_{n}_n_grams": f"repetition-dup-{n}gram" for n in DUPLICATE_NGRAMS},
        },
    ),
    "c4": Family(
        "C4 (C4QualityFilter)",
        "c4-",
        {
            "lorem_ipsum": "c4-lorem-ipsum",
            "curly_bracket": "c4-curly-bracket",
            "too_few_sentences": "c4-few-sentences",
        },
    ),
    "fineweb": Family(
        "FineWeb (FineWebQualityFilter)",
        "fineweb-",
        {
            "line_punct_ratio": "fineweb-line-punct",
            "short_line_ratio": "fineweb-short-lines",
            "char_dup_ratio": "fineweb-dup-line-chars",
            "list_ratio": "fineweb-list-like",
        },
    ),
}


def read_texts(path: Path, sample: int | None, seed: int) -> list[str]:
    """The corpus's texts, or a seeded sample of them in corpus order."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    if sample and sample < len(texts):
        keep = sorted(random.Random(seed).sample(range(len(texts)), sample))
        texts = [texts[i] for i in keep]
    return texts


def measure(texts: list[str], names: tuple[str, ...] = DETECTORS) -> pa.Table:
    """What the detectors measure, batch by batch as a run annotates, with no language column."""
    detectors = [build_detector(name) for name in names]
    parts = []
    for start in range(0, len(texts), BATCH):
        batch = pa.record_batch({"text": pa.array(texts[start : start + BATCH], pa.string())})
        columns: dict[str, pa.Array] = {}
        for detector in detectors:
            for spec, array in zip(detector.output_fields(), detector.annotate(batch), strict=True):
                columns[spec.name] = array
        parts.append(pa.table(columns))
    return pa.concat_tables(parts)


def rule_fires(table: pa.Table) -> dict[str, list[bool]]:
    """Whether each default-policy rule of the four families fires on each document."""
    policy = Policy.model_validate(yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8")))
    types = {spec.name: spec.type for spec in table.schema}
    fires = {}
    for rule in policy.rules:
        if any(rule.id.startswith(family.prefix) for family in FAMILIES.values()):
            compiled = CompiledPolicy(
                policy.model_copy(update={"rules": [rule]}), table.column_names, types=types
            )
            fires[rule.id] = pc.fill_null(compiled.rules[0].evaluate(table), False).to_pylist()
    return fires


def run_datatrove(texts: list[str], *, details: bool) -> tuple[list[dict], dict[str, float]]:
    """datatrove's verdict on every text (and its word and sentence counts with ``details``)."""
    with tempfile.TemporaryDirectory() as work:
        corpus, out = Path(work) / "corpus.jsonl", Path(work) / "verdicts.jsonl"
        with corpus.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps({"text": text}) + "\n" for text in texts)
        command = [str(python()), str(DRIVER), str(corpus), str(out), *([] if details else ["--no-details"])]
        subprocess.run(command, check=True)
        rows = [json.loads(line) for line in out.open(encoding="utf-8")]
    return rows[:-1], rows[-1]["cpu_seconds"]


@dataclass
class Disagreement:
    document: int
    family: str
    ours: str | None
    """Our first rule to fire, None when none fires."""
    theirs: str | None
    """The rule matching datatrove's reason (its reason as written when no rule matches), None when kept."""
    cause: str = ""


@dataclass
class Agreement:
    documents: int
    filters: dict[str, dict] = field(default_factory=dict)
    rules: dict[str, dict] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)


def compare(fires: dict[str, list[bool]], verdicts: list[dict]) -> Agreement:
    """Per-filter and per-rule agreement, and every document where they differ."""
    result = Agreement(documents=len(verdicts))
    for name, family in FAMILIES.items():
        rules = [rule for rule in fires if rule.startswith(family.prefix)]
        firsts = [next((rule for rule in rules if fires[rule][i]), None) for i in range(len(verdicts))]
        theirs = [
            None if verdict[name] is None else family.reasons.get(verdict[name], verdict[name])
            for verdict in verdicts
        ]
        same = sum((ours is None) == (their is None) for ours, their in zip(firsts, theirs, strict=True))
        result.filters[name] = {
            "ours_drop": sum(first is not None for first in firsts),
            "datatrove_drop": sum(their is not None for their in theirs),
            "agreement": same / len(verdicts) if verdicts else 1.0,
        }
        for rule in rules:
            agree = sum((ours == rule) == (their == rule) for ours, their in zip(firsts, theirs, strict=True))
            result.rules[rule] = {
                "fires": sum(fires[rule]),
                "first_ours": firsts.count(rule),
                "first_datatrove": theirs.count(rule),
                "agreement": agree / len(verdicts) if verdicts else 1.0,
            }
        result.disagreements += [
            Disagreement(i, name, ours, their)
            for i, (ours, their) in enumerate(zip(firsts, theirs, strict=True))
            if ours != their
        ]
    return result


def concatenated_duplicate_chars(words: list[str], n: int) -> int:
    """Gopher's duplicated n-gram characters with n-grams keyed by their words joined without
    spaces, as datatrove keys them (so ``ab c`` and ``a bc`` are the same n-gram there)."""
    seen: set[str] = set()
    repeated = position = 0
    while position < len(words) - n + 1:
        gram = "".join(words[position : position + n])
        if gram in seen:
            repeated += len(gram)
            position += n
        else:
            seen.add(gram)
            position += 1
    return repeated


def explain(
    disagreements: list[Disagreement], texts: list[str], table: pa.Table, details: list[dict]
) -> None:
    """Give each disagreement its cause, from datatrove's word and sentence counts for the same
    documents (``details``, aligned with ``disagreements``) and our own measures."""
    for item, detail in zip(disagreements, details, strict=True):
        text = texts[item.document]
        words = int(batch_words([text]).counts[0])
        if item.theirs == "empty":
            item.cause = (
                "a blank text, which datatrove drops here and the default policy's empty-text rule drops"
            )
        elif detail["words"] != words:
            item.cause = f"word tokenisation: {words} words here, {detail['words']} in datatrove"
        elif item.family == "c4" and detail["c4_sentences"] is not None:
            ours = table.column("quality.c4.sentences")[item.document].as_py()
            if ours != detail["c4_sentences"]:
                item.cause = f"C4 sentence count: {ours} here, {detail['c4_sentences']} in datatrove"
        if not item.cause and item.ours is not None and item.theirs is not None:
            item.cause = "both drop the document; the first rule to fail differs"
        if (
            not item.cause
            and item.family == "repetition"
            and _joined_ngrams_differ(text, table, item.document)
        ):
            item.cause = "a word n-gram matches another only once joined without spaces (datatrove's key)"
        if not item.cause:
            item.cause = "unexplained: the measured values agree in words and sentences"


def _joined_ngrams_differ(text: str, table: pa.Table, document: int) -> bool:
    """Whether keying n-grams by their joined words changes a duplicated n-gram share here."""
    tokens = _token_texts(text)
    for n in DUPLICATE_NGRAMS:
        ours = table.column(f"quality.repetition.dup_{n}gram_char_share")[document].as_py()
        if ours is not None and concatenated_duplicate_chars(tokens, n) / len(text) != ours:
            return True
    return False


@cache
def _english() -> spacy.language.Language:
    return spacy.blank("en")


def _token_texts(text: str) -> list[str]:
    """The words of ``text`` as strings (the detectors keep only their hashes)."""
    return [token.text for token in _english().tokenizer(text) if not token.is_space]


def report(result: Agreement, corpus: Path) -> str:
    """The printed tables: per filter, per rule, then disagreements by cause."""
    lines = [f"quality rules against datatrove 0.10.1 on {corpus.name}: {result.documents:,} documents", ""]
    lines.append(f"{'filter':<44} {'drops here':>11} {'datatrove':>10} {'agreement':>10}")
    for name, family in FAMILIES.items():
        row = result.filters[name]
        lines.append(
            f"{family.title:<44} {row['ours_drop']:>11,} {row['datatrove_drop']:>10,}"
            f" {row['agreement']:>10.2%}"
        )
    lines += [
        "",
        f"{'rule (first to fail)':<34} {'fires':>7} {'first here':>11} {'datatrove':>10} {'agreement':>10}",
    ]
    for rule, row in result.rules.items():
        lines.append(
            f"{rule:<34} {row['fires']:>7,} {row['first_ours']:>11,} {row['first_datatrove']:>10,}"
            f" {row['agreement']:>10.2%}"
        )
    lines.append("")
    if not result.disagreements:
        lines.append("disagreements: none (every document, every rule)")
        return "\n".join(lines)
    causes: dict[str, list[Disagreement]] = defaultdict(list)
    for item in result.disagreements:
        causes[item.cause].append(item)
    lines.append(f"disagreements: {len(result.disagreements)}, by cause")
    for cause, items in sorted(causes.items(), key=lambda pair: -len(pair[1])):
        lines.append(f"  {len(items):>5}  {cause}")
        for item in items[:5]:
            lines.append(
                f"         document {item.document} {item.family}: here {item.ours}, datatrove {item.theirs}"
            )
    return "\n".join(lines)


def agreement(texts: list[str]) -> tuple[Agreement, pa.Table]:
    """Both sides on ``texts``, compared and every disagreement explained."""
    table = measure(texts)
    verdicts, _ = run_datatrove(texts, details=False)
    result = compare(rule_fires(table), verdicts)
    if result.disagreements:
        details, _ = run_datatrove([texts[item.document] for item in result.disagreements], details=True)
        explain(result.disagreements, texts, table, details)
    return result, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sample", type=int, default=None, help="a seeded sample of this many documents")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    require(SETUP)
    texts = read_texts(args.corpus, args.sample, args.seed)
    result, _ = agreement(texts)
    print(report(result, args.corpus))
    if args.json:
        payload = {
            "documents": result.documents,
            "filters": result.filters,
            "rules": result.rules,
            "disagreements": [vars(item) for item in result.disagreements],
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    worst = min((row["agreement"] for row in result.rules.values()), default=1.0)
    sys.exit(0 if worst >= 0.99 else 1)


if __name__ == "__main__":
    main()
