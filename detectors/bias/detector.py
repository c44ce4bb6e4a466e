"""The ``bias`` detector: demographic descriptors by axis and gendered pronouns, per document.

It counts; it does not judge. A mention of a group is not discrimination, and a corpus that never
mentions a group is as telling as one that mentions it scornfully, so the numbers go to the run
record and the datasheet as shares per axis, per term and per source (:mod:`detectors.bias.source_skew`)
for a person to read. Only where an identity term meets harmful content does a document get a
risk: that is ``bias.discrimination``, set by the source-skew pass, where the ``harm`` columns
exist whatever order the detectors are configured in.

Columns hold term ids and counts, never matched text; descriptors name groups, not people.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from functools import cache
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from detectors import gazetteer
from detectors.base import Detector
from detectors.bias.attach import attached
from detectors.bias.columns import IDENTITY_RISKS, PRONOUNS, REPRESENTATION, TERMS
from detectors.bias.given_names import find_names
from detectors.bias.lexicon import Descriptor, lexicon_folder, shipped_lexicon
from detectors.bias.matcher import DescriptorMatcher
from detectors.bias.pronouns import count_pronouns
from detectors.bias.source_skew import SourceSkew
from detectors.harm.keywords import Normalised, normalise
from detectors.passes import CorpusPass


@cache
def _matcher() -> DescriptorMatcher:
    """One matcher per process over the shipped lexicons."""
    return DescriptorMatcher(shipped_lexicon())


def _json(counts: dict[str, Any]) -> str | None:
    """Canonical JSON of a non-empty mapping or list; None for an empty one, so the ledger omits it."""
    return json.dumps(counts, sort_keys=True, ensure_ascii=False, separators=(",", ":")) if counts else None


class BiasParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skew_min_mentions: int = Field(
        default=30,
        ge=1,
        description="descriptor mentions a source needs before its skew is computed (else null)",
    )
    given_names: bool = Field(
        default=True,
        description="count English given names that are predominantly one gender (US Census lists) "
        "as gender_and_sex mentions",
    )


class BiasDetector(Detector):
    """Adds ``bias.representation`` (JSON axis -> mentions), ``bias.terms`` (JSON term id -> mentions),
    ``bias.pronouns`` (JSON form -> count, see :mod:`detectors.bias.pronouns`) and
    ``bias.identity_risks`` (JSON list of the A.2 risks of the groups mentioned); each null when
    the document has none."""

    name = "bias"
    Params = BiasParams

    def output_fields(self) -> list[pa.Field]:
        return [pa.field(name, pa.string()) for name in (REPRESENTATION, TERMS, PRONOUNS, IDENTITY_RISKS)]

    def passes(self) -> tuple[CorpusPass, ...]:
        """Each source's skew and the discrimination signal (:mod:`detectors.bias.source_skew`)."""
        return (SourceSkew(min_mentions=self.params.skew_min_mentions),)

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        """Counts per document; the detected language (``quality.lang``) when that detector ran
        first, else the declared one, limits matching to that language's terms."""
        texts = batch.column("text").to_pylist()
        names = batch.schema.names
        lang_column = next((name for name in ("quality.lang", "lang") if name in names), None)
        langs = batch.column(lang_column).to_pylist() if lang_column else [None] * len(texts)
        return self.rows_to_arrays(
            self._annotate_one(text, lang) for text, lang in zip(texts, langs, strict=True)
        )

    def _annotate_one(self, text: str | None, lang: str | None) -> dict[str, str | None]:
        normalised = normalise(text or "")
        haystack = normalised.text
        found = self._descriptors(text or "", normalised, lang)
        axes: Counter[str] = Counter()
        for row, n in found.items():
            axes[row.axis] += n
        return {
            REPRESENTATION: _json(dict(axes)),
            TERMS: _json({row.term_id: n for row, n in found.items()}),
            PRONOUNS: _json(dict(count_pronouns(haystack, lang))),
            IDENTITY_RISKS: _json(sorted({row.risk for row in found if row.risk})),
        }

    def _descriptors(self, text: str, normalised: Normalised, lang: str | None) -> Counter[Descriptor]:
        """Mentions of each descriptor (:meth:`DescriptorMatcher.count`), less the attributive ones
        that describe no person (:mod:`detectors.bias.attach`), plus given names when enabled."""
        haystack = normalised.text
        english = lang is None or lang.split("-", 1)[0].lower() == "en"

        def written(start: int, end: int) -> str:
            first, last = normalised.span(start, end)
            return text[first:last]

        spans = _matcher().spans(haystack)
        names = find_names(haystack, written) if self.params.given_names and english else []
        kept = attached(haystack, spans, [written(s, e) for s, e, _ in spans], [(s, e) for s, e, _ in names])
        return DescriptorMatcher.count([*kept, *((s, e, (row,)) for s, e, row in names)], lang)

    def describe(self) -> dict[str, Any]:
        """Also the SHA-256 of each lexicon file, so a run record says which lexicon counted."""
        rows = shipped_lexicon()
        return {
            **super().describe(),
            "lexicons": {
                path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(lexicon_folder().glob("*.tsv"))
            },
            "lexicon_terms": {
                lang: sum(1 for r in rows if r.lang == lang and not r.shadow) for lang in ("en", "zh")
            },
            "given_names": gazetteer.describe(),
        }
