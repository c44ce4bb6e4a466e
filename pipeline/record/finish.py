"""Finishing a run folder: seal every file it holds, and sign the seal when a key is given.

Run after a run writes its reports, and again whenever ``report`` or ``review-import`` rewrites
them: the seal must always describe the folder as it is. A signature of an earlier state no longer
holds, so it is removed before resealing; only a new signature (``--sign-key``) replaces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.layout import ATTESTATION, COMPLETION, MANIFEST
from pipeline.record.attestation import sign_run
from pipeline.record.seal import seal
from pipeline.write.run_dir import mark_stage, record_written


def finish_run(run_dir: Path, key: Ed25519PrivateKey | None) -> dict[str, Any]:
    """Seal ``run_dir`` (manifest, then completion record last) and sign it with ``key``; the completion."""
    record_written(run_dir, [MANIFEST, COMPLETION, *([ATTESTATION] if key is not None else [])])
    mark_stage(run_dir, "sealing the folder")
    (run_dir / ATTESTATION).unlink(missing_ok=True)
    completion = seal(run_dir)
    if key is not None:
        sign_run(run_dir, key)
    return completion
