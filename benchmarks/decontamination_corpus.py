"""Contaminated and clean documents for the decontamination benchmarks and tests, from real data.

Benchmarks (``../shared/data/benchmarks``), cut with a seeded shuffle so that every benchmark
family has items that are indexed and items that are not:

- ``gsm8k``: the questions of one third of GSM8K test, indexed as they are;
- ``gsm8k_mc``: the questions of another third as four-option multiple choice (``choices``: the
  true final answer and three distractors near it, in a seeded order), since neither shared
  benchmark has options and option letters are a copy style to test;
- ``humaneval``: the prompts of half of HumanEval;
- held out, never indexed: the last third of GSM8K (as plain questions and as multiple choice)
  and the other half of HumanEval. Documents holding them are clean and must not be flagged,
  although they share the benchmark's templates ("How many ... does she have left?",
  ``from typing import List``).

Each indexed item is copied into a document in every copy style of :data:`STYLES` (what a web
page does to a copied item), the surrounding text taken from real documents of
``corpora/nltk_mixed.jsonl.gz``; every NLTK document on its own is a clean document too.

The Chinese set (:func:`chinese_split`) uses COLD comments as pseudo-items: no Chinese benchmark is
among the shared data, and COLD (``harm/cold_dev.csv``) is real Chinese text of benchmark-item
length (47 characters on average). Half the comments are indexed, the other half and the SWSR
Weibo comments (``harm/swsr_comments.csv``, also the surrounding text) are clean.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GSM8K = DATA / "benchmarks" / "gsm8k_test.jsonl"
HUMANEVAL = DATA / "benchmarks" / "humaneval.jsonl.gz"
NLTK = DATA / "corpora" / "nltk_mixed.jsonl.gz"
COLD = DATA / "harm" / "cold_dev.csv"
SWSR = DATA / "harm" / "swsr_comments.csv"
LABEL_FORMATS = ("({}) ", "{}) ", "{}. ", "[{}] ", "{}: ")
_SENTENCE_END = re.compile(r"(?<=[.?!。？！\n])\s*")
_PUNCTUATION = frozenset(string.punctuation)


@dataclass(frozen=True)
class Item:
    """A benchmark item: its id as the detector reports it (``gsm8k:17``), its text as indexed,
    and for multiple choice its question and options."""

    item_id: str
    text: str
    question: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Doc:
    """A test document: its text, the copy style, and the item it holds (None: clean)."""

    text: str
    style: str
    item_id: str | None


# copy styles: (item, random generator, real text to put around or between) -> document text
def _lowercase(item: Item, rng: random.Random, filler: str) -> str:
    return item.text.lower()


def _uppercase(item: Item, rng: random.Random, filler: str) -> str:
    return item.text.upper()


def _whitespace(item: Item, rng: random.Random, filler: str) -> str:
    return " ".join(item.text.split())


def _full_width(item: Item, rng: random.Random, filler: str) -> str:
    return "".join(
        chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in item.text
    )


def _punctuation_stripped(item: Item, rng: random.Random, filler: str) -> str:
    return "".join(
        c for c in item.text if c not in _PUNCTUATION and not unicodedata.category(c).startswith("P")
    )


def _line_broken(item: Item, rng: random.Random, filler: str) -> str:
    """Hard-wrapped at 30 to 60 characters, a long word now and then hyphenated across the break."""
    width = rng.randint(30, 60)
    lines, line = [], ""
    for word in item.text.split():
        if line and len(line) + 1 + len(word) > width:
            if len(word) >= 6 and rng.random() < 0.3:
                cut = rng.randint(2, len(word) - 2)
                lines.append(f"{line} {word[:cut]}-")
                line = word[cut:]
                continue
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def _pieces(text: str, count: int) -> list[str]:
    """``text`` cut at sentence or line ends into ``count`` pieces of about equal length."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) < count:
        words = text.split()
        if len(words) < 2 * count:  # unsegmented text: cut between characters
            step = -(-len(text) // count)
            return [text[i : i + step] for i in range(0, len(text), step)]
        step = -(-len(words) // count)
        return [" ".join(words[i : i + step]) for i in range(0, len(words), step)]
    target, pieces, piece = len(text) / count, [], ""
    for sentence in sentences:
        piece = f"{piece} {sentence}" if piece else sentence
        if len(piece) >= target and len(pieces) < count - 1:
            pieces.append(piece)
            piece = ""
    return [*pieces, piece] if piece else pieces


def _filler_lines(filler: str, rng: random.Random) -> list[str]:
    sentences = [s.strip() for s in _SENTENCE_END.split(filler) if len(s.split()) >= 3 or len(s) >= 8]
    return sentences or [filler.strip()]


def _split_with_text_between(item: Item, rng: random.Random, filler: str) -> str:
    """The item in three pieces on their own lines, one or two lines of other text between them."""
    lines = _filler_lines(filler, rng)
    out: list[str] = []
    for number, piece in enumerate(_pieces(item.text, 3)):
        if number:
            start = rng.randrange(len(lines))
            out.extend(lines[start : start + rng.randint(1, 2)])
        out.append(piece)
    return "\n".join(out)


def _embedded(item: Item, rng: random.Random, filler: str) -> str:
    """The item as a paragraph in the middle of a real document."""
    lines = _filler_lines(filler, rng)
    cut = len(lines) // 2
    return "\n".join([" ".join(lines[:cut]), "", item.text, "", " ".join(lines[cut:])]).strip()


def _option_letters(item: Item, rng: random.Random, filler: str) -> str:
    """The question, then its options relabelled (``(A) 18``, ``B) 20``, ...), on lines or inline."""
    label = rng.choice(LABEL_FORMATS)
    letters = "ABCD" if rng.random() < 0.7 else "abcd"
    options = [label.format(letter) + choice for letter, choice in zip(letters, item.choices, strict=False)]
    return item.question + "\n" + (rng.choice(["\n", "   "]).join(options))


def _question_without_options(item: Item, rng: random.Random, filler: str) -> str:
    return item.question


Style = Callable[[Item, random.Random, str], str]
STYLES: dict[str, Style] = {
    "lowercase": _lowercase,
    "uppercase": _uppercase,
    "whitespace_collapsed": _whitespace,
    "full_width": _full_width,
    "punctuation_stripped": _punctuation_stripped,
    "line_broken": _line_broken,
    "split_with_text_between": _split_with_text_between,
    "embedded_in_text": _embedded,
}
"""Copy styles of every item."""
CHOICE_STYLES: dict[str, Style] = {
    "option_letters": _option_letters,
    "question_without_options": _question_without_options,
}
"""Copy styles of multiple-choice items only."""


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _distractors(answer: str, rng: random.Random) -> list[str]:
    value = int(answer.replace(",", ""))
    near = [value + d for d in (-10, -2, -1, 1, 2, 3, 5, 10)] + [value * 2, max(value // 2, 1)]
    wrong = rng.sample(sorted(set(near) - {value}), 3)
    options = [str(v) for v in [value, *wrong]]
    rng.shuffle(options)
    return options


@dataclass(frozen=True)
class Split:
    """The benchmark files to index (name -> records, as written by :func:`write_benchmarks`), the
    indexed items by benchmark, and the held-out items (clean documents of the same families)."""

    records: dict[str, list[dict]]
    indexed: dict[str, list[Item]]
    held_out: list[Item]


def split(seed: int) -> Split:
    """Cut GSM8K and HumanEval into indexed and held-out items (module docstring)."""
    rng = random.Random(seed)
    gsm8k = _jsonl(GSM8K)
    order = list(range(len(gsm8k)))
    rng.shuffle(order)
    third = len(order) // 3
    plain, multiple, held = order[:third], order[third : 2 * third], order[2 * third :]
    humaneval = _jsonl(HUMANEVAL)
    human_order = list(range(len(humaneval)))
    rng.shuffle(human_order)
    half = len(human_order) // 2

    def choice_record(index: int) -> dict:
        row = gsm8k[index]
        return {
            "question": row["question"],
            "choices": _distractors(row["answer"].split("####")[-1].strip(), rng),
        }

    records = {
        "gsm8k": [{"question": gsm8k[i]["question"]} for i in plain],
        "gsm8k_mc": [choice_record(i) for i in multiple],
        "humaneval": [{"prompt": humaneval[i]["prompt"]} for i in human_order[:half]],
    }
    indexed = {
        "gsm8k": [Item(f"gsm8k:{n}", r["question"]) for n, r in enumerate(records["gsm8k"])],
        "gsm8k_mc": [
            Item(
                f"gsm8k_mc:{n}", "\n".join([r["question"], *r["choices"]]), r["question"], tuple(r["choices"])
            )
            for n, r in enumerate(records["gsm8k_mc"])
        ],
        "humaneval": [Item(f"humaneval:{n}", r["prompt"]) for n, r in enumerate(records["humaneval"])],
    }
    held_out = [Item("", gsm8k[i]["question"]) for i in held]
    for i in held:
        record = choice_record(i)
        held_out.append(Item("", "\n".join([record["question"], *record["choices"]])))
    held_out += [Item("", humaneval[i]["prompt"]) for i in human_order[half:]]
    return Split(records, indexed, held_out)


FIELDS = {"gsm8k": ["question"], "gsm8k_mc": ["question", "choices"], "humaneval": ["prompt"]}


def write_benchmarks(records: dict[str, list[dict]], folder: Path) -> list[dict]:
    """The benchmark files (JSONL, multiple choice as ``.jsonl.gz``) and their detector config."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = []
    for name, rows in records.items():
        path = folder / (f"{name}.jsonl.gz" if name == "gsm8k_mc" else f"{name}.jsonl")
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
        path.write_bytes(gzip.compress(lines, mtime=0) if path.suffix == ".gz" else lines)
        specs.append({"name": name, "paths": [str(path)], "fields": FIELDS[name]})
    return specs


def nltk_texts() -> list[str]:
    return [row["text"] for row in _jsonl(NLTK)]


def contaminated(
    indexed: dict[str, list[Item]], fillers: list[str], seed: int, styles: dict[str, Style] | None = None
) -> list[Doc]:
    """Every indexed item in every style that fits it (``STYLES``, or ``CHOICE_STYLES`` for multiple
    choice; ``styles`` for all when given), around or between real text of ``fillers``."""
    rng = random.Random(seed)
    docs = []
    for items in indexed.values():
        for item in items:
            chosen = styles or (CHOICE_STYLES if item.choices else STYLES)
            for style, copy in chosen.items():
                docs.append(Doc(copy(item, rng, rng.choice(fillers)), style, item.item_id))
    return docs


def surrounding_texts(texts: list[str], min_words: int = 40) -> list[str]:
    """Documents long enough to surround an item."""
    return [text for text in texts if len(text.split()) >= min_words]


def _csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class ChineseSplit:
    items: list[Item]
    held_out: list[Item]
    swsr: list[str]


def chinese_split(seed: int, min_chars: int = 20) -> ChineseSplit:
    """COLD comments of at least ``min_chars`` characters, half indexed (as ``cold``), half held out."""
    texts = sorted({row["TEXT"].strip() for row in _csv_rows(COLD) if len(row["TEXT"].strip()) >= min_chars})
    rng = random.Random(seed)
    rng.shuffle(texts)
    half = len(texts) // 2
    items = [Item(f"cold:{n}", text) for n, text in enumerate(texts[:half])]
    held = [Item("", text) for text in texts[half:]]
    return ChineseSplit(items, held, [row["TEXT"] for row in _csv_rows(SWSR)])


def _spaced(item: Item, rng: random.Random, filler: str) -> str:
    """A space between every character, as some pages render Chinese."""
    return " ".join(item.text.replace(" ", ""))


def _broken_characters(item: Item, rng: random.Random, filler: str) -> str:
    """Hard-wrapped every 12 to 20 characters, as a narrow column of a Chinese page."""
    lines, start = [], 0
    while start < len(item.text):
        end = start + rng.randint(12, 20)
        lines.append(item.text[start:end])
        start = end
    return "\n".join(lines)


CHINESE_STYLES: dict[str, Style] = {
    "full_width": _full_width,
    "punctuation_stripped": _punctuation_stripped,
    "spaced_characters": _spaced,
    "line_broken": _broken_characters,
    "split_with_text_between": _split_with_text_between,
    "embedded_in_text": _embedded,
}
"""Copy styles of Chinese items (case and option letters do not apply)."""
