"""The public tier's scan for personal information, run before the archive is written.

Reports are built from the ledger, which holds no text, but some of their words come from people:
the owner's datasheet answers (a contact address), the source manifest (a collection record naming
a person), a doc id. Every member of a public archive is scanned with the ``pii`` detector, as a
reader would see it: Markdown, JSON, CSV and YAML whole; HTML and SVG by their text and the
attributes a reader sees or follows (``href``, ``title``, ``alt``...), not by markup or drawing
coordinates, which read as phone numbers.

By default anything found refuses the export, naming the member, the type and where, never the
value: a placeholder in a published dataset card would hide that the source text is wrong, so the
fix belongs where the text comes from (the answers file, then ``corpusaudit report RUN --answers
FILE``; the source manifest, then a new run). With ``--redact-pii`` each value found is replaced by
its type (``<EMAIL>``) instead; such a member is marked ``redacted`` in the archive's manifest with
the digest of the file it was made from (for a run file, the digest the run sealed), the type and
place of each redaction, and the member is scanned again: a value that survives refuses the export.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from detectors.pii.detector import PiiDetector
from pipeline.export import ExportError
from pipeline.record.audit_archive import Member

MARKUP_SUFFIXES = (".html", ".svg")
VISIBLE_ATTRIBUTES = frozenset({"href", "src", "title", "alt", "aria-label", "content", "cite"})
HIDDEN_ELEMENTS = frozenset({"style", "script"})


class PublicPiiFound(ExportError):
    """The public tier would publish personal information; nothing was written."""


REDACTED = "redacted"
"""The origin of a member whose personal information was replaced (``--redact-pii``)."""


@dataclass(frozen=True)
class Finding:
    member: str
    type: str
    where: str
    value: str = field(repr=False)  # only to redact it; never shown or recorded


class _VisibleText(HTMLParser):
    """The text of an HTML or SVG document and the attribute values a reader sees or follows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_ELEMENTS:
            self._hidden += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value and not value.startswith("data:"):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_ELEMENTS and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data)


def visible_text(name: str, data: bytes) -> str:
    """What a reader of the member sees, as one text."""
    text = data.decode("utf-8-sig")
    if not name.endswith(MARKUP_SUFFIXES):
        return text
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    return "\n".join(parser.parts)


def _where(name: str, text: str, start: int) -> str:
    if name.endswith(MARKUP_SUFFIXES):
        return f"in its visible text, character {start}"
    return f"line {text.count(chr(10), 0, start) + 1}"


def scan_members(members: list[Member], detector: PiiDetector) -> list[Finding]:
    """Every entity the detector finds in the members' visible text (members given as bytes)."""
    findings = []
    for member in members:
        assert member.data is not None, member.name
        text = visible_text(member.name, member.data)
        findings += [
            Finding(member.name, e.type, _where(member.name, text, e.start), text[e.start : e.end])
            for e in detector.find(text)
        ]
    return findings


def scan_description(detector: PiiDetector, redact: bool) -> dict[str, Any]:
    """How the public tier is scanned, for the archive's manifest and ``VERIFY.md``."""
    described = detector.describe()
    return {
        "detector": "pii",
        "recognizers": len(described["recognizers"]),
        "names_checked": not isinstance(described["nlp_engine"], str),
        "action_if_found": "redact" if redact else "refuse",
    }


def _refusal(findings: list[Finding], what: str) -> PublicPiiFound:
    shown = "; ".join(f"{f.member}: {f.type} ({f.where})" for f in findings[:10])
    more = f" and {len(findings) - 10} more" if len(findings) > 10 else ""
    return PublicPiiFound(
        f"the public archive was not written: {what}: {shown}{more}. Correct the text it comes from "
        "(the datasheet answers: corpusaudit report RUN_DIR --answers FILE; the source manifest: run "
        "again) and export again, or pass --redact-pii to replace each value by its type"
    )


def _redacted(member: Member, findings: list[Finding]) -> Member:
    """The member with every value found replaced by its type, as text and, in markup, as escaped text."""
    text = member.data.decode("utf-8-sig") if member.data is not None else ""
    bom = "\ufeff" if member.data is not None and member.data.startswith(b"\xef\xbb\xbf") else ""
    markup = member.name.endswith(MARKUP_SUFFIXES)
    for finding in sorted(findings, key=lambda f: -len(f.value)):
        placeholder = f"<{finding.type}>"
        if markup:
            text = text.replace(html.escape(finding.value), html.escape(placeholder))
            placeholder = html.escape(placeholder)
        text = text.replace(finding.value, placeholder)
    return Member(member.name, REDACTED, (bom + text).encode("utf-8"))


def require_no_pii(
    members: list[Member], detector: PiiDetector, redact: bool = False
) -> tuple[list[Member], dict[str, Any]]:
    """The public members as they may be written, and what the scan found; PublicPiiFound when
    anything is found (with ``redact``: when anything survives redaction)."""
    findings = scan_members(members, detector)
    if findings and not redact:
        raise _refusal(findings, "the pii detector found personal information in it")
    by_member: dict[str, list[Finding]] = {}
    for finding in findings:
        by_member.setdefault(finding.member, []).append(finding)
    written = [_redacted(m, by_member[m.name]) if m.name in by_member else m for m in members]
    survived = scan_members([m for m in written if m.name in by_member], detector)
    if survived:
        raise _refusal(survived, "personal information survived its redaction")
    redactions = [
        {
            "member": member.name,
            "from_sha256": hashlib.sha256(member.data or b"").hexdigest(),
            "spans": [{"type": f.type, "where": f.where} for f in by_member[member.name]],
        }
        for member in members
        if member.name in by_member
    ]
    scanned = {
        **scan_description(detector, redact),
        "members": sorted(member.name for member in members),
        "found": len(findings),
        "redacted": redactions,
    }
    return written, scanned
