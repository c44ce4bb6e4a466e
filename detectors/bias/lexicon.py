"""Demographic descriptor lexicons: which words name a group of people, on which axis, and which
TC260-003 A.2 discrimination risk a mention of that group falls under.

A lexicon is a TSV file (``term_id, term, axis, bucket, risk, lang, preference``; ``#`` lines are
comments). Two ship in ``schemas/bias/``:

* ``holistic_bias_descriptors.tsv``: the HolisticBias v1.1 descriptors (Smith et al., EMNLP 2022;
  CC BY-SA 4.0), about 600 English terms over 13 axes, converted by :func:`convert_holistic_bias`.
  The source file has axes and buckets but no risk ids, so the conversion adds them from
  :data:`HOLISTIC_BIAS_RISKS` (per axis, or per bucket where a bucket belongs elsewhere: addictions
  are health, immigration status is nationality). ``nonce`` is HolisticBias's control axis of
  made-up words and maps to no risk.
* ``zh_descriptors.tsv``: Chinese terms for the A.2 axes (the 56 ethnic groups, religions, the 34
  provincial-level divisions and common region words, gender, age, occupation, health and
  disability), written for this project, each row with its risk id.

A row whose axis is ``-`` is a *shadow*: a longer phrase that contains a descriptor without naming
a group (水族馆 "aquarium" holds 水族 "the Sui people"). The matcher finds it like any term, and
because the longest match wins, it hides the descriptor inside it; it is never counted.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

COLUMNS = ("term_id", "term", "axis", "bucket", "risk", "lang", "preference")
SHADOW = "-"
"""The axis of a row that only hides the descriptors inside a longer, unrelated phrase."""
HOLISTIC_BIAS_FILE = "holistic_bias_descriptors.tsv"
HOLISTIC_BIAS_HEADER = (
    '# HolisticBias v1.1 descriptors (Smith et al., "I\'m sorry to hear that", EMNLP 2022), CC BY-SA 4.0.',
    "# Converted from holistic_bias_v1.1_descriptors.json by detectors.bias.lexicon; see README.md.",
)
HOLISTIC_BIAS_RISKS: dict[str, str | None] = {
    "ability": "A.2.8",
    "age": "A.2.6",
    "body_type": "A.2.9",
    "characteristics": "A.2.9",
    "characteristics/addictions": "A.2.8",
    "characteristics/immigration_status": "A.2.3",
    "characteristics/job_status": "A.2.7",
    "cultural": "A.2.9",
    "gender_and_sex": "A.2.5",
    "nationality": "A.2.3",
    "nonce": None,
    "political_ideologies": "A.2.9",
    "race_ethnicity": "A.2.1",
    "religion": "A.2.2",
    "sexual_orientation": "A.2.9",
    "socioeconomic_class": "A.2.9",
}
"""TC260-003 A.2 risk of each HolisticBias axis, or of an ``axis/bucket`` that differs from its axis."""
_SLUG = re.compile(r"[\W_]+")


class LexiconError(ValueError):
    """A lexicon file cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    """One lexicon row. ``risk`` is an A.2 risk id, or None for a control term or a shadow."""

    term_id: str
    term: str
    axis: str
    bucket: str
    risk: str | None
    lang: str
    preference: str

    @property
    def shadow(self) -> bool:
        return self.axis == SHADOW

    @property
    def label(self) -> str:
        """An ASCII name for figures (the report fonts have no Han glyphs): the term, or its id."""
        return self.term if self.term.isascii() else self.term_id

    def row(self) -> str:
        return "\t".join(getattr(self, name) or "" for name in COLUMNS)


def _slug(text: str) -> str:
    return _SLUG.sub("_", text.casefold().replace("+", " plus")).strip("_")


def convert_holistic_bias(path: Path) -> list[Descriptor]:
    """The HolisticBias descriptors file as lexicon rows, in the file's order.

    Entries are plain strings or objects with ``descriptor`` and ``preference`` (``reviewed``,
    ``dispreferred``, ``polarizing``); the preference is kept so a report can tell them apart.
    """
    found = json.loads(Path(path).read_text(encoding="utf-8"))
    rows: list[Descriptor] = []
    seen: set[str] = set()
    for axis, buckets in found.items():
        for bucket, entries in buckets.items():
            risk = HOLISTIC_BIAS_RISKS.get(f"{axis}/{bucket}", HOLISTIC_BIAS_RISKS[axis])
            for entry in entries:
                term = entry if isinstance(entry, str) else entry["descriptor"]
                preference = "" if isinstance(entry, str) else entry.get("preference") or ""
                term_id = f"en.{axis}.{_slug(term)}"
                if term_id in seen:
                    raise LexiconError(f"{path}: {axis}: {term!r} listed twice")
                seen.add(term_id)
                rows.append(Descriptor(term_id, term, axis, bucket, risk, "en", preference))
    return rows


def write_lexicon(rows: Iterable[Descriptor], header: Iterable[str] = HOLISTIC_BIAS_HEADER) -> str:
    """The TSV text of ``rows``, after the ``#`` comment lines of ``header``."""
    return "\n".join([*header, "\t".join(COLUMNS), *(row.row() for row in rows)]) + "\n"


def read_lexicon(path: Path) -> list[Descriptor]:
    """The rows of one lexicon TSV file; LexiconError on a bad header, row or duplicate id."""
    rows: list[Descriptor] = []
    seen: set[str] = set()
    header: list[str] | None = None
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [value.strip() for value in line.split("\t")]
        if header is None:
            if tuple(fields) != COLUMNS:
                raise LexiconError(f"{path}:{number}: header must be {', '.join(COLUMNS)}")
            header = fields
            continue
        fields += [""] * (len(COLUMNS) - len(fields))
        if len(fields) != len(COLUMNS) or not all(fields[:3]) or not fields[5]:
            raise LexiconError(f"{path}:{number}: expected term_id, term, axis and lang, tab-separated")
        term_id, term, axis, bucket, risk, lang, preference = fields
        row = Descriptor(term_id, term, axis, bucket, risk or None, lang, preference)
        if row.term_id in seen:
            raise LexiconError(f"{path}:{number}: duplicate term_id {row.term_id!r}")
        seen.add(row.term_id)
        rows.append(row)
    return rows


def lexicon_folder() -> Path:
    """``schemas/bias``, where the shipped lexicons live."""
    return Path(str(resources.files("schemas") / "bias"))


@cache
def shipped_lexicon() -> tuple[Descriptor, ...]:
    """Every row of every shipped lexicon, files in name order."""
    return tuple(row for path in sorted(lexicon_folder().glob("*.tsv")) for row in read_lexicon(path))


@cache
def axis_risks() -> dict[str, frozenset[str]]:
    """The A.2 risks of the descriptors of each axis (shadows and control terms left out)."""
    risks: dict[str, set[str]] = {}
    for row in shipped_lexicon():
        if not row.shadow:
            risks.setdefault(row.axis, set()).update([row.risk] if row.risk else [])
    return {axis: frozenset(found) for axis, found in risks.items()}


if __name__ == "__main__":  # python -m detectors.bias.lexicon DESCRIPTORS_JSON > OUT.tsv
    sys.stdout.write(write_lexicon(convert_holistic_bias(Path(sys.argv[1]))))
