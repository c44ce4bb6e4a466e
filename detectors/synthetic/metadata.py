"""Implicit labels: what a record's metadata says about whether a model made it.

Two conventions are read, wherever they sit in the document's ``meta`` (the source fields a reader
did not map to a column, the HTTP headers and ``<meta>`` tags the WARC reader keeps, JSON-LD blocks):

* **GB 45438-2025 Annex E**: the implicit label of a file is a JSON object under the key ``AIGC``
  with ``Label`` (1: generated or synthesised by AI, 2: possibly, 3: suspected), ``ContentProducer``
  and ``ProduceID`` (the generating service and its content number), ``ContentPropagator`` and
  ``PropagateID`` (the platform that spread it), and ``ReservedCode1``/``ReservedCode2`` (room for
  integrity codes). An ``AIGC`` key whose value is an object, or a string holding one, is read.
* **IPTC Digital Source Type**, which C2PA manifests (``digitalSourceType`` of an action), IPTC photo
  metadata (``Iptc4xmpExt:DigitalSourceType``) and schema.org JSON-LD (``digitalSourceType``) use:
  a term of the vocabulary in ``schemas/synthetic/digital_source_types.yaml``, given as the term, its
  ``http://cv.iptc.org/newscodes/digitalsourcetype/`` URI or its schema.org name
  (``TrainedAlgorithmicMediaDigitalSource``). Terms of class ``generated`` or ``synthetic`` are labels.

Keys compare without case, namespace prefix (``Iptc4xmpExt:``), ``_`` or ``-``. Strings that hold
JSON (a ``<meta name="AIGC">`` content, a JSON-LD block) are parsed, up to :data:`MAX_JSON_CHARS`
characters and :data:`MAX_DEPTH` levels, so hostile metadata costs bounded work.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

AIGC_KEY = "aigc"
AIGC_FIELDS = ("Label", "ContentProducer", "ProduceID", "ContentPropagator", "PropagateID")
"""Fields of the AIGC object kept as evidence; the reserved codes are recorded as present or not."""
RESERVED_FIELDS = ("ReservedCode1", "ReservedCode2")
AIGC_LABELS = {"1": "generated", "2": "possibly generated", "3": "suspected generated"}
"""GB 45438-2025 Annex E: the values of ``Label``."""
SOURCE_TYPE_KEY = "digitalsourcetype"
LABEL_CLASSES = frozenset({"generated", "synthetic"})
"""Digital source type classes that are implicit labels of machine-made content."""
MAX_JSON_CHARS = 65536
MAX_DEPTH = 8
MAX_VALUE_CHARS = 200
"""Longer AIGC field values are cut: they name a producer or a content number, never a document."""
_KEY_NOISE = re.compile(r"[_\-\s]")
_SCHEMA_ORG_SUFFIX = "digitalsource"


def _key(name: str) -> str:
    return _KEY_NOISE.sub("", name.rsplit(":", 1)[-1]).casefold()


@cache
def source_types(path: str) -> dict[str, tuple[str, str]]:
    """Folded term -> (term, class) from a digital source type vocabulary file."""
    found = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {term.casefold(): (term, kind) for term, kind in found["types"].items()}


def shipped_source_types_path() -> Path:
    return Path(str(resources.files("schemas") / "synthetic" / "digital_source_types.yaml"))


@dataclass
class Implicit:
    """What one document's metadata declares."""

    aigc: dict[str, Any] | None = None
    source_types: dict[str, str] = field(default_factory=dict)
    """Digital source type term -> its class."""

    @property
    def labelled(self) -> bool:
        """True when the metadata labels the content machine-made (AIGC Label, or a generated type)."""
        aigc_label = self.aigc is not None and self.aigc.get("Label") in AIGC_LABELS
        return aigc_label or any(kind in LABEL_CLASSES for kind in self.source_types.values())


def _parsed(value: str) -> Any:
    text = value.strip()
    if len(text) > MAX_JSON_CHARS or not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _source_type(value: str, vocabulary: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """The vocabulary term and class a digitalSourceType value names (term, IPTC URI or schema.org name)."""
    tail = value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].casefold()
    return vocabulary.get(tail.removesuffix(_SCHEMA_ORG_SUFFIX))


def _aigc(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = _parsed(value)
    if not isinstance(value, dict):
        return None
    by_key = {_key(str(name)): item for name, item in value.items()}
    kept: dict[str, Any] = {}
    for name in AIGC_FIELDS:
        item = by_key.get(_key(name))
        if item is not None and not isinstance(item, dict | list):
            kept[name] = str(item)[:MAX_VALUE_CHARS]
    for name in RESERVED_FIELDS:
        kept[name] = bool(by_key.get(_key(name)))
    return kept


def read_implicit(meta: str | None, vocabulary: dict[str, tuple[str, str]]) -> Implicit:
    """The implicit labels of one document's canonical meta JSON (module docstring)."""
    found = Implicit()
    if not meta:
        return found
    pending: list[tuple[Any, int]] = [(json.loads(meta), 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, str):
            parsed = _parsed(value)
            if parsed is not None:
                pending.append((parsed, depth + 1))
            continue
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        for name, item in items:
            key = _key(str(name)) if isinstance(name, str) else ""
            if key == AIGC_KEY and found.aigc is None:
                found.aigc = _aigc(item)
            elif key == SOURCE_TYPE_KEY:
                for text in item if isinstance(item, list) else [item]:
                    term = _source_type(text, vocabulary) if isinstance(text, str) else None
                    if term is not None:
                        found.source_types[term[0]] = term[1]
            else:
                pending.append((item, depth + 1))
    return found
