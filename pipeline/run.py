"""Run one audit: plan, then read -> annotate -> corpus passes -> decide -> write -> record -> report.

The driver only plans and records; every pass over documents runs on the chosen engine, and each
step's stages live in the package named after it (``pipeline.read``, ``pipeline.annotate``,
``pipeline.passes``, ``pipeline.decide``, ``pipeline.write``, ``pipeline.record``,
``pipeline.report``). It never names a detector: what runs after the map side comes from the
passes the detectors declare. A run folder that holds the work markers of an interrupted run with
the same config and inputs is resumed: finished ledger parts and shards are checked and reused,
the rest is written.
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

from detectors import Detector
from pipeline.annotate.detectors import build_detectors, map_fields
from pipeline.annotate.fingerprint import map_fingerprint
from pipeline.annotate.stage import AnnotateStage, kept_fields
from pipeline.decide.columns import annotation_fields, compile_policy
from pipeline.decide.policy import DECISION_FIELDS, CompiledPolicy
from pipeline.decide.stage import ROUTING_FIELDS, DecideStage
from pipeline.engines import make_engine
from pipeline.layout import INDEX_DIR, INPUTS, RUN_RECORD, UNITS, WORK_DIR, ledger_path
from pipeline.passes import PassPlanError, PlannedPasses, plan_passes, run_passes
from pipeline.read.optout import NO_USERS, UserIds, load_user_ids
from pipeline.read.plan import plan_inputs, plan_tasks, take_inventory
from pipeline.read.records import POSITIONED_SCHEMA
from pipeline.read.scrub import Scrubber
from pipeline.read.stage import ReadStage
from pipeline.read.unique_ids import READ_SCHEMA, unique_doc_ids
from pipeline.read.units import units_table
from pipeline.record.attestation import load_private_key
from pipeline.record.expectations import (
    CheckPlan,
    ChecksFailed,
    failed_expectations,
    plan_checks,
    run_checks,
)
from pipeline.record.finish import finish_run
from pipeline.record.inventory import inputs_sha256, write_inventory
from pipeline.record.ledger import ledger_counts, read_ledger
from pipeline.record.removal import REMOVAL_RECORD_KEY, removal_by_source
from pipeline.record.run_record import canonical_json, merkle_root, package_versions, sha256_hex
from pipeline.report import write_reports
from pipeline.tables import SelectStage, extend_schema
from pipeline.write.checkpoints import Checkpoints, checkpointed_rows
from pipeline.write.files import sha256_file
from pipeline.write.preflight import check_workers_write
from pipeline.write.quarantine_cipher import load_cipher
from pipeline.write.remote_folder import RemoteRunFolder, check_remote_out, is_url
from pipeline.write.run_dir import (
    RunDirError,
    check_busy,
    check_claim,
    check_out_dir,
    end_epoch,
    locked,
    mark_stage,
    prepare_run_dir,
    record_written,
)
from pipeline.write.stages import (
    FILE_SCHEMA,
    TOTALS_INPUT_SCHEMA,
    TOTALS_SCHEMA,
    LedgerStage,
    ShardStage,
    TotalsStage,
    shard_offsets,
    shard_row_schema,
)
from pipeline.write.store import LocalStore, RunStore
from schemas.config import LoadedConfig
from schemas.document import conversation_shard_schema
from schemas.loading import ConfigError

__all__ = ["RunDirError", "RunPlan", "RunResult", "plan_run", "run_audit", "run_folder"]


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    """The local run folder; for a run folder on object storage, its staging copy (removed when done)."""
    record: dict[str, Any]
    location: str = ""
    """Where the run folder is: its path, or its URL on object storage."""


@dataclass(frozen=True)
class RunPlan:
    """Everything a run decides before it reads a document; ``validate`` builds the same plan."""

    detectors: list[Detector]
    annotated: pa.Schema
    """Documents with the map-side columns."""
    passes: PlannedPasses
    released: dict[str, list[Path]]
    final: pa.Schema
    """Documents with every annotation, as the policy sees them."""
    policy: CompiledPolicy
    checks: CheckPlan | None
    rules_left_out: list[dict[str, str]]
    """Default-policy rules over columns no configured detector produces, with why."""
    users: UserIds = NO_USERS
    """End users' id fields and opt-out lists of the sources (the lists and the key in memory only)."""

    @property
    def map_detectors(self) -> tuple[Detector, ...]:
        return tuple(d for d in self.detectors if d.output_fields())

    @property
    def scrubber(self) -> Scrubber:
        """The detectors that keep personal information out of ids, file names and fields."""
        return Scrubber(tuple(d for d in self.detectors if d.SCRUBS))

    @property
    def ledger_overrides(self) -> tuple[tuple[str, str], ...]:
        return tuple(item for d in self.detectors for item in sorted(d.LEDGER_OVERRIDES.items()))


