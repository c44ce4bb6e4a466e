"""Erasure across releases: a person planted in two real-text releases is erased by e-mail and phone
(looked up through keyed hashes), then documents by URL prefix, domain and content hash, then a late
opt-out; every output byte of the registry is searched for the person's values and the key, every
corrected release verifies, and the erasure records name the models trained on affected releases."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from detectors.provenance.store import Fetched
from pipeline.cli import app
from pipeline.record.access_log import read_entries
from pipeline.report.html import CSP
from pipeline.snapshots import SnapshotWriter
from tests.release_runs import (
    EMAIL,
    PERSON_FORMS,
    SUBJECT_KEY,
    SUBJECT_KEY_ENV,
    ReleaseRuns,
    keys_in_env,
    released_docs,
    scan,
)

runner = CliRunner()
REQUEST = "dsr-2026-0042"
TAKEDOWN = "takedown-7"
OPTOUT = "optout-2026-12"


def _cli(args: list[str], code: int = 0, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code, result.output
    return result.output if code else result.stdout


def _erase(registry: Path, flag: str, request: Path) -> dict:
    return json.loads(_cli(["erase", "--registry", str(registry), flag, str(request), "--json"]))


def _holds_person(text: str) -> bool:
    return EMAIL in text.lower() or "79460321" in re.sub(r"\D", "", text)


def _current(registry: Path, runs: ReleaseRuns) -> dict[str, dict[str, dict]]:
    """Release -> documents of every current release, read from the shards themselves."""
    listed = json.loads(_cli(["release", "list", "--registry", str(registry), "--json"]))
    return {
        r["release"]: released_docs(Path(r["path"]), runs.quarantine_key)
        for r in listed["releases"]
        if r["status"] == "current"
    }


def _by_release(record: dict) -> dict[str, set[str]]:
    return {r["release"]: {d["doc_id"] for d in r["documents"]} for r in record["releases"] if r["current"]}


@pytest.fixture(scope="module")
def runs(release_runs: ReleaseRuns) -> Iterator[ReleaseRuns]:
    with keys_in_env(release_runs):
        yield release_runs


@pytest.fixture(scope="module")
def registry(runs: ReleaseRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("erasure") / "R"
    for run, name, version in ((runs.a, "forum-a", "1.0"), (runs.b, "forum-b", "2024.1")):
        _cli(["release", "register", str(run), "--registry", str(root), "--name", name, "--version", version])
    _cli(["release", "model", "add", "--registry", str(root), "--name", "chat-lm", "--version", "3",
          "--releases", "forum-a@1.0", "forum-b@2024.1"])  # fmt: skip
    _cli(["release", "model", "add", "--registry", str(root), "--name", "a-only", "--version", "1",
          "--releases", "forum-a@1.0"])  # fmt: skip
    return root


@pytest.fixture(scope="module")
def person(registry: Path, runs: ReleaseRuns, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The person erased by e-mail and phone; the record and what each release held of them before."""
    expected = {
        ref: {doc_id for doc_id, row in docs.items() if _holds_person(row["text"])}
        for ref, docs in _current(registry, runs).items()
    }
    request = tmp_path_factory.mktemp("requests") / "dsr.yaml"
    request.write_text(f"id: {REQUEST}\nreceived: 2026-11-30\nemails: [{EMAIL}]\nphones: ['020 7946 0321']\n")
    return {"expected": expected, "record": _erase(registry, "--request", request)}


def test_the_person_is_found_in_both_releases_and_every_document_of_theirs_removed(
    person: dict, runs: ReleaseRuns
) -> None:
    expected, record = person["expected"], person["record"]
    assert {ref: len(docs) for ref, docs in expected.items()} == {"forum-a@1.0": 2, "forum-b@2024.1": 2}
    assert _by_release(record) == expected
    assert {r["release"]: r["status"] for r in record["releases"]} == {
        "forum-a@1.0": "corrected", "forum-b@2024.1": "corrected",
    }  # fmt: skip
    assert record["documents_removed"] == 4
    assert {c["label"]: c["documents"] for c in record["criteria"]} == {"emails[0]": 3, "phones[0]": 3}
    assert {m["model"]: m["trained_on"] for m in record["models"]} == {
        "chat-lm@3": ["forum-a@1.0", "forum-b@2024.1"],
        "a-only@1": ["forum-a@1.0"],
    }
    # the originals still hold the person: the registry never changes what it did not write
    found, _ = scan(runs.a, PERSON_FORMS, runs.quarantine_key)
    assert any(path.endswith(".parquet") for path, _ in found)
    found, _ = scan(runs.b, PERSON_FORMS, runs.quarantine_key)
    assert any(path.endswith(".parquet.enc") for path, _ in found)
    (read,) = [e for e in read_entries(runs.b) if e["command"] == "erase"]
    assert read["action"] == "read" and read["documents"] >= 1 and REQUEST in read["reason"]


