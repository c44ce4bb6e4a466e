"""Span precision and recall of the ``pii`` detector against Presidio's pattern recognisers.

Builds the labelled set of ``pii_corpus.py`` (real English and Chinese host sentences with
synthetic identifiers, plus look-alikes that fail a check digit and plain numbers), then the
format set of ``pii_formats.py`` (cards of every issuer and length and phones in the layouts of
ten locales, beside order numbers, ISBNs and dates), and runs on each:

* ours: ``PiiDetector().find`` (the defaults: prefilter on) on every document;
* the baseline: Presidio's predefined pattern recognisers alone, an ``AnalyzerEngine`` over the
  ``NoOpNlpEngine`` with NER recognisers dropped, on the English documents only: Presidio has no
  Chinese recognisers, which is the gap the detector exists to close. Its types are renamed to
  ours; types with no counterpart (URL, DATE_TIME, US_BANK_NUMBER, ...) are ignored, and its
  generic PHONE_NUMBER and CREDIT_CARD count as CN_MOBILE and CN_BANK_CARD where they land on a
  Chinese mobile or UnionPay card, since they are the same thing named more broadly.

A prediction is a true positive when its type and its exact (start, end) match a gold span; a
relaxed table counts any overlap of the same type. Decoys (look-alikes with a wrong check digit,
impossible birth date or invalid SSN area, and ordinary numbers) count as flagged when any
prediction overlaps them. Misses and false positives are grouped by the kind of character on
each side of the span and by what was found instead (another type, wider or narrower bounds, a
decoy), each group with one masked example (digits 9, letters A/a, CJK 字, runs counted), so the
detector's author sees the failing pattern and the output never holds a value.

Exits non-zero when ours misses the goal on either set (precision and recall at least 0.95 on
every structured type present, no decoy flagged) or cannot run. PERSON is reported but not
gated: without a spaCy NER model installed neither side can find names.
Run: ``.venv/bin/python benchmarks/pii_quality.py [--seed 7] [--per-type 200]``.
"""

from __future__ import annotations

import argparse
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable

import tldextract
from pii_corpus import STRUCTURED_TYPES, LabelledDoc, Span, build, summary  # beside this script
from pii_formats import build_formats
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from detectors.pii import PiiDetector

Predict = Callable[[LabelledDoc], Iterable[Span]]
GOAL = 0.95
BASELINE_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IP_ADDRESS": "IP_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
}
BASELINE_COUNTS_FOR = {"PHONE_NUMBER": "CN_MOBILE", "CREDIT_CARD": "CN_BANK_CARD"}
NER_MODULES = (".ner.", ".nlp_engine_recognizers.")
SHOWN_PER_TYPE = 5


# --- scoring -----------------------------------------------------------------------------------


def _overlaps(first: Span, second: Span) -> bool:
    return first[0] < second[1] and second[0] < first[1]


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def shape(text: str, limit: int = 60) -> str:
    """A value's form without the value: digits 9, ASCII letters A/a, CJK ideographs 字, runs of
    one class counted. Mixed alphanumeric runs of 8 or more (keys, base64) become ``x{n}``;
    punctuation stays, since it is the format, not the identifier.
    """
    classes = "".join(_masked(ch) for ch in text.replace("\n", "⏎"))
    mixed = re.sub(
        r"[9Aa]{8,}",
        lambda m: m.group(0) if len(set(m.group(0))) == 1 else f"x{{{len(m.group(0))}}}",
        classes,
    )
    counted = re.sub(r"([9Aa字])\1{3,}", lambda m: f"{m.group(1)}{{{len(m.group(0))}}}", mixed)
    return counted if len(counted) <= limit else counted[: limit - 1] + "…"


def _masked(char: str) -> str:
    if char.isdigit():
        return "9"
    if "\u4e00" <= char <= "\u9fff":
        return "字"
    if char.isascii() and char.isalpha():
        return "A" if char.isupper() else "a"
    return char


def _edge(text: str, index: int) -> str:
    """The character at ``index`` by kind (字 CJK ideograph, a letter, 9 digit, ␣ space, · the
    document edge), punctuation as itself: what a recogniser's boundary rules see."""
    if not 0 <= index < len(text):
        return "·"
    char = text[index]
    if char.isspace():
        return "␣"
    masked = _masked(char)
    return "a" if masked == "A" or (masked == char and char.isalpha()) else masked


def _context(doc: LabelledDoc, span: Span) -> str:
    return f"{_edge(doc.text, span[0] - 1)}[…]{_edge(doc.text, span[1])}"


