"""Checkpoints of the map side: a run killed mid-annotate resumes without annotating again what it
finished, ends with the uninterrupted run's ledger root, and never reuses a checkpoint of another
config, input or code."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydantic import BaseModel, ConfigDict

import detectors
from detectors.base import Detector
from detectors.quality.language import LanguageDetector
from pipeline.annotate.fingerprint import map_fingerprint
from pipeline.annotate.stage import AnnotateStage, kept_fields
from pipeline.read.unique_ids import DUPLICATE_ID, READ_SCHEMA
from pipeline.tables import extend_schema
from pipeline.write.checkpoints import CHECKPOINT_DIR, Checkpoints
from pipeline.write.files import StaleEpoch
from pipeline.write.run_dir import prepare_run_dir
from schemas.document import RECORD_BITS, content_sha256
from tests.conftest import REPO
from tests.runs import SMALL_SOURCES, audit, output_digests

KILL_AFTER = "CORPUSAUDIT_TEST_KILL_AFTER"
"""With this set to N, the N-th call of :class:`CallLog` kills its run's whole process group."""
REGISTERED = "tests.test_checkpoints:CallLog"
RUNNER = (
    f"import sys, detectors; detectors.REGISTRY['test.calls'] = '{REGISTERED}'; "
    "from pipeline.cli import app; app(['run', *sys.argv[1:]])"
)


