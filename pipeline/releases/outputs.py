"""A release's folder as erasure reads it: the run record, the ledger, and the output shards.

Quarantine shards stored encrypted (``output.quarantine_key``) are decrypted in memory with the key
the run's config names, read from where it says (an environment variable or a key file); and every
read of quarantined documents is appended to the release's access log, as every other reader of
them does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.layout import DEST_QUARANTINE
from pipeline.record.access_log import READ, record_access
from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.write.quarantine_cipher import QuarantineCipher, is_encrypted, load_cipher, open_output
from schemas.config import QuarantineKeySpec


class ReleaseFolder:
    """One sealed run folder, read-only but for its quarantine access log."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.record = load_run_record(self.run_dir)
        self._cipher: QuarantineCipher | None = None
        self._quarantine_read: dict[str, int] = {}

    def outputs(self, *kinds: str) -> list[dict[str, Any]]:
        """Output entries of ``kinds`` (``shards``, ``quarantine``, ``export``, ``index``)."""
        return [entry for entry in self.record["outputs"] if entry["kind"] in kinds]

    @property
    def cipher(self) -> QuarantineCipher | None:
        """The quarantine key of the run, loaded when an encrypted shard is first read."""
        if self._cipher is None:
            spec = (self.record["config"]["audit"].get("output") or {}).get("quarantine_key")
            if spec is not None:
                key_spec = QuarantineKeySpec.model_validate(spec)
                self._cipher = load_cipher(key_spec, Path(self.record["input_base"]))
        return self._cipher

    def read(self, relative: str, columns: list[str] | None = None) -> pa.Table:
        """An output shard's rows (``columns`` only, if given), decrypted when it is stored encrypted."""
        table = open_output(self.run_dir, relative, self.cipher if is_encrypted(relative) else None).read(
            columns=columns
        )
        if relative.startswith(DEST_QUARANTINE + "/"):
            self._quarantine_read[relative] = table.num_rows
        return table

    def ledger(self, columns: list[str]) -> pa.Table:
        return read_ledger(self.run_dir, self.record, columns)

    def log_quarantine_reads(self, command: str, reason: str) -> None:
        """Append one ``read`` event for the quarantined documents read, if any were."""
        documents = sum(self._quarantine_read.values())
        if documents:
            record_access(
                self.run_dir, self.record, command=command, action=READ, documents=documents, reason=reason
            )
