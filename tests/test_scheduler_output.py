"""What schedulers see of a run: plain progress lines on a pipe, one JSON object on stdout, a version."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from rich.filesize import decimal
from typer.testing import CliRunner

from pipeline.cli import EXIT_CODES, app
from pipeline.progress import JobWeight, LogView, StageCounts, stage_progress
from tests.conftest import DEMO_CONFIG, REPO
from tests.runs import demo_variant

CLI = Path(sys.executable).with_name("corpusaudit")
ANSI = re.compile(r"\x1b[\[\]()#;?0-9]")
DEMO_BYTES = sum(f.stat().st_size for f in (DEMO_CONFIG.parent / "corpus").rglob("*") if f.is_file())
"""Every file of the demo corpus is an input."""
SUMMARY_KEYS = {
    "status", "exit_code", "exit_meaning", "run_dir", "counts", "ledger_merkle_root",
    "elapsed_seconds", "docs_per_second", "engine", "error",
}  # fmt: skip


def corpusaudit(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, stdout and stderr on pipes (as under cron or Airflow), progress every report.

    The output is decoded without newline translation, so a carriage return stays visible.
    """
    env = {
        k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"}
    }
    env["CORPUSAUDIT_PROGRESS_EVERY"] = "0"
    done = subprocess.run([str(CLI), *args], cwd=REPO, env=env, capture_output=True, timeout=900)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def assert_plain_lines(stderr: str) -> list[str]:
    """Lines a log viewer shows as they are: none blank, no escape sequence, no carriage return."""
    assert "\r" not in stderr and not ANSI.search(stderr)
    lines = stderr.split("\n")
    assert lines[-1] == "" and all(line.strip() for line in lines[:-1]), "blank line on stderr"
    return lines[:-1]


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("scheduler") / "run"
    return corpusaudit("run", str(DEMO_CONFIG), "--out", str(out), "--partitions", "2", "--json"), out


def stage_lines(lines: list[str], stage: str, finished: bool) -> list[str]:
    """Progress lines of one stage: the line it writes when done, or those it wrote while running."""
    pattern = re.compile(rf"\[\d\d:\d\d:\d\d\] {stage}: (\d+)/(\d+) parts, ")
    return [line for line in lines if (m := pattern.match(line)) and (m[1] == m[2]) == finished]


def test_progress_on_a_pipe_is_plain_lines_with_document_counts(json_run) -> None:
    completed, out = json_run
    assert completed.returncode == 0, completed.stderr
    lines = assert_plain_lines(completed.stderr)
    read = json.loads((out / "run.json").read_text())["counts"]["read"]
    (done,) = stage_lines(lines, "read", finished=True)
    assert f" parts, {read} docs, {decimal(DEMO_BYTES)} of {decimal(DEMO_BYTES)}, " in done
    assert re.search(r", [\d,.]+ docs/s, [\d.]+ [kMG]B/s, done in [\d.]+ s$", done)
    (annotated,) = stage_lines(lines, "annotate", finished=True)
    assert f" parts, {read} of {read} rows, " in annotated


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """The demo with checks that fail, inputs cut into several read tasks, and tasks run inline (one
    partition), so that every report is shown as it happens."""
    folder = tmp_path_factory.mktemp("failing")
    config = demo_variant(
        folder,
        **{
            "allowed_languages: [en, zh, fr, de, es, ja, ru, ar]": "allowed_languages: [en]",
            "  batch_size: 64": "  batch_size: 64\n  split_bytes: 16384",
        },
    )
    return corpusaudit("run", str(config), "--out", str(folder / "run"), "--partitions", "1", "--json")


def test_while_reading_lines_show_bytes_of_the_total_rates_and_the_time_left(failed_run) -> None:
    running = stage_lines(assert_plain_lines(failed_run.stderr), "read", finished=False)
    pattern = re.compile(
        rf"parts, ([\d,]+) docs, (.+) of {re.escape(decimal(DEMO_BYTES))}, [\d,.]+ docs/s, .+/s, ETA (.+)$"
    )
    shown = [pattern.search(line).groups() for line in running]
    docs = [int(d.replace(",", "")) for d, _, _ in shown]
    assert docs == sorted(docs) and 0 < docs[-1] <= 219
    assert any(done != decimal(0) and re.fullmatch(r"\d+:\d\d:\d\d", eta) for _, done, eta in shown)