def _difference(doc: LabelledDoc, predicted: Span, gold: Span) -> str:
    """How a prediction's bounds differ from a gold span's: characters added (+) or dropped (-) per end."""
    parts = []
    for side, mine, truth in (("start", predicted[0], gold[0]), ("end", predicted[1], gold[1])):
        if mine != truth:
            adds = (mine < truth) == (side == "start")
            low, high = sorted((mine, truth))
            parts.append(f"{side} {'+' if adds else '-'}«{shape(doc.text[low:high], 12)}»")
    return " ".join(parts)


def _found_instead(doc: LabelledDoc, span: Span, predicted: list[Span]) -> str:
    """What the predictor said about a missed gold span: nothing, another type, or other bounds."""
    touching = [p for p in predicted if _overlaps(p, span)]
    if not touching:
        return "nothing"
    return "; ".join(f"{p[2]} {_difference(doc, p, span)}" if p[2] == span[2] else p[2] for p in touching)


def _false_reason(doc: LabelledDoc, span: Span) -> str:
    """Where a false positive fell: on a decoy, on a gold span (other type or bounds), or elsewhere."""
    for decoy in doc.decoys:
        if _overlaps(decoy, span):
            return f"on decoy {decoy[2]}"
    for gold in doc.spans:
        if _overlaps(gold, span):
            return (
                f"on gold {gold[2]} {_difference(doc, span, gold)}" if gold[2] == span[2] else f"on {gold[2]}"
            )
    return "in host text"


def _note(groups: dict[str, dict[str, list]], kind: str, key: str, example: str) -> None:
    """Count one error under its group, keeping the first masked example."""
    groups.setdefault(kind, {}).setdefault(key, [0, example])[0] += 1


def score(docs: list[LabelledDoc], predict: Predict, counts_for: dict[str, str] | None = None) -> dict:
    """Per-type exact and relaxed precision/recall, micro figures and flagged decoys.

    ``counts_for`` maps a generic predicted type to a specific gold type it stands for where it
    lands on a gold span of that type (the baseline's PHONE_NUMBER on a CN_MOBILE). Precision
    and recall are ``None`` where nothing was predicted or there is no gold.
    """
    tallies: dict[str, Counter] = {}
    decoys: dict[str, Counter] = {}
    misses: dict[str, dict[str, list]] = {}
    false: dict[str, dict[str, list]] = {}
    for doc in docs:
        predicted = sorted(set(predict(doc)))
        if counts_for:
            predicted = [_relabel(span, doc.spans, counts_for) for span in predicted]
        exact = set(predicted)
        for span in doc.spans:
            tally = tallies.setdefault(span[2], Counter())
            tally["gold"] += 1
            tally["tp"] += span in exact
            tally["gold_touched"] += any(p[2] == span[2] and _overlaps(p, span) for p in predicted)
            if span not in exact:
                key = f"{_context(doc, span)} found as: {_found_instead(doc, span, predicted)}"
                _note(misses, span[2], key, shape(doc.text[span[0] : span[1]]))
        gold = set(doc.spans)
        for span in predicted:
            tally = tallies.setdefault(span[2], Counter())
            tally["predicted"] += 1
            tally["predicted_touching"] += any(g[2] == span[2] and _overlaps(g, span) for g in doc.spans)
            if span not in gold:
                key = f"{_context(doc, span)} {_false_reason(doc, span)}"
                _note(false, span[2], key, shape(doc.text[span[0] : span[1]]))
        for decoy in doc.decoys:
            counts = decoys.setdefault(decoy[2], Counter())
            counts["total"] += 1
            counts[doc.lang] += 1
            counts["flagged"] += any(_overlaps(p, decoy) for p in predicted)
    types = {
        kind: {
            "gold": t["gold"],
            "predicted": t["predicted"],
            "tp": t["tp"],
            "precision": _ratio(t["tp"], t["predicted"]),
            "recall": _ratio(t["tp"], t["gold"]),
            "precision_relaxed": _ratio(t["predicted_touching"], t["predicted"]),
            "recall_relaxed": _ratio(t["gold_touched"], t["gold"]),
        }
        for kind, t in sorted(tallies.items())
    }
    structured = [t for kind, t in tallies.items() if kind in STRUCTURED_TYPES]
    tp, predicted_n, gold_n = (sum(t[key] for t in structured) for key in ("tp", "predicted", "gold"))
    return {
        "types": types,
        "micro": {"precision": _ratio(tp, predicted_n), "recall": _ratio(tp, gold_n)},
        "decoys": {kind: dict(counts) for kind, counts in sorted(decoys.items())},
        "decoys_flagged": sum(counts["flagged"] for counts in decoys.values()),
        "misses": misses,
        "false": false,
    }


