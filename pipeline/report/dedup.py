"""A view of a run's duplicates: summary, cluster sizes, the largest clusters and removals per source.

Every number comes from ``run.json`` and the ledger. The ledger holds no text, so the snippets of
the largest clusters are read again from the run's inputs (each needed input unit once); they are
only ever shown to the user, on the terminal or in an HTML page the user asked for.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.read.reader import read_task
from pipeline.read.storage import LOCAL
from pipeline.read.units import ReadTask
from pipeline.record.inventory import InventoryError, load_tasks
from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.report.html import CSP_META
from schemas.document import content_sha256, unit_of
from schemas.ledger import Action

EXACT_DUP_OF = "dedup.exact_dup_of"
NEAR_CLUSTER = "dedup.near_cluster"
NEAR_DUP_OF = "dedup.near_dup_of"
NEAR_JACCARD = "dedup.near_jaccard"
DEDUP_KEYS = (EXACT_DUP_OF, NEAR_CLUSTER, NEAR_DUP_OF, NEAR_JACCARD)
REMOVED_ACTIONS = frozenset({Action.DROP.value, Action.QUARANTINE.value})
LEDGER_COLUMNS = ["doc_id", "ordinal", "source_id", "content_sha256", "action", "rule_id", "evidence"]
SIZE_BINS: list[tuple[str, int, int | None]] = [
    ("2", 2, 2), ("3", 3, 3), ("4-5", 4, 5), ("6-10", 6, 10), ("11-100", 11, 100), (">100", 101, None),
]  # fmt: skip
MEMBERS_SHOWN = 3  # duplicates shown per top cluster, beside the keeper
READ_BATCH = 1024
READ_MAX_DOC_BYTES = 1 << 40  # re-reading for a snippet: never turn a large document into an error
NOT_AVAILABLE = "(input not available)"
CHANGED = "(input changed since the run)"
EARLIER_RUN = "(kept in an earlier run; text not in this run's inputs)"

CLUSTER_DEFINITION = (
    "A near-duplicate cluster is every document sharing a dedup.near_cluster id, its keeper "
    "included. An exact-copy group (a first copy and the documents whose dedup.exact_dup_of "
    "points to it) counts as a cluster of its own when none of its documents is in a "
    "near-duplicate cluster."
)
COUNT_DEFINITION = (
    "Exact duplicates have dedup.exact_dup_of; near duplicates have dedup.near_dup_of and are "
    "not exact copies (keepers are not counted). A document is removed as a duplicate when its "
    "action is drop or quarantine and it has one of these keys or its rule id contains 'duplicate'."
)


@dataclass
class _Doc:
    doc_id: str
    ordinal: int
    source_id: str
    content_sha256: str | None
    action: str
    rule_id: str
    evidence: dict[str, Any]

    @property
    def exact_of(self) -> str | None:
        return self.evidence.get(EXACT_DUP_OF)

    @property
    def near_of(self) -> str | None:
        return self.evidence.get(NEAR_DUP_OF)

    @property
    def removal(self) -> str | None:
        """'exact' or 'near' when the document was removed as a duplicate, else None."""
        if self.action not in REMOVED_ACTIONS:
            return None
        if self.exact_of is not None:
            return "exact"
        if self.near_of is not None:
            return "near"
        if "duplicate" in self.rule_id:
            return "exact" if "exact" in self.rule_id else "near"
        return None


@dataclass
class _Cluster:
    cluster_id: str
    kind: str  # near | exact
    members: list[_Doc] = field(default_factory=list)
    keeper_id: str | None = None
    keeper_in_run: bool = True

    @property
    def size(self) -> int:
        return len(self.members) + (0 if self.keeper_in_run else 1)


def _ledger_docs(run_dir: Path, record: dict[str, Any]) -> list[_Doc]:
    table = read_ledger(run_dir, record, columns=LEDGER_COLUMNS)
    columns = {name: table.column(name).to_pylist() for name in LEDGER_COLUMNS}
    docs = []
    for i, evidence in enumerate(columns["evidence"]):
        parsed = json.loads(evidence) if evidence and '"dedup.' in evidence else {}
        docs.append(
            _Doc(
                doc_id=columns["doc_id"][i],
                ordinal=columns["ordinal"][i],
                source_id=columns["source_id"][i],
                content_sha256=columns["content_sha256"][i],
                action=columns["action"][i],
                rule_id=columns["rule_id"][i],
                evidence={key: parsed[key] for key in DEDUP_KEYS if parsed.get(key) is not None},
            )
        )
    return docs


def _clusters(docs: list[_Doc]) -> list[_Cluster]:
    by_id = {doc.doc_id: doc for doc in docs}
    near: dict[str, _Cluster] = {}
    for doc in docs:
        cluster_id = doc.evidence.get(NEAR_CLUSTER)
        if cluster_id is not None:
            near.setdefault(cluster_id, _Cluster(cluster_id, "near")).members.append(doc)
    exact: dict[str, list[_Doc]] = {}
    for doc in docs:
        if doc.exact_of is not None and NEAR_CLUSTER not in doc.evidence:
            exact.setdefault(doc.exact_of, []).append(doc)
    clusters = list(near.values())
    for first_id, copies in exact.items():
        first = by_id.get(first_id)
        if first is not None and NEAR_CLUSTER in first.evidence:
            near[first.evidence[NEAR_CLUSTER]].members.extend(copies)  # copies the near stage missed
            continue
        members = ([first] if first is not None else []) + copies
        clusters.append(_Cluster(first_id, "exact", members, first_id, first is not None))
    for cluster in clusters:
        cluster.members.sort(key=lambda doc: doc.ordinal)
        if cluster.kind == "near":
            keepers = [doc for doc in cluster.members if doc.near_of is None]
            if keepers:
                cluster.keeper_id = keepers[0].doc_id
            else:  # every member points to a document released by an earlier run
                cluster.keeper_id = Counter(doc.near_of for doc in cluster.members).most_common(1)[0][0]
                cluster.keeper_in_run = False
    return clusters


def _histogram(clusters: Iterable[_Cluster]) -> list[dict[str, Any]]:
    sizes = [cluster.size for cluster in clusters]
    return [
        {"label": label, "count": sum(1 for s in sizes if s >= low and (high is None or s <= high))}
        for label, low, high in SIZE_BINS
    ]


def _member_row(doc: _Doc, role: str) -> dict[str, Any]:
    jaccard = 1.0 if role == "exact" and doc.evidence.get(NEAR_JACCARD) is None else None
    return {
        "doc_id": doc.doc_id,
        "ordinal": doc.ordinal,
        "source_id": doc.source_id,
        "content_sha256": doc.content_sha256,
        "role": role,
        "jaccard": doc.evidence.get(NEAR_JACCARD, jaccard),
        "action": doc.action,
    }


def _top_cluster(cluster: _Cluster) -> dict[str, Any]:
    keeper = next((doc for doc in cluster.members if doc.doc_id == cluster.keeper_id), None)
    duplicates = [doc for doc in cluster.members if doc is not keeper]
    members = []
    if keeper is not None:
        members.append(_member_row(keeper, "keeper"))
    else:
        members.append(
            {"doc_id": cluster.keeper_id, "ordinal": None, "source_id": None, "content_sha256": None,
             "role": "keeper", "jaccard": None, "action": None}
        )  # fmt: skip
    for doc in duplicates[:MEMBERS_SHOWN]:
        members.append(_member_row(doc, "exact" if doc.exact_of is not None else "near"))
    return {
        "cluster_id": cluster.cluster_id,
        "kind": cluster.kind,
        "size": cluster.size,
        "keeper": cluster.keeper_id,
        "keeper_in_run": cluster.keeper_in_run,
        "members": members,
        "more": len(duplicates) - min(len(duplicates), MEMBERS_SHOWN),
    }


def dedup_summary(run_dir: Path, top: int = 5) -> dict[str, Any]:
    """Everything the report shows except the snippets, as plain data (see :func:`load_snippets`)."""
    record = load_run_record(run_dir)
    docs = _ledger_docs(run_dir, record)
    clusters = _clusters(docs)
    removals = [doc.removal for doc in docs]
    per_source: dict[str, Counter[str]] = {}
    for doc, removal in zip(docs, removals, strict=True):
        counts = per_source.setdefault(doc.source_id, Counter())
        counts["documents"] += 1
        if removal is not None:
            counts[removal] += 1
    by_source = [
        {
            "source_id": source,
            "documents": counts["documents"],
            "exact_removed": counts["exact"],
            "near_removed": counts["near"],
            "removed": counts["exact"] + counts["near"],
            "share_removed": (counts["exact"] + counts["near"]) / counts["documents"],
        }
        for source, counts in sorted(per_source.items())
    ]
    removed = sum(1 for removal in removals if removal is not None)
    ranked = sorted(clusters, key=lambda cluster: (-cluster.size, cluster.cluster_id))
    return {
        "run_dir": str(run_dir),
        "name": record.get("name", ""),
        "documents": len(docs),
        "exact_duplicates": sum(1 for doc in docs if doc.exact_of is not None),
        "near_duplicates": sum(1 for doc in docs if doc.near_of is not None and doc.exact_of is None),
        "clusters": len(clusters),
        "near_clusters": sum(1 for cluster in clusters if cluster.kind == "near"),
        "exact_clusters": sum(1 for cluster in clusters if cluster.kind == "exact"),
        "removed": removed,
        "removed_exact": removals.count("exact"),
        "removed_near": removals.count("near"),
        "removed_by_rule": sum(
            1 for doc in docs if doc.action in REMOVED_ACTIONS and "duplicate" in doc.rule_id
        ),
        "removed_share": removed / len(docs) if docs else 0.0,
        "histogram": _histogram(clusters),
        "cluster_definition": CLUSTER_DEFINITION,
        "count_definition": COUNT_DEFINITION,
        "top_clusters": [_top_cluster(cluster) for cluster in ranked[: max(top, 0)]],
        "by_source": by_source,
    }


def fold(text: str, chars: int) -> str:
    """The first ``chars`` characters of the text with runs of whitespace folded to one space."""
    folded = " ".join(text.split())
    return folded if len(folded) <= chars else folded[:chars].rstrip() + "…"


def load_snippets(run_dir: Path, summary: dict[str, Any], chars: int = 160) -> dict[int, str]:
    """Snippets of the top clusters' members by ordinal, read again from the run's inputs.

    Each input unit that holds a needed document is read once, and only until the last needed
    document; a document whose input is gone (or no longer holds it) gets a placeholder.
    """
    record = load_run_record(run_dir)
    try:
        tasks = {task.index: task for task in load_tasks(run_dir, record)}
    except InventoryError:  # an edited or missing read plan costs snippets, not the report
        tasks = {}
    base = Path(record.get("input_base", "."))
    wanted: dict[int, dict[int, dict[str, Any]]] = {}  # unit index -> ordinal -> member
    snippets: dict[int, str] = {}
    for cluster in summary["top_clusters"]:
        for member in cluster["members"]:
            if member["ordinal"] is not None:
                wanted.setdefault(unit_of(member["ordinal"]), {})[member["ordinal"]] = member
    for index, members in sorted(wanted.items()):
        found = _read_texts(tasks.get(index), base, set(members))
        for ordinal_value, member in members.items():
            text = found.get(ordinal_value)
            if text is None:
                snippets[ordinal_value] = NOT_AVAILABLE
            elif member["content_sha256"] and content_sha256(text) != member["content_sha256"]:
                snippets[ordinal_value] = CHANGED
            else:
                snippets[ordinal_value] = fold(text, chars)
    return snippets


def _read_texts(task: ReadTask | None, base: Path, ordinals: set[int]) -> dict[int, str]:
    """The texts of ``ordinals`` read again from their task's inputs (local ones below ``base``)."""
    if task is None:
        return {}
    located = tuple(replace(u, path=str(base / u.path)) if u.protocol == LOCAL else u for u in task.units)
    found: dict[int, str] = {}
    last = max(ordinals)
    try:
        for batch in read_task(
            replace(task, units=located), batch_size=READ_BATCH, max_doc_bytes=READ_MAX_DOC_BYTES
        ):
            batch_ordinals = batch.column("ordinal").to_pylist()
            texts = batch.column("text").to_pylist()
            for ordinal_value, text in zip(batch_ordinals, texts, strict=True):
                if ordinal_value in ordinals and text is not None:
                    found[ordinal_value] = text
            if len(found) == len(ordinals) or (batch_ordinals and batch_ordinals[-1] >= last):
                break
    except (OSError, ValueError):  # a reader failing on a changed input costs snippets, not the report
        pass
    return found


