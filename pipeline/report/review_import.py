"""Read the reviewers' filled-in worksheet and record the TC260-003 human review result.

The worksheet is checked against the run's own sample, drawn again from the ledger and the seed in
``run.json`` (never trusted from the file): every sampled document must have exactly one verdict, and
nothing else may be in the file. A failing document must name the TC260-003 risk it carries, so the
result can say what kind of content failed. The result goes to ``reports/review_result.json``, which the
assessment reads whenever it is rebuilt.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detectors.harm.taxonomy import is_known
from pipeline.record.run_record import load_run_record
from pipeline.report import reports_dir
from pipeline.report.review_sample import VERDICTS, WORKSHEET_ENCODING, pass_rate, review_sample

REVIEW_REQUIREMENT = 0.96
"""TC260-003: at least 96% of the human review sample must be acceptable."""
RESULT_FILE = "review_result.json"
REQUIRED_COLUMNS = ("doc_id", "verdict", "risk_id")
MAX_LISTED = 20
"""Problems named one by one before the rest are only counted."""


class ReviewImportError(ValueError):
    """The worksheet cannot be accepted; the message names every row at fault."""


def _problems_message(path: Path, problems: list[str]) -> str:
    listed = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{path}: {len(problems)} problem(s) in the verdicts:\n  " + "\n  ".join(listed) + more


def read_verdicts(
    path: Path, sample_ids: list[str], vocabulary: dict[str, bool] = VERDICTS, with_risks: bool = True
) -> dict[str, tuple[bool, str | None]]:
    """``doc_id -> (passed, risk id)`` for every sampled document; ReviewImportError naming each bad row.

    ``vocabulary`` maps what a reviewer may write to pass or fail; ``with_risks`` (the TC260-003
    review) asks a failure to name its risk, and without it (the annotation review) no risk is read.
    Rows are numbered as a spreadsheet shows them (the header is row 1).
    """
    required = REQUIRED_COLUMNS if with_risks else tuple(c for c in REQUIRED_COLUMNS if c != "risk_id")
    try:
        with path.open(encoding=WORKSHEET_ENCODING, newline="") as handle:
            reader = csv.DictReader(handle)
            missing_columns = [c for c in required if c not in (reader.fieldnames or [])]
            if missing_columns:
                raise ReviewImportError(f"{path}: missing column(s) {', '.join(missing_columns)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReviewImportError(f"{path}: cannot read the verdicts: {exc}") from None
    expected = set(sample_ids)
    verdicts: dict[str, tuple[bool, str | None]] = {}
    problems: list[str] = []
    for number, row in enumerate(rows, start=2):
        doc_id = (row["doc_id"] or "").strip()
        verdict = (row["verdict"] or "").strip()
        risk_id = ((row.get("risk_id") or "").strip() or None) if with_risks else None
        where = f"row {number} ({doc_id or 'no doc_id'})"
        if doc_id not in expected:
            problems.append(f"{where}: not in this run's review sample")
            continue
        if doc_id in verdicts:
            problems.append(f"{where}: a second verdict for the same document")
            continue
        passed = vocabulary.get(verdict.lower() if verdict.isascii() else verdict)
        if passed is None:
            shown = f"{verdict!r} is not" if verdict else "missing; it must be"
            problems.append(f"{where}: verdict {shown} one of {', '.join(vocabulary)}")
            continue
        if with_risks and not passed and risk_id is None:
            problems.append(
                f"{where}: a failing document needs the TC260-003 risk_id it carries (e.g. A.1.4)"
            )
            continue
        if risk_id is not None and not is_known(risk_id):
            problems.append(f"{where}: risk_id {risk_id!r} is not a TC260-003 Appendix A risk or hazard id")
            continue
        if passed and risk_id is not None:
            problems.append(f"{where}: risk_id {risk_id} given for a passing document")
            continue
        verdicts[doc_id] = (passed, risk_id)
    listed = {(row["doc_id"] or "").strip() for row in rows}
    problems.extend(
        f"{doc_id}: sampled but has no row in the verdicts" for doc_id in sample_ids if doc_id not in listed
    )
    if problems:
        raise ReviewImportError(_problems_message(path, problems))
    return verdicts


def review_result(run_dir: Path, verdicts_path: Path) -> dict[str, Any]:
    """Check the verdicts against the run's sample and summarise them; nothing is written."""
    record = load_run_record(run_dir)
    sample = review_sample(run_dir, record)
    verdicts = read_verdicts(verdicts_path, sample.doc_ids)
    passed = sum(ok for ok, _ in verdicts.values())
    sources = dict(zip(sample.doc_ids, sample.documents.column("source_id").to_pylist(), strict=True))
    failures_by_source = Counter(sources[doc_id] for doc_id, (ok, _) in verdicts.items() if not ok)
    return {
        "ledger_merkle_root": record["ledger_merkle_root"],
        "verdicts_file": verdicts_path.name,
        "verdicts_sha256": hashlib.sha256(verdicts_path.read_bytes()).hexdigest(),
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": sample.seed,
        **pass_rate(passed, len(verdicts), REVIEW_REQUIREMENT),
        "failures_by_risk": dict(sorted(Counter(r for ok, r in verdicts.values() if not ok).items())),
        "failures_by_source": dict(sorted(failures_by_source.items())),
    }


def load_review_result(
    run_dir: Path, record: dict[str, Any], name: str = RESULT_FILE
) -> dict[str, Any] | None:
    """The imported review result of this run (``name``: the annotation review's file), or None; a
    result left from another run is ignored."""
    path = reports_dir(run_dir) / name
    if not path.exists():
        return None
    result = json.loads(path.read_text(encoding="utf-8"))
    return result if result.get("ledger_merkle_root") == record["ledger_merkle_root"] else None


def import_review(run_dir: Path, verdicts_path: Path) -> tuple[dict[str, Any], Path]:
    """Record the verdicts in ``reports/review_result.json``, where the assessment finds them."""
    result = review_result(run_dir, verdicts_path)
    path = reports_dir(run_dir) / RESULT_FILE
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result, path
