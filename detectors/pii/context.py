"""Context words near a match raise its score; negative words lower it (and then no boost applies:
"order number 1380013..." is an order number, whatever "number" suggests).

Presidio's own enhancer compares context words with spaCy lemmas of the neighbouring tokens, so
it needs a tokenising NLP model and cannot see ``身份证号`` in Chinese text, which has no spaces.
This enhancer reads a window of characters on either side of the match instead: it works with
the model-free NLP engine and in any script. English words match on letter boundaries (``id``
is not found in ``said``); Chinese words match anywhere in the window.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts


@cache
def _words_pattern(words: tuple[str, ...]) -> regex.Pattern[str] | None:
    if not words:
        return None
    alternatives = [
        rf"(?<![a-z]){regex.escape(word)}(?![a-z])" if word.isascii() else regex.escape(word)
        for word in sorted(words, key=len, reverse=True)
    ]
    return regex.compile("|".join(alternatives), regex.IGNORECASE)


class WindowContextEnhancer(ContextAwareEnhancer):
    """Adjust each result's score by the words within a few characters of it."""

    def __init__(
        self,
        boost: float = 0.35,
        penalty: float = 0.35,
        min_score_with_context: float = 0.4,
        chars_before: int = 40,
        chars_after: int = 20,
    ) -> None:
        super().__init__(
            context_similarity_factor=boost,
            min_score_with_context_similarity=min_score_with_context,
            context_prefix_count=chars_before,
            context_suffix_count=chars_after,
        )
        self.penalty = penalty

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: Sequence[str] | None = None,
    ) -> list[RecognizerResult]:
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        results = []
        for raw in raw_results:
            recognizer = by_id.get(raw.recognition_metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None:
                results.append(raw)
                continue
            result = copy.copy(raw)
            before = text[max(0, result.start - self.context_prefix_count) : result.start]
            after = text[result.end : result.end + self.context_suffix_count]
            window = f"{before} {after}"
            negative = _words_pattern(tuple(getattr(recognizer, "negative_context", ())))
            positive = _words_pattern(tuple(recognizer.context or ()) + tuple(context or ()))
            if negative is not None and negative.search(window):
                result.score = max(self.MIN_SCORE, result.score - self.penalty)
            elif positive is not None and positive.search(window):
                result.score = min(
                    self.MAX_SCORE,
                    max(
                        result.score + self.context_similarity_factor, self.min_score_with_context_similarity
                    ),
                )
                result.recognition_metadata = {
                    **result.recognition_metadata,
                    RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
                }
            results.append(result)
        return results
