"""The quarantine access log: who exported or read the quarantined documents, when, and why.

Quarantined documents are the ones held back for a person to look at, so every use of them is
recorded in the run folder: ``access/log.jsonl`` gets one line per event, a JSON object in
canonical form (sorted keys, no spaces) with ``seq``, ``at`` (UTC), ``user`` (the operating-system
account that ran the command), ``command``, ``action`` (``write`` for the run that wrote them,
``export``, ``read``), ``documents`` (how many), ``reason`` and ``prev``: the SHA-256 of the line
before, and for the first line a digest of the run it belongs to (name, start, config hash,
ledger root), so a log cannot be moved to another run. ``access/head.json`` holds the number of
lines and the SHA-256 of the last one. Nothing else is written: no document id, no text, no path;
the caller passes a reason already cleared of personal information.

The log grows after the folder is sealed, so it is not a sealed file (resealing for each event
would remove the run's signature); the seal records instead where the log stood when it was made
(``manifest.json``: ``access_log``, covered by the completion record and by a signature), and
:func:`check_log` is what ``verify`` runs:

* every line parses and chains to the one before; an edited, removed, inserted or reordered line
  breaks the chain;
* the head file names the last line and the number of lines, so cutting lines off the end fails;
* the log still holds the state the seal recorded, so a log cut back below the seal fails even
  when the head file is rewritten to match.

What it cannot show: events after the last seal cut off together with a matching rewrite of the
head file by someone who can write the folder (the limit of every unsigned check, see
docs/threat-model.md). Every audit archive records the head as it stood at its export, so an
archive kept elsewhere shows how far the log had grown.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.layout import ACCESS_HEAD, ACCESS_LOG
from pipeline.record.run_record import canonical_json, sha256_hex
from pipeline.write.store import write_atomic

HEAD_FORMAT = "corpusaudit-access-head/1"
ENTRY_KEYS = frozenset({"seq", "at", "user", "command", "action", "documents", "reason", "prev"})
WRITE, EXPORT, READ = "write", "export", "read"


class AccessLogError(RuntimeError):
    """The log does not pass its own check, so nothing is appended to it."""


def run_anchor(record: dict[str, Any]) -> str:
    """What the first line chains to: the run the log belongs to."""
    keys = ("name", "started_at", "config_sha256", "ledger_merkle_root")
    return sha256_hex(canonical_json({key: record.get(key) for key in keys}))


def operator() -> str:
    """The operating-system account running the command (its uid when the system names none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def log_state(run_dir: Path) -> dict[str, Any] | None:
    """The head file's ``entries`` and ``head``; None when the run has no access log."""
    path = Path(run_dir) / ACCESS_HEAD
    if not path.exists():
        return None
    head = json.loads(path.read_text(encoding="utf-8"))
    return {"entries": head["entries"], "head": head["head"]}


def _lines(run_dir: Path) -> list[bytes]:
    return (Path(run_dir) / ACCESS_LOG).read_bytes().splitlines()


def _write_head(run_dir: Path, entries: int, head: str) -> None:
    state = {"format": HEAD_FORMAT, "entries": entries, "head": head}
    write_atomic(Path(run_dir) / ACCESS_HEAD, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode())


def _append(run_dir: Path, entry: dict[str, Any], entries: int) -> None:
    """Append one line (synced), then move the head to it: a crash in between leaves a line the head
    does not cover, which ``verify`` reports, never an event silently lost."""
    line = canonical_json(entry)
    path = Path(run_dir) / ACCESS_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(line + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    _write_head(run_dir, entries, _digest(line))


def _entry(seq: int, prev: str, command: str, action: str, documents: int, reason: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": operator(),
        "command": command,
        "action": action,
        "documents": documents,
        "reason": reason,
        "prev": prev,
    }


def start_log(run_dir: Path, record: dict[str, Any], command: str) -> list[str]:
    """Begin the log of a run folder that has none: one ``write`` line for the quarantined documents
    the run wrote (and its own checks read). The files, relative to the folder."""
    if (Path(run_dir) / ACCESS_LOG).exists():
        return []
    quarantined = record["counts"]["quarantined"]
    first = _entry(0, run_anchor(record), command, WRITE, quarantined, "quarantined by the run's policy")
    _append(run_dir, first, 1)
    return [ACCESS_LOG, ACCESS_HEAD]


def record_access(
    run_dir: Path, record: dict[str, Any], *, command: str, action: str, documents: int, reason: str
) -> dict[str, Any]:
    """Append one event; AccessLogError (nothing appended) when the log fails its check."""
    problems = check_log(run_dir, record, None)
    if problems:
        raise AccessLogError(f"{run_dir}: the access log fails its check ({problems[0]}); nothing was read")
    state = log_state(run_dir) or {"entries": 0, "head": run_anchor(record)}
    entry = _entry(state["entries"], state["head"], command, action, documents, reason)
    _append(run_dir, entry, state["entries"] + 1)
    return entry


def read_entries(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(run_dir)]


def check_log(run_dir: Path, record: dict[str, Any], sealed: dict[str, Any] | None) -> list[str]:
    """What is wrong with the run's access log, given the state the seal recorded (``sealed``: the
    manifest's ``access_log``, or None when the seal recorded none); empty when it holds."""
    run_dir = Path(run_dir)
    log, head_path = run_dir / ACCESS_LOG, run_dir / ACCESS_HEAD
    if not log.exists() and not head_path.exists():
        return [f"{ACCESS_LOG}: removed (the seal recorded {sealed['entries']} entries)"] if sealed else []
    if not log.exists() or not head_path.exists():
        return [
            f"{ACCESS_LOG if not log.exists() else ACCESS_HEAD}: removed; the other half of the log remains"
        ]
    try:
        head = json.loads(head_path.read_text(encoding="utf-8"))
        entries, last = int(head["entries"]), str(head["head"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{ACCESS_HEAD}: not a head record ({exc})"]
    prev = run_anchor(record)
    digests: list[str] = []
    for number, line in enumerate(_lines(run_dir)):
        try:
            entry = json.loads(line)
        except ValueError:
            return [f"{ACCESS_LOG}: line {number + 1} is not JSON"]
        if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS or canonical_json(entry) != line:
            return [f"{ACCESS_LOG}: line {number + 1} is not an entry as the log writes them"]
        if entry["seq"] != number or entry["prev"] != prev:
            return [
                f"{ACCESS_LOG}: line {number + 1} does not chain to the line before (edited or reordered)"
            ]
        prev = _digest(line)
        digests.append(prev)
    problems = []
    if len(digests) != entries or (digests[-1] if digests else None) != last:
        problems.append(
            f"{ACCESS_LOG}: {len(digests)} entries, the head says {entries} ending in {last[:16]}: "
            + (
                "lines were cut off the end"
                if len(digests) < entries
                else "it does not end where the head says"
            )
        )
    kept = sealed["entries"] if sealed else 0
    if kept and (len(digests) < kept or digests[kept - 1] != sealed["head"]):
        problems.append(
            f"{ACCESS_LOG}: no longer holds the {kept} entries the seal recorded (cut back or rewritten)"
        )
    return problems
