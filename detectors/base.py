"""The detector interface every family implements.

A detector is a pure, deterministic function of an Arrow record batch: it reads document
columns and returns annotation columns named ``<family>.<field>``. It never sees an engine.
Work that needs other documents (duplicates, per-source shares) it declares as corpus-wide
passes (:mod:`detectors.passes`), which the pipeline runs on every engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from detectors.passes import CorpusPass


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Detector(ABC):
    """Map-side detector: one batch in, the same number of annotation rows out."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    PATH_PARAMS: ClassVar[tuple[str, ...]] = ()
    """Params holding file paths (or lists of them), resolved against the config's folder;
    ``key[].field`` names the paths under ``field`` of each mapping in the list ``key``."""
    LEDGER_OVERRIDES: ClassVar[dict[str, str]] = {}
    """Document field -> this detector's column that replaces it in the ledger where it has a value."""
    WORKING_FIELDS: ClassVar[frozenset[str]] = frozenset()
    """Map-side columns that only feed this detector's own passes: not evidence, and not worth
    re-checking one document at a time (MinHash signatures and band keys)."""
    SPAN_FIELDS: ClassVar[tuple[str, ...]] = ()
    """Map-side columns ``<family>.spans`` holding JSON ``[[start, end, ...], ...]`` character spans of
    what was found: the pipeline maps them to the turns of a conversation (``<family>.roles``)."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        try:
            self.params = self.Params.model_validate(params or {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg']}" for err in exc.errors()
            )
            raise ValueError(f"detector {self.name}: invalid params: {problems}") from None

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @abstractmethod
    def output_fields(self) -> list[pa.Field]:
        """The annotation columns :meth:`annotate` adds, in order (none for a pass-only detector)."""

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        """Annotation arrays aligned with ``batch`` rows, one per :meth:`output_fields` entry."""
        raise NotImplementedError

    SCRUBS: ClassVar[bool] = False
    """True for a detector that finds personal information and so scrubs every field that leaves a
    run (ids, file names, URLs, licences, languages, metadata), not only the text."""

    def scrub(self, value: str, *, scope: str | None) -> str:
        """``value`` with what this detector finds replaced: by its redaction for a document field
        (``scope`` is the doc id), by a document-independent pseudonym for an identifier (``None``)."""
        return value

    def passes(self) -> tuple[CorpusPass, ...]:
        """The corpus-wide passes this detector needs after every document is annotated."""
        return ()

    def rows_to_arrays(self, rows: Iterable[dict[str, Any] | None]) -> list[pa.Array]:
        """Annotation arrays from one dict per document (``<family>.<field>`` -> value).

        Detectors think per document but must hand back columns; ``None`` stands for a document
        the detector cannot look at (no text) and becomes a null in every column.
        """
        fields = self.output_fields()
        columns: list[list[Any]] = [[] for _ in fields]
        for row in rows:
            for field, values in zip(fields, columns, strict=True):
                values.append(None if row is None else row[field.name])
        return [pa.array(values, field.type) for field, values in zip(fields, columns, strict=True)]

    def describe(self) -> dict[str, Any]:
        """What the run record says about this detector: its name, params and model identity."""
        return {"name": self.name, "params": self.params.model_dump(mode="json")}