def _relabel(span: Span, gold: list[Span], counts_for: dict[str, str]) -> Span:
    start, end, kind = span
    specific = counts_for.get(kind)
    if specific and any(g[2] == specific and _overlaps(g, span) for g in gold):
        return start, end, specific
    return span


# --- the two predictors ------------------------------------------------------------------------


def presidio_baseline() -> Predict:
    """Presidio's predefined pattern recognisers, English documents only, types renamed to ours.

    EmailRecognizer validates with the module-level ``tldextract.extract``, which fetches the
    public-suffix list on first use and prints a traceback when offline. This one instance is
    switched to tldextract's bundled snapshot instead; nothing else (and not our detector, which
    may use the same class) is patched, so the baseline's answers are what Presidio gives
    wherever the suffix list can be fetched.
    """
    engine = AnalyzerEngine(
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]),
        supported_languages=["en"],
    )
    registry = engine.registry
    registry.recognizers = [
        r for r in registry.recognizers if not any(m in type(r).__module__ for m in NER_MODULES)
    ]
    loaded = {entity for r in registry.recognizers for entity in r.supported_entities}
    missing = sorted(set(BASELINE_TYPES) - loaded)
    if missing:
        raise SystemExit(f"Presidio's registry did not load recognisers for {', '.join(missing)}")
    print(f"baseline recognisers: {', '.join(sorted(type(r).__name__ for r in registry.recognizers))}")
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    for recognizer in registry.recognizers:
        if isinstance(recognizer, EmailRecognizer):
            recognizer.validate_result = lambda text: offline(text).fqdn != ""

    def predict(doc: LabelledDoc) -> list[Span]:
        if doc.lang != "en":
            return []
        results = engine.analyze(text=doc.text, language="en")
        return [
            (r.start, r.end, BASELINE_TYPES[r.entity_type])
            for r in results
            if r.entity_type in BASELINE_TYPES
        ]

    return predict


def ours() -> Predict:
    """The ``pii`` detector with its defaults."""
    detector = PiiDetector()

    def predict(doc: LabelledDoc) -> list[Span]:
        return [(e.start, e.end, e.type) for e in detector.find(doc.text)]

    return predict


# --- report ------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def predict_all(docs: list[LabelledDoc], predict: Predict) -> tuple[Predict, float]:
    """Run ``predict`` once over ``docs``; a lookup that replays its answers, and the seconds it took."""
    started = time.perf_counter()
    answers = {id(doc): list(predict(doc)) for doc in docs}
    return (lambda doc: answers[id(doc)]), time.perf_counter() - started


