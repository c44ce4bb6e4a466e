"""Keyword libraries: versioned TSV term lists mapped to TC260-003 risks, matched in one pass.

A library is a folder of ``*.tsv`` files (format in ``schemas/keywords/README.md``): one term a row,
each naming a risk of :mod:`detectors.harm.taxonomy`. TC260-003 asks a provider to keep such a
library (at least 10,000 terms over the 17 risks of A.1 and A.2) and to filter training data with
it, so the library is the user's data, and this module only loads, checks, matches and counts it.

Matching runs one Aho-Corasick automaton over a normalised copy of the text, so its cost does not
grow with the number of terms. Terms go through the same normalisation, so a library may be written
in any script or case. Normalisation, in order:

1. per character, length-preserving: NFKC (full-width ``ＦＵＣＫ`` to ``FUCK``), case folding,
   OpenCC ``t2s`` (traditional to simplified Chinese, character by character), every whitespace to
   a space. A character whose NFKC or case fold is longer than one character (``ß``, ``ﬁ``) keeps
   a one-character form, so positions stay aligned with the original;
2. the homoglyph table :data:`LEET` (``0→o 1→i 3→e @→a $→s``), only for a run of these characters
   next to an ASCII letter, so ``sh1t`` becomes ``shit`` while ``2013`` and ``$100`` stay as they are;
3. removals: zero-width characters (:data:`INVISIBLE`) anywhere; runs of spaces to one; the
   separators (:data:`SEPARATORS`) between single letters spelled out one at a time (``f.u.c.k``,
   ``f u c k``: three letters or more); and up to three separators between two Han characters
   (``傻*逼``, ``傻 逼``).

A hit's offsets are in the original text: removals keep a map from normalised positions back to
original ones. A term matches as a whole ``word`` (the characters around it are not letters or
digits, Han and kana aside, so ``ass`` is not found in ``class``) or as a ``substring``; the
default is ``substring`` for languages written without spaces between words
(:data:`UNSPACED_LANGUAGES`) and ``word`` otherwise. Plurals and inflections of a word term are
terms of their own.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

import ahocorasick
import opencc

from detectors.harm import taxonomy

MatchMode = Literal["word", "substring"]
MATCH_MODES: tuple[MatchMode, ...] = ("word", "substring")
REQUIRED_COLUMNS = ("term_id", "term", "risk", "lang", "weight", "added_at")
OPTIONAL_COLUMNS = ("match",)
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})
"""Primary language subtags whose terms default to ``substring``: no spaces mark word ends there."""

LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "@": "a", "$": "s"})
"""Digits and symbols read as the letters they imitate, where they touch a letter."""
INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
"""Zero-width and invisible format characters, dropped wherever they are."""
SEPARATORS = " .*_\\-·•"
"""Characters inserted between the letters of a word to hide it (with :data:`INVISIBLE`)."""

_SEP = f"[{SEPARATORS}{INVISIBLE}]"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f"
_UNSPACED_CHAR = re.compile(f"[\u3040-\u30ff{_HAN}]")
_LEET_CHAR = re.compile(r"[013@$]")
_LEET_RUN = re.compile(r"[013@$]+")
_SPACES = re.compile(" {2,}")
_BLANKS = re.compile(f"[ {INVISIBLE}]{{2,}}|[{INVISIBLE}]")
_SPELLED_OUT = re.compile(rf"(?<![^\W_])[^\W_](?:{_SEP}{{1,3}}[^\W_](?![^\W_])){{2,}}")
_SEP_RUN = re.compile(f"{_SEP}+")
_HAN_GAP = re.compile(rf"(?<=[{_HAN}]){_SEP}{{1,3}}(?=[{_HAN}])")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VERSION_COMMENT = re.compile(r"^#\s*version\s*[:=]\s*(\S+)\s*$", re.IGNORECASE)


class KeywordLibraryError(ValueError):
    """A keyword library cannot be loaded; one ``file:line: problem`` line per problem found."""


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _fold_char(char: str) -> str:
    """The one-character normal form of ``char`` (step 1 of the module docstring)."""
    if char in INVISIBLE:
        return char
    if char.isspace():
        return " "
    folded = unicodedata.normalize("NFKC", char).casefold()
    if len(folded) != 1:
        folded = char.lower() if len(char.lower()) == 1 else char
    if not folded.isascii():
        simplified = _t2s().convert(folded)
        if len(simplified) == 1:
            folded = simplified
    return folded


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that computes each character's form once per process, on first sight."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def _unleet(run: re.Match[str]) -> str:
    text, (start, end) = run.string, run.span()
    before = start > 0 and "a" <= text[start - 1] <= "z"
    after = end < len(text) and "a" <= text[end] <= "z"
    touches_letter = before or after
    return run.group().translate(LEET) if touches_letter else run.group()


def ends_word(char: str) -> bool:
    """True when ``char`` next to a word term leaves it a whole word: not a letter or digit, or a Han
    or kana character (mixed text runs Latin words into Chinese ones without spaces)."""
    return not char.isalnum() or _UNSPACED_CHAR.match(char) is not None


class Normalised(NamedTuple):
    """A normalised text and the map back to the original: kept segment ``k`` starts at
    ``starts[k]`` here and at ``origins[k]`` in the original."""

    text: str
    starts: tuple[int, ...]
    origins: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the non-empty normalised span ``[start, end)``."""
        first = bisect_right(self.starts, start) - 1
        last = bisect_right(self.starts, end - 1) - 1
        return (
            self.origins[first] + start - self.starts[first],
            self.origins[last] + end - self.starts[last],
        )


