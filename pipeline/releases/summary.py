"""What a data protection officer sends after an erasure: the erasure record in plain words.

``summary.md`` and ``summary.html`` (the same text as one self-contained page, rendered like every
report: no markup from data, a Content-Security-Policy that allows no script or request) say what
was asked (how many identifiers of each kind, never the values), where the documents were found,
which corrected releases replace the affected ones, which registered models were trained on data
holding them, and what could not be searched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.report.html import markdown_page

KIND_WORDS = {
    "emails": ("e-mail address", "e-mail addresses"),
    "phones": ("phone number", "phone numbers"),
    "id_numbers": ("ID number", "ID numbers"),
    "urls": ("URL or URL prefix", "URLs or URL prefixes"),
    "domains": ("domain", "domains"),
    "content_sha256": ("content hash", "content hashes"),
}
STATUS_WORDS = {
    "corrected": "removed: a corrected release replaces it",
    "superseded": "found in this earlier version; its current version is corrected or was already",
    "unaffected": "none found",
    "unavailable": "not searched",
}


def _cell(value: object) -> str:
    """A value as a Markdown table cell: pipes and backticks cannot end the cell or a code span."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _code(value: object) -> str:
    return f"`{_cell(value)}`"


def _codes(values: list[str]) -> str:
    return ", ".join(_code(value) for value in values)


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _label(label: str) -> str:
    """``emails[0]`` -> ``e-mail address 1``; an opt-out signal as itself."""
    name, _, index = label.partition("[")
    if name in KIND_WORDS and index:
        return f"{KIND_WORDS[name][0]} {int(index.rstrip(']')) + 1}"
    return label


def _asked_words(record: dict[str, Any]) -> str:
    asked = record["request"]["asked"]
    if record["request"]["kind"] == "optout":
        parts = []
        if "snapshot" in asked:
            parts.append(f"the robots snapshot {asked['snapshot']['id']}")
        if "optout_registry_sha256" in asked:
            parts.append(f"the opt-out registry with SHA-256 {asked['optout_registry_sha256'][:16]}")
        return "apply " + " and ".join(parts or ["a newer opt-out source"]) + " to every release"
    counts = [f"{n} {KIND_WORDS[name][n != 1]}" for name, n in asked.items() if n]
    return ", ".join(counts) + " (the values are written nowhere by corpusaudit)"


def _registered_folders(affected: list[dict[str, Any]]) -> str:
    """What remains to be deleted by hand: the folders of affected releases registered from runs."""
    held = [r["release"] for r in affected if not r["in_registry"]]
    if not held:
        return "no folder outside the registry held the documents."
    names = _codes(held)
    return (
        f"the run folders registered as {names} still hold the documents until their owner deletes "
        "them, or archives them where no training job reads them."
    )


def render_summary(record: dict[str, Any]) -> str:
    """The Markdown summary of an erasure record."""
    request = record["request"]
    kind = "late opt-out" if request["kind"] == "optout" else "erasure"
    releases = record["releases"]
    affected = [r for r in releases if r["documents"]]
    current = [r for r in releases if r["current"]]
    earlier = [r["release"] for r in affected if not r["current"]]
    lines = [
        f"# {kind.capitalize()} request {_code(request['id'])}",
        "",
        "| | |",
        "| --- | --- |",
        f"| Request | {_code(request['id'])} ({kind}) |",
        f"| Received | {_cell(request['received'] or 'not stated')} |",
        f"| Carried out | {_cell(record['carried_out'])} |",
        f"| Asked | {_cell(_asked_words(record))} |",
        "",
        "## What was found",
        "",
        f"{record['documents_removed']} document(s) of {sum(bool(r['documents']) for r in current)} of the "
        f"{len(current)} current release(s) held what was asked for, and were removed from them."
        + (f" Earlier versions of these releases held them too: {_codes(earlier)}." if earlier else ""),
        "",
        "| Release | Documents | Result | Corrected release |",
        "| --- | --- | --- | --- |",
    ]
    for r in releases:
        corrected = _code(r["corrected"]["release"]) if r["corrected"] else ""
        lines.append(
            _row(_code(r["release"]), len(r["documents"]), _cell(STATUS_WORDS[r["status"]]), corrected)
        )
    lines += [
        "",
        "## What was done",
        "",
        "Each current release holding the documents was replaced in the registry by a corrected release "
        "without them: new shards, quarantine, export and index files, and a ledger in which each removed "
        "document's row records the erasure, the request and the date. Every corrected release is sealed "
        "and passes `corpusaudit verify`. The registry does not delete folders it did not write: "
        f"{_registered_folders(affected)}",
        "",
        "## Models trained on affected releases",
        "",
    ]
    if record["models"]:
        lines += ["| Model | Trained on | Documents |", "| --- | --- | --- |"]
        lines += [_row(_code(m["model"]), _codes(m["trained_on"]), m["documents"]) for m in record["models"]]
        lines += [
            "",
            "These models were trained on data that held the documents. Removing the documents from a "
            "release does not remove what a model learned from them: a model is free of them only once it "
            "is retrained on a corrected release.",
        ]
    else:
        lines.append("No registered model was trained on an affected release.")
    lines += ["", "## Per item asked", "", "| Item | Documents removed | Releases |", "| --- | --- | --- |"]
    lines += [
        _row(_cell(_label(c["label"])), c["documents"], _codes(c["releases"])) for c in record["criteria"]
    ]
    unsearched = [(r["release"], u) for r in releases for u in r["unsearchable"]]
    unavailable = [r for r in releases if r["status"] == "unavailable"]
    if unsearched or unavailable:
        lines += ["", "## Not searched", ""]
        lines += [
            f"- {_code(ref)}: {', '.join(_cell(_label(c)) for c in u['criteria'])}: {_cell(u['why'])}"
            for ref, u in unsearched
        ]
        lines += [f"- {_code(r['release'])}: {_cell(r['why'])}" for r in unavailable]
    return "\n".join(lines) + "\n"


def write_summary(folder: Path, record: dict[str, Any]) -> list[Path]:
    """``summary.md`` and ``summary.html`` of ``record`` in ``folder``."""
    markdown = render_summary(record)
    paths = [folder / "summary.md", folder / "summary.html"]
    paths[0].write_text(markdown, encoding="utf-8")
    title = f"Erasure request {record['request']['id']}"
    paths[1].write_text(markdown_page(markdown, folder, title), encoding="utf-8")
    return paths
