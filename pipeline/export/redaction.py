"""The review sample for a regulator: the run's worksheet with personal information redacted.

The worksheet (``reports/review_sample.csv``) holds the sampled documents' text as the shards hold
it: redacted where the policy said so, untouched where no rule matched. A regulator needs to see
what was sampled and how it reads, not who is named in it, so every text is passed through the
``pii`` detector once more and each span replaced by its type (``<EMAIL>``, ``<CN_ID>``). The other
columns are kept as they are, so the sheet still lines up with the ledger by ``doc_id``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from detectors.pii.detector import PiiDetector
from pipeline.layout import REPORTS_DIR
from pipeline.report.review_sample import WORKSHEET_COLUMNS, WORKSHEET_ENCODING

WORKSHEET = f"{REPORTS_DIR}/review_sample.csv"


def redacted_review_sample(run_dir: Path, detector: PiiDetector) -> tuple[bytes, dict[str, Any]]:
    """The worksheet's bytes with every text redacted, and how many texts changed."""
    with (run_dir / WORKSHEET).open(encoding=WORKSHEET_ENCODING, newline="") as handle:
        rows = list(csv.DictReader(handle))
    changed = 0
    for row in rows:
        redacted = detector.scrub(row["text"], scope=row["doc_id"])
        changed += redacted != row["text"]
        row["text"] = redacted
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=WORKSHEET_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(WORKSHEET_ENCODING), {"documents": len(rows), "texts_redacted": changed}