def normalise(text: str) -> Normalised:
    """``text`` as terms are matched against it, with the way back to original offsets."""
    folded = text.translate(_FOLD)
    if _LEET_CHAR.search(folded):
        folded = _LEET_RUN.sub(_unleet, folded)
    drops: list[tuple[int, int]] = []
    if folded.isascii():  # no invisible or Han characters: skip the scans that look for them
        if "  " in folded:
            drops += [(blank.start() + 1, blank.end()) for blank in _SPACES.finditer(folded)]
    else:
        for blank in _BLANKS.finditer(folded):
            space = blank.group().find(" ")
            if space < 0:
                drops.append(blank.span())
            else:
                drops += [(blank.start(), blank.start() + space), (blank.start() + space + 1, blank.end())]
        drops += [gap.span() for gap in _HAN_GAP.finditer(folded)]
    for word in _SPELLED_OUT.finditer(folded):
        drops += [gap.span() for gap in _SEP_RUN.finditer(folded, word.start(), word.end())]
    if not drops:
        return Normalised(folded, (0,), (0,))
    drops.sort()
    pieces: list[str] = []
    starts: list[int] = []
    origins: list[int] = []
    cursor = length = 0
    for start, end in [*drops, (len(folded), len(folded))]:
        if start > cursor:
            pieces.append(folded[cursor:start])
            starts.append(length)
            origins.append(cursor)
            length += start - cursor
        cursor = max(cursor, end)
    return Normalised("".join(pieces), tuple(starts) or (0,), tuple(origins) or (0,))


@dataclass(frozen=True, slots=True)
class Term:
    """One library entry. ``key`` is its normalised form; a bad value raises ValueError."""

    term_id: str
    term: str
    risk: str
    lang: str
    weight: float
    added_at: date
    match: MatchMode | None = None
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.term_id or any(char.isspace() for char in self.term_id):
            raise ValueError(f"term_id {self.term_id!r} is empty or has spaces")
        if not taxonomy.is_known(self.risk):
            raise ValueError(f"unknown risk {self.risk!r}: not a TC260-003 risk or hazard id")
        if not _LANG.match(self.lang):
            raise ValueError(f"lang {self.lang!r} is not a language tag such as en or zh-Hant")
        if not (math.isfinite(self.weight) and 0 < self.weight <= 1):
            raise ValueError(f"weight {self.weight} is not in (0, 1]")
        if self.match is None:
            primary = self.lang.split("-", 1)[0].lower()
            object.__setattr__(self, "match", "substring" if primary in UNSPACED_LANGUAGES else "word")
        elif self.match not in MATCH_MODES:
            raise ValueError(f"match {self.match!r} is not one of {', '.join(MATCH_MODES)}")
        key = normalise(self.term.strip()).text.strip()
        if not key:
            raise ValueError(f"term {self.term!r} is empty once normalised")
        object.__setattr__(self, "key", key)


class Hit(NamedTuple):
    """A term found in a text; ``[start, end)`` are offsets into the original text."""

    term_id: str
    risk: str
    start: int
    end: int
    weight: float


@dataclass(frozen=True)
class Requirement:
    """One TC260-003 keyword-library minimum and how far the library gets."""

    what: str
    required: int
    actual: int

    @property
    def met(self) -> bool:
        return self.actual >= self.required

    @property
    def shortfall(self) -> int:
        return max(0, self.required - self.actual)


