"""The run folder: made ready for a run, or recognised as an interrupted run to resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pipeline.layout import FINGERPRINT, OUTPUT_DIRS, REPORTS_DIR, RUN_RECORD, WORK_DIR


class RunDirError(RuntimeError):
    """The output folder holds something this run must not overwrite or mix with."""


def prepare_run_dir(run_dir: Path, fingerprint: dict[str, Any], force: bool) -> bool:
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