def plan_run(config: LoadedConfig) -> RunPlan:
    """Build the detectors, plan their passes, bind the policy and the checks; ConfigError on any fault."""
    detectors = build_detectors(config)
    annotated = extend_schema(READ_SCHEMA, map_fields(detectors))
    try:
        planned = plan_passes(detectors, annotated)
        released = planned.released()
    except (PassPlanError, ValueError) as exc:
        raise ConfigError(f"{config.path}: detectors: {exc}") from None
    policy, rules_left_out = compile_policy(config, detectors, planned)
    described = [detector.describe() for detector in detectors]
    checks = plan_checks(config.audit.checks, config.base_dir, described) if config.audit.checks else None
    final = extend_schema(READ_SCHEMA, annotation_fields(detectors, planned))
    users = load_user_ids(config)
    return RunPlan(detectors, annotated, planned, released, final, policy, checks, rules_left_out, users)


def run_folder(config: LoadedConfig, out_dir: Path | str | None = None) -> Path | str:
    """The run folder a run of ``config`` writes: ``out_dir`` if given, else ``output.dir``; a local
    folder as an absolute path, a folder on object storage as its URL."""
    if out_dir is not None:
        return str(out_dir).rstrip("/") if is_url(str(out_dir)) else Path(out_dir).resolve()
    chosen = config.audit.output.dir
    return chosen.rstrip("/") if is_url(chosen) else config.resolve(chosen).resolve()


