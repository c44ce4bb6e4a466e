"""Retention: which registered releases hold documents of a source whose ``retain_until`` has passed.

A source may declare in the source manifest the last day its documents may be kept
(``retain_until``). A release records its manifest in ``run.json`` (``config.sources``), so the
registry can list, for a date, every release holding documents of sources that expire before it,
and the documents (their ids and content hashes), without reading any text.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.releases.find import released
from pipeline.releases.outputs import ReleaseFolder
from pipeline.releases.registry import Registry


def expiring_sources(record: dict[str, Any], before: date) -> dict[str, str]:
    """Source id -> ``retain_until`` of the run's sources whose retention ends before ``before``."""
    sources = record["config"]["sources"]["sources"]
    return {
        s["id"]: s["retain_until"]
        for s in sources
        if s.get("retain_until") and date.fromisoformat(s["retain_until"]) < before
    }


def expiring(registry: Registry, before: date) -> list[dict[str, Any]]:
    """Every registered release holding documents whose retention ends before ``before``."""
    current = {r.id for r in registry.current()}
    found = []
    for release in registry.releases():
        entry: dict[str, Any] = {"release": release.ref, "current": release.id in current, "sources": []}
        if not release.path.is_dir():
            found.append({**entry, "why": f"its folder {release.path} is gone"})
            continue
        folder = ReleaseFolder(release.path)
        ending = expiring_sources(folder.record, before)
        if not ending:
            continue
        rows = released(folder, ["doc_id", "source_id", "content_sha256", "shard"])
        for source, until in sorted(ending.items()):
            held = rows.filter(pc.equal(rows.column("source_id"), pa.scalar(source)))
            entry["sources"].append({
                "source": source, "retain_until": until, "documents": held.num_rows,
                "doc_ids": held.column("doc_id").to_pylist(),
                "content_sha256": held.column("content_sha256").to_pylist(),
            })  # fmt: skip
        if any(s["documents"] for s in entry["sources"]):
            found.append(entry)
    return found
