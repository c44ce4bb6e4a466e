"""The owner's answers to the datasheet questions no ledger can answer (funding, intended uses...).

The questions ship as data (``schemas/templates/datasheet_questions.yaml``). The answers file is
named by ``reports.answers`` in ``audit.yaml``; the first report build of a run copies it into
``reports/datasheet_answers.yaml``, and every later ``corpusaudit report`` reads that copy, so the
reports rebuild from the run folder alone. ``corpusaudit report RUN_DIR --answers FILE`` replaces
the copy.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.report import ANSWERS_COPY, reports_dir

QUESTIONS = Path(__file__).resolve().parents[2] / "schemas" / "templates" / "datasheet_questions.yaml"


@cache
def questions() -> dict[str, list[dict[str, str]]]:
    """Section -> questions (``id``, ``question``, optional ``croissant`` property)."""
    return yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))


def question_ids() -> set[str]:
    return {question["id"] for section in questions().values() for question in section}


def read_answers(path: Path) -> dict[str, str]:
    """Question id -> answer; an unknown id is an error, so a typo cannot hide an answer."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of question id to answer")
    unknown = sorted(set(loaded) - question_ids())
    if unknown:
        raise ValueError(f"{path}: unknown question id(s) {', '.join(unknown)} (see {QUESTIONS.name})")
    return {key: " ".join(str(value).split()) for key, value in loaded.items() if value is not None}


def store_answers(run_dir: Path, path: Path) -> Path:
    """Copy an answers file into the run's reports, after checking it."""
    read_answers(path)
    target = reports_dir(run_dir) / ANSWERS_COPY
    shutil.copyfile(path, target)
    return target


def load_answers(run_dir: Path, record: dict[str, Any]) -> dict[str, str]:
    """The run's answers: its copy under ``reports/``, else the config's file (copied now), else none."""
    copy = reports_dir(run_dir) / ANSWERS_COPY
    if not copy.exists():
        configured = (record["config"]["audit"].get("reports") or {}).get("answers")
        if configured is None:
            return {}
        source = Path(configured)
        store_answers(run_dir, source if source.is_absolute() else Path(record["input_base"]) / source)
    return read_answers(copy)


def load_questions(answers: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each section's questions with their answer (None when unanswered)."""
    return {
        section: [{**question, "answer": answers.get(question["id"])} for question in items]
        for section, items in questions().items()
    }


def croissant_answers(answers: dict[str, str]) -> dict[str, list[str]]:
    """Answers by the Croissant RAI property they fill, in question order."""
    found: dict[str, list[str]] = {}
    for section in questions().values():
        for question in section:
            if "croissant" in question and question["id"] in answers:
                found.setdefault(question["croissant"], []).append(answers[question["id"]])
    return found