class CallLog(Detector):
    """``calls.chars`` (characters plus ``offset``), and a line in ``log`` per call of the annotate
    step: the first ordinal and the rows it was given, so a test sees which rows the detectors ran
    on. The technical sample's re-check after the run (shard rows, without ``input.duplicate_id``)
    is not logged."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        log: str
        offset: int = 0

    name = "test.calls"
    PATH_PARAMS = ("log",)

    def output_fields(self) -> list[pa.Field]:
        return [pa.field("calls.chars", pa.int64())]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        if batch.num_rows and DUPLICATE_ID.name in batch.schema.names:
            with open(self.params.log, "a", encoding="utf-8") as log:
                log.write(json.dumps([batch.column("ordinal")[0].as_py(), batch.num_rows]) + "\n")
            if os.environ.get(KILL_AFTER) and len(calls(Path(self.params.log))) >= int(
                os.environ[KILL_AFTER]
            ):
                os.killpg(os.getpgrp(), signal.SIGKILL)
        chars = pc.utf8_length(batch.column("text")).cast(pa.int64())
        return [pc.add(chars, self.params.offset)]


def calls(log: Path) -> list[tuple[int, int]]:
    """The (first ordinal, rows) of every call logged, in order."""
    if not log.exists():
        return []
    return [tuple(json.loads(line)) for line in log.read_text(encoding="utf-8").splitlines()]


def saved(run_dir: Path) -> set[int]:
    """First ordinals of the rows the checkpoints in ``run_dir`` hold."""
    names = [path.name.split("-") for path in (run_dir / CHECKPOINT_DIR).glob("part-*.parquet")]
    return {(int(task) << RECORD_BITS) | int(record) for _, task, record, _ in names}


def write_config(folder: Path, records: list[dict], offset: int = 0) -> Path:
    """Real documents as one plain JSONL file that ``split_bytes`` cuts into about eight read tasks."""
    data = folder / "data" / "part-0.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in records))
    (folder / "sources.yaml").write_text(SMALL_SOURCES)
    config = folder / "audit.yaml"
    config.write_text(
        "name: checkpoints\nsources: sources.yaml\n"
        'inputs: [{source: forum, paths: ["data/*.jsonl"]}]\n'
        "detectors: [{name: quality.language}, {name: dedup.minhash}, "
        f"{{name: test.calls, params: {{log: calls.log, offset: {offset}}}}}]\n"
        f"limits: {{split_bytes: {data.stat().st_size // 8}}}\n"
    )
    return config


@dataclass(frozen=True)
class Killed:
    config: Path
    reference: dict
    reference_calls: list[tuple[int, int]]
    run_dir: Path
    """A run killed by SIGKILL partway through annotate; copy it before resuming."""


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> Iterator[Killed]:
    folder = tmp_path_factory.mktemp("checkpoints")
    config = write_config(folder, nltk_records[:1500])
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(detectors.REGISTRY, "test.calls", REGISTERED)
        reference = audit(config, folder / "reference", partitions=2)
    log = folder / "calls.log"
    reference_calls = calls(log)
    log.unlink()
    out = folder / "killed"
    command = [sys.executable, "-c", RUNNER, str(config), "--out", str(out), "--partitions", "2", "-q"]
    environment = {**os.environ, KILL_AFTER: str(len(reference_calls) // 2 + 1)}
    process = subprocess.run(command, cwd=REPO, env=environment, start_new_session=True, check=False)
    assert process.returncode == -signal.SIGKILL, "the run was to be killed from inside annotate"
    log.unlink()
    yield Killed(config, reference.record, reference_calls, out)


def _copy(killed: Killed, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(killed.run_dir, out, symlinks=True)
    return out


def test_a_killed_run_annotates_only_what_no_checkpoint_holds(
    killed: Killed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(detectors.REGISTRY, "test.calls", REGISTERED)
    log = killed.config.parent / "calls.log"
    log.unlink(missing_ok=True)
    out = _copy(killed, tmp_path)
    held = saved(out)
    fragments = {first for first, _ in killed.reference_calls}
    assert 0 < len(held) < len(fragments), "the kill came after some, not all, rows were checkpointed"
    assert len(killed.reference_calls) == len(fragments) >= 8  # one call per run of rows of a read task

    resumed = audit(killed.config, out, partitions=2)

    again = calls(log)
    assert {first for first, _ in again}.isdisjoint(held)
    assert sorted(again) == sorted(c for c in killed.reference_calls if c[0] not in held)
    assert resumed.record["resumed"] is True
    assert resumed.record["ledger_merkle_root"] == killed.reference["ledger_merkle_root"]
    assert output_digests(out) == output_digests(killed.config.parent / "reference")
    assert not (out / "_work").exists(), "a finished run removes its checkpoints"


def test_a_changed_config_annotates_every_row_again(
    killed: Killed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(detectors.REGISTRY, "test.calls", REGISTERED)
    log = killed.config.parent / "calls.log"
    log.unlink(missing_ok=True)
    out = _copy(killed, tmp_path)
    changed = killed.config.with_name("changed.yaml")
    changed.write_text(killed.config.read_text().replace("offset: 0", "offset: 1000"))

    rerun = audit(changed, out, partitions=2, force=True)

    assert sorted(calls(log)) == sorted(killed.reference_calls)
    assert rerun.record["resumed"] is False
    assert rerun.record["ledger_merkle_root"] != killed.reference["ledger_merkle_root"]


# The store itself, on real documents: what is reused, what is annotated again.


def _rows(records: list[dict], tasks: int, per_task: int) -> pa.Table:
    """Real documents as the read step hands them on: ``tasks`` read tasks of ``per_task`` rows."""
    chosen = records[: tasks * per_task]
    ordinals = [(i // per_task << RECORD_BITS) | (i % per_task) for i in range(len(chosen))]
    columns = {
        "doc_id": [f"forum/{r['id']}" for r in chosen],
        "ordinal": ordinals,
        "source_id": ["forum"] * len(chosen),
        "text": [r["text"] for r in chosen],
        "content_sha256": [content_sha256(r["text"]) for r in chosen],
        "location": [f"data/part-0.jsonl:{i + 1}" for i in range(len(chosen))],
    }
    return pa.Table.from_pydict(
        {f.name: columns.get(f.name, pa.nulls(len(chosen), f.type)) for f in READ_SCHEMA}, schema=READ_SCHEMA
    )


def _stage(run_dir: Path, epoch: int, log: Path, offset: int = 0) -> AnnotateStage:
    chosen = (LanguageDetector(), CallLog({"log": str(log), "offset": offset}))
    kept = pa.schema(kept_fields(chosen))
    store = Checkpoints(run_dir, epoch, map_fingerprint(chosen, kept, {"corpusaudit": "test"}), kept)
    out_schema = extend_schema(READ_SCHEMA, [f for d in chosen for f in d.output_fields()])
    return AnnotateStage(chosen, READ_SCHEMA, out_schema, store)


def test_checkpoints_are_keyed_by_rows_config_and_epoch(tmp_path: Path, nltk_records: list[dict]) -> None:
    run_dir, log = tmp_path / "run", tmp_path / "calls.log"
    _, epoch = prepare_run_dir(run_dir, {"config_sha256": "c", "inputs_sha256": "i"}, force=False)
    rows = _rows(nltk_records, tasks=3, per_task=200)
    first = _stage(run_dir, epoch, log)(rows)
    assert [n for _, n in calls(log)] == [200, 200, 200]  # each read task's rows on their own
    third = next((run_dir / CHECKPOINT_DIR).glob("part-000002-*.parquet"))

    log.unlink()
    assert _stage(run_dir, epoch, log)(rows).equals(first)
    assert not log.exists(), "every row came from a checkpoint"

    changed = _stage(run_dir, epoch, log, offset=7)(rows)
    assert len(calls(log)) == 3, "another detector config finds none of the checkpoints"
    assert pc.all(pc.equal(changed["calls.chars"], pc.add(first["calls.chars"], 7))).as_py()

    log.unlink()
    texts = rows["text"].to_pylist()
    texts[250] += "!"
    edited = rows.set_column(rows.schema.get_field_index("text"), READ_SCHEMA.field("text"), pa.array(texts))
    _stage(run_dir, epoch, log)(edited)
    assert calls(log) == [(1 << RECORD_BITS, 200)], "only the read task holding the edited document"

    log.unlink()
    third.write_bytes(third.read_bytes()[:-20])
    _, later = prepare_run_dir(run_dir, {"config_sha256": "c", "inputs_sha256": "i"}, force=False)
    assert _stage(run_dir, later, log)(rows).equals(first)  # the earlier epoch's checkpoints are valid
    assert calls(log) == [(2 << RECORD_BITS, 200)], "a checkpoint that no longer hashes to its marker"
    log.unlink()
    _stage(run_dir, later, log)(rows)
    assert not log.exists(), "the damaged checkpoint was written again"
    with pytest.raises(StaleEpoch):
        _stage(run_dir, epoch, log, offset=1)(rows)  # the earlier driver may read, but not write


def test_checkpoints_hold_blocks_of_a_read_task_whatever_the_batches(
    tmp_path: Path, nltk_records: list[dict]
) -> None:
    run_dir, log = tmp_path / "run", tmp_path / "calls.log"
    _, epoch = prepare_run_dir(run_dir, {"config_sha256": "c", "inputs_sha256": "i"}, force=False)
    rows = _rows(nltk_records, tasks=1, per_task=2500)
    whole = _stage(run_dir, epoch, log)(rows)
    assert calls(log) == [(0, 1024), (1024, 1024), (2048, 452)]

    log.unlink()
    stage = _stage(run_dir, epoch, log)
    batched = pa.concat_tables([stage(rows.slice(0, 1500)), stage(rows.slice(1500))])
    assert batched.equals(whole)
    assert calls(log) == [(1024, 476), (1500, 548)], "only the block the batch boundary cuts"


def test_the_fingerprint_follows_the_source_a_detector_imports(tmp_path: Path) -> None:
    package = tmp_path / "audited"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("SCALE = 1\n")
    (package / "unrelated.py").write_text("VALUE = 1\n")
    (package / "length.py").write_text(
        "import pyarrow as pa\nfrom detectors.base import Detector\nfrom audited.helpers import SCALE\n\n"
        "class Length(Detector):\n    name = 'audited.length'\n"
        "    def output_fields(self):\n        return [pa.field('audited.length', pa.int64())]\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        from audited.length import Length  # type: ignore[import-not-found]

        def fingerprint() -> str:
            return map_fingerprint([Length()], pa.schema(Length().output_fields()), {})

        before = fingerprint()
        (package / "unrelated.py").write_text("VALUE = 2\n")
        assert fingerprint() == before
        (package / "helpers.py").write_text("SCALE = 2\n")
        assert fingerprint() != before
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.partition(".")[0] == "audited"]:
            del sys.modules[name]
