"""Trained offensive-language classifiers for the ``harm`` detector: one quantised fastText model per
language, shipped in ``schemas/models/harm`` with the ``training.json`` that describes them.

Keyword libraries only find the words they list; a classifier trained on labelled text also scores
abuse written in ordinary words (most of COLD's offensive comments hold no slur). The models are
trained by ``python -m jobs.train_classifier`` (data, licences and measures in the folder's
``MODEL_CARD.md``) and read here with ``fasttext-predict``, which predicts under NumPy 2.

``training.json`` names, per model, its file and SHA-256, the language it reads, the positive label
and the TC260-003 risk id its probability is a score for, so a retrained or replacement model needs
no code change. A file whose hash differs from the manifest is refused: the run record must name
the model that actually ran.

What a model reads (:func:`prepare`, also used to write the training files) is named by its
manifest entry's ``reads`` (the language when absent), so a retrained model can change it without
breaking a model that still reads the old way:

* ``en``: whitespace collapsed to single spaces (fastText reads one line per example);
* ``social`` (English social-media text): HTML entities decoded (tweets carry ``&amp;`` and
  ``&#128514;``), links and ``@mentions`` replaced by one placeholder each, ``RT`` markers dropped,
  lower case, punctuation split from words. Links, handles and capitals are properties of one
  platform's export, not of offensive language; read raw they let the model learn the platform;
* ``zh``: NFKC (full-width forms) and case folding, the same link and mention placeholders, then
  each Han character as one token and each run of Latin letters or digits as one token, since
  fastText splits tokens on spaces and Chinese has none. Word segmentation (jieba) was measured
  against single characters with word n-grams and brought nothing across sources (``MODEL_CARD.md``),
  so the detector needs no segmenter and its dictionary.

Operating point (:func:`operating_score`): each ``training.json`` entry carries the ``threshold`` at
which the model flags, fixed by the training job (``MODEL_CARD.md``), and by default every window
probability is calibrated so that this threshold reads 0.5 (its odds divided by the threshold's
odds; the order of scores is kept), so the detector's ``flag_threshold`` of 0.5 is the model's own
operating point. The Chinese model's threshold is the one of the highest F1 on its development
rows. The English model's is the one at which Bayes' rule for a change of class priors (Saerens et
al. 2002: the odds multiplied by ``prior/(1-prior)`` over ``train_prior/(1-train_prior)``) moves
the probability from its training base rate (83% of Davidson's tweets are offensive) to 2%: text
unlike anything it was trained on falls back on that base rate, and raw, the English model calls
one window of presidential prose in eight offensive. ``classifier_prior`` replaces both by that
shift to a base rate the user assumes for the audited corpus.

Long documents: the models were trained on tweets and short comments, so a document is cut into
windows of whole lines of up to ``window`` characters (a longer line is cut at ``window``), only
the first ``max_chars`` characters are read, and the document's score is the mean window score. The
highest window score would find one abusive paragraph in a long page, but every extra window is
one more chance of a false positive: measured on the NLTK corpus, the maximum flagged every
inaugural address. The mean finds documents that are offensive throughout; a single slur in a long
page is the keyword stage's to find.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import fasttext

MANIFEST = "training.json"
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_ASCII_LETTER = re.compile("[A-Za-z]")
HAN_SHARE = 0.3
"""A text whose letters are at least this share Han characters is read as Chinese."""
ASCII_SHARE = 0.9
"""Otherwise, one whose letters are at least this share ASCII letters is read as English."""


def shipped_models_path() -> Path:
    """The models shipped with the package (``schemas/models/harm``)."""
    return Path(str(resources.files("schemas") / "models" / "harm"))


_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@[\w\-]+")
_RETWEET = re.compile(r"\bRT\b")
_PUNCTUATION = re.compile(r"([^\w\s'])")
LINK_TOKEN, MENTION_TOKEN = "_link_", "_user_"
_ZH_TOKEN = re.compile(rf"{LINK_TOKEN}|{MENTION_TOKEN}|{_HAN.pattern}|(?:(?!{_HAN.pattern})[^\W_])+|\S")
READS = ("en", "social", "zh")
"""The text forms :func:`prepare` knows (module docstring)."""


def _placeholders(text: str) -> str:
    return _MENTION.sub(f" {MENTION_TOKEN} ", _LINK.sub(f" {LINK_TOKEN} ", text))


def prepare(text: str, reads: str) -> str:
    """``text`` as a model that ``reads`` this form sees it, on one line (module docstring)."""
    if reads == "zh":
        folded = _placeholders(unicodedata.normalize("NFKC", text).casefold())
        return " ".join(_ZH_TOKEN.findall(folded))
    if reads == "social":
        decoded = html.unescape(html.unescape(text))
        plain = _RETWEET.sub(" ", _placeholders(decoded)).casefold()
        return " ".join(_PUNCTUATION.sub(r" \1 ", plain).split())
    return " ".join(text.split())


def script_language(text: str) -> str | None:
    """``zh`` or ``en`` from the script of the letters alone, for documents without ``quality.lang``;
    None for other scripts (Cyrillic, Arabic...), which no shipped model reads. Latin-script
    languages other than English pass as ``en``: the script cannot tell them apart."""
    letters = sum(char.isalpha() for char in text)
    if not letters:
        return None
    if len(_HAN.findall(text)) >= HAN_SHARE * letters:
        return "zh"
    if len(_ASCII_LETTER.findall(text)) >= ASCII_SHARE * letters:
        return "en"
    return None


def windows(text: str, size: int) -> list[str]:
    """Consecutive pieces of whole lines of ``text``, each at most ``size`` characters, none blank."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines():
        for start in range(0, max(len(line), 1), size):
            part = line[start : start + size]
            if current and len(current) + 1 + len(part) > size:
                pieces.append(current)
                current = part
            else:
                current = f"{current}\n{part}" if current else part
    pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


