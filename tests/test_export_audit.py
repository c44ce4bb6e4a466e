"""``export-audit``: each tier of the auditor's package holds what it promises, verifies on its own once
the run folder is gone, fails on any edited member, carries no personal information in the public
tier, and records the internal tier's export in the run's access log."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from typer.testing import CliRunner

from detectors import build_detector
from pipeline.cli import app
from pipeline.export import INTERNAL, PUBLIC, REGULATOR, TIERS, ExportError
from pipeline.export.package import export_audit
from pipeline.export.pii_scan import PublicPiiFound, scan_members
from pipeline.layout import ACCESS_LOG
from pipeline.record.access_log import operator, read_entries
from pipeline.record.audit_archive import ARCHIVE_MANIFEST, ARCHIVE_SIGNATURE, Member
from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import merkle_root
from pipeline.record.seal import folder_files
from pipeline.record.verify import verify_archive
from pipeline.write.quarantine_cipher import write_key_file
from tests.conftest import NLTK_CORPUS, require
from tests.runs import audit, demo_variant, write_seeded_corpus

runner = CliRunner()
KEY_ENV = "CORPUSAUDIT_TEST_EXPORT_KEY"
REASON = "annual audit, contact dpo@example.com"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A signing key pair, and a quarantine key in the environment the config names."""
    folder = tmp_path_factory.mktemp("keys")
    assert runner.invoke(app, ["keygen", str(folder / "signing")]).exit_code == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, write_key_file(folder / "quarantine.key").read_text().strip())
        yield folder / "signing", folder / "signing.pub"


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    """The demo, signed, its quarantine encrypted."""
    folder = tmp_path_factory.mktemp("demo")
    config = demo_variant(
        folder,
        **{"shard_target_bytes: 32768": f"shard_target_bytes: 32768\n  quarantine_key: {{env: {KEY_ENV}}}"},
    )
    return audit(config, folder / "run", sign_key=keys[0]).run_dir


class Exported(NamedTuple):
    archives: dict[str, Path]
    source_log: str
    """The access log of the folder exported from, as it was when the folder was deleted."""