# ---------------------------------------------------------------------------------------- terminal


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def snippet(member: dict[str, Any], snippets: dict[int, str]) -> str:
    """A member's snippet, or why there is none."""
    if member["ordinal"] is None:
        return EARLIER_RUN
    return snippets.get(member["ordinal"], NOT_AVAILABLE)


def _jaccard(member: dict[str, Any]) -> str:
    return f"{member['jaccard']:.3f}" if member["jaccard"] is not None else "-"


def _overview_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    clusters = f"{summary['clusters']} ({summary['near_clusters']} near, {summary['exact_clusters']} exact)"
    removed = (
        f"{summary['removed']} ({_percent(summary['removed_share'])} of documents; "
        f"{summary['removed_exact']} exact, {summary['removed_near']} near)"
    )
    if summary["removed_by_rule"] != summary["removed"]:
        removed += f", {summary['removed_by_rule']} of them by a rule whose id contains 'duplicate'"
    return [
        ("documents read", str(summary["documents"])),
        ("exact duplicates", str(summary["exact_duplicates"])),
        ("near duplicates", str(summary["near_duplicates"])),
        ("clusters", clusters),
        ("removed as duplicates", removed),
    ]


def render_console(summary: dict[str, Any], snippets: dict[int, str], console: Console) -> None:
    """Print the report with rich; all corpus-derived strings go through ``Text`` (no markup)."""
    console.print(Text(f"Duplicates in run {summary['name']} ({summary['run_dir']})", style="bold"))
    overview = Table(show_header=False, box=None, padding=(0, 2))
    overview.add_column(style="cyan")
    overview.add_column()
    for label, value in _overview_rows(summary):
        overview.add_row(label, Text(value))
    console.print(overview)
    console.print(Text(summary["count_definition"], style="dim"))
    console.print(Text(summary["cluster_definition"], style="dim"))

    histogram = Table(title="Cluster sizes", title_justify="left")
    histogram.add_column("size")
    histogram.add_column("clusters", justify="right")
    histogram.add_column("")
    largest = max((row["count"] for row in summary["histogram"]), default=0)
    for row in summary["histogram"]:
        bar = "█" * round(30 * row["count"] / largest) if largest else ""
        histogram.add_row(row["label"], str(row["count"]), Text(bar, style="green"))
    console.print(histogram)

    console.print(Text(f"Largest clusters (top {len(summary['top_clusters'])})", style="bold"))
    if not summary["clusters"]:
        console.print("  no duplicates in this run")
    for rank, cluster in enumerate(summary["top_clusters"], 1):
        console.print(
            Text(
                f"#{rank} {cluster['kind']} cluster {cluster['cluster_id']}: {cluster['size']} documents, "
                f"keeper {cluster['keeper']}",
                style="bold",
            )
        )
        for member in cluster["members"]:
            source = member["source_id"] or "earlier run"
            line = f"  {member['role']:<6}  {member['doc_id']}  source {source}  Jaccard {_jaccard(member)}"
            console.print(Text(line))
            console.print(Text(f"          {snippet(member, snippets)}", style="dim"))
        if cluster["more"]:
            console.print(Text(f"  … and {cluster['more']} more duplicate(s)"))

    sources = Table(title="Removed as duplicates, per source", title_justify="left")
    for name in ("source", "documents", "exact removed", "near removed", "share removed"):
        sources.add_column(name, justify="left" if name == "source" else "right")
    for row in summary["by_source"]:
        sources.add_row(
            Text(row["source_id"]), str(row["documents"]), str(row["exact_removed"]),
            str(row["near_removed"]), _percent(row["share_removed"]),
        )  # fmt: skip
    console.print(sources)