@cache
def _load(path: str) -> Any:
    """One model per process and path: workers load on first use, never at pickling time."""
    return fasttext.load_model(path)


@cache
def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class OffensiveModel:
    """One shipped model as ``training.json`` describes it (the ``synthetic`` detector's model, in the
    same format, scores no risk: ``risk`` None)."""

    name: str
    lang: str
    risk: str | None
    positive_label: str
    path: str
    sha256: str
    train_prior: float
    reads: str | None = None
    """The text form of :func:`prepare` the model was trained on; None: the language's."""
    threshold: float | None = None
    """The probability at which the model flags (``training.json``); None: 0.5."""

    @property
    def form(self) -> str:
        return self.reads or self.lang

    def score(self, text: str) -> float:
        """The positive label's probability for ``text``, prepared as the model reads it."""
        return self.probability(prepare(text, self.form))

    def probability(self, text: str) -> float:
        """The positive label's probability for one prepared line, clamped to [0, 1] (fastText's
        softmax can return 1.00001)."""
        labels, probs = _load(self.path).predict(text, k=-1)
        found = dict(zip(labels, probs, strict=True)).get(self.positive_label, 0.0)
        return min(max(float(found), 0.0), 1.0)


def shift_prior(probability: float, train_prior: float, prior: float) -> float:
    """``probability`` moved from base rate ``train_prior`` to ``prior`` (module docstring)."""
    return calibrate(probability, (train_prior / (1 - train_prior)) / (prior / (1 - prior)))


def calibrate(probability: float, threshold_odds: float) -> float:
    """``probability`` with its odds divided by ``threshold_odds``: the probability whose odds those
    are reads 0.5 afterwards, and the order of scores is kept."""
    if probability >= 1.0 or probability <= 0.0:
        return probability
    odds = probability / (1 - probability) / threshold_odds
    return odds / (1 + odds)


def operating_score(model: OffensiveModel, probability: float, prior: float | None) -> float:
    """``probability`` as the detector weighs it: moved to base rate ``prior`` when one is given,
    else calibrated so that the model's own ``threshold`` reads 0.5 (module docstring)."""
    if prior is not None:
        return shift_prior(probability, model.train_prior, prior)
    threshold = model.threshold if model.threshold is not None else 0.5
    return calibrate(probability, threshold / (1 - threshold))


def load_models(folder: Path) -> dict[str, OffensiveModel]:
    """The models of a folder's ``training.json`` by language; ValueError naming what is wrong."""
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = manifest["models"]
        models = {}
        for name, entry in entries.items():
            path = folder / entry["file"]
            if not path.is_file():
                raise ValueError(f"{path}: no such model file")
            if _sha256(str(path)) != entry["sha256"]:
                raise ValueError(f"{path}: SHA-256 differs from {MANIFEST}")
            models[entry["lang"]] = OffensiveModel(
                name,
                entry["lang"],
                entry["risk"],
                entry["positive_label"],
                str(path),
                entry["sha256"],
                entry["train_prior"],
                entry.get("reads"),
                entry.get("threshold"),
            )
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{manifest_path}: {type(exc).__name__}: {exc}") from None
    return models


def window_probabilities(model: OffensiveModel, text: str, window: int, max_chars: int) -> list[float]:
    """The model's probability for each window of ``text``'s first ``max_chars`` characters."""
    return [model.score(piece) for piece in windows(text[:max_chars], window)]


def document_score(
    model: OffensiveModel, text: str, window: int, max_chars: int, prior: float | None
) -> float:
    """The mean window probability of ``text``'s first ``max_chars`` characters, moved to base rate
    ``prior`` (raw when None), 6 decimals (4 would tie the many small scores)."""
    scores = window_probabilities(model, text, window, max_chars)
    if prior is not None:
        scores = [shift_prior(score, model.train_prior, prior) for score in scores]
    return round(sum(scores) / len(scores), 6) if scores else 0.0
