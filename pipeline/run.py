"""Run one audit: plan, read, annotate, decide, write, record.

The driver only plans and records; every pass over documents runs on the chosen engine. A run
folder that holds the work markers of an interrupted run with the same config and inputs is
resumed: finished ledger parts and shards are checked and reused, the rest is written.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from detectors import Detector, GlobalDetector, build_detector, detector_class
from detectors.dedup.minhash import MinHashDetector
from pipeline.bias_shares import BIAS_FIELDS, BIAS_RECORD_KEY, attach_bias_shares
from pipeline.engines import make_engine
from pipeline.expectations import ChecksFailed, failed_expectations, plan_checks, run_checks
from pipeline.io.plan import hash_inputs, plan_units
from pipeline.io.units import units_table
from pipeline.io.writers import sha256_file
from pipeline.ledger import (
    OUTPUT_DIRS,
    RUN_RECORD,
    canonical_json,
    ledger_counts,
    merkle_root,
    package_versions,
    sha256_hex,
)
from pipeline.near_duplicates import NEAR_FIELDS, cluster_near_duplicates
from pipeline.policy import DECISION_FIELDS, REDACTIONS_SUFFIX, CompiledPolicy
from pipeline.reports import REPORTS_DIR, write_reports
from pipeline.source_shares import SHARE_FIELD, attach_source_shares
from pipeline.stages import (
    FILE_SCHEMA,
    GROUP_KEY,
    INDEX_DIR,
    ROUTING_FIELDS,
    SHARD_ROW_SCHEMA,
    TOTALS_INPUT_SCHEMA,
    TOTALS_SCHEMA,
    AnnotateStage,
    DecideStage,
    GroupKeyStage,
    LedgerStage,
    ReadStage,
    ReduceStage,
    SelectStage,
    ShardStage,
    TotalsStage,
    extend_schema,
    ledger_path,
    shard_offsets,
)
from schemas.config import LoadedConfig
from schemas.document import DOCUMENT_SCHEMA
from schemas.loading import ConfigError

WORK_DIR = "_work"
HARM = "harm"
"""The detector whose ``harm.flagged`` feeds the per-source harmful share."""
BIAS = "bias"
"""The detector whose counts feed the per-source skew and, with ``harm``, ``bias.discrimination``."""
FINGERPRINT = "fingerprint.json"


class RunDirError(RuntimeError):
    """The output folder holds something this run must not overwrite or mix with."""


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    record: dict[str, Any]


def build_detectors(config: LoadedConfig) -> list[Detector]:
    """The configured detectors; file paths among their params are relative to the config file."""
    detectors = []
    for index, spec in enumerate(config.audit.detectors):
        params = dict(spec.params)
        try:
            for name in getattr(detector_class(spec.name), "PATH_PARAMS", ()):
                if isinstance(params.get(name), str):
                    params[name] = str(config.resolve(params[name]))
            detectors.append(build_detector(spec.name, params))
        except ValueError as exc:
            raise ConfigError(f"{config.path}: detectors[{index}]: {exc}") from None
    return detectors


def annotation_fields(detectors: list[Detector]) -> list[pa.Field]:
    """Every annotation column a run with these detectors adds, in the order the stages add them."""
    map_fields = [f for d in detectors if not isinstance(d, GlobalDetector) for f in d.output_fields()]
    global_fields = [f for d in detectors if isinstance(d, GlobalDetector) for f in d.output_fields()]
    near_fields = NEAR_FIELDS if any(isinstance(d, MinHashDetector) for d in detectors) else []
    share_fields = [SHARE_FIELD] if any(d.name == HARM for d in detectors) else []
    bias_fields = BIAS_FIELDS if any(d.name == BIAS for d in detectors) else []
    return map_fields + global_fields + near_fields + share_fields + bias_fields


def compile_policy(config: LoadedConfig, detectors: list[Detector]) -> CompiledPolicy:
    """Bind the policy to the columns the detectors will produce; unknown columns fail here.

    Signatures and band lists are working data, not evidence, and stay out of the ledger; so are
    redaction lists, whose spans the detector records already and whose pseudonyms are keyed hashes
    of personal values.
    """
    fields = annotation_fields(detectors)
    evidence = [
        f.name
        for f in fields
        if not (pa.types.is_binary(f.type) or pa.types.is_list(f.type) or f.name.endswith(REDACTIONS_SUFFIX))
    ]
    columns = DOCUMENT_SCHEMA.names + [f.name for f in fields]
    return CompiledPolicy(config.policy, columns, source=str(config.policy_path), evidence_columns=evidence)


def previous_indexes(config: LoadedConfig, detector: MinHashDetector) -> list[Path]:
    """Index files of earlier runs named by ``dedup.minhash`` ``previous_indexes`` (run folders or files)."""
    files: list[Path] = []
    for index, entry in enumerate(detector.params.previous_indexes):
        path = config.resolve(entry)
        found = (
            sorted(path.glob(f"{INDEX_DIR}/*.parquet")) if path.is_dir() else [path] if path.exists() else []
        )
        if not found:
            raise ConfigError(
                f"{config.path}: detectors: dedup.minhash previous_indexes[{index}]: "
                f"no signature index at {path}"
            )
        files.extend(found)
    return files


def _prepare_run_dir(run_dir: Path, fingerprint: dict[str, Any], force: bool) -> bool:
    """Make ``run_dir`` ready; True when an interrupted run with this fingerprint is resumed."""
    work = run_dir / WORK_DIR
    marker = work / FINGERPRINT
    if marker.exists() and json.loads(marker.read_text()) == fingerprint and not force:
        for stale in run_dir.rglob(".*.tmp-*"):
            stale.unlink()
        return True
    previous = run_dir / RUN_RECORD
    holds_output = previous.exists() or any((run_dir / d).exists() for d in OUTPUT_DIRS) or work.exists()
    same_config = (
        previous.exists()
        and json.loads(previous.read_text()).get("config_sha256") == fingerprint["config_sha256"]
    )
    if holds_output and not (force or same_config):
        raise RunDirError(
            f"{run_dir} holds the output of another run (different config or inputs); "
            "choose another output folder or pass --force to replace it"
        )
    for name in (*OUTPUT_DIRS, REPORTS_DIR, WORK_DIR):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    previous.unlink(missing_ok=True)
    work.mkdir(parents=True)
    marker.write_text(json.dumps(fingerprint, sort_keys=True))
    return False


def run_audit(
    config: LoadedConfig,
    *,
    engine: str | None = None,
    partitions: int | None = None,
    out_dir: Path | None = None,
    force: bool = False,
    progress: bool = True,
    console: Console | None = None,
) -> RunResult:
    """Audit the corpus described by ``config``; return the run folder and its record."""
    console = console or Console(stderr=True, quiet=not progress, log_path=False)
    audit = config.audit
    engine_name = engine or audit.engine.name
    engine_partitions = audit.engine.partitions if partitions is None else partitions
    run_dir = (out_dir or config.resolve(audit.output.dir)).resolve()
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")

    detectors = build_detectors(config)
    map_detectors = tuple(d for d in detectors if not isinstance(d, GlobalDetector))
    global_detectors = [d for d in detectors if isinstance(d, GlobalDetector)]
    near_detector = next((d for d in detectors if isinstance(d, MinHashDetector)), None)
    released = previous_indexes(config, near_detector) if near_detector is not None else []
    annotated = extend_schema(DOCUMENT_SCHEMA, [f for d in map_detectors for f in d.output_fields()])
    final_annotated = extend_schema(DOCUMENT_SCHEMA, annotation_fields(detectors))
    policy = compile_policy(config, detectors)
    described = [detector.describe() for detector in detectors]
    checks = plan_checks(audit.checks, config.base_dir, described) if audit.checks else None
    decided = extend_schema(final_annotated, DECISION_FIELDS + ROUTING_FIELDS)

    units = plan_units(config)
    if not units:
        raise ConfigError(f"{config.path}: inputs: no input files")
    config_content = config.hashed_content()
    config_sha256 = sha256_hex(canonical_json(config_content))
    console.log(f"hashing {len(units)} input unit(s)")
    inputs = hash_inputs(units)
    fingerprint = {"config_sha256": config_sha256, "inputs": inputs}
    resumed = _prepare_run_dir(run_dir, fingerprint, force)
    if resumed:
        console.log(f"resuming the interrupted run in {run_dir}")
    work_dir = run_dir / WORK_DIR

    limits = audit.limits
    with make_engine(
        engine_name,
        engine_partitions,
        work_dir,
        progress=progress,
        shuffle_bucket_bytes=audit.engine.shuffle_bucket_bytes,
        ray_address=audit.engine.ray_address,
        spark_master=audit.engine.spark_master,
    ) as runner:
        console.log(f"engine {runner.name} with {runner.partitions} partition(s)")
        dataset = runner.read(
            units_table(units), ReadStage(limits.batch_size, limits.max_doc_bytes), DOCUMENT_SCHEMA, "read"
        )
        dataset = runner.map_batches(
            dataset, AnnotateStage(map_detectors, DOCUMENT_SCHEMA, annotated), annotated, "annotate"
        )
        schema = annotated
        for detector in global_detectors:
            keyed = extend_schema(schema, [pa.field(GROUP_KEY, pa.string())])
            dataset = runner.map_batches(
                dataset, GroupKeyStage(detector.key, schema), keyed, f"{detector.name} key"
            )
            reduced = extend_schema(schema, detector.output_fields())
            dataset = runner.group_by_key(
                dataset, GROUP_KEY, ReduceStage(detector, keyed, reduced), reduced, detector.name
            )
            schema = reduced
        if near_detector is not None:
            dataset, schema = cluster_near_duplicates(runner, dataset, schema, near_detector, released)
        source_harm = None
        if any(d.name == HARM for d in detectors):
            dataset, schema, source_harm = attach_source_shares(runner, dataset, schema)
        source_bias = None
        bias_detector = next((d for d in detectors if d.name == BIAS), None)
        if bias_detector is not None:
            dataset, schema, source_bias = attach_bias_shares(
                runner, dataset, schema, bias_detector.params.skew_min_mentions
            )
        dataset = runner.materialize(
            runner.map_batches(dataset, DecideStage(policy, final_annotated, decided), decided, "decide")
        )
        totals_input = runner.map_batches(
            dataset, SelectStage(TOTALS_INPUT_SCHEMA), TOTALS_INPUT_SCHEMA, "totals"
        )
        totals = runner.collect(
            runner.group_by_key(totals_input, "_unit", TotalsStage(), TOTALS_SCHEMA, "totals"), TOTALS_SCHEMA
        )
        ledger_stage = LedgerStage(run_dir, decided, shard_offsets(totals), audit.output.shard_target_bytes)
        rows = runner.group_by_key(dataset, "_unit", ledger_stage, SHARD_ROW_SCHEMA, "ledger")
        files = runner.collect(
            runner.group_by_key(
                rows, "_shard", ShardStage(run_dir, audit.output.jsonl_export), FILE_SCHEMA, "shards"
            ),
            FILE_SCHEMA,
        )

    ledger_files = sorted(run_dir / ledger_path(unit) for unit in totals.column("_unit").to_pylist())
    ledger_hashes = {path.relative_to(run_dir).as_posix(): sha256_file(path) for path in ledger_files}
    counts = ledger_counts(ledger_files)
    index_files = [
        {
            "path": path.relative_to(run_dir).as_posix(),
            "kind": INDEX_DIR,
            "rows": pq.ParquetFile(path).metadata.num_rows,
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
        }
        for path in sorted((run_dir / INDEX_DIR).glob("*.parquet"))
    ]
    elapsed = time.monotonic() - started
    record = {
        "format": "corpusaudit-run/1",
        "name": audit.name,
        "config_sha256": config_sha256,
        "config": config_content,
        "engine": {"name": engine_name, "partitions": runner.partitions},
        "resumed": resumed,
        "started_at": started_at,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 3),
        "docs_per_second": round(counts["read"] / elapsed, 1) if elapsed else None,
        "packages": package_versions(),
        "detectors": [detector.describe() for detector in detectors],
        "input_base": str(config.base_dir),
        "inputs": inputs,
        "units": [unit.to_row() | {"path": unit.display_path} for unit in units],
        "counts": counts,
        **({"source_harm": source_harm.to_pylist()} if source_harm is not None else {}),
        **({BIAS_RECORD_KEY: source_bias} if source_bias is not None else {}),
        "outputs": sorted(files.to_pylist() + index_files, key=lambda entry: entry["path"]),
        "ledger_files": [{"path": path, "sha256": digest} for path, digest in sorted(ledger_hashes.items())],
        "ledger_merkle_root": merkle_root(ledger_hashes),
    }
    if checks is not None:
        record["checks"] = run_checks(checks, run_dir, record)
        outcome = "passed" if record["checks"]["success"] else "FAILED"
        console.log(f"checks {outcome} in {record['checks']['seconds']} s")
    (run_dir / RUN_RECORD).write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    shutil.rmtree(work_dir, ignore_errors=True)
    write_reports(run_dir)
    if checks is not None and checks.spec.fail_run and not record["checks"]["success"]:
        raise ChecksFailed(
            f"{run_dir}: expectations failed: {'; '.join(failed_expectations(record['checks']))}. "
            "The outputs and run.json (checks) are kept as evidence."
        )
    return RunResult(run_dir, record)