@dataclass(frozen=True)
class CoverageReport:
    """Terms per risk and language, and the TC260-003 minimums met or missed.

    A term is counted once per risk however many spellings of it the library lists (``FUCK`` and
    ``f.u.c.k`` normalise alike), and once in ``total`` however many risks it names.
    """

    library: str
    version: str | None
    total: int
    by_risk: dict[str, int]
    by_lang: dict[str, int]
    by_risk_lang: dict[str, dict[str, int]]
    requirements: tuple[Requirement, ...]

    @property
    def met(self) -> bool:
        return all(item.met for item in self.requirements)

    @property
    def missed(self) -> tuple[Requirement, ...]:
        return tuple(item for item in self.requirements if not item.met)


class KeywordLibrary:
    """Terms mapped to risks, and the automaton that finds them.

    The automaton is built on the first :meth:`match` in each process and left out of the pickle:
    a library shipped to worker processes carries only its terms.
    """

    def __init__(self, terms: Iterable[Term], *, name: str = "keywords", version: str | None = None) -> None:
        self.terms = tuple(terms)
        self.name = name
        self.version = version
        seen: set[str] = set()
        for term in self.terms:
            if term.term_id in seen:
                raise ValueError(f"duplicate term_id {term.term_id!r}")
            seen.add(term.term_id)
        self._automaton: ahocorasick.Automaton | None = None

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return f"KeywordLibrary({self.name!r}, version={self.version!r}, {len(self.terms)} terms)"

    def __getstate__(self) -> dict[str, Any]:
        return {"terms": self.terms, "name": self.name, "version": self.version}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._automaton = None

    @classmethod
    def load(cls, folder: Path | str) -> KeywordLibrary:
        """Read every ``*.tsv`` of ``folder`` and its ``VERSION``; KeywordLibraryError lists all problems."""
        folder = Path(folder)
        terms, version = _Loader(folder).load()
        return cls(terms, name=folder.name, version=version)

    def _build(self) -> ahocorasick.Automaton:
        by_key: dict[str, list[tuple[str, str, float, bool]]] = {}
        for term in self.terms:
            entry = (term.term_id, term.risk, term.weight, term.match == "word")
            by_key.setdefault(term.key, []).append(entry)
        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key, entries in by_key.items():
            automaton.add_word(key, (len(key), tuple(entries)))
        automaton.make_automaton()
        self._automaton = automaton
        return automaton

    def match(self, text: str) -> list[Hit]:
        """Every term occurrence in ``text``, ordered by start, end and term id; overlaps are kept."""
        if not self.terms or not text:
            return []
        automaton = self._build() if self._automaton is None else self._automaton
        normalised = normalise(text)
        haystack = normalised.text
        size = len(haystack)
        hits: list[Hit] = []
        for last, (length, entries) in automaton.iter(haystack):
            start, end = last - length + 1, last + 1
            bounded = (start == 0 or ends_word(haystack[start - 1])) and (
                end == size or ends_word(haystack[end])
            )
            span: tuple[int, int] | None = None
            for term_id, risk, weight, word in entries:
                if word and not bounded:
                    continue
                span = span or normalised.span(start, end)
                hits.append(Hit(term_id, risk, span[0], span[1], weight))
        hits.sort(key=lambda hit: (hit.start, hit.end, hit.term_id))
        return hits

    def coverage(self) -> CoverageReport:
        """What the library covers, against the minimums in the taxonomy's ``keyword_minimums``."""
        found = taxonomy.taxonomy()
        per_risk: dict[str, set[str]] = {r.id: set() for r in [*taxonomy.risks(), *taxonomy.hazards()]}
        per_lang: dict[str, set[str]] = {}
        per_risk_lang: dict[str, dict[str, set[str]]] = {}
        for term in self.terms:
            per_risk[term.risk].add(term.key)
            per_lang.setdefault(term.lang, set()).add(term.key)
            per_risk_lang.setdefault(term.risk, {}).setdefault(term.lang, set()).add(term.key)
        total = len({term.key for term in self.terms})
        minimums = found.keyword_minimums
        floors = [
            (item.id, floor)
            for category in found.categories
            if (floor := minimums.per_risk.get(category.id)) is not None
            for item in category.risks
        ]
        listed = ", ".join(minimums.per_risk)
        covered = sum(1 for rid, _ in floors if per_risk[rid])
        requirements = [
            Requirement("terms in total", minimums.total, total),
            Requirement(f"risks of {listed} covered", len(floors), covered),
            *(Requirement(f"terms for {rid}", floor, len(per_risk[rid])) for rid, floor in floors),
        ]
        return CoverageReport(
            library=self.name,
            version=self.version,
            total=total,
            by_risk={rid: len(keys) for rid, keys in per_risk.items()},
            by_lang={lang: len(keys) for lang, keys in sorted(per_lang.items())},
            by_risk_lang={
                rid: {lang: len(keys) for lang, keys in sorted(langs.items())}
                for rid, langs in per_risk_lang.items()
            },
            requirements=tuple(requirements),
        )


