"""What each tier of audit archive holds: files of the run folder, and files made for the archive.

Run files go in byte for byte under ``run/``, so ``verify`` can check each against the run's seal;
files made for the archive go under ``export/`` and are covered by the archive's own manifest and
signature. Each tier holds everything of the tier before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detectors.pii.detector import PiiDetector
from pipeline.export import INTERNAL, PUBLIC, REGULATOR, TIERS
from pipeline.export.filing import NAME as FILING_NAME
from pipeline.export.filing import filing_section
from pipeline.export.redaction import redacted_review_sample
from pipeline.export.staging import staged_run
from pipeline.layout import (
    ACCESS_HEAD,
    ACCESS_LOG,
    ATTESTATION,
    COMPLETION,
    INPUTS,
    MANIFEST,
    REPORTS_DIR,
    RUN_RECORD,
)
from pipeline.record.audit_archive import EXPORT_PREFIX, RUN_PREFIX, Member
from pipeline.record.seal import folder_files
from pipeline.report.datasheet import write_datasheet

PUBLIC_RUN_FILES = {
    f"{REPORTS_DIR}/README.md": "dataset card (Hugging Face)",
    f"{REPORTS_DIR}/eu_ai_act_summary.md": "EU AI Act public summary of training content",
    f"{REPORTS_DIR}/croissant.json": "Croissant metadata with its Responsible-AI fields",
    MANIFEST: "the run's seal: every file of the run folder with its SHA-256",
    COMPLETION: "the run's root and the seal's own hash",
}
REGULATOR_RUN_FILES = {
    f"{REPORTS_DIR}/tc260_assessment.zh.md": "TC260-003 / GB/T 45654 corpus safety assessment (Chinese)",
    f"{REPORTS_DIR}/tc260_assessment.en.md": "TC260-003 / GB/T 45654 corpus safety assessment (English)",
    f"{REPORTS_DIR}/technical_check.json": "TC260-003 technical sample, re-checked per document",
    RUN_RECORD: "the run record: config, sources, detectors, counts, ledger root",
    INPUTS: "the input inventory: every file read with its SHA-256",
}
OPTIONAL_RUN_FILES = {
    f"{REPORTS_DIR}/review_result.json": "the imported human review verdicts' pass rate",
    ATTESTATION: "the run's signed attestation (in-toto Statement, DSSE, Ed25519)",
}
"""Regulator-tier files a run has only when a review was imported or the run was signed."""
LEDGER_WHAT = "ledger part: one row per input record (action, rule, reason, evidence; no text)"
DATASHEET = ("datasheet.md", "datasheet.html")


def _run_member(run_dir: Path, relative: str) -> Member:
    path = run_dir / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; the archive needs it (corpusaudit report RUN_DIR rebuilds reports)"
        )
    return Member(RUN_PREFIX + relative, "run", source=path)


def _run_files(run_dir: Path, record: dict[str, Any], tier: str) -> dict[str, str]:
    """Run files of the tier, relative to the run folder, with what each is."""
    chosen = dict(PUBLIC_RUN_FILES)
    if tier in (REGULATOR, INTERNAL):
        chosen |= REGULATOR_RUN_FILES
        chosen |= {name: what for name, what in OPTIONAL_RUN_FILES.items() if (run_dir / name).is_file()}
        chosen |= {entry["path"]: LEDGER_WHAT for entry in record["ledger_files"]}
    if tier == INTERNAL:
        unsealed = [name for name in (ATTESTATION, ACCESS_LOG, ACCESS_HEAD) if (run_dir / name).is_file()]
        chosen |= {
            name: chosen.get(name, "a file of the run folder") for name in [*folder_files(run_dir), *unsealed]
        }
    return chosen


def _made_files(run_dir: Path, tier: str, detector: PiiDetector) -> tuple[list[Member], dict[str, str], dict]:
    """Files made for the archive (as bytes), what each is, and what was redacted."""
    made: list[Member] = []
    what: dict[str, str] = {}
    redaction: dict[str, Any] = {}
    with staged_run(run_dir) as stage:
        for path in write_datasheet(stage, samples=False):
            name = EXPORT_PREFIX + path.relative_to(stage / REPORTS_DIR).as_posix()
            made.append(Member(name, "export", path.read_bytes()))
            what[name] = (
                "datasheet without sample documents"
                if path.name in DATASHEET
                else "a figure of the datasheet"
            )
        if tier != PUBLIC:
            name = EXPORT_PREFIX + FILING_NAME
            made.append(Member(name, "export", filing_section(stage, run_dir).encode("utf-8")))
            what[name] = (
                "算法备案 training-data section: sources, scale, types, annotation, filtering (Chinese)"
            )
            sheet, redaction = redacted_review_sample(run_dir, detector)
            name = EXPORT_PREFIX + "review_sample.csv"
            made.append(Member(name, "export", sheet))
            what[name] = "TC260-003 human review sample, personal information in its text redacted"
    return made, what, redaction


def tier_members(
    run_dir: Path, record: dict[str, Any], tier: str, detector: PiiDetector
) -> tuple[list[Member], dict[str, str], dict[str, Any]]:
    """The members of a ``tier`` archive but its manifest and ``VERIFY.md``, what each is, and what
    the review sample's redaction changed (empty for the public tier)."""
    if tier not in TIERS:
        raise ValueError(f"--tier {tier!r}: one of {', '.join(TIERS)}")
    run_files = _run_files(run_dir, record, tier)
    members = [_run_member(run_dir, relative) for relative in sorted(run_files)]
    what = {RUN_PREFIX + relative: description for relative, description in run_files.items()}
    made, made_what, redaction = _made_files(run_dir, tier, detector)
    return [*members, *made], what | made_what, redaction
