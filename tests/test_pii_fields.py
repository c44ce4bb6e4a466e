"""Personal information nowhere but in redacted text: a corpus whose record ids, file names, URLs,
licences, languages and metadata hold e-mail addresses, phone numbers, card numbers and Chinese ID
numbers is audited through the CLI, and every byte of every output file (Parquet decoded, zstd
decompressed) and of the logs is searched for those values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard

from pipeline.record.inventory import load_inputs

SEEDED = [
    "jane.doe@example.com", "mary.major@example.net", "13912345678", "11010519491231002X",
    "4111111111111111", "5500005555555559", "+44 20 7946 0958", "7946 0958",
]  # fmt: skip
SOURCES = """sources:
  - id: forum
    kind: open-dataset
    license: CC0-1.0
    collection_record: NLTK corpora sample with seeded identifiers, written for the tests
    jurisdiction: US
    collected_at: 2024-02-01
"""


def _seeded_corpus(folder: Path, records: list[dict]) -> Path:
    (folder / "exports").mkdir(parents=True)
    (folder / "texts").mkdir()
    seeded = [
        {"id": "jane.doe@example.com", "text": records[0]["text"], "lang": "zh 11010519491231002X",
         "url": "https://forum.example/profile?email=jane.doe@example.com&card=4111111111111111",
         "license": "CC-BY-4.0 (contact 13912345678)", "author": "mary.major@example.net",
         "phone": "+44 20 7946 0958", "card": "5500005555555559"},
        {"id": "13912345678", "text": records[1]["text"], "contact": {"mail": ["jane.doe@example.com"]}},
        {"id": "11010519491231002X", "text": records[2]["text"]},
        {"id": "jane.doe@example.com", "text": records[3]["text"]},  # the same id again
    ]  # fmt: skip
    plain = [{"id": r["id"], "text": r["text"]} for r in records[4:30]]
    path = folder / "exports" / "mary.major@example.net.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in seeded + plain))
    (folder / "texts" / "phone 13912345678.txt").write_text(records[30]["text"])
    (folder / "texts" / "notes.txt").write_text(records[31]["text"])
    (folder / "sources.yaml").write_text(SOURCES)
    config = folder / "audit.yaml"
    config.write_text(
        "name: seeded\nsources: sources.yaml\n"
        'inputs:\n  - {source: forum, paths: ["exports/*.jsonl"]}\n'
        "  - {source: forum, paths: [texts], format: text}\n"
        "detectors: [{name: quality.language}, {name: dedup.exact}, {name: dedup.minhash}, {name: pii}]\n"
        "engine: {partitions: 2}\noutput: {jsonl_export: true}\n"
    )
    return config


def _texts(path: Path) -> list[tuple[str, str]]:
    """(where, text) for every readable piece of a file: Parquet cell by cell, zstd decompressed."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return [(f"{path.name}:{name}", str(table.column(name).to_pylist())) for name in table.column_names]
    data = path.read_bytes()
    if path.name.endswith(".zst"):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return [(path.name, data.decode("utf-8", errors="replace"))]


@pytest.fixture(scope="module")
def seeded_run(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("seeded")
    config = _seeded_corpus(folder, nltk_records)
    out = folder / "run"
    cli = str(Path(sys.executable).with_name("corpusaudit"))
    done = subprocess.run(
        [cli, "run", str(config), "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    verified = subprocess.run([cli, "verify", str(out)], capture_output=True, text=True, timeout=600)
    assert verified.returncode == 0, verified.stderr
    return out, done.stdout + done.stderr + verified.stdout + verified.stderr


def test_no_seeded_value_in_any_output_byte_or_log(seeded_run: tuple[Path, str]) -> None:
    out, logs = seeded_run
    pieces = [
        (str(p.relative_to(out)), text)
        for p in sorted(out.rglob("*"))
        if p.is_file()
        for _, text in _texts(p)
    ]
    pieces += [(p.name, p.name) for p in out.rglob("*")]  # the output file names themselves
    pieces.append(("logs", logs))
    assert len(pieces) > 80
    found = [(where, value) for where, text in pieces for value in SEEDED if value in text]
    assert found == []


def test_ids_file_names_and_fields_are_pseudonymised_not_lost(seeded_run: tuple[Path, str]) -> None:
    out, _ = seeded_run
    ledger = pq.read_table(sorted((out / "ledger").glob("*.parquet"))).to_pylist()
    ids = [row["doc_id"] for row in ledger]
    assert len(ids) == len(set(ids)) == 32
    assert "forum/<EMAIL>~0:0" in ids and "forum/<CN_MOBILE>~0:1" in ids and "forum/<CN_ID>~0:2" in ids
    (repeat,) = [row for row in ledger if row["rule_id"] == "duplicate-record-id"]
    assert json.loads(repeat["evidence"])["input.duplicate_id"] == "forum/<EMAIL>~0:0"
    assert {row["location"].split(":")[0] for row in ledger if row["location"].startswith("exports/")} == {
        "exports/<EMAIL>~u0.jsonl"
    }
    assert any(row["location"] == "texts/phone <CN_MOBILE>~1:1.txt" for row in ledger)
    shards = pq.read_table(sorted((out / "shards").glob("*.parquet"))).to_pylist()
    first = next(row for row in shards if row["doc_id"] == "forum/<EMAIL>~0:0")
    assert first["url"] == "https://forum.example/profile?email=<EMAIL>&card=<CREDIT_CARD>"
    assert first["license"] == "CC-BY-4.0 (contact <CN_MOBILE>)"
    assert first["lang"] == "en"  # detected; the declared "zh <ID number>" was scrubbed on reading
    assert json.loads(first["meta"]) == {
        "author": "<EMAIL>",
        "card": "<CREDIT_CARD>",
        "phone": "<PHONE_NUMBER>",
    }
    record = json.loads((out / "run.json").read_text())
    withheld = [entry for entry in load_inputs(out, record) if entry.get("withheld")]
    assert {entry["path"] for entry in withheld} == {
        "exports/<EMAIL>~u0.jsonl",
        "texts/phone <CN_MOBILE>~u1.1.txt",
    }
    assert all(len(entry["sha256"]) == 64 for entry in withheld)


def test_a_value_found_clean_is_not_analysed_again_and_personal_values_always_are() -> None:
    from detectors.pii import PiiDetector
    from pipeline.read.scrub import Scrubber

    class Counting(PiiDetector):
        calls = 0

        def scrub(self, value: str, *, scope: str | None) -> str:
            Counting.calls += 1
            return super().scrub(value, scope=scope)

    scrubber = Scrubber((Counting(),))
    licence = "LicenseRef-NLTK-Data-Mixed"
    assert [scrubber.field(licence, f"nltk/{i}") for i in range(50)] == [licence] * 50
    assert Counting.calls == 1
    personal = "CC-BY-4.0 (contact jane.doe@example.com)"
    scrubbed = [scrubber.field(personal, f"nltk/{i}") for i in range(3)]
    assert all("jane.doe" not in value for value in scrubbed) and Counting.calls == 4
