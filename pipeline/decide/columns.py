"""The columns a policy may read: the document's, the map sides', and the passes'."""

from __future__ import annotations

import pyarrow as pa

from detectors import Detector
from pipeline.annotate.detectors import map_fields
from pipeline.decide.policy import REDACTIONS_SUFFIX, CompiledPolicy
from pipeline.passes import PlannedPasses
from schemas.config import LoadedConfig
from schemas.document import DOCUMENT_SCHEMA


def annotation_fields(detectors: list[Detector], planned: PlannedPasses) -> list[pa.Field]:
    """Every annotation column a run adds: the map sides' in config order, then the passes'."""
    return map_fields(detectors) + planned.fields


def evidence_columns(detectors: list[Detector], fields: list[pa.Field]) -> list[str]:
    """The annotations the ledger records as evidence.

    Signatures and band lists are working data, not evidence, and stay out of the ledger; so are
    redaction lists, whose spans the detector records already and whose pseudonyms are keyed hashes
    of personal values.
    """
    working = {name for detector in detectors for name in detector.WORKING_FIELDS}
    return [
        f.name
        for f in fields
        if f.name not in working
        and not (pa.types.is_binary(f.type) or pa.types.is_list(f.type) or f.name.endswith(REDACTIONS_SUFFIX))
    ]


def compile_policy(config: LoadedConfig, detectors: list[Detector], planned: PlannedPasses) -> CompiledPolicy:
    """Bind the policy to the columns the detectors and passes will produce; unknown columns fail here."""
    fields = annotation_fields(detectors, planned)
    columns = DOCUMENT_SCHEMA.names + [f.name for f in fields]
    return CompiledPolicy(
        config.policy,
        columns,
        source=str(config.policy_path),
        evidence_columns=evidence_columns(detectors, fields),
    )
