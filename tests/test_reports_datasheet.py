"""The datasheet of the demo run: Datasheets-for-Datasets sections, owner answers and prompts,
figures traced to ledger rows, a self-contained HTML page rendered by headless Chromium, and
byte-identical rebuilds."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.report.answers import questions
from pipeline.run import RunResult
from schemas.config import load_config
from schemas.loading import ConfigError
from tests.browser import render
from tests.conftest import DEMO_CONFIG, REPO
from tests.runs import audit, demo_variant

runner = CliRunner()
SECTIONS = [
    "## Motivation",
    "## Composition",
    "## Collection process",
    "## Preprocessing and cleaning",
    "## Uses",
    "## Distribution",
    "## Maintenance",
]
FIGURES = {
    "documents_by_source", "tokens_by_source", "documents_by_lang", "tokens_by_lang",
    "removal_funnel", "removal_by_source", "pii_by_type", "harm_by_risk", "dedup_cluster_sizes",
}  # fmt: skip
"""The datasheet's own figures; the demo runs ``pii`` and ``harm``, and without them their figures are left
out (harm counts: test_harm.py). The bias section adds its own (:func:`_bias_figures`)."""
MY_REPORTS = ("datasheet.md", "datasheet.html", "README.md", "croissant.json", "datasheet_answers.yaml")
SVG = "{http://www.w3.org/2000/svg}"
_FIGURE_REF = re.compile(r"!\[([^\]]+)\]\((plots/[\w.-]+\.svg)\)")
_runs: dict[str, RunResult] = {}


def _bias_figures(run: RunResult) -> set[str]:
    """The bias section's figures: one for axes, one for pronouns, one of terms per axis mentioned."""
    axes = {axis for row in run.record["source_bias"] for axis in row["axes"]}
    assert len(axes) > 3
    return {"bias_axes", "bias_pronouns"} | {f"bias_terms_{axis}" for axis in axes}


def demo_run(factory: pytest.TempPathFactory) -> RunResult:
    """One demo run shared by the report tests of every module."""
    if "demo" not in _runs:
        _runs["demo"] = audit(DEMO_CONFIG, factory.mktemp("reports") / "run")
    return _runs["demo"]


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return demo_run(tmp_path_factory)


@pytest.fixture(scope="session")
def ledger(run: RunResult) -> list[dict]:
    return pa.concat_tables(
        pq.read_table(run.run_dir / entry["path"]) for entry in run.record["ledger_files"]
    ).to_pylist()


@pytest.fixture(scope="session")
def datasheet(run: RunResult) -> str:
    return (run.run_dir / "reports" / "datasheet.md").read_text(encoding="utf-8")