def test_no_byte_of_the_registry_holds_the_persons_values_or_a_key(
    person: dict, registry: Path, runs: ReleaseRuns
) -> None:
    secrets = (*PERSON_FORMS, SUBJECT_KEY, runs.quarantine_key)
    found, scanned = scan(registry, secrets, runs.quarantine_key)
    assert found == []
    assert scanned > 100_000 and len([p for p in registry.rglob("*") if p.is_file()]) > 50
    print(f"scanned {scanned} bytes of the registry in {person['record']['seconds']} s of erasure")
    for run in (runs.a, runs.b):
        assert scan(run, (SUBJECT_KEY, runs.quarantine_key), runs.quarantine_key)[0] == []


def test_both_corrected_releases_verify_and_their_ledgers_record_the_erasure(
    person: dict, registry: Path, runs: ReleaseRuns
) -> None:
    for (ref, erased), original in zip(person["expected"].items(), (runs.a, runs.b), strict=True):
        name, version = ref.split("@")
        folder = registry / "releases" / name / f"{version}+e1"
        assert "OK" in _cli(["verify", str(folder)])
        before = released_docs(original, runs.quarantine_key)
        assert set(released_docs(folder, runs.quarantine_key)) == set(before) - erased
        record = json.loads((folder / "run.json").read_text())
        assert record["counts"]["read"] == 60
        assert record["counts"]["dropped"] == len(erased)
        assert record["erasures"][-1]["request_id"] == REQUEST and record["erasures"][-1]["documents"] == 2
        ledger = pq.read_table(sorted((folder / "ledger").glob("*.parquet"))).to_pylist()
        rows = [row for row in ledger if row["rule_id"] == "erasure"]
        assert {row["doc_id"] for row in rows} == erased
        for row in rows:
            evidence = json.loads(row["evidence"])
            assert row["action"] == "drop" and row["shard"] is None
            assert row["reason"] == f"erased on {datetime.now(UTC).date().isoformat()} at request {REQUEST}"
            assert evidence["erasure.request_id"] == REQUEST and evidence["erasure.previous_shard"]
            assert evidence["erasure.matched"] in (["emails[0]"], ["phones[0]"], ["emails[0]", "phones[0]"])
    encrypted = sorted((registry / "releases" / "forum-b" / "2024.1+e1" / "quarantine").glob("*"))
    assert encrypted and all(p.name.endswith(".parquet.enc") for p in encrypted)


def test_the_summary_names_the_models_and_no_value(person: dict, registry: Path) -> None:
    folder = registry / "erasures" / REQUEST
    markdown = (folder / "summary.md").read_text()
    assert "1 e-mail address, 1 phone number" in markdown and "`chat-lm@3`" in markdown
    assert "| `forum-b@2024.1` | 2 | removed" in markdown
    assert "still hold the documents" in markdown
    page = (folder / "summary.html").read_text()
    assert CSP in page and "<table>" in page and "<script" not in page
    record = json.loads((folder / "record.json").read_text())
    assert record == person["record"]
    listed = json.loads(_cli(["release", "list", "--registry", str(registry), "--json"]))
    (row,) = listed["erasures"]
    assert row["request_id"] == REQUEST and row["documents"] == 4
    assert row["record_sha256"] == hashlib.sha256((folder / "record.json").read_bytes()).hexdigest()


def test_a_request_is_applied_once_and_a_wrong_key_is_refused(
    person: dict, registry: Path, tmp_path: Path
) -> None:
    before = {p: p.read_bytes() for p in registry.rglob("*") if p.is_file() and p.name != ".corpusaudit.lock"}
    again = tmp_path / "again.yaml"
    again.write_text(f"id: {REQUEST}\nemails: [{EMAIL}]\n")
    assert "was applied on" in _cli(["erase", "--registry", str(registry), "--request", str(again)], 2)
    other = tmp_path / "other.yaml"
    other.write_text(f"id: dsr-2026-0043\nemails: [{EMAIL}]\n")
    args = ["erase", "--registry", str(registry), "--request", str(other)]
    refused = _cli(args, 2, env={SUBJECT_KEY_ENV: "another-subject-key-of-length"})
    assert "is not the one forum-a@1.0 was run with" in refused
    assert {
        p: p.read_bytes() for p in registry.rglob("*") if p.is_file() and p.name != ".corpusaudit.lock"
    } == before


