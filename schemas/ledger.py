"""The ledger row: one per input record, saying what happened to it and why.

The ledger holds identifiers, hashes, offsets and scores only; never text or personal data. Two
kinds of hash concern persons: with a subject key the ``pii`` evidence holds
``pii.subject_hashes``, keyed HMAC-SHA256 hashes of the e-mail addresses, phone numbers and ID
numbers of the document (by which ``corpusaudit erase`` finds a person's documents; without the
key they name no one), and the ledger of a corrected release holds, for each erased document, a
``drop`` by rule ``erasure`` whose evidence adds ``erasure.*`` (request id, kind, date, what matched
by label, the action, rule and shard it had).
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa


class Action(StrEnum):
    """What the policy (or the reader, for ``error``) decided for a record."""

    KEEP = "keep"
    REDACT = "redact"
    DROP = "drop"
    QUARANTINE = "quarantine"
    ERROR = "error"


COUNT_NAMES: dict[Action, str] = {
    Action.KEEP: "kept",
    Action.REDACT: "redacted",
    Action.DROP: "dropped",
    Action.QUARANTINE: "quarantined",
    Action.ERROR: "error",
}
"""The names the run record uses: ``read = kept + redacted + dropped + quarantined + error``."""

LEDGER_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("ordinal", pa.int64(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("content_sha256", pa.string()),
        pa.field("text_bytes", pa.int64(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("action", pa.string(), nullable=False),
        pa.field("rule_id", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("evidence", pa.string(), nullable=False),
        pa.field("shard", pa.string()),
    ]
)
"""``text_bytes`` is the UTF-8 size of the input text (0 for errors); ``evidence`` is canonical
JSON of the annotations the decision saw; ``shard`` names the output file holding the document
(training or quarantine shard), null when it was dropped or unreadable."""
