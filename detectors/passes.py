"""How a detector declares work that needs more than one document: its corpus-wide passes.

A detector's :meth:`~detectors.base.Detector.annotate` sees one batch. Some answers need other
documents too: whether a text repeats an earlier one, how much of a source is harmful, how a
source's mentions of groups compare with the corpus. A detector states such work as passes, each
a small declaration of

* what it **reads**: the columns it needs (``reads``), and those it uses only when some detector
  produced them (``reads_if_present``);
* how it **groups**: the whole corpus, per source, per value of a key column it names, or per
  cluster of similar documents (:class:`Grouping`);
* what it **adds to every row**: ``adds``, columns like any detector's (``<family>.<field>``),
  which the policy reads and the ledger records;
* what it **adds to the run record**: ``record_key``, a key of ``run.json`` that receives a small,
  JSON-ready summary (or None).

The pipeline runs the passes of every configured detector on whichever engine the run uses; the
detector never sees the engine. Each kind below says which engine-free functions the pipeline calls
and with what; all of them are pure and deterministic, and get rows in ordinal order wherever
order matters, so that every engine and partitioning gives the same bytes.

Passes run in a stated order (:data:`PHASES`): all keyed passes, then all cluster passes, then all
summary passes, each phase in the order of the detectors in the config. A pass may read the
columns of every map-side detector and of every pass before it; the pipeline checks that before
any document is read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa


class Grouping(StrEnum):
    """Which documents a pass sees together."""

    CORPUS = "corpus"
    """Every document of the run in one group."""
    SOURCE = "source"
    """One group per ``source_id``."""
    KEY = "key"
    """One group per value of the column the pass names as ``key``; a null key is a group of one."""
    CLUSTER = "cluster"
    """One group per cluster: documents linked by a shared band key and a verified similarity."""


@dataclass(frozen=True)
class CorpusPass(ABC):
    """What every pass declares; a detector returns instances of the kinds below from ``passes()``."""

    name: str
    """Shown in progress and errors, e.g. ``harm.source_share``."""
    reads: tuple[str, ...]
    adds: tuple[pa.Field, ...]
    record_key: str | None = None
    reads_if_present: tuple[str, ...] = ()
    key: str = ""
    """The key column of a ``KEY`` grouping."""

    @property
    @abstractmethod
    def grouping(self) -> Grouping:
        """How this pass groups documents."""

    @property
    def group_column(self) -> str | None:
        """The column whose values form the groups; None for ``CORPUS`` and ``CLUSTER``."""
        return {Grouping.SOURCE: "source_id", Grouping.KEY: self.key}.get(self.grouping)


@dataclass(frozen=True)
class KeyedPass(CorpusPass):
    """Rows sharing a key meet in one group; :meth:`reduce` answers for every row of the group.

    ``grouping`` is ``KEY`` and ``key`` names the column. The group holds whole rows, so ``reduce``
    may read any column of ``reads``; it is called once per group, rows in ordinal order.
    """

    @property
    def grouping(self) -> Grouping:
        return Grouping.KEY

    @abstractmethod
    def reduce(self, group: pa.Table) -> list[pa.Array]:
        """One array per ``adds`` field, aligned with the rows of ``group``."""


@dataclass(frozen=True)
class SummaryPass(CorpusPass):
    """Summarise each group into one small row, finish on the driver, then attach to every row.

    1. :meth:`summarise` gets the group column (``source_id``, ``key``, or for ``CORPUS`` a constant
       ``_group``) and the read columns of one or more whole groups, and returns one row per group
       of ``summary_schema``.
    2. The summaries of all groups (there are few: sources, not documents) are collected;
       :meth:`finish` turns them into a lookup for step 3 and the value for ``record_key``.
    3. :meth:`attach` gets a batch of rows (group column and read columns) and the lookup, and
       returns one array per ``adds`` field.
    """

    group: Grouping = Grouping.SOURCE
    summary_schema: pa.Schema = field(default_factory=lambda: pa.schema([]))

    @property
    def grouping(self) -> Grouping:
        return self.group

    @abstractmethod
    def summarise(self, rows: pa.Table) -> pa.Table:
        """One row of ``summary_schema`` per group in ``rows`` (whole groups only)."""

    @abstractmethod
    def finish(self, summaries: pa.Table) -> tuple[Any, Any]:
        """``(lookup, record value)`` from every group's summary row."""

    @abstractmethod
    def attach(self, rows: pa.Table, lookup: Any) -> list[pa.Array]:
        """One array per ``adds`` field, aligned with ``rows``."""


@dataclass(frozen=True)
class ClusterPass(CorpusPass):
    """Cluster documents whose signatures agree; :meth:`resolve` annotates each cluster's members.

    The pipeline brings together documents sharing any key of the ``bands`` list column, keeps a
    pair only if :meth:`similarity` of their ``signature`` values reaches ``threshold``, takes the
    connected components of the kept pairs, and calls :meth:`resolve` once per component with its
    members as dicts (``ordinal``, ``doc_id``, ``signature``, ``released`` and the ``attributes``
    that :meth:`attributes_of` computed), in ordinal order.

    Documents of earlier releases take part when ``released`` names their signature indexes (run
    folders or index files, as the user wrote them): they have negative ordinals, no attributes,
    and ``released`` true; the pipeline writes such an index of the signatures of every document
    it releases (in the form :meth:`to_index` gives), and never annotates a released document.
    """

    signature: str = ""
    bands: str = ""
    threshold: float = 1.0
    attributes: tuple[pa.Field, ...] = ()
    released: tuple[str, ...] = ()

    @property
    def grouping(self) -> Grouping:
        return Grouping.CLUSTER

    @abstractmethod
    def similarity(self, first: bytes, second: bytes) -> float:
        """Similarity of two signatures, compared with ``threshold``."""

    @abstractmethod
    def attributes_of(self, rows: pa.Table) -> list[pa.Array]:
        """One array per ``attributes`` field for rows that have a signature."""

    @abstractmethod
    def resolve(self, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """For each member to annotate: ``ordinal`` and a value per ``adds`` field."""

    def to_index(self, signatures: pa.Array, bands: pa.Array) -> tuple[pa.Array, pa.Array]:
        """Released documents' signatures and band keys as the index stores them (as they are, unless
        the pass has a more compact form); :meth:`from_index` must undo it for clustering."""
        return signatures, bands

    def from_index(self, signatures: pa.Array, bands: pa.Array) -> tuple[pa.Array, pa.Array]:
        """Index rows back to signatures :meth:`similarity` takes and the band keys to match on."""
        return signatures, bands


PHASES: tuple[type[CorpusPass], ...] = (KeyedPass, ClusterPass, SummaryPass)
"""The order passes run in, by kind; within a kind, the order of the detectors in the config."""
