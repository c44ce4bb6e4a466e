"""The TC260-003 technical sample: at least 10% of the training corpus re-checked by the detectors.

TC260-003 asks for a technical (automated) check of a random sample of at least 10% of the training
corpus, with at least 98% acceptable. The sample is drawn like the human one (stratified by source,
ranked by SHA-256 of seed and doc id; see :mod:`pipeline.report.review_sample`) but with its own
purpose in the hash, so the two samples are independent draws.

Each sampled document is read back from the run's output shards, exactly as training will read it,
and the run's per-document detectors (all but those whose columns only feed corpus-wide passes:
exact dedup has none, MinHash's signatures are working data) are rebuilt from the config in
``run.json`` (paths relative to the config's folder, ``input_base``) and run over it again. The
policy is then applied to the fresh annotations, restricted to the rules that can be judged one
document at a time: a rule that reads a column only a corpus-wide pass produces (duplicates,
per-source harmful shares) cannot be re-evaluated on a sample; it is skipped and named in the
result.

A document **passes** when the restricted policy's decision on its shard text is ``keep``, or ``redact``
where redacting would not change the text (nothing left to redact). ``drop``, ``quarantine`` and a
redaction that still finds something all fail: the run let through a document its own rules reject.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.annotate.detectors import build_detectors
from pipeline.annotate.stage import AnnotateStage
from pipeline.decide.columns import split_rules
from pipeline.decide.policy import DECISION_FIELDS, CompiledPolicy
from pipeline.decide.stage import ROUTING_FIELDS, DecideStage
from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.report import reports_dir
from pipeline.report.review_sample import draw, pass_rate, reports_settings, training_documents
from pipeline.tables import extend_schema
from schemas.config import AuditConfig, LoadedConfig
from schemas.document import DOCUMENT_SCHEMA
from schemas.ledger import Action
from schemas.loading import ConfigError
from schemas.policy import Policy
from schemas.sources import SourceManifest

TECHNICAL = "technical"
TECHNICAL_REQUIREMENT = 0.98
"""TC260-003: at least 98% of the technical sample must be acceptable."""
RESULT_FILE = "technical_check.json"


def config_from_record(run_dir: Path, record: dict[str, Any]) -> LoadedConfig:
    """The run's config as recorded in ``run.json``, with paths resolved against its original folder."""
    recorded = run_dir / "run.json"
    content = record["config"]
    return LoadedConfig(
        path=recorded,
        sources_path=recorded,
        policy_path=recorded,
        audit=AuditConfig.model_validate(content["audit"]),
        sources=SourceManifest.model_validate(content["sources"]),
        policy=Policy.model_validate(content["policy"]),
        base_dir=Path(record["input_base"]),
    )


def _documents(run_dir: Path, record: dict[str, Any], sample_ids: list[str], shards: list[str]) -> pa.Table:
    """The sampled documents as the run wrote them, shaped as input documents for the detectors."""
    wanted = pa.array(sorted(sample_ids), pa.string())
    parts = []
    for shard in sorted(set(shards)):
        table = pq.read_table(run_dir / shard)
        parts.append(table.filter(pc.is_in(table.column("doc_id"), wanted)))
    if not parts:
        raise ValueError("the technical sample is empty: no document reached the shards")
    texts = pa.concat_tables(parts)
    ledger = read_ledger(run_dir, record, ["doc_id", "ordinal", "location"])
    ledger = ledger.filter(pc.is_in(ledger.column("doc_id"), wanted))
    # looked up, not joined: Arrow joins carry no list columns (a conversation's turns)
    found = {row["doc_id"]: row for row in ledger.to_pylist()}
    for name in ("ordinal", "location"):
        values = [found[doc_id][name] for doc_id in texts.column("doc_id").to_pylist()]
        texts = texts.append_column(name, pa.array(values, DOCUMENT_SCHEMA.field(name).type))
    for field in DOCUMENT_SCHEMA:
        if field.name not in texts.column_names:  # read_error; chat and turns of flat documents
            texts = texts.append_column(field.name, pa.nulls(texts.num_rows, field.type))
    return texts.sort_by("ordinal").select(DOCUMENT_SCHEMA.names).cast(DOCUMENT_SCHEMA)


def technical_check(run_dir: Path, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Draw the technical sample, re-run the detectors and the per-document rules, summarise."""
    record = record or load_run_record(run_dir)
    settings = reports_settings(record)
    population = training_documents(run_dir, record)
    size = math.ceil(settings.technical_sample_share * population.num_rows)
    sample = draw(population, size, settings.review_seed, TECHNICAL)
    config = config_from_record(run_dir, record)
    detectors = tuple(
        d for d in build_detectors(config) if {f.name for f in d.output_fields()} - d.WORKING_FIELDS
    )
    fields = [field for detector in detectors for field in detector.output_fields()]
    annotated = extend_schema(DOCUMENT_SCHEMA, fields)
    policy, skipped = split_rules(config.policy, annotated.names)
    compiled = CompiledPolicy(policy, annotated.names, evidence_columns=[f.name for f in fields])
    decided = extend_schema(annotated, DECISION_FIELDS + ROUTING_FIELDS)
    documents = _documents(run_dir, record, sample.doc_ids, sample.documents.column("shard").to_pylist())
    table = DecideStage(compiled, annotated, decided)(
        AnnotateStage(detectors, DOCUMENT_SCHEMA, annotated)(documents)
    )
    rows = []
    for doc_id, source, action, rule_id, before, after in zip(
        *(table.column(name).to_pylist() for name in ("doc_id", "source_id", "action", "rule_id")),
        documents.column("text").to_pylist(),
        table.column("text").to_pylist(),
        strict=True,
    ):
        passed = action == Action.KEEP.value or (action == Action.REDACT.value and after == before)
        rows.append(
            {"doc_id": doc_id, "source_id": source, "action": action, "rule_id": rule_id, "passed": passed}
        )
    return {
        "ledger_merkle_root": record["ledger_merkle_root"],
        "seed": sample.seed,
        "share": settings.technical_sample_share,
        "population": sample.kept,
        "strata": sample.strata(),
        "detectors": [detector.name for detector in detectors],
        "rules_checked": [rule.id for rule in policy.rules],
        "rules_skipped": skipped,
        **pass_rate(sum(row["passed"] for row in rows), len(rows), TECHNICAL_REQUIREMENT),
        "documents": rows,
    }


def load_technical_check(run_dir: Path) -> dict[str, Any] | None:
    """The technical check written with this run's reports, or None when it has not been written."""
    path = reports_dir(run_dir) / RESULT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write_technical_check(run_dir: Path) -> list[Path]:
    """Write ``reports/technical_check.json``: the summary and each sampled document's re-check (no text).

    When the detectors cannot be rebuilt (the config's folder moved, a snapshot store is gone), the
    file says why instead, and the assessment reports the check as not run.
    """
    record = load_run_record(run_dir)
    try:
        result = technical_check(run_dir, record)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        result = {"ledger_merkle_root": record["ledger_merkle_root"], "error": str(exc)}
    path = reports_dir(run_dir) / RESULT_FILE
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [path]