def test_json_is_the_only_thing_on_stdout(json_run) -> None:
    completed, out = json_run
    summary = json.loads(completed.stdout)
    assert completed.stdout.count("\n") == 1
    assert set(summary) == SUMMARY_KEYS
    record = json.loads((out / "run.json").read_text())
    assert summary["status"] == "ok" and summary["exit_code"] == 0 and summary["error"] is None
    assert summary["run_dir"] == str(out.resolve())
    assert summary["counts"] == record["counts"] and summary["counts"]["read"] == 219
    assert summary["ledger_merkle_root"] == record["ledger_merkle_root"]
    assert summary["engine"] == record["engine"] and summary["engine"]["name"] == "local"
    assert summary["engine"]["partitions"] == 2 and summary["engine"]["workers"]
    assert summary["docs_per_second"] == record["docs_per_second"] > 0
    assert summary["exit_meaning"] == EXIT_CODES[0][1]
    assert "ledger root" in completed.stderr  # the human summary moved to stderr


def test_failed_checks_still_print_the_object_and_exit_1(failed_run) -> None:
    completed = failed_run
    assert completed.returncode == 1, completed.stderr
    summary = json.loads(completed.stdout)
    assert set(summary) == SUMMARY_KEYS
    assert summary["status"] == "checks_failed" and summary["exit_code"] == 1
    assert "expectations failed" in summary["error"]
    assert summary["counts"]["read"] == 219 and summary["ledger_merkle_root"]
    assert "error: " in completed.stderr
    assert_plain_lines(completed.stderr)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["ray", "spark"])
def test_distributed_engines_on_a_pipe_print_no_blank_line(tmp_path: Path, engine: str) -> None:
    completed = corpusaudit("run", str(DEMO_CONFIG), "--out", str(tmp_path / "run"), "-e", engine, "--json")
    assert completed.returncode == 0, completed.stderr
    assert_plain_lines(completed.stderr)
    assert json.loads(completed.stdout)["engine"]["name"] == engine


def test_a_bad_config_prints_status_and_error_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "audit.yaml"
    config.write_text(f"sources: {DEMO_CONFIG.parent / 'sources.yaml'}\ninputs: []\n")
    result = CliRunner().invoke(app, ["run", str(config), "--json"])
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["status"] == "error" and summary["exit_code"] == 2
    assert "inputs: List should have at least 1 item" in summary["error"]
    assert summary["counts"] is None and summary["run_dir"] is None
    assert "error:" in result.stderr


def test_an_unknown_engine_is_an_error_object_too() -> None:
    result = CliRunner().invoke(app, ["run", str(DEMO_CONFIG), "--engine", "flink", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == "--engine: 'flink' is not one of local, ray, spark"


def test_an_unexpected_error_exits_3_naming_only_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("text of a document: alice@example.com")

    monkeypatch.setattr("pipeline.run.run_audit", broken)
    result = CliRunner().invoke(app, ["run", str(DEMO_CONFIG), "--json"])
    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    assert summary["status"] == "error" and summary["error"] == "ValueError (the traceback is on stderr)"
    assert summary["run_dir"] == str((DEMO_CONFIG.parent / "../out/demo").resolve())
    assert "alice@example.com" not in result.stdout and "Traceback" in result.stderr


def test_version_comes_from_the_package_metadata() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"corpusaudit {metadata.version('corpusaudit')}\n"


# ------------------------------------------------------------------ the counts behind the lines


def test_off_a_terminal_lines_are_rate_limited_and_the_last_one_always_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORPUSAUDIT_PROGRESS_EVERY", "3600")
    log = io.StringIO()  # not a terminal
    with stage_progress("annotate", [JobWeight(rows=64)] * 3, stream=log) as (counts, view):
        assert isinstance(view, LogView)
        for job in range(3):
            counts.advance(job, 32, 0)
            view.show()
            counts.finish(job, 64)
            view.show()
    (line,) = log.getvalue().splitlines()
    assert re.fullmatch(
        r"\[\d\d:\d\d:\d\d\] annotate: 3/3 parts, 192 of 192 rows, [\d,.]+ rows/s, done in [\d.]+ s", line
    )


def test_progress_off_writes_nothing() -> None:
    log = io.StringIO()
    with stage_progress("read", [JobWeight(bytes=10)], enabled=False, stream=log) as (counts, view):
        counts.finish(0, 5)
        view.show()
    assert log.getvalue() == ""


def test_a_finished_job_counts_its_weight_whatever_arrived_before_or_after() -> None:
    counts = StageCounts("read", [JobWeight(bytes=300), JobWeight(bytes=100)], noun="docs")
    assert counts.eta() is None and counts.fraction() == 0
    counts.advance(0, 10, 150)
    assert (counts.rows, counts.bytes, counts.fraction()) == (10, 150, 0.375)
    counts.finish(0, 40)
    counts.advance(0, 10, 150)  # a report that arrives after its job's result
    assert (counts.rows, counts.bytes, counts.jobs_done) == (40, 300, 1)
    assert counts.eta() is not None and "1/2 parts, 40 docs, 300 bytes of 400 bytes" in counts.describe()
    counts.finish(1, 2)
    assert counts.done and counts.eta() == 0 and counts.describe().startswith("2/2 parts, 42 docs")
