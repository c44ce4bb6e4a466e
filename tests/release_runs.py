"""Two small releases of real text that share one planted person, for the release and erasure tests.

Release ``a`` and ``b`` are 60 documents each of the shared NLTK corpus (forum posts, personal ads,
chat), with URLs on three sites; one synthetic person's e-mail address and phone number are planted
in documents of both, spelled differently in each. ``a`` is signed and declares a retention date;
``b`` stores its quarantine encrypted. The subject key is set only while the runs run and while a
test module that erases needs it (:func:`keys_in_env`), so no other test sees it.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

SUBJECT_KEY_ENV = "CORPUSAUDIT_SUBJECT_KEY"
SUBJECT_KEY = "release-tests-subject-key-5d0f3a91"
QUARANTINE_KEY_ENV = "CORPUSAUDIT_TEST_RELEASE_QUARANTINE_KEY"
EMAIL = "ana.quintero@example.net"
PHONE = "+44 20 7946 0321"
PERSON_FORMS = (EMAIL, PHONE, "020 7946 0321", "7946 0321", "79460321", "2079460321")
"""Every spelling of the person's values an output could hold (e-mail compared case-insensitively)."""
SITES = ("forum.example.org", "blog.example.com", "news.example.net")
SHOP = " The shop answers at shop@example.org and 415-555-0132."
"""Two identifiers of no person in the request: their documents stay in the quarantine after erasure."""
PLANTED = {
    "a": {3: f" Write to Ana at {EMAIL} or ring {PHONE}.", 20: f" Mail {EMAIL} for the photos.", 40: SHOP},
    "b": {
        5: " Call ANA.Quintero@Example.net on 020 7946 0321 after six.",
        11: " Or text 020 7946 0321.",
        30: SHOP,
    },
}
RETAIN_UNTIL = "2027-01-31"
POLICY = (
    'version: 1\nrules:\n  - {id: much-pii, when: "pii.count >= 2", action: quarantine, reason: review}\n'
)


@dataclass(frozen=True)
class ReleaseRuns:
    a: Path
    b: Path
    sign_key: Path
    quarantine_key: str

    def env(self) -> dict[str, str]:
        return {SUBJECT_KEY_ENV: SUBJECT_KEY, QUARANTINE_KEY_ENV: self.quarantine_key}


def url_of(index: int) -> str:
    return f"https://{SITES[index % 3]}/thread/{index // 10}/post/{index}"


def _corpus(folder: Path, name: str, records: list[dict], quarantine_key: bool) -> Path:
    (folder / "data").mkdir(parents=True)
    with (folder / "data" / "part-0.jsonl").open("w", encoding="utf-8") as handle:
        for index, record in enumerate(records):
            text = record["text"] + PLANTED[name].get(index, "")
            handle.write(json.dumps({"id": record["id"], "text": text, "url": url_of(index)}) + "\n")
    retain = f", retain_until: {RETAIN_UNTIL}" if name == "a" else ""
    (folder / "sources.yaml").write_text(
        "sources:\n  - {id: forum, kind: open-dataset, license: CC0-1.0, jurisdiction: US, "
        f"collected_at: 2024-02-01, collection_record: NLTK corpora with a planted person{retain}}}\n"
    )
    (folder / "policy.yaml").write_text(POLICY)
    key = f", quarantine_key: {{env: {QUARANTINE_KEY_ENV}}}" if quarantine_key else ""
    config = folder / "audit.yaml"
    config.write_text(
        f"name: {name}\nsources: sources.yaml\npolicy: policy.yaml\n"
        'inputs: [{source: forum, paths: ["data/*.jsonl"]}]\n'
        "detectors: [{name: dedup.exact}, {name: dedup.minhash}, {name: pii}]\n"
        f"engine: {{partitions: 1}}\noutput: {{jsonl_export: true, shard_target_bytes: 4096{key}}}\n"
    )
    return config