@pytest.fixture(scope="module")
def exported(signed_run: Path, keys: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Every tier exported (signed) from a copy of the run through the CLI, then the copy deleted:
    what the tests see is the archives alone, moved to another folder. The public tier redacts what
    the detector finds rather than refusing, so these tests hold whatever it flags in the demo's
    reports; refusal and redaction of a known address are tested on their own below."""
    work = tmp_path_factory.mktemp("export")
    source = Path(shutil.copytree(signed_run, work / "source", symlinks=True))
    written = {}
    for tier in TIERS:
        out = work / f"{tier}.zip"
        command = ["export-audit", str(source), "--tier", tier, "--out", str(out), "--sign-key", str(keys[0])]
        extra = {PUBLIC: ["--redact-pii"], REGULATOR: [], INTERNAL: ["--reason", REASON]}[tier]
        result = runner.invoke(app, command + extra)
        assert result.exit_code == 0, result.output
        assert f"wrote {out}: {tier} tier" in result.output
        written[tier] = out
    log = (source / ACCESS_LOG).read_text()
    shutil.rmtree(source)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    return Exported(
        {tier: Path(shutil.move(path, elsewhere / path.name)) for tier, path in written.items()}, log
    )


@pytest.fixture(scope="module")
def archives(exported: Exported) -> dict[str, Path]:
    return exported.archives


def _names(archive: Path) -> set[str]:
    with zipfile.ZipFile(archive) as opened:
        return set(opened.namelist())


def _read(archive: Path, name: str) -> bytes:
    with zipfile.ZipFile(archive) as opened:
        return opened.read(name)


def _rewrite(archive: Path, target: Path, edit: dict[str, bytes]) -> Path:
    """A copy of ``archive`` with the members named in ``edit`` replaced."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, edit.get(info.filename, source.read(info.filename)))
    return target


def test_each_tier_holds_what_it_promises_and_each_holds_the_one_before(
    archives: dict[str, Path], signed_run: Path
) -> None:
    public, regulator, internal = (_names(archives[tier]) for tier in TIERS)
    assert public < regulator < internal
    assert {
        "run/reports/README.md", "run/reports/eu_ai_act_summary.md", "export/datasheet.md",
        "export/datasheet.html", "run/manifest.json", "run/complete.json", "VERIFY.md", ARCHIVE_MANIFEST,
        ARCHIVE_SIGNATURE,
    } <= public  # fmt: skip
    assert not {name for name in public if name.startswith(("run/ledger/", "run/quarantine/"))}
    assert "run/run.json" not in public and "export/review_sample.csv" not in public
    record = json.loads((signed_run / "run.json").read_text())
    ledger = {f"run/{entry['path']}" for entry in record["ledger_files"]}
    assert {
        "run/reports/tc260_assessment.zh.md", "run/reports/tc260_assessment.en.md", "run/run.json",
        "run/attestation.dsse.json", "export/review_sample.csv",
        "export/algorithm_filing_training_data.zh.md",
    } | ledger <= regulator  # fmt: skip
    assert not {name for name in regulator if name.startswith("run/quarantine/")}
    everything = {f"run/{name}" for name in folder_files(signed_run)}
    assert everything | {"run/quarantine/part-00000.parquet.enc", "run/access/log.jsonl"} <= internal
    manifest = json.loads(_read(archives[INTERNAL], ARCHIVE_MANIFEST))
    assert manifest["tier"] == INTERNAL and manifest["quarantine"] == "run/quarantine/"
    assert manifest["run"]["quarantine_encryption"]["algorithm"] == "AES-256-GCM"


@pytest.mark.parametrize("tier", TIERS)
def test_each_archive_verifies_on_its_own_with_its_signature(
    archives: dict[str, Path], keys: tuple[Path, Path], tier: str
) -> None:
    result = runner.invoke(app, ["verify", str(archives[tier]), "--key", str(keys[1])])
    assert result.exit_code == 0, result.output
    assert "OK (" in result.output and "authentic: signed by the key given" in result.output
    unsigned = runner.invoke(app, ["verify", str(archives[tier])])
    assert unsigned.exit_code == 0 and "the archive is signed: pass --key" in unsigned.output


def test_the_verify_instructions_name_commands_that_work(
    archives: dict[str, Path], keys: tuple[Path, Path]
) -> None:
    archive = archives[REGULATOR]
    guide = _read(archive, "VERIFY.md").decode()
    command = f"corpusaudit verify {archive.name} --key SIGNER.pub"
    assert command in guide and "run/ledger/*.parquet" in guide
    arguments = command.split()[1:]
    arguments[1], arguments[-1] = str(archive), str(keys[1])
    assert runner.invoke(app, arguments).exit_code == 0


@pytest.mark.parametrize(
    ("tier", "member"),
    [
        (PUBLIC, "run/reports/README.md"),
        (PUBLIC, "export/datasheet.md"),
        (REGULATOR, "export/review_sample.csv"),
        (REGULATOR, "run/ledger/part-000000.parquet"),
        (INTERNAL, "run/quarantine/part-00000.parquet.enc"),
        (INTERNAL, "run/access/log.jsonl"),
    ],
)
def test_an_edited_member_fails_verify_naming_it(
    archives: dict[str, Path], tmp_path: Path, tier: str, member: str
) -> None:
    data = bytearray(_read(archives[tier], member))
    data[len(data) // 2] ^= 0x01
    edited = _rewrite(archives[tier], tmp_path / "edited.zip", {member: bytes(data)})
    report = verify_archive(edited)
    assert not report.ok and any(p.startswith(f"{member}: sha256 changed") for p in report.problems), (
        report.problems
    )
    assert runner.invoke(app, ["verify", str(edited)]).exit_code == 1


def _relisted(archive: Path, member: str, data: bytes) -> dict[str, bytes]:
    """``member`` replaced and the archive's manifest recomputed to match, as a forger would."""
    manifest = json.loads(_read(archive, ARCHIVE_MANIFEST))
    for entry in manifest["files"]:
        if entry["path"] == member:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
    manifest["root"] = merkle_root({entry["path"]: entry["sha256"] for entry in manifest["files"]})
    return {member: data, ARCHIVE_MANIFEST: json.dumps(manifest).encode()}


def test_a_member_edited_with_its_manifest_entry_fails_on_the_run_seal_or_the_signature(
    archives: dict[str, Path], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    archive = archives[REGULATOR]
    card = _read(archive, "run/reports/README.md").replace(b"demo", b"dem0", 1)
    forged = _rewrite(archive, tmp_path / "card.zip", _relisted(archive, "run/reports/README.md", card))
    problems = verify_archive(forged).problems
    assert problems == ["run/reports/README.md: differs from the run's sealed digest"], problems
    filing = _read(archive, "export/algorithm_filing_training_data.zh.md") + b"\n"
    forged = _rewrite(
        archive,
        tmp_path / "filing.zip",
        _relisted(archive, "export/algorithm_filing_training_data.zh.md", filing),
    )
    assert verify_archive(forged).ok  # integrity only: the archive's own files are its manifest's word
    signed = verify_archive(forged, key=keys[1])
    assert signed.problems == [f"{ARCHIVE_SIGNATURE}: signs another manifest than {ARCHIVE_MANIFEST}"]


def test_an_archive_with_an_unsafe_member_name_is_refused(archives: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "inner" / "slip.zip"
    target.parent.mkdir()
    with zipfile.ZipFile(archives[PUBLIC]) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            out.writestr(info, source.read(info.filename))
        out.writestr("../escaped.txt", b"outside")
    report = verify_archive(target)
    assert not report.ok and "not a plain relative file name" in report.problems[0]
    assert not (tmp_path / "escaped.txt").exists()


def test_the_public_tier_holds_no_personal_information_and_no_sample_documents(
    archives: dict[str, Path], signed_run: Path
) -> None:
    archive = archives[PUBLIC]
    members = [Member(name, "export", _read(archive, name)) for name in sorted(_names(archive))]
    detector = build_detector("pii")
    assert scan_members(members, detector) == []
    manifest = json.loads(_read(archive, ARCHIVE_MANIFEST))
    scan = manifest["pii_scan"]
    assert scan["action_if_found"] == "redact"
    assert scan["found"] == sum(len(entry["spans"]) for entry in scan["redacted"])
    assert set(scan["members"]) == _names(archive) - {ARCHIVE_MANIFEST, ARCHIVE_SIGNATURE}
    redacted = {entry["path"] for entry in manifest["files"] if entry["origin"] == "redacted"}
    assert redacted == {entry["member"] for entry in scan["redacted"]}
    # the run's datasheet names example documents; the public one names none of the ledger's documents
    doc_ids = read_ledger(signed_run, json.loads((signed_run / "run.json").read_text()), ["doc_id"])
    doc_ids = doc_ids.column("doc_id").to_pylist()
    full = (signed_run / "reports" / "datasheet.md").read_text()
    assert "example documents" in full and sum(f"`{d}`" in full for d in doc_ids) >= 5
    public = _read(archive, "export/datasheet.md").decode()
    assert "example documents" not in public and "### Representation and bias" in public
    assert not [d for d in doc_ids if f"`{d}`" in public]
    headings = re.compile(r"^#+ .*$", re.MULTILINE)
    assert headings.findall(public) == headings.findall(full)  # the same datasheet, samples left out


def test_the_public_tier_is_refused_when_personal_information_would_be_published(
    signed_run: Path, tmp_path: Path
) -> None:
    run = Path(shutil.copytree(signed_run, tmp_path / "run", symlinks=True))
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "motivation.purpose: Questions to Jane Roe, jane.roe@example.org or +1 415 555 0142.\n"
    )
    assert runner.invoke(app, ["report", str(run), "--answers", str(answers)]).exit_code == 0
    out = tmp_path / "public.zip"
    with pytest.raises(PublicPiiFound, match=r"\.md: EMAIL \(line \d+\)") as caught:
        export_audit(run, PUBLIC, out)
    assert "jane.roe" not in str(caught.value) and "555" not in str(caught.value)
    assert not out.exists()
    result = runner.invoke(app, ["export-audit", str(run), "--tier", PUBLIC, "--out", str(out)])
    assert result.exit_code == 2 and "the public archive was not written" in result.output
    assert export_audit(run, REGULATOR, tmp_path / "regulator.zip").path.exists()  # only public refuses
    # asked to, the export redacts instead, and says where
    manifest = export_audit(run, PUBLIC, out, redact_pii=True).manifest
    assert b"jane.roe" not in out.read_bytes()
    with zipfile.ZipFile(out) as opened:
        datasheet = opened.read("export/datasheet.md").decode()
        assert not [n for n in opened.namelist() if b"jane.roe@example.org" in opened.read(n)]
    assert "Questions to <PERSON>, <EMAIL>" in datasheet and "Jane Roe" not in datasheet
    redactions = {entry["member"]: entry for entry in manifest["pii_scan"]["redacted"]}
    assert {"EMAIL", "PERSON"} <= {span["type"] for span in redactions["export/datasheet.md"]["spans"]}
    sealed = {e["path"]: e["sha256"] for e in json.loads((run / "manifest.json").read_text())["files"]}
    for name, entry in redactions.items():  # a redacted run file names the sealed file it was made from
        if name.startswith("run/"):
            assert entry["from_sha256"] == sealed[name.removeprefix("run/")]
    assert verify_archive(out).ok
    forged = json.loads(_read(out, ARCHIVE_MANIFEST))
    forged["pii_scan"]["redacted"] = []  # hiding that anything was redacted
    hidden = _rewrite(out, tmp_path / "forged.zip", {ARCHIVE_MANIFEST: json.dumps(forged).encode()})
    assert "redacted members do not match" in verify_archive(hidden).problems[0]


@pytest.fixture(scope="module")
def kept_personal_information(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """Real sentences of the shared corpus with labelled identifiers, audited with a policy that keeps
    every document as it is: the review sample then holds the identifiers."""
    require(NLTK_CORPUS)
    folder = tmp_path_factory.mktemp("seeded")
    docs = write_seeded_corpus(folder, seed=11, per_type=2)
    (folder / "policy.yaml").write_text("rules: []\n")
    (folder / "audit.yaml").write_text(
        "name: seeded\nsources: sources.yaml\npolicy: policy.yaml\n"
        "inputs:\n  - {source: seeded, paths: [seeded.jsonl]}\ndetectors:\n  - name: pii\n"
    )
    return audit(folder / "audit.yaml", folder / "run").run_dir, docs


def test_the_regulator_review_sample_is_the_run_s_with_its_text_redacted(
    kept_personal_information: tuple[Path, list], tmp_path: Path
) -> None:
    run, docs = kept_personal_information

    def rows(data: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(data)))

    original = rows((run / "reports" / "review_sample.csv").read_text(encoding="utf-8-sig"))
    archive = export_audit(run, REGULATOR, tmp_path / "regulator.zip").path
    sheet = _read(archive, "export/review_sample.csv").decode("utf-8-sig")
    redacted = rows(sheet)
    assert [row["doc_id"] for row in redacted] == [row["doc_id"] for row in original] and len(
        original
    ) == len(docs)
    detector = build_detector("pii")
    found = {row["text"][e.start : e.end] for row in original for e in detector.find(row["text"])}
    gold = {doc.text[start:end] for doc in docs for start, end, *_ in doc.spans}
    assert len(found & gold) >= len(gold) // 2  # the sheet held real identifiers
    assert not [value for value in found if value in sheet]
    assert all(not detector.find(row["text"]) for row in redacted)
    assert sum("<EMAIL>" in row["text"] for row in redacted) >= 2
    assert verify_archive(archive).ok
    manifest = json.loads(_read(archive, ARCHIVE_MANIFEST))
    changed = sum(a["text"] != b["text"] for a, b in zip(original, redacted, strict=True))
    assert manifest["review_sample_redaction"] == {"documents": len(docs), "texts_redacted": changed}


def test_the_algorithm_filing_section_states_sources_scale_types_annotation_and_filtering(
    archives: dict[str, Path], signed_run: Path
) -> None:
    text = _read(archives[REGULATOR], "export/algorithm_filing_training_data.zh.md").decode()
    for heading in ("训练数据来源", "训练数据规模", "训练数据类型", "数据标注", "数据过滤与清洗"):
        assert f"、{heading}" in text
    record = json.loads((signed_run / "run.json").read_text())
    counts = record["counts"]
    assert f"| 读取记录 | {counts['read']} |" in text
    assert f"| {counts['kept'] + counts['redacted']} |" in text
    for source in record["config"]["sources"]["sources"]:
        assert f"| {source['id']} |" in text
    assert "网络采集" in text and "商业采购" in text and "**待填写**" in text


def test_the_internal_export_is_logged_first_and_carries_its_own_entry(exported: Exported) -> None:
    archives, log = exported
    entries = [json.loads(line) for line in log.splitlines()]
    assert [(e["action"], e["command"]) for e in entries] == [
        ("write", "run"),
        ("export", "export-audit --tier internal"),
    ]
    entry = entries[-1]
    assert entry["user"] == operator() and entry["documents"] == 7
    assert entry["reason"] == "annual audit, contact <EMAIL>" and "dpo@" not in log
    carried = _read(archives[INTERNAL], "run/access/log.jsonl").decode()
    assert carried == log
    head = json.loads(_read(archives[INTERNAL], "run/access/head.json"))
    manifest = json.loads(_read(archives[INTERNAL], ARCHIVE_MANIFEST))
    assert manifest["run"]["access_log"] == {"entries": 2, "head": head["head"]}


def test_an_internal_export_needs_a_reason_and_a_folder_that_verifies(
    signed_run: Path, tmp_path: Path
) -> None:
    run = Path(shutil.copytree(signed_run, tmp_path / "run", symlinks=True))
    before = len(read_entries(run))
    with pytest.raises(ExportError, match="--reason is required"):
        export_audit(run, INTERNAL, tmp_path / "a.zip")
    with pytest.raises(ExportError, match="inside the run folder"):
        export_audit(run, PUBLIC, run / "a.zip")
    (run / "reports" / "README.md").write_text("edited\n")
    with pytest.raises(ExportError, match=r"does not verify \(reports/README\.md: sha256 changed"):
        export_audit(run, INTERNAL, tmp_path / "a.zip", reason="audit")
    assert len(read_entries(run)) == before and not (tmp_path / "a.zip").exists()