# ---------------------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
p.note { color: #666; font-size: .9rem; }
td.snippet { font-family: ui-monospace, monospace; font-size: .85rem; max-width: 40rem; }
svg text { font-size: 12px; font-family: system-ui, sans-serif; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg_histogram(histogram: list[dict[str, Any]]) -> str:
    bar_height, gap, label_width, bar_width = 22, 6, 70, 420
    largest = max((row["count"] for row in histogram), default=0)
    height = len(histogram) * (bar_height + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 80}" '
        f'height="{height}" role="img" aria-label="cluster size histogram">'
    ]
    for i, row in enumerate(histogram):
        y = gap + i * (bar_height + gap)
        width = round(bar_width * row["count"] / largest) if largest else 0
        parts.append(f'<text x="0" y="{y + 15}">{_e(row["label"])}</text>')
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{width}" height="{bar_height}" fill="#4a8f5a"/>'
        )
        parts.append(f'<text x="{label_width + width + 6}" y="{y + 15}">{_e(row["count"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(summary: dict[str, Any], snippets: dict[int, str]) -> str:
    """The report as one self-contained page (inline CSS and SVG); every text is escaped."""
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        CSP_META,
        f"<title>Duplicates in run {_e(summary['name'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Duplicates in run {_e(summary['name'])}</h1>",
        f'<p class="note">{_e(summary["run_dir"])}</p>',
        "<h2>Summary</h2><table>",
    ]
    for label, value in _overview_rows(summary):
        out.append(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>")
    out.append("</table>")
    out.append(f'<p class="note">{_e(summary["count_definition"])}</p>')
    out.append(f'<p class="note">{_e(summary["cluster_definition"])}</p>')

    out.append("<h2>Cluster sizes</h2>")
    out.append(_svg_histogram(summary["histogram"]))
    out.append("<table><tr><th>size</th><th>clusters</th></tr>")
    for row in summary["histogram"]:
        out.append(f'<tr><td>{_e(row["label"])}</td><td class="num">{_e(row["count"])}</td></tr>')
    out.append("</table>")

    out.append(f"<h2>Largest clusters (top {len(summary['top_clusters'])})</h2>")
    if not summary["clusters"]:
        out.append("<p>No duplicates in this run.</p>")
    for rank, cluster in enumerate(summary["top_clusters"], 1):
        out.append(
            f"<h3>#{rank} {_e(cluster['kind'])} cluster {_e(cluster['cluster_id'])}: "
            f"{_e(cluster['size'])} documents, keeper {_e(cluster['keeper'])}</h3>"
        )
        out.append("<table><tr><th>role</th><th>doc_id</th><th>source</th><th>Jaccard</th><th>text</th></tr>")
        for member in cluster["members"]:
            out.append(
                f"<tr><td>{_e(member['role'])}</td><td>{_e(member['doc_id'])}</td>"
                f"<td>{_e(member['source_id'] or 'earlier run')}</td>"
                f'<td class="num">{_e(_jaccard(member))}</td>'
                f'<td class="snippet">{_e(snippet(member, snippets))}</td></tr>'
            )
        out.append("</table>")
        if cluster["more"]:
            out.append(f'<p class="note">… and {_e(cluster["more"])} more duplicate(s)</p>')

    out.append("<h2>Removed as duplicates, per source</h2>")
    out.append(
        "<table><tr><th>source</th><th>documents</th><th>exact removed</th><th>near removed</th>"
        "<th>share removed</th></tr>"
    )
    for row in summary["by_source"]:
        out.append(
            f'<tr><td>{_e(row["source_id"])}</td><td class="num">{_e(row["documents"])}</td>'
            f'<td class="num">{_e(row["exact_removed"])}</td><td class="num">{_e(row["near_removed"])}</td>'
            f'<td class="num">{_e(_percent(row["share_removed"]))}</td></tr>'
        )
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def write_html(path: Path, summary: dict[str, Any], snippets: dict[int, str]) -> Path:
    path.write_text(render_html(summary, snippets), encoding="utf-8")
    return path
