"""A scratch copy of a run for the reports an archive needs, so the sealed folder is never written.

The report writers read a run's record and ledger and write their files (and figures) into the
run's ``reports/``. An export must not touch a sealed folder, which may also be read-only, so it
points them at a scratch folder instead: links to ``run.json`` and the ledger parts, and a copy of
the datasheet answers, which the writers read and would otherwise fetch from the config.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.layout import REPORTS_DIR, RUN_RECORD
from pipeline.record.run_record import load_run_record
from pipeline.report import ANSWERS_COPY


@contextmanager
def staged_run(run_dir: Path) -> Iterator[Path]:
    """A temporary folder that reads as ``run_dir`` to the report writers; removed on exit."""
    record = load_run_record(run_dir)
    with tempfile.TemporaryDirectory(prefix="corpusaudit-export-") as tmp:
        stage = Path(tmp)
        (stage / RUN_RECORD).symlink_to(run_dir / RUN_RECORD)
        for entry in record["ledger_files"]:
            link = stage / entry["path"]
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(run_dir / entry["path"])
        (stage / REPORTS_DIR).mkdir()
        answers = run_dir / REPORTS_DIR / ANSWERS_COPY
        if answers.exists():
            shutil.copyfile(answers, stage / REPORTS_DIR / ANSWERS_COPY)
        yield stage
