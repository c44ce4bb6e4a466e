"""The decide step as an engine stage: the policy's action per row, redaction, and routing."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.decide.chat import redact_conversation
from pipeline.decide.policy import DECISION_FIELDS, REDACTIONS_SUFFIX, CompiledPolicy, apply_redactions
from pipeline.layout import DEST_QUARANTINE, DEST_SHARDS
from pipeline.read.scrub import NO_SCRUBBER, Scrubber
from pipeline.tables import conform
from schemas.document import RECORD_BITS
from schemas.ledger import Action

_DEST_OF_ACTION = {
    Action.KEEP.value: DEST_SHARDS,
    Action.REDACT.value: DEST_SHARDS,
    Action.QUARANTINE.value: DEST_QUARANTINE,
}
ROUTING_FIELDS = [
    pa.field("_unit", pa.int64()),
    pa.field("_dest", pa.string()),
    pa.field("_size", pa.int64()),
    pa.field("_text_bytes", pa.int64()),
]
"""Where each decided row goes: its input unit, destination folder, output and input text bytes."""


@dataclass(frozen=True)
class DecideStage:
    """Apply the policy, redact where it says so, and route each row to its destination."""

    policy: CompiledPolicy
    in_schema: pa.Schema
    out_schema: pa.Schema
    scrubber: Scrubber = NO_SCRUBBER
    """Scrubs the URL after the detectors saw it as crawled (robots rules match the real path)."""

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        decision = self.policy.decide(table)
        if self.scrubber:
            urls = [
                self.scrubber.field(url, doc_id)
                for url, doc_id in zip(
                    table.column("url").to_pylist(), table.column("doc_id").to_pylist(), strict=True
                )
            ]
            table = table.set_column(table.schema.get_field_index("url"), "url", pa.array(urls, pa.string()))
        texts = table.column("text").to_pylist()
        text_bytes = [len(t.encode("utf-8")) if t is not None else 0 for t in texts]
        redaction_columns = [
            table.column(name).to_pylist() for name in table.column_names if name.endswith(REDACTIONS_SUFFIX)
        ]
        turns = table.column("turns").to_pylist()
        for i, action in enumerate(decision["action"]):
            if action != Action.REDACT.value:
                continue
            spans = [column[i] for column in redaction_columns]
            if turns[i] is not None:  # a conversation keeps its turns
                texts[i], turns[i] = redact_conversation(texts[i], turns[i], spans)
            else:
                texts[i] = apply_redactions(texts[i], spans)
        destinations = [_DEST_OF_ACTION.get(action) for action in decision["action"]]
        sizes = [
            len(text.encode("utf-8")) if dest is not None else 0
            for text, dest in zip(texts, destinations, strict=True)
        ]
        table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
        turns_type = table.schema.field("turns").type
        table = table.set_column(table.schema.get_field_index("turns"), "turns", pa.array(turns, turns_type))
        for field in DECISION_FIELDS:
            table = table.append_column(field, pa.array(decision[field.name], field.type))
        units = pc.shift_right(table.column("ordinal"), RECORD_BITS)
        for field, values in zip(ROUTING_FIELDS, [units, destinations, sizes, text_bytes], strict=True):
            array = values if isinstance(values, pa.ChunkedArray) else pa.array(values, field.type)
            table = table.append_column(field, array)
        return conform(table, self.out_schema)
