"""Reports of a finished run, each built from ``run.json`` and the ledger (and, for review samples,
the run's own output shards), never from the corpus, so ``corpusaudit report RUN_DIR`` can rebuild
them at any time.

Each writer takes the run folder and returns the files it wrote under ``reports/``. Writers are
named as ``module:function`` and imported when called, so a report's plotting or validation
libraries load only when reports are built.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from pipeline.layout import REPORTS_DIR

ANSWERS_COPY = "datasheet_answers.yaml"
"""The run's copy of the datasheet answers, under ``reports/``."""
TEMPLATES = Path(__file__).resolve().parents[2] / "schemas" / "templates"
"""The report templates (Jinja2)."""

WRITERS: tuple[str, ...] = (
    "pipeline.report.datasheet:write_datasheet",
    "pipeline.report.hf_card:write_card",
    "pipeline.report.croissant:write_croissant",
    "pipeline.report.review_sample:write_review_sample",
    "pipeline.report.technical_check:write_technical_check",
    "pipeline.report.tc260_assessment:write_assessment",
    "pipeline.report.eu_training_summary:write_eu_training_summary",
)
"""Every report writer, in the order they run."""


def reports_dir(run_dir: Path) -> Path:
    """The run's report folder, created when missing."""
    folder = Path(run_dir) / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_reports(run_dir: Path) -> list[Path]:
    """Run every writer over ``run_dir``; the paths of the files they wrote."""
    written: list[Path] = []
    for spec in WRITERS:
        module, function = spec.split(":")
        written.extend(getattr(import_module(module), function)(Path(run_dir)))
    answers = reports_dir(run_dir) / ANSWERS_COPY  # copied from the config by the datasheet writer
    return [*written, answers] if answers.exists() and answers not in written else written