def run_audit(
    config: LoadedConfig,
    *,
    engine: str | None = None,
    partitions: int | None = None,
    out_dir: Path | str | None = None,
    force: bool = False,
    progress: bool = True,
    console: Console | None = None,
    sign_key: Path | None = None,
) -> RunResult:
    """Audit the corpus described by ``config``; return the run folder and its record.

    With ``sign_key`` (an Ed25519 key from ``corpusaudit keygen``) the sealed folder is signed. A
    run folder on object storage is worked in a local staging copy (``pipeline.write.remote_folder``)
    while the tasks write the bucket themselves.
    """
    console = console or Console(stderr=True, quiet=not progress, log_path=False)
    audit = config.audit
    engine_name = engine or audit.engine.name
    engine_partitions = audit.engine.partitions if partitions is None else partitions
    location = run_folder(config, out_dir)
    remote = RemoteRunFolder(location, audit.output.storage_options) if isinstance(location, str) else None
    run_dir = remote.staging if remote is not None else Path(location)
    store: RunStore = remote.store if remote is not None else LocalStore(run_dir)
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")

    cipher = load_cipher(audit.output.quarantine_key, config.base_dir)
    plan = plan_run(config)
    key = load_private_key(sign_key, run_dir) if sign_key is not None else None
    checks = plan.checks
    decided = extend_schema(plan.final, DECISION_FIELDS + ROUTING_FIELDS)

    planned_inputs = plan_inputs(config, plan.scrubber)
    units = planned_inputs.units
    shard_schema = conversation_shard_schema([unit.chat for unit in units])
    for repeat in planned_inputs.repeated:
        console.log(f"{repeat['path']} is the same file as {repeat['same_file_as']}; read once")
    config_content = config.hashed_content()
    config_sha256 = sha256_hex(canonical_json(config_content))
    console.log(f"hashing {len(units)} input unit(s)")
    options, split_bytes = planned_inputs.storage_options, audit.limits.split_bytes
    inventory = take_inventory(units, plan.scrubber, planned_inputs.withheld, options, split_bytes)
    inputs = inventory.entries
    tasks = plan_tasks(units, inventory, split_bytes, options, audit.limits.max_decompressed_bytes)
    fingerprint = {"config_sha256": config_sha256, "inputs_sha256": inputs_sha256(inputs)}
    if plan.users:  # a resumed run must apply the same opt-out lists
        fingerprint["user_optout"] = plan.users.describe()
    if cipher is not None:  # a run resumed with another key would mix two keys in one quarantine
        fingerprint["quarantine_key_id"] = cipher.key_id
    if remote is not None:
        check_remote_out(remote.url, [unit.display_path for unit in units if unit.protocol != "file"])
    else:
        local_inputs = [Path(unit.path) for unit in units if unit.protocol == "file"]
        check_out_dir(run_dir, config.base_dir, local_inputs)
    check_busy(run_dir)
    if remote is not None:
        remote.check_claim(force)
    else:
        check_claim(run_dir, force)
    with locked(run_dir):
        if remote is not None:
            remote.pull()
        resumed, epoch = prepare_run_dir(run_dir, fingerprint, force)
        if remote is not None:
            remote.push()  # the bucket holds the new epoch before any task runs
        if resumed:
            found = checkpointed_rows(run_dir)
            console.log(f"resuming the interrupted run in {location}; {found} document(s) checkpointed")
        work_dir = run_dir / WORK_DIR
        kept = pa.schema(kept_fields(plan.map_detectors))
        fingerprint_map = map_fingerprint(plan.map_detectors, kept, package_versions())
        checkpoints = Checkpoints(store, epoch, fingerprint_map, kept)

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
            cluster = runner.cluster()
            hosts = check_workers_write(runner, store, epoch)
            console.log(f"run folder written by every worker ({', '.join(hosts)}) at {cluster['address']}")
            read = runner.read(
                units_table(tasks),
                ReadStage(
                    limits.batch_size,
                    limits.max_doc_bytes,
                    limits.max_decompressed_bytes,
                    planned_inputs.storage_options,
                ),
                POSITIONED_SCHEMA,
                "read",
            )
            # each dataset is released after its last read, so a spilling engine frees its files
            renamed, duplicate_ids = unique_doc_ids(runner, read, plan.scrubber, plan.users)
            runner.release(read)
            dataset = runner.map_batches(
                renamed,
                AnnotateStage(plan.map_detectors, READ_SCHEMA, plan.annotated, checkpoints),
                plan.annotated,
                "annotate",
            )
            runner.release(renamed)
            # the passes release each dataset they are handed, this one included
            passed, _, pass_record = run_passes(runner, dataset, plan.annotated, plan.passes, plan.released)
            dataset = runner.materialize(
                runner.map_batches(
                    passed, DecideStage(plan.policy, plan.final, decided, plan.scrubber), decided, "decide"
                )
            )
            runner.release(passed)
            totals_input = runner.map_batches(
                dataset, SelectStage(TOTALS_INPUT_SCHEMA), TOTALS_INPUT_SCHEMA, "totals"
            )
            totals = runner.collect(
                runner.group_by_key(totals_input, "_unit", TotalsStage(), TOTALS_SCHEMA, "totals"),
                TOTALS_SCHEMA,
            )
            runner.release(totals_input)
            ledger_stage = LedgerStage(
                store, epoch, decided, shard_offsets(totals), audit.output.shard_target_bytes,
                plan.ledger_overrides, plan.passes.index_pass, cipher is not None, shard_schema,
            )  # fmt: skip
            row_schema = shard_row_schema(shard_schema)
            rows = runner.group_by_key(dataset, "_unit", ledger_stage, row_schema, "ledger")
            runner.release(dataset)
            files = runner.collect(
                runner.group_by_key(
                    rows,
                    "_shard",
                    ShardStage(store, epoch, audit.output.jsonl_export, cipher, shard_schema),
                    FILE_SCHEMA,
                    "shards",
                ),
                FILE_SCHEMA,
            )
        end_epoch(run_dir)  # from here on no task of this run (or of an earlier driver) may write
        if remote is not None:
            remote.push()
            remote.fetch_outputs()
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
            "engine": {"name": engine_name, "partitions": runner.partitions, **cluster},
            "epoch": epoch,
            "resumed": resumed,
            "started_at": started_at,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_seconds": round(elapsed, 3),
            "docs_per_second": round(counts["read"] / elapsed, 1) if elapsed else None,
            "packages": package_versions(),
            "detectors": [detector.describe() for detector in plan.detectors],
            "input_base": str(config.base_dir),
            **write_inventory(run_dir, inputs, tasks),
            **({"repeated_inputs": planned_inputs.repeated} if planned_inputs.repeated else {}),
            "counts": counts,
            **({"duplicate_ids": duplicate_ids} if duplicate_ids else {}),
            **({"user_optout": plan.users.describe()} if plan.users else {}),
            **pass_record,
            **({"policy_rules_left_out": plan.rules_left_out} if plan.rules_left_out else {}),
            "outputs": sorted(files.to_pylist() + index_files, key=lambda entry: entry["path"]),
            "ledger_files": [
                {"path": path, "sha256": digest} for path, digest in sorted(ledger_hashes.items())
            ],
            "ledger_merkle_root": merkle_root(ledger_hashes),
            **({"quarantine_encryption": cipher.describe()} if cipher is not None else {}),
        }
        record[REMOVAL_RECORD_KEY] = removal_by_source(read_ledger(run_dir, record), record)
        if checks is not None:
            record["checks"] = run_checks(checks, run_dir, record, cipher)
            outcome = "passed" if record["checks"]["success"] else "FAILED"
            console.log(f"checks {outcome} in {record['checks']['seconds']} s")
        mark_stage(run_dir, "writing the run record")
        (run_dir / RUN_RECORD).write_text(
            json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        listed = [entry["path"] for entry in record["outputs"] + record["ledger_files"]] + [INPUTS, UNITS]
        record_written(run_dir, [*listed, RUN_RECORD])
        shutil.rmtree(work_dir, ignore_errors=True)
        mark_stage(run_dir, "writing the reports")
        record_written(run_dir, [p.relative_to(run_dir).as_posix() for p in write_reports(run_dir)])
        finish_run(run_dir, key)
        if remote is not None:
            remote.push()
    if remote is not None:
        remote.discard()
    if checks is not None and checks.spec.fail_run and not record["checks"]["success"]:
        raise ChecksFailed(
            f"{location}: expectations failed: {'; '.join(failed_expectations(record['checks']))}. "
            "The outputs and run.json (checks) are kept as evidence."
        )
    return RunResult(run_dir, record, str(location))