@contextmanager
def keys_in_env(runs_or_key: ReleaseRuns | str) -> Iterator[None]:
    """The subject key (and the quarantine key) in the environment for the block."""
    quarantine = runs_or_key.quarantine_key if isinstance(runs_or_key, ReleaseRuns) else runs_or_key
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SUBJECT_KEY_ENV, SUBJECT_KEY)
        patch.setenv(QUARANTINE_KEY_ENV, quarantine)
        yield


@pytest.fixture(scope="session")
def release_runs(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> ReleaseRuns:
    from pipeline.record.attestation import keygen
    from pipeline.write.quarantine_cipher import write_key_file
    from tests.runs import audit

    chat = [r for r in nltk_records if r["source"] in {"webtext-overheard", "webtext-singles", "nps_chat"}]
    root = tmp_path_factory.mktemp("releases")
    sign_key, _ = keygen(root / "keys" / "release.key")
    quarantine_key = write_key_file(root / "keys" / "quarantine.key").read_text().strip()
    with keys_in_env(quarantine_key):
        a = audit(
            _corpus(root / "a", "a", chat[:60], False), root / "a" / "run", partitions=1, sign_key=sign_key
        )
        b = audit(_corpus(root / "b", "b", chat[60:120], True), root / "b" / "run", partitions=1)
    return ReleaseRuns(a.run_dir, b.run_dir, sign_key, quarantine_key)


def texts_of(path: Path, quarantine_key: str | None = None) -> list[str]:
    """Every readable piece of a file: Parquet cell by cell (decrypted if it is an encrypted quarantine
    shard), gzip and zstd decompressed, SQLite tables row by row, anything else as bytes."""
    from pipeline.write.quarantine_cipher import QuarantineCipher, parse_key

    name = path.name
    data = path.read_bytes()
    if name.endswith(".enc"):
        assert quarantine_key, f"{path} is encrypted"
        cipher = QuarantineCipher(parse_key(quarantine_key, "test key"))
        relative = "/".join(path.parts[-2:])
        data = cipher.decrypt(relative, data)
        name = name.removesuffix(".enc")
    if name.endswith(".parquet"):
        table = pq.read_table(pa.BufferReader(data))
        return [str(table.column(column).to_pylist()) for column in table.column_names]
    if name.endswith(".zst"):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    elif name.endswith(".gz"):
        data = gzip.decompress(data)
    elif name.endswith(".sqlite"):
        with sqlite3.connect(path) as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            rows = [str(row) for t in tables for row in db.execute(f"SELECT * FROM {t}")]
        return [*rows, data.decode("utf-8", errors="replace")]
    return [data.decode("utf-8", errors="replace")]


def scan(folder: Path, values: tuple[str, ...], quarantine_key: str | None = None) -> tuple[list, int]:
    """(file, value) for every value found in any file below ``folder`` or any name there, and the
    number of bytes read (files as stored)."""
    found, scanned = [], 0
    for path in sorted(folder.rglob("*")):
        pieces = [path.name]
        if path.is_file():
            scanned += path.stat().st_size
            pieces += texts_of(path, quarantine_key)
        for text in pieces:
            found += [(str(path), v) for v in values if v.lower() in text.lower()]
    return found, scanned


def released_docs(run_dir: Path, quarantine_key: str | None = None) -> dict[str, dict]:
    """Doc id -> shard row of every document a release holds (shards and quarantine)."""
    from pipeline.write.quarantine_cipher import QuarantineCipher, open_output, parse_key

    record = json.loads((run_dir / "run.json").read_text())
    cipher = QuarantineCipher(parse_key(quarantine_key, "test key")) if quarantine_key else None
    rows = {}
    for entry in record["outputs"]:
        if entry["kind"] in {"shards", "quarantine"}:
            table = open_output(
                run_dir, entry["path"], cipher if entry["path"].endswith(".enc") else None
            ).read()
            rows.update({row["doc_id"]: row for row in table.to_pylist()})
    return rows
