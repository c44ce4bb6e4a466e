"""Personal information through a whole run: what the policy does with it, and where it never goes.

The corpus is the labelled set of ``benchmarks/pii_corpus.py``: real sentences from the shared
corpus with known identifiers inserted, so every value that must not leak is known exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.conftest import NLTK_CORPUS, REPO, require
from tests.runs import write_seeded_corpus

SALT = "a test salt that is long enough"
POLICY = """\
version: 1
rules:
  - {id: pii-sensitive, when: "pii.sensitive_count > 0", action: drop, reason: sensitive personal information}
  - {id: pii-redact, when: "pii.count > 0", action: redact, reason: personal information pseudonymised}
default_action: keep
default_reason: no personal information found
"""


@pytest.fixture(scope="module")
def seeded_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list, str]:
    require(NLTK_CORPUS)
    folder = tmp_path_factory.mktemp("pii-run")
    docs = write_seeded_corpus(folder, seed=11, per_type=12)
    (folder / "policy.yaml").write_text(POLICY)
    (folder / "audit.yaml").write_text(
        "name: seeded-pii\nsources: sources.yaml\npolicy: policy.yaml\n"
        "inputs:\n  - {source: seeded, paths: [seeded.jsonl]}\n"
        "detectors:\n  - name: quality.language\n  - name: dedup.exact\n"
        "  - name: pii\n    params: {replacement: pseudonym}\n"
    )
    env = {**os.environ, "CORPUSAUDIT_PII_SALT": SALT}
    completed = subprocess.run(
        [sys.executable, "-m", "jobs.audit", str(folder / "audit.yaml"), "--out", str(folder / "out")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    return folder / "out", docs, completed.stdout + completed.stderr


def test_no_value_reaches_the_ledger_the_reports_or_the_logs(seeded_run: tuple[Path, list, str]) -> None:
    run_dir, docs, logs = seeded_run
    values = {doc.text[start:end] for doc in docs for start, end, _ in doc.spans}
    assert len(values) > 150
    records = [path for folder in ("ledger", "index") for path in (run_dir / folder).glob("*")]
    reports = [p for p in (run_dir / "reports").rglob("*") if p.is_file()]
    # the review worksheet is a copy of released documents for people to read, like the shards:
    # it may hold what the shards hold (names, which no NER model here finds) and nothing else
    worksheet = [p for p in reports if p.name.startswith("review_sample.")]
    records += [run_dir / "run.json", *(p for p in reports if p not in worksheet)]
    assert (run_dir / "reports" / "datasheet.md") in records and len(worksheet) == 2
    released = "\n".join(ds.dataset(run_dir / "shards").to_table(columns=["text"])["text"].to_pylist())
    for path in worksheet:
        in_sheet = {value for value in values if value in path.read_text(encoding="utf-8")}
        assert in_sheet <= {value for value in values if value in released}, path.name
    blobs = {
        path.relative_to(run_dir).as_posix(): path.read_bytes().decode("utf-8", errors="replace")
        for path in records
    }
    blobs["logs"] = logs
    for name, blob in blobs.items():
        leaked = sorted(value for value in values if value in blob)
        assert not leaked, f"{name} holds {len(leaked)} personal value(s)"
    files = [path for path in run_dir.rglob("*") if path.is_file()]
    everything = "".join(path.read_bytes().decode("utf-8", "replace") for path in files)
    assert SALT not in everything + logs


def test_the_policy_drops_sensitive_documents_and_pseudonymises_the_rest(
    seeded_run: tuple[Path, list, str],
) -> None:
    run_dir, docs, _ = seeded_run
    ledger = {row["doc_id"]: row for row in ds.dataset(run_dir / "ledger").to_table().to_pylist()}
    shards = {row["doc_id"]: row["text"] for row in ds.dataset(run_dir / "shards").to_table().to_pylist()}
    sensitive = {"CN_ID", "US_SSN", "CN_PASSPORT", "CREDIT_CARD", "CN_BANK_CARD", "IBAN"}
    redacted = 0
    for index, doc in enumerate(docs):
        row = ledger[f"seeded/d{index:04d}"]
        evidence = json.loads(row["evidence"])
        if any(kind in sensitive for _, _, kind in doc.spans):
            assert row["action"] == "drop" and row["rule_id"] == "pii-sensitive", (index, evidence)
        elif row["action"] == "redact":
            redacted += 1
            text = shards[row["doc_id"]]
            spans = json.loads(evidence["pii.spans"])
            assert evidence["pii.count"] == len(spans) > 0
            assert all(doc.text[start:end] not in text for start, end, _, _ in spans)
            assert all(f"<{kind}_" in text for _, _, kind, _ in spans)
    assert redacted > 40