@pytest.fixture(scope="module")
def documents(
    person: dict, registry: Path, runs: ReleaseRuns, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """Documents erased by URL prefix, domain and content hash, after the person."""
    current = _current(registry, runs)
    chosen = next(row for row in current["forum-b@2024.1+e1"].values() if "news.example.net" in row["url"])
    prefix = "https://forum.example.org/thread/3/"

    def named(row: dict) -> bool:
        host = row["url"].split("/")[2]
        return (
            row["url"].startswith(prefix)
            or host == "blog.example.com"
            or row["content_sha256"] == chosen["content_sha256"]
        )

    expected = {ref: {d for d, row in docs.items() if named(row)} for ref, docs in current.items()}
    request = tmp_path_factory.mktemp("takedown") / "takedown.yaml"
    request.write_text(
        f"id: {TAKEDOWN}\nurls: ['{prefix}']\ndomains: [Blog.Example.com]\n"
        f"content_sha256: [{chosen['content_sha256']}]\n"
    )
    return {"expected": expected, "current": current, "record": _erase(registry, "--request", request)}


def test_url_prefix_domain_and_content_hash_erasure(
    documents: dict, registry: Path, runs: ReleaseRuns
) -> None:
    record, expected = documents["record"], documents["expected"]
    assert _by_release(record) == expected
    counts = {c["label"]: c["documents"] for c in record["criteria"]}
    assert counts["content_sha256[0]"] == 1 and counts["urls[0]"] >= 5 and counts["domains[0]"] >= 30
    statuses = {r["release"]: r["status"] for r in record["releases"]}
    assert statuses == {
        "forum-a@1.0": "superseded", "forum-a@1.0+e1": "corrected",
        "forum-b@2024.1": "superseded", "forum-b@2024.1+e1": "corrected",
    }  # fmt: skip
    assert {m["model"] for m in record["models"]} == {"chat-lm@3", "a-only@1"}
    for ref, erased in expected.items():
        name, version = ref.split("@")
        folder = registry / "releases" / name / version.replace("+e1", "+e2")
        assert "OK" in _cli(["verify", str(folder)])
        remaining = released_docs(folder, runs.quarantine_key)
        assert set(remaining) == set(documents["current"][ref]) - erased
        assert not any(row["url"].split("/")[2] == "blog.example.com" for row in remaining.values())


def test_a_late_opt_out_applies_a_new_robots_snapshot_and_registry(
    documents: dict, registry: Path, runs: ReleaseRuns, tmp_path: Path
) -> None:
    current = _current(registry, runs)
    taken = datetime(2026, 12, 1, tzinfo=UTC)
    robots = b"User-agent: GPTBot\nDisallow: /thread/4/\n"
    SnapshotWriter(tmp_path / "store").write_snapshot(
        [Fetched("https://news.example.net", "robots.txt", 200, robots, taken, "fetch")], taken_at=taken
    )
    (tmp_path / "optouts.yaml").write_text(
        "version: 1\nentries:\n"
        "  - {prefix: 'https://forum.example.org/thread/5/', registered_at: 2026-12-01}\n"
    )
    request = tmp_path / "optout.yaml"
    request.write_text(f"id: {OPTOUT}\nsnapshot_store: store\noptout_registry: optouts.yaml\n")
    reserved = ("https://news.example.net/thread/4/", "https://forum.example.org/thread/5/")
    expected = {
        ref: {d for d, row in docs.items() if row["url"].startswith(reserved)}
        for ref, docs in current.items()
    }
    assert all(expected.values())
    record = _erase(registry, "--optout", request)
    assert _by_release(record) == expected
    assert record["request"]["asked"]["snapshot"]["id"] == "20261201T000000Z"
    assert {c["label"] for c in record["criteria"]} == {"robots.txt", "registry:prefix"}
    for ref, erased in expected.items():
        name, version = ref.split("@")
        folder = registry / "releases" / name / version.replace("+e2", "+e3")
        assert "OK" in _cli(["verify", str(folder)])
        assert set(released_docs(folder, runs.quarantine_key)) == set(current[ref]) - erased
        reasons = {
            row["reason"]
            for row in pq.read_table(sorted((folder / "ledger").glob("*.parquet"))).to_pylist()
            if row["rule_id"] == "erasure"
        }
        assert len(reasons) == 3 and any(OPTOUT in reason and "opted out" in reason for reason in reasons)
    shown = json.loads(_cli(["release", "show", "forum-a@1.0+e3", "--registry", str(registry), "--json"]))
    assert shown["lineage"] == ["forum-a@1.0+e3", "forum-a@1.0+e2", "forum-a@1.0+e1", "forum-a@1.0"]
    assert [e["request_id"] for e in shown["erasures"]] == [REQUEST, TAKEDOWN, OPTOUT]
    assert shown["models"] == [] and shown["models_of_earlier_versions"] == ["a-only@1", "chat-lm@3"]
