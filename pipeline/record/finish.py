"""Finishing a run folder: seal every file it holds, and sign the seal when a key is given.

Run after a run writes its reports, and again whenever ``report`` or ``review-import`` rewrites
them: the seal must always describe the folder as it is. The first seal also begins the folder's
quarantine access log, whose state every seal records. A signature of an earlier state no longer
holds, so it is removed before resealing; only a new signature (``--sign-key``) replaces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.layout import ATTESTATION, COMPLETION, MANIFEST
from pipeline.record.access_log import start_log
from pipeline.record.attestation import sign_run
from pipeline.record.run_record import load_run_record
from pipeline.record.seal import seal
from pipeline.write.run_dir import mark_stage, record_written


def finish_run(run_dir: Path, key: Ed25519PrivateKey | None, command: str = "run") -> dict[str, Any]:
    """Seal ``run_dir`` (manifest, then completion record last) and sign it with ``key``; the completion.

    ``command`` is the one sealing, named in the access log's first line when it begins the log."""
    started = start_log(run_dir, load_run_record(run_dir), command)
    record_written(run_dir, [*started, MANIFEST, COMPLETION, *([ATTESTATION] if key is not None else [])])
    mark_stage(run_dir, "sealing the folder")
    (run_dir / ATTESTATION).unlink(missing_ok=True)
    completion = seal(run_dir)
    if key is not None:
        sign_run(run_dir, key)
    return completion
