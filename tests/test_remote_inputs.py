"""Inputs on object storage and web servers, read through fsspec: the same audit as from local disk.

S3 runs against moto's standalone server (``tests/s3.py``), a real S3 protocol endpoint on
127.0.0.1; HTTP against ``http.server`` in a thread. Credentials given as storage options reach
the workers in memory and are never written to the run folder.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.record.inventory import load_inputs, load_tasks
from pipeline.record.verify import verify_run
from pipeline.run import RunResult
from schemas.config import load_config
from tests.conftest import DEMO_CONFIG, NLTK_CORPUS, require
from tests.runs import audit, demo_variant, small_corpus
from tests.s3 import S3Bucket

pytestmark = pytest.mark.slow  # each test starts a server and runs audits

DEMO_INPUTS = ("corpus/encyclopedia/part-*.jsonl*", "corpus/multilingual/parallel-v2.jsonl",
               "corpus/crawl/*.warc.gz", "corpus/reviews/reviews-2024q1.parquet", "corpus/forum/*.jsonl*",
               "corpus/submissions")  # fmt: skip


def _decisions(run: RunResult, prefix: str = "") -> list[tuple]:
    """(doc_id, location, action, rule) of every ledger row, with the inputs' URL prefix removed."""
    rows = []
    for entry in run.record["ledger_files"]:
        for row in pq.read_table(run.run_dir / entry["path"]).to_pylist():
            doc_id, location = row["doc_id"].replace(prefix, ""), row["location"].replace(prefix, "")
            rows.append((doc_id, location, row["action"], row["rule_id"]))
    return sorted(rows)


def _demo_on(folder: Path, base: str) -> Path:
    """The demo config with every input path below ``base`` (a URL) instead of the demo folder."""
    replacements = {f'"{p}"' if "*" in p else p: f'"{base}/{p}"' for p in DEMO_INPUTS}
    return demo_variant(folder, **{f"paths: [{old}]": f"paths: [{new}]" for old, new in replacements.items()})


def test_the_demo_read_from_s3_gives_the_ledger_read_from_disk(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    base = s3_bucket.upload_tree(DEMO_CONFIG.parent / "corpus", "demo/corpus").removesuffix("/corpus")
    local = audit(DEMO_CONFIG, tmp_path / "local")
    (tmp_path / "cfg").mkdir()
    remote = audit(_demo_on(tmp_path / "cfg", base), tmp_path / "remote")
    assert remote.record["counts"] == local.record["counts"] and remote.record["counts"]["read"] == 219
    assert _decisions(remote, f"{base}/") == _decisions(local)
    units = [unit for task in load_tasks(remote.run_dir, remote.record) for unit in task.units]
    assert {unit.protocol for unit in units} == {"s3"}
    assert all(unit.display_path.startswith(f"{base}/corpus/") for unit in units)
    inputs = load_inputs(remote.run_dir, remote.record)
    same = {e["path"]: e["sha256"] for e in load_inputs(local.run_dir, local.record)}
    assert {e["path"].replace(f"{base}/", ""): e["sha256"] for e in inputs} == same
    assert verify_run(remote.run_dir).ok  # the inputs are hashed again, from the bucket


def test_credentials_in_storage_options_are_used_but_never_recorded(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, nltk_records: list[dict]
) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:300])
    url = s3_bucket.upload(config.parent / "data" / "part-0.jsonl", "forum/part-0.jsonl")
    # Only the options can reach the bucket: no endpoint or credentials in the environment.
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    secrets = {"key": "AKIDEXAMPLEKEYVALUE", "secret": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"}
    token = "FwoGZXIvYXdzEXAMPLETOKEN"
    client_kwargs = {"region_name": "us-east-1", "aws_session_token": token}
    options = {**secrets, "endpoint_url": s3_bucket.endpoint, "client_kwargs": client_kwargs}
    config.write_text(
        config.read_text().replace(
            'inputs: [{source: forum, paths: ["data/*.jsonl"]}]',
            f"inputs: [{{source: forum, paths: [{url}], storage_options: {json.dumps(options)}}}]",
        )
    )
    loaded = load_config(config)
    hashed = loaded.hashed_content()["audit"]["inputs"][0]["storage_options"]
    assert hashed == {
        "key": "<redacted>", "secret": "<redacted>", "endpoint_url": s3_bucket.endpoint,
        "client_kwargs": {"region_name": "us-east-1", "aws_session_token": "<redacted>"},
    }  # fmt: skip
    run = audit(config, tmp_path / "run")
    assert run.record["counts"]["read"] == 300  # the workers read the bucket with the options' secrets
    tasks = load_tasks(run.run_dir, run.record)
    assert [unit.storage_options for task in tasks for unit in task.units] == [
        {"endpoint_url": s3_bucket.endpoint, "client_kwargs": {"region_name": "us-east-1"}}
    ]
    for value in [*secrets.values(), token]:
        for path in run.run_dir.rglob("*"):
            assert not path.is_file() or value.encode() not in path.read_bytes(), path
        assert value not in json.dumps(pq.read_table(run.run_dir / "units.parquet").to_pylist())


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1, and its URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


def test_an_http_input_gives_the_ledger_read_from_disk(
    tmp_path: Path, http_root: tuple[Path, str], nltk_records: list[dict]
) -> None:
    require(NLTK_CORPUS)
    root, url = http_root
    records = [dict(r, id=None) for r in nltk_records[:400]]  # no ids: documents are named by location
    config = small_corpus(tmp_path / "cfg", records)
    (root / "data").mkdir()
    (root / "data" / "part-0.jsonl").write_bytes((config.parent / "data" / "part-0.jsonl").read_bytes())
    local = audit(config, tmp_path / "local")
    remote_config = config.with_name("remote.yaml")
    remote_config.write_text(config.read_text().replace('"data/*.jsonl"', f'"{url}/data/part-0.jsonl"'))
    remote = audit(remote_config, tmp_path / "remote")
    assert remote.record["counts"] == local.record["counts"] and remote.record["counts"]["read"] == 400
    decisions = _decisions(remote, f"{url}/")
    assert decisions == _decisions(local)
    assert all(re.fullmatch(r"forum/data/part-0\.jsonl:\d+", doc_id) for doc_id, *_ in decisions)
