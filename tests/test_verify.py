"""``corpusaudit verify``: any edit, addition or removal anywhere in the run folder is named; an
interrupted run is "incomplete"; with a key, a signature made by its holder is "authentic"."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.layout import ACCESS_HEAD, ACCESS_LOG, ATTESTATION, COMPLETION, MANIFEST
from pipeline.record.seal import seal
from pipeline.record.verify import INTEGRITY_ONLY, verify_run
from tests.conftest import DEMO_CONFIG
from tests.runs import audit

runner = CliRunner()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    result = runner.invoke(app, ["keygen", str(folder / "signing")])
    assert result.exit_code == 0, result.output
    return folder / "signing", folder / "signing.pub"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    return audit(DEMO_CONFIG, tmp_path_factory.mktemp("verify") / "run", sign_key=keys[0]).run_dir


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished_run, tmp_path / "run", symlinks=True))


def _flip_one_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_record(run_dir: Path, edit: object) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    edit(record)  # type: ignore[operator]
    (run_dir / "run.json").write_text(json.dumps(record, indent=2))


def test_an_untouched_signed_run_verifies_as_authentic(finished_run: Path, keys: tuple[Path, Path]) -> None:
    plain = runner.invoke(app, ["verify", str(finished_run)])
    assert plain.exit_code == 0, plain.output
    assert "OK" in plain.output and INTEGRITY_ONLY in plain.output and "--key" in plain.output
    signed = runner.invoke(app, ["verify", str(finished_run), "--key", str(keys[1])])
    assert signed.exit_code == 0, signed.output
    assert "authentic" in signed.output
    manifest = json.loads((finished_run / MANIFEST).read_text())
    sealed = {entry["path"] for entry in manifest["files"]}
    on_disk = {p.relative_to(finished_run).as_posix() for p in finished_run.rglob("*") if p.is_file()}
    unsealed = {COMPLETION, MANIFEST, ATTESTATION, ACCESS_LOG, ACCESS_HEAD, ".corpusaudit.lock"}
    assert on_disk - sealed == unsealed
    expected = {"run.json", ".corpusaudit.json", "reports/datasheet.html", "reports/plots/removal_funnel.svg"}
    assert expected <= sealed


@pytest.mark.parametrize(
    "target",
    [
        "shards",
        "ledger",
        "quarantine",
        "index",
        "reports/datasheet.html",
        "reports/plots",
        ".corpusaudit.json",
    ],
)
def test_one_byte_anywhere_fails_verify_naming_the_file(run_copy: Path, target: str) -> None:
    path = run_copy / target
    if path.is_dir():
        path = sorted(p for p in path.iterdir() if p.is_file())[0]
    _flip_one_byte(path, path.stat().st_size // 2)
    result = runner.invoke(app, ["verify", str(run_copy), "--skip-inputs"])
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert f"{path.relative_to(run_copy).as_posix()}: sha256 changed" in first, result.output


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r["source_harm"][0].update(flagged=r["source_harm"][0]["flagged"] + 5), "source_harm"),
        (lambda r: r["checks"].update(success=not r["checks"]["success"]), "checks"),
        (lambda r: r["packages"].update(numpy="1.0.0"), "packages"),
        (
            lambda r: next(d for d in r["detectors"] if d["name"] == "harm").update(classifier_models={}),
            "detectors",
        ),
        (lambda r: r.update(smuggled=True), "smuggled"),
    ],
)
def test_an_edited_run_record_field_is_named(run_copy: Path, edit: object, field: str) -> None:
    _edit_record(run_copy, edit)
    problems = verify_run(run_copy, check_inputs=False).problems
    assert problems[0].startswith(f"run.json: field '{field}' "), problems


def test_reformatting_run_json_without_changing_a_value_still_verifies(run_copy: Path) -> None:
    _edit_record(run_copy, lambda record: None)  # other indentation, same values
    assert verify_run(run_copy, check_inputs=False).ok


def test_removed_and_added_files_are_named(run_copy: Path) -> None:
    removed = sorted((run_copy / "quarantine").glob("*.parquet"))[0]
    removed.unlink()
    (run_copy / "shards" / "part-99999.parquet").write_bytes(b"smuggled")
    (run_copy / "notes.txt").write_text("added")
    problems = verify_run(run_copy, check_inputs=False).problems
    assert f"quarantine/{removed.name}: removed after the run" in problems
    assert "shards/part-99999.parquet: added after the run" in problems
    assert "notes.txt: added after the run" in problems


def test_an_interrupted_run_is_incomplete_with_its_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(run_dir: Path) -> list[Path]:
        (Path(run_dir) / "reports").mkdir(exist_ok=True)
        (Path(run_dir) / "reports" / "datasheet.md").write_text("half written")
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.run.write_reports", killed)
    with pytest.raises(KeyboardInterrupt):
        audit(DEMO_CONFIG, tmp_path / "run")
    result = runner.invoke(app, ["verify", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "incomplete: the run stopped while writing the reports" in result.output


def test_a_resealed_folder_passes_integrity_but_not_the_signature(
    run_copy: Path, keys: tuple[Path, Path]
) -> None:
    _edit_record(run_copy, lambda r: r["counts"].update(kept=r["counts"]["kept"]))
    _flip_one_byte(run_copy / "reports" / "datasheet.md", 10)
    seal(run_copy)  # what anyone who can write the folder can do
    assert verify_run(run_copy, check_inputs=False).ok
    result = runner.invoke(app, ["verify", str(run_copy), "--skip-inputs", "--key", str(keys[1])])
    assert result.exit_code == 1
    assert "reports/datasheet.md: differs from the signed digest" in result.output


def test_an_edited_statement_or_another_key_is_not_authentic(
    run_copy: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    other = runner.invoke(app, ["keygen", str(tmp_path / "other")])
    assert other.exit_code == 0
    wrong = runner.invoke(
        app, ["verify", str(run_copy), "--skip-inputs", "--key", str(tmp_path / "other.pub")]
    )
    assert wrong.exit_code == 1 and "not signed by key" in wrong.output
    envelope = json.loads((run_copy / ATTESTATION).read_text())
    signed = json.loads(base64.b64decode(envelope["payload"]))
    signed["predicate"]["counts"]["dropped"] = 0  # claim nothing was removed, keep the signature
    envelope["payload"] = base64.b64encode(json.dumps(signed).encode()).decode()
    (run_copy / ATTESTATION).write_text(json.dumps(envelope))
    edited = runner.invoke(app, ["verify", str(run_copy), "--skip-inputs", "--key", str(keys[1])])
    assert edited.exit_code == 1 and "does not verify" in edited.output


def test_keys_stay_out_of_the_run_folder_and_keygen_never_overwrites(
    keys: tuple[Path, Path], finished_run: Path, tmp_path: Path
) -> None:
    again = runner.invoke(app, ["keygen", str(keys[0])])
    assert again.exit_code == 2 and "never overwrites" in again.output
    private = keys[0].read_bytes()
    assert keys[0].stat().st_mode & 0o077 == 0
    for path in finished_run.rglob("*"):
        if path.is_file():
            assert private not in path.read_bytes()
    inside = tmp_path / "run"
    inside.mkdir()
    shutil.copy(keys[0], inside / "key")
    result = runner.invoke(
        app, ["run", str(DEMO_CONFIG), "--out", str(inside), "--sign-key", str(inside / "key"), "-q"]
    )
    assert result.exit_code == 2 and "inside the run folder" in result.output


def test_report_rebuild_reseals_and_drops_a_signature_it_cannot_renew(
    run_copy: Path, keys: tuple[Path, Path]
) -> None:
    assert runner.invoke(app, ["report", str(run_copy)]).exit_code == 0
    assert not (run_copy / ATTESTATION).exists()
    assert verify_run(run_copy, check_inputs=False).ok
    assert runner.invoke(app, ["report", str(run_copy), "--sign-key", str(keys[0])]).exit_code == 0
    assert verify_run(run_copy, check_inputs=False, key=keys[1]).ok


def test_changed_input_is_named_unless_inputs_are_skipped(run_copy: Path, tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(DEMO_CONFIG.parent, tmp_path / "demo"))
    assert verify_run(run_copy, input_base=corpus).ok
    _flip_one_byte(corpus / "corpus" / "multilingual" / "parallel-v2.jsonl", 10)
    problems = verify_run(run_copy, input_base=corpus).problems
    assert problems == [problems[0]] and problems[0].startswith(
        "input corpus/multilingual/parallel-v2.jsonl: sha256"
    )
    assert verify_run(run_copy, check_inputs=False, input_base=corpus).ok


def test_the_ledger_still_has_to_agree_with_the_record(run_copy: Path) -> None:
    _edit_record(run_copy, lambda r: r["counts"].update(kept=r["counts"]["kept"] + 1))
    seal(run_copy)
    problems = verify_run(run_copy, check_inputs=False).problems
    assert any(p.startswith("counts changed") for p in problems), problems


def test_verify_of_a_folder_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no run.json" in result.output