def _table(markdown: str, header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header line starts with ``header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def _figures(markdown: str) -> dict[str, str]:
    """Figure path -> title, as referenced from the Markdown."""
    return {path: title for title, path in _FIGURE_REF.findall(markdown)}


def test_sections_follow_datasheets_for_datasets(datasheet: str) -> None:
    positions = [datasheet.index(f"\n{section}\n") for section in SECTIONS]
    assert positions == sorted(positions)
    assert "219 records read: 170 kept, 8 redacted, 27 dropped, 7 quarantined, 7 error." in datasheet


def test_owner_questions_are_answered_or_left_as_marked_prompts(datasheet: str) -> None:
    answers = yaml.safe_load((REPO / "demo" / "datasheet_answers.yaml").read_text())
    asked = [q for section in questions().values() for q in section]
    assert 0 < len(answers) < len(asked)
    for question in asked:
        prompt = f"> **To answer ({question['id']}):** {question['question']}"
        if question["id"] in answers:
            assert prompt not in datasheet
            assert f"**{question['question']}** {' '.join(answers[question['id']].split())}" in datasheet
        else:
            assert prompt in datasheet


def test_unknown_answer_ids_are_refused(run: RunResult, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("motivation.fundng: a typo\n")
    result = runner.invoke(app, ["report", str(run.run_dir), "--answers", str(answers)])
    assert result.exit_code != 0 and "motivation.fundng" in result.output


def test_a_missing_answers_file_is_a_config_error(tmp_path: Path) -> None:
    config = demo_variant(tmp_path, **{"answers: datasheet_answers.yaml": "answers: no-such-answers.yaml"})
    with pytest.raises(ConfigError, match=r"reports.answers: 'no-such-answers.yaml' is not a file"):
        load_config(config)


def test_answers_given_to_report_replace_the_runs_copy(run: RunResult, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run.run_dir, copy)
    answers = tmp_path / "answers.yaml"
    answers.write_text("motivation.funding: The Example Foundation, grant EF-2026-17.\n")
    assert runner.invoke(app, ["report", str(copy), "--answers", str(answers)]).exit_code == 0
    assert runner.invoke(app, ["report", str(copy)]).exit_code == 0  # the copy under reports/ stays
    rebuilt = (copy / "reports" / "datasheet.md").read_text()
    assert "The Example Foundation, grant EF-2026-17." in rebuilt
    assert "> **To answer (motivation.purpose):**" in rebuilt  # the config's answers were replaced


def test_every_figure_is_an_svg_file_with_its_title(run: RunResult, datasheet: str) -> None:
    figures = _figures(datasheet)
    assert {Path(path).stem for path in figures} == FIGURES | _bias_figures(run)
    for path, title in figures.items():
        root = ET.parse(run.run_dir / "reports" / path).getroot()
        assert root.tag == f"{SVG}svg"
        texts = {"".join(element.itertext()).strip() for element in root.iter(f"{SVG}text")}
        assert title in texts, (path, title)


def test_funnel_counts_are_ledger_rows_by_rule(run: RunResult, ledger: list[dict], datasheet: str) -> None:
    rows = _table(datasheet, "| step | action | records |")
    removed = Counter(
        (r["rule_id"], r["action"]) for r in ledger if r["action"] in {"drop", "quarantine", "error"}
    )
    assert rows[0] == ["read", "", str(len(ledger))]
    assert {(step, action): int(n) for step, action, n in rows[1:-1]} == removed
    counts = run.record["counts"]
    assert rows[-1] == ["released", "keep + redact", str(counts["kept"] + counts["redacted"])]
    funnel_labels = {
        "".join(t.itertext()).strip()
        for t in ET.parse(run.run_dir / "reports/plots/removal_funnel.svg").getroot().iter(f"{SVG}text")
    }
    assert {rule for rule, _ in removed} <= funnel_labels


def test_tokens_and_documents_per_source_are_sums_of_ledger_rows(ledger: list[dict], datasheet: str) -> None:
    expected: dict[str, list[int]] = {}
    for row in ledger:
        read, documents, tokens = expected.setdefault(row["source_id"], [0, 0, 0])
        released = row["action"] in {"keep", "redact"}
        expected[row["source_id"]] = [
            read + 1, documents + released, tokens + (math.ceil(row["text_bytes"] / 4) if released else 0)
        ]  # fmt: skip
    table = _table(datasheet, "| source | records read | documents released | estimated tokens |")
    assert {source: [int(v) for v in values] for source, *values in table} == expected


def test_pii_types_are_summed_from_ledger_evidence(ledger: list[dict], datasheet: str) -> None:
    entities: Counter[str] = Counter()
    for row in ledger:
        entities.update(json.loads(json.loads(row["evidence"]).get("pii.types") or "{}"))
    table = _table(datasheet, "| type | entities | documents |")
    assert {name: int(n) for name, n, _ in table} == entities
    assert {"EMAIL", "PHONE_NUMBER", "CN_ID"} <= entities.keys()


def test_html_is_the_markdown_with_every_figure_inlined(run: RunResult, datasheet: str) -> None:
    page = (run.run_dir / "reports" / "datasheet.html").read_text(encoding="utf-8")
    figures = _figures(datasheet)
    assert page.count("<svg") == len(figures)
    for title in figures.values():
        assert f"<title>{title}</title>" in page
    assert "<table>" in page and "<blockquote>" in page and "<h2>Uses</h2>" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#)""", page), "external reference"
    assert "<link" not in page and "<script" not in page and "<img" not in page


def test_rebuild_gives_identical_bytes(run: RunResult) -> None:
    reports = run.run_dir / "reports"
    mine = [reports / name for name in MY_REPORTS] + sorted((reports / "plots").glob("*.svg"))

    def digests() -> dict[str, str]:
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in mine}

    before = digests()
    result = runner.invoke(app, ["report", str(run.run_dir)])
    assert result.exit_code == 0, result.output
    assert digests() == before


# ------------------------------------------------------------------------------ headless Chromium


def test_chromium_renders_every_plot_without_network(
    run: RunResult, datasheet: str, chromium: str, tmp_path: Path
) -> None:
    dom, requested = render(chromium, run.run_dir / "reports" / "datasheet.html", tmp_path / "page")
    figures = _figures(datasheet)
    assert dom.count("<svg") == len(figures) == len(FIGURES | _bias_figures(run))
    rendered_titles = re.findall(r"<svg[^>]*>\s*<title>([^<]+)</title>", dom)
    assert sorted(rendered_titles) == sorted(figures.values())
    assert "<h1>Datasheet: demo</h1>" in dom
    assert requested == []
    control = tmp_path / "control.html"  # the same check sees a page that does fetch something
    control.write_text('<html><body><img src="https://example.invalid/x.png"></body></html>')
    assert render(chromium, control, tmp_path / "control")[1] == ["https://example.invalid/x.png"]
