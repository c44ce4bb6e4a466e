"""Personal information kept out of every field that leaves a run, not only out of the text.

The ``pii`` detector redacts the text when the policy says so; but doc ids, file names, URLs,
licence strings, languages and metadata also reach the ledger, the shards, the reports, the dataset
card, Croissant and the logs. Every detector that can find personal information (``SCRUBS``) scrubs
them, each the way its kind needs:

* **identifiers** (a record's id, an input's file name, a record's location) become a pseudonym: each
  span is replaced by a keyed hash of its type and value when the detector has a salt (the same id
  gets the same pseudonym in every run), else by its type plus the record's position (``~u3`` for an
  input, ``~3:17`` for record 17 of input 3), so ids stay unique and deterministic without a key
  and never link one person across files;
* **fields** (licence, language, metadata values, URL) get the detector's replacement for each span,
  as the text would under ``redact``.

Fields are scrubbed where they are read, so detectors, ledger and reports only ever see the scrubbed
value, with one exception: the URL is scrubbed when documents are decided, because the provenance
checks must match robots.txt rules against the URL as it was crawled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from detectors.base import Detector

_SUFFIX = re.compile(r"(\.(jsonl|json|ndjson|parquet|warc|wet|txt))?(\.(gz|zst|bz2|xz))?$", re.IGNORECASE)
_LOCATION_TAIL = re.compile(r"(:\d+|#(record|row) \d+)$")
MAX_CLEAN_VALUES = 1 << 16
"""How many values found clean one scrubber remembers: a source's licence or a file name repeats on
every record, and finding a licence string like ``LicenseRef-NLTK-Data-Mixed`` clean takes the NER
model a few milliseconds each time."""


@dataclass(frozen=True)
class Scrubber:
    """The scrubbing detectors of a run; without any, every value passes unchanged."""

    detectors: tuple[Detector, ...] = ()
    _clean: set[str] = field(default_factory=set, compare=False, repr=False)
    """Values every detector left unchanged: clean whatever the scope, so not scrubbed again."""

    def __bool__(self) -> bool:
        return bool(self.detectors)

    def _scrubbed(self, value: str, scope: str | None) -> str:
        if value in self._clean:
            return value
        scrubbed = value
        for detector in self.detectors:
            scrubbed = detector.scrub(scrubbed, scope=scope)
        if scrubbed == value and len(self._clean) < MAX_CLEAN_VALUES:
            self._clean.add(value)
        return scrubbed

    def _identifier(self, value: str) -> str:
        return self._scrubbed(value, None)

    def identifier(self, value: str, position: str) -> str:
        """An id with its personal information pseudonymised and, if any was, its position appended."""
        scrubbed = self._identifier(value)
        return scrubbed if scrubbed == value else f"{scrubbed}~{position}"

    def path(self, value: str, position: str) -> str:
        """A relative path scrubbed one component at a time, file suffixes kept where they are (an
        e-mail address before ``.jsonl`` is only found without the suffix)."""
        parts, changed = [], False
        for part in value.split("/"):
            suffix = _SUFFIX.search(part).group(0)  # type: ignore[union-attr]
            stem = part[: len(part) - len(suffix)] if suffix else part
            scrubbed = self._identifier(stem)
            changed |= scrubbed != stem
            parts.append(scrubbed + suffix)
        if not changed:
            return value
        last = parts[-1]
        suffix = _SUFFIX.search(last).group(0)  # type: ignore[union-attr]
        parts[-1] = f"{last[: len(last) - len(suffix)]}~{position}{suffix}"
        return "/".join(parts)

    def location(self, value: str, position: str) -> str:
        """``path:line`` or ``path#record N``: the path scrubbed, the position in the file kept."""
        tail = _LOCATION_TAIL.search(value)
        head = value[: tail.start()] if tail else value
        return self.path(head, position) + (tail.group(0) if tail else "")

    def field(self, value: str | None, scope: str) -> str | None:
        return None if value is None else self._scrubbed(value, scope)

    def meta(self, value: str | None, scope: str) -> str | None:
        """Metadata JSON with every key and string value scrubbed, kept canonical."""
        if value is None or not self.detectors:
            return value
        cleaned = _walk(json.loads(value), lambda text: self.field(text, scope) or "")
        return json.dumps(cleaned, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _walk(value: Any, scrub: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_walk(item, scrub) for item in value]
    if isinstance(value, dict):
        return {scrub(str(key)): _walk(item, scrub) for key, item in value.items()}
    return value


NO_SCRUBBER = Scrubber()
"""For runs and re-checks without a detector that finds personal information."""