def print_tables(docs: list[LabelledDoc], mine: dict | None, base: dict) -> None:
    kinds = sorted({*base["types"], *(mine["types"] if mine else ())}, key=_type_order)
    empty: dict = {}
    for relaxed in (False, True):
        suffix = "_relaxed" if relaxed else ""
        print(f"\n{'Relaxed (any overlap, same type)' if relaxed else 'Exact spans'}:\n")
        print("| type | gold | ours P | ours R | baseline P | baseline R |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for kind in kinds:
            row_mine = mine["types"].get(kind, empty) if mine else empty
            row_base = base["types"].get(kind, empty)
            gold = row_mine.get("gold") or row_base.get("gold") or 0
            name = f"{kind} (not gated: no NER model)" if kind == "PERSON" else kind
            print(
                f"| {name} | {gold} | {_fmt(row_mine.get('precision' + suffix))} | "
                f"{_fmt(row_mine.get('recall' + suffix))} | {_fmt(row_base.get('precision' + suffix))} | "
                f"{_fmt(row_base.get('recall' + suffix))} |"
            )
    print("\nStructured identifiers (all types but PERSON), micro, exact spans:")
    for label, result in (("ours", mine), ("baseline", base)):
        if result:
            micro = result["micro"]
            figures = f"P {_fmt(micro['precision'])}  R {_fmt(micro['recall'])}"
            print(f"  {label:<9} {figures}  ({result['seconds']:.1f} s to predict)")
    english = [doc for doc in docs if doc.lang == "en"]
    print(f"  on the {len(english)} English documents only (the baseline's whole input):")
    for label, result in (("ours", mine), ("baseline", base)):
        if result:
            micro = result["english"]["micro"]
            print(f"  {label:<9} P {_fmt(micro['precision'])}  R {_fmt(micro['recall'])}")


def print_decoys(mine: dict | None, base: dict) -> None:
    print("\nDecoys flagged (any overlapping prediction); the baseline sees English documents only:\n")
    print("| decoy | total | in English docs | ours flagged | baseline flagged |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, counts in base["decoys"].items():
        flagged = mine["decoys"][kind]["flagged"] if mine else "–"
        print(f"| {kind} | {counts['total']} | {counts.get('en', 0)} | {flagged} | {counts['flagged']} |")
    checks = [kind for kind in base["decoys"] if not kind.startswith("NUMBER")]
    total = sum(base["decoys"][kind]["total"] for kind in checks)
    in_english = sum(base["decoys"][kind].get("en", 0) for kind in checks)
    ours_flagged = sum(mine["decoys"][kind]["flagged"] for kind in checks) if mine else "–"
    base_flagged = sum(base["decoys"][kind]["flagged"] for kind in checks)
    print(
        f"\nInvalid check digits flagged: ours {ours_flagged} of {total}, "
        f"baseline {base_flagged} of {in_english} (English documents)"
    )


def print_errors(label: str, result: dict) -> None:
    print(
        f"\n{label}: misses and false positives by type, grouped by the characters around the span "
        f"(字 CJK, a letter, 9 digit, ␣ space, · edge), with a masked example (top {SHOWN_PER_TYPE}):"
    )
    for kind in sorted({*result["misses"], *result["false"]}, key=_type_order):
        for what, groups in (("missed", result["misses"].get(kind)), ("false", result["false"].get(kind))):
            if groups:
                print(f"  {kind} {what} {sum(count for count, _ in groups.values())}:")
                ranked = sorted(groups.items(), key=lambda item: -item[1][0])
                for key, (count, example) in ranked[:SHOWN_PER_TYPE]:
                    print(f"    {count:>4} x {key}   e.g. {example}")


def _type_order(kind: str) -> tuple[int, str]:
    return (STRUCTURED_TYPES.index(kind) if kind in STRUCTURED_TYPES else len(STRUCTURED_TYPES), kind)


def failures(result: dict) -> list[str]:
    """Why ours misses the goal, one reason per line; empty when it meets it."""
    reasons = []
    for kind, row in result["types"].items():
        if kind not in STRUCTURED_TYPES:
            continue
        for measure in ("precision", "recall"):
            value = row[measure]
            if value is None and row["gold"] == 0:
                continue
            if value is None or value < GOAL:
                reasons.append(f"{kind} {measure} {_fmt(value)} < {GOAL}")
    if result["decoys_flagged"]:
        reasons.append(f"{result['decoys_flagged']} decoys flagged (goal: none)")
    return reasons


def run(seed: int, per_type: int) -> int:
    """Score both predictors on the main set, then on the format set; the exit status."""
    main_status = run_set("main set (pii_corpus.py)", build(seed, per_type))
    formats_status = run_set("format set (pii_formats.py)", build_formats(seed + 4, per_type + per_type // 2))
    return max(main_status, formats_status)


def run_set(title: str, docs: list[LabelledDoc]) -> int:
    """Score both predictors on one labelled set and print the tables; its exit status."""
    print(f"\n=== {title} ===\ncorpus: {summary(docs)}")
    english = [doc for doc in docs if doc.lang == "en"]
    baseline, seconds = predict_all(docs, presidio_baseline())
    base = {**score(docs, baseline, BASELINE_COUNTS_FOR), "seconds": seconds}
    base["english"] = score(english, baseline, BASELINE_COUNTS_FOR)
    try:
        predict, seconds = predict_all(docs, ours())
    except Exception as exc:
        print_tables(docs, None, base)
        print_decoys(None, base)
        print(f"\nours failed: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 2
    mine = {**score(docs, predict), "seconds": seconds, "english": score(english, predict)}
    print_tables(docs, mine, base)
    print_decoys(mine, base)
    print_errors("ours", mine)
    print_errors("baseline (English documents)", base["english"])
    reasons = failures(mine)
    if reasons:
        print("\nFAIL: the detector misses the goal:\n  " + "\n  ".join(reasons))
        return 1
    print(f"\nPASS: precision and recall >= {GOAL} on every structured type, no decoy flagged")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-type", type=int, default=200)
    args = parser.parse_args()
    raise SystemExit(run(args.seed, args.per_type))


if __name__ == "__main__":
    main()
