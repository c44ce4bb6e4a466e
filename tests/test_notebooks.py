"""The notebooks in ``notebooks/`` run top to bottom (nbmake) against a fresh demo run.

They are executed in a separate pytest process, as a user would run them, with the run folder in
``$CORPUSAUDIT_RUN_DIR``; the kernelspec ``python3`` resolves to the interpreter running pytest
(jupyter_client swaps a kernel command of ``python`` for ``sys.executable``), so the notebooks see
this environment's packages. The main test run never collects them: ``testpaths`` is ``tests``
and nbmake only acts under ``--nbmake``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_CONFIG, REPO
from tests.runs import audit

NOTEBOOKS = REPO / "notebooks"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return audit(DEMO_CONFIG, tmp_path_factory.mktemp("notebooks") / "run").run_dir


def test_notebooks_are_committed_without_outputs() -> None:
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert [path.name for path in notebooks] == ["datasheet_review.ipynb", "explore_run.ipynb"]
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = [cell for cell in cells if cell["cell_type"] == "code"]
        assert code and all(not cell["outputs"] and cell["execution_count"] is None for cell in code), (
            path.name
        )


def test_notebooks_run_against_the_demo_run(demo_dir: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", str(NOTEBOOKS), "-p", "no:cacheprovider", "-q"],
        cwd=REPO,
        env={**os.environ, "CORPUSAUDIT_RUN_DIR": str(demo_dir)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert "2 passed" in completed.stdout


def test_a_notebook_fails_when_the_datasheet_disagrees_with_the_ledger(
    demo_dir: Path, tmp_path: Path
) -> None:
    """The review notebook is a check, not a printout: a datasheet edited after the run fails it."""
    run_copy = shutil.copytree(demo_dir, tmp_path / "run")
    datasheet = run_copy / "reports" / "datasheet.md"
    lines = datasheet.read_text(encoding="utf-8").splitlines()
    first_row = lines.index("### Records per source and action") + 4  # blank line, header, separator
    cells = lines[first_row].split("|")
    cells[2] = f" {int(cells[2]) + 1} "  # the source's record count
    lines[first_row] = "|".join(cells)
    datasheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", str(NOTEBOOKS / "datasheet_review.ipynb"),
         "-p", "no:cacheprovider", "-q"],
        cwd=REPO,
        env={**os.environ, "CORPUSAUDIT_RUN_DIR": str(run_copy)},
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert completed.returncode == 1
    assert "DataFrame" in completed.stdout and cells[1].strip() in completed.stdout