def _iso_date(value: str) -> date | None:
    """``YYYY-MM-DD`` as a date; None for anything else, including impossible dates."""
    if not _DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class _Loader:
    """Reads a library folder, collecting every problem before failing, so one run shows them all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []
        self.terms: list[Term] = []
        self.first_seen: dict[str, str] = {}
        self.versions: list[tuple[str, str]] = []

    def load(self) -> tuple[list[Term], str | None]:
        if not self.folder.is_dir():
            raise KeywordLibraryError(f"{self.folder}: not a folder")
        files = sorted(self.folder.glob("*.tsv"))
        if not files:
            raise KeywordLibraryError(f"{self.folder}: no .tsv files")
        for path in files:
            self._read(path)
        version = self._version()
        if self.problems:
            raise KeywordLibraryError("\n".join(self.problems))
        return self.terms, version

    def _version(self) -> str | None:
        declared: tuple[str, str] | None = None
        path = self.folder / "VERSION"
        if path.is_file():
            words = path.read_text(encoding="utf-8").split()
            if not words:
                self.problems.append(f"{path}:1: empty VERSION file")
                return None
            declared = (words[0], str(path))
        for version, where in self.versions:
            if declared is None:
                declared = (version, where)
            elif version != declared[0]:
                expected, source = declared
                self.problems.append(f"{where}: version {version} disagrees with {expected} in {source}")
        return declared[0] if declared else None

    def _read(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark is not a column
        except UnicodeDecodeError as exc:
            self.problems.append(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})")
            return
        header: list[str] | None = None
        for number, line in enumerate(lines, start=1):
            where = f"{path}:{number}"
            if not line.strip():
                continue
            if line.lstrip().startswith("#"):
                version = _VERSION_COMMENT.match(line.strip())
                if version and header is None:
                    self.versions.append((version.group(1), where))
                continue
            if header is None:
                header = self._header(line, where)
                if header is None:
                    return
                continue
            self._row(header, line, where)
        if header is None:
            self.problems.append(f"{path}:1: no header line")

    def _header(self, line: str, where: str) -> list[str] | None:
        columns = [name.strip() for name in line.split("\t")]
        known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
        problems = [
            *(f"unknown column {name!r}" for name in columns if name not in known),
            *(f"missing column {name!r}" for name in REQUIRED_COLUMNS if name not in columns),
            *(f"column {name!r} twice" for name in dict.fromkeys(columns) if columns.count(name) > 1),
        ]
        if problems:
            self.problems.append(f"{where}: header: {'; '.join(problems)}")
            return None
        return columns

    def _row(self, header: list[str], line: str, where: str) -> None:
        fields = line.split("\t")
        if len(fields) < len(header) and all(name in OPTIONAL_COLUMNS for name in header[len(fields) :]):
            fields += [""] * (len(header) - len(fields))
        if len(fields) != len(header):
            self.problems.append(f"{where}: {len(fields)} tab-separated fields, the header has {len(header)}")
            return
        row = dict(zip(header, (value.strip() for value in fields), strict=True))
        try:
            weight = float(row["weight"])
        except ValueError:
            self.problems.append(f"{where}: weight {row['weight']!r} is not a number")
            return
        added_at = _iso_date(row["added_at"])
        if added_at is None:
            self.problems.append(f"{where}: added_at {row['added_at']!r} is not a date (YYYY-MM-DD)")
            return
        match = row.get("match") or None
        if match is not None and match not in MATCH_MODES:
            self.problems.append(f"{where}: match {match!r} is not one of {', '.join(MATCH_MODES)}")
            return
        try:
            term = Term(
                term_id=row["term_id"],
                term=row["term"],
                risk=row["risk"],
                lang=row["lang"],
                weight=weight,
                added_at=added_at,
                match=cast(MatchMode | None, match),
            )
        except ValueError as exc:
            self.problems.append(f"{where}: {exc}")
            return
        first = self.first_seen.get(term.term_id)
        if first is not None:
            self.problems.append(f"{where}: duplicate term_id {term.term_id!r}, first at {first}")
            return
        self.first_seen[term.term_id] = where
        self.terms.append(term)
