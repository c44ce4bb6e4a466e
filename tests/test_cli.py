"""The command line as a user meets it: clear errors, the job entry point, report rebuilding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import DEMO_CONFIG, REPO
from tests.runs import demo_variant

runner = CliRunner()


def test_validate_accepts_the_demo_config() -> None:
    result = runner.invoke(app, ["validate", str(DEMO_CONFIG)])
    assert result.exit_code == 0, result.output
    assert "valid (6 inputs naming 8 file(s), 41 rules)" in result.output


def test_invalid_config_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "audit.yaml"
    config.write_text(f"sources: {DEMO_CONFIG.parent / 'sources.yaml'}\ninputs: []\n")
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert f"error: {config}: inputs: List should have at least 1 item" in result.output
    assert "Traceback" not in result.output


def test_policy_naming_an_unknown_column_fails_before_reading(tmp_path: Path) -> None:
    policy = tmp_path / "strict-policy.yaml"
    policy.write_text("rules:\n  - {id: harm, when: 'harm.score > 0.5', action: drop, reason: harmful}\n")
    config = demo_variant(tmp_path, **{"policy: policy.yaml": f"policy: {policy.name}"})
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "rules[0] (harm).when: unknown column 'harm.score'" in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_engine_is_refused() -> None:
    result = runner.invoke(app, ["run", str(DEMO_CONFIG), "--engine", "flink"])
    assert result.exit_code == 2
    assert "'flink' is not one of local, ray, spark" in result.output


def test_job_entry_point_runs_and_report_rebuilds_the_datasheet(tmp_path: Path) -> None:
    out = tmp_path / "run"
    completed = subprocess.run(
        [sys.executable, "-m", "jobs.audit", str(DEMO_CONFIG), "--out", str(out), "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "219 read, 170 kept, 8 redacted, 27 dropped, 7 quarantined, 7 error" in completed.stdout
    datasheet = out / "reports" / "datasheet.md"
    original = datasheet.read_text()
    datasheet.unlink()
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0
    assert datasheet.read_text() == original
