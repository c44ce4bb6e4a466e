"""The columns a policy may read: the document's, the map sides', and the passes'."""

from __future__ import annotations

import pyarrow as pa

from detectors import Detector
from pipeline.annotate.detectors import map_fields
from pipeline.decide.policy import REDACTIONS_SUFFIX, CompiledPolicy
from pipeline.passes import PlannedPasses
from pipeline.read.optout import OPTOUT
from pipeline.read.unique_ids import DUPLICATE_ID, READ_SCHEMA
from pipeline.tables import extend_schema
from schemas.config import DEFAULT_POLICY, LoadedConfig
from schemas.loading import ConfigError
from schemas.policy import Policy


def annotation_fields(detectors: list[Detector], planned: PlannedPasses) -> list[pa.Field]:
    """Every annotation column a run adds: the map sides' in config order, then the passes'."""
    return map_fields(detectors) + planned.fields


def evidence_columns(detectors: list[Detector], fields: list[pa.Field]) -> list[str]:
    """The annotations the ledger records as evidence.

    Signatures and band lists are working data, not evidence, and stay out of the ledger; so are
    redaction lists, whose spans the detector records already and whose pseudonyms are keyed hashes
    of personal values. Short lists of names or numbers (the turn roles of a finding) are evidence.
    """
    working = {name for detector in detectors for name in detector.WORKING_FIELDS}
    return [
        f.name
        for f in fields
        if f.name not in working
        and not (pa.types.is_binary(f.type) or _opaque_list(f.type) or f.name.endswith(REDACTIONS_SUFFIX))
    ]


def _opaque_list(data_type: pa.DataType) -> bool:
    """A list whose values are not strings or integers, which evidence JSON does not show."""
    if not pa.types.is_list(data_type):
        return False
    values = data_type.value_type
    return not (pa.types.is_string(values) or pa.types.is_integer(values))


def split_rules(
    policy: Policy, columns: list[str], types: dict[str, pa.DataType] | None = None
) -> tuple[Policy, list[dict[str, str]]]:
    """The policy cut down to the rules that compile over ``columns``, and the rules left out, each
    with its expression and why (the compile error, naming the column no detector produces)."""
    kept, left_out = [], []
    for rule in policy.rules:
        try:
            CompiledPolicy(policy.model_copy(update={"rules": [rule]}), columns, types=types)
        except ConfigError as exc:
            why = str(exc).split(".when: ", 1)[-1].split("; available columns", 1)[0]
            if why.startswith("unknown column "):
                why = f"no configured detector produces {why.removeprefix('unknown column ')}"
            left_out.append({"rule_id": rule.id, "when": rule.when, "why": why})
        else:
            kept.append(rule)
    return policy.model_copy(update={"rules": kept}), left_out


def compile_policy(
    config: LoadedConfig, detectors: list[Detector], planned: PlannedPasses
) -> tuple[CompiledPolicy, list[dict[str, str]]]:
    """Bind the policy to the names and types of the columns the detectors and passes will produce.

    A user's policy must fit: an unknown column or a type mismatch fails here, naming the rule. The
    shipped default policy is written for the default detectors, so with any other set its rules over
    columns no configured detector produces are left out; they are returned to go to the run record.
    """
    fields = annotation_fields(detectors, planned)
    schema = extend_schema(READ_SCHEMA, fields)
    types = {field.name: field.type for field in schema}
    policy, left_out = config.policy, []
    if config.policy_path == DEFAULT_POLICY:
        policy, left_out = split_rules(policy, schema.names, types)
    compiled = CompiledPolicy(
        policy, schema.names, source=str(config.policy_path),
        evidence_columns=[DUPLICATE_ID.name, OPTOUT.name, *evidence_columns(detectors, fields)], types=types,
    )  # fmt: skip
    return compiled, left_out
