"""A run folder on object storage: the bucket holds the whole sealed run, as a local folder would.

S3 is moto's standalone server (``tests/s3.py``). The run must give the local run's ledger root, its
sealed files and nothing of its work folder; ``verify`` checks the bucket's copy and names an edited
object; the bucket's own rules are a local folder's (the user's objects are never touched, a name
the user owns is refused); a task of an earlier driver cannot write; and the credentials given as
options never reach an object.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.layout import COMPLETION, MARKER, WORK_DIR
from pipeline.record.verify import verify_remote_run, verify_run
from pipeline.write.checkpoints import checkpointed_rows
from pipeline.write.files import CompletedFiles, StaleEpoch, current_epoch
from pipeline.write.remote_folder import STAGING_ENV, download_folder
from pipeline.write.run_dir import RunDirError
from pipeline.write.store import ObjectStore
from tests.runs import audit, output_digests, small_corpus
from tests.s3 import S3Bucket

pytestmark = pytest.mark.slow  # each test starts a server and runs audits


@pytest.fixture(autouse=True)
def staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The staging copies of this test's runs, in its own folder."""
    folder = tmp_path / "staging"
    monkeypatch.setenv(STAGING_ENV, str(folder))
    return folder


def _keys(bucket: S3Bucket, prefix: str) -> list[str]:
    listing = bucket.client.list_objects_v2(Bucket=bucket.name, Prefix=prefix + "/")  # type: ignore[attr-defined]
    return sorted(item["Key"].removeprefix(prefix + "/") for item in listing.get("Contents", []))


def test_a_run_into_a_bucket_is_the_local_run_sealed_there(
    tmp_path: Path, s3_bucket: S3Bucket, staging: Path, nltk_records: list[dict]
) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:300])
    local = audit(config, tmp_path / "local")
    url = f"s3://{s3_bucket.name}/runs/first"
    remote = audit(config, url)
    assert remote.location == url
    assert remote.record["ledger_merkle_root"] == local.record["ledger_merkle_root"]
    assert remote.record["counts"] == local.record["counts"] and remote.record["counts"]["read"] == 300
    keys = _keys(s3_bucket, "runs/first")
    assert {"run.json", MARKER, COMPLETION, "manifest.json", "inputs.parquet"} <= set(keys)
    assert not [key for key in keys if key.startswith(WORK_DIR)]  # the work folder is gone
    assert not list(staging.iterdir())  # and so is the staging copy
    copy = download_folder(url, tmp_path / "copy")
    assert output_digests(copy) == output_digests(local.run_dir)
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()) == keys
    assert verify_run(copy).ok and verify_remote_run(url).ok
    ledger = next(key for key in keys if key.startswith("ledger/"))
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=f"runs/first/{ledger}", Body=b"edited")  # type: ignore[attr-defined]
    report = verify_remote_run(url)
    assert not report.ok and any(ledger in problem for problem in report.problems), report.problems


def test_the_bucket_folder_follows_the_rules_of_a_local_one(
    tmp_path: Path, s3_bucket: S3Bucket, nltk_records: list[dict]
) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:60])
    url = f"s3://{s3_bucket.name}/shared"
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="shared/notes.txt", Body=b"mine")  # type: ignore[attr-defined]
    with pytest.raises(RunDirError, match=r"holds files corpusaudit did not write \(notes.txt\)"):
        audit(config, url)
    assert _keys(s3_bucket, "shared") == ["notes.txt"]
    first = audit(config, url, force=True)  # beside the user's object, which stays as it is
    second = audit(config, url, force=True)  # replaces its own run only
    assert second.record["epoch"] == first.record["epoch"] + 1 == 2
    assert "notes.txt" in _keys(s3_bucket, "shared") and verify_remote_run(url).ok
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="shared/notes.txt")["Body"].read()  # type: ignore[attr-defined]
    assert body == b"mine"
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="other/reports/mine.html", Body=b"x")  # type: ignore[attr-defined]
    with pytest.raises(RunDirError, match="holds reports, which corpusaudit did not write"):
        audit(config, f"s3://{s3_bucket.name}/other", force=True)
    inside = f"s3://{s3_bucket.name}/corpus"
    s3_bucket.upload(config.parent / "data" / "part-0.jsonl", "corpus/part-0.jsonl")
    reading = config.with_name("bucket.yaml")
    reading.write_text(config.read_text().replace('"data/*.jsonl"', f'"{inside}/part-0.jsonl"'))
    with pytest.raises(RunDirError, match="holds the input"):
        audit(reading, inside)


def test_a_task_of_an_earlier_driver_cannot_write_the_bucket(s3_bucket: S3Bucket) -> None:
    store = ObjectStore(f"s3://{s3_bucket.name}/fenced")
    store.write(f"{WORK_DIR}/epoch", b"3")
    assert current_epoch(store) == 3
    with pytest.raises(StaleEpoch, match="epoch 2 tried to write, but epoch 3 owns it"):
        CompletedFiles(store, 2).write("shards/part-00000.parquet", b"late", 1)
    info = CompletedFiles(store, 3).write("shards/part-00000.parquet", b"on time", 1)
    assert store.read(info.path) == b"on time" and CompletedFiles(store, 3).reuse(info.path) == info
    store.write(info.path, b"changed")  # an object edited behind the run is written again, not reused
    assert CompletedFiles(store, 3).reuse(info.path) is None
    store.remove(f"{WORK_DIR}/epoch")
    with pytest.raises(StaleEpoch, match="no run is in progress"):
        CompletedFiles(store, 3).write("shards/part-00001.parquet", b"after", 1)
    assert store.read("shards/part-00001.parquet") is None


def test_the_cli_runs_into_a_bucket_with_credentials_that_never_reach_it(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, nltk_records: list[dict]
) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:80])
    secrets = {"key": "AKIDEXAMPLEOUTPUTKEY", "secret": "wJalrXUtnFEMIK7MDENGbPxRfiCYOUTPUTKEY"}
    options = {**secrets, "endpoint_url": s3_bucket.endpoint, "client_kwargs": {"region_name": "us-east-1"}}
    url = f"s3://{s3_bucket.name}/cli-run"
    output = f"output: {{dir: '{url}', storage_options: {json.dumps(options)}}}\n"
    config.write_text(config.read_text() + output)
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)  # only the options reach the bucket
    result = CliRunner().invoke(app, ["run", str(config), "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "ok" and summary["run_dir"] == url and summary["counts"]["read"] == 80
    store = ObjectStore(url, options)
    for key in _keys(s3_bucket, "cli-run"):
        body = store.read(key) or b""
        assert not any(value.encode() in body for value in secrets.values()), key
    for name, value in {"AWS_ENDPOINT_URL": s3_bucket.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)  # verify takes the standard environment
    checked = CliRunner().invoke(app, ["verify", url])
    assert checked.exit_code == 0, checked.output
    assert f"{url}: OK" in checked.stdout


def test_an_interrupted_run_in_a_bucket_resumes_from_what_the_bucket_holds(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, nltk_records: list[dict]
) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:200])
    url = f"s3://{s3_bucket.name}/resumed"

    def interrupted(run_dir: Path) -> list[Path]:
        raise KeyboardInterrupt  # the driver dies after every task finished, before the reports

    with monkeypatch.context() as patch:
        patch.setattr("pipeline.run.write_reports", interrupted)
        with pytest.raises(KeyboardInterrupt):
            audit(config, url)
    keys = _keys(s3_bucket, "resumed")
    assert [key for key in keys if key.startswith(f"{WORK_DIR}/checkpoints/")]  # written by the tasks
    assert COMPLETION not in keys
    with pytest.raises(FileNotFoundError, match=f"{url} holds no run.json"):
        verify_remote_run(url)
    rows: dict[str, int] = {}

    def counted(run_dir: Path) -> int:
        return rows.setdefault("checkpointed", checkpointed_rows(run_dir))

    monkeypatch.setattr("pipeline.run.checkpointed_rows", counted)
    resumed = audit(config, url)
    assert resumed.record["resumed"] and rows["checkpointed"] == 200  # what the bucket kept
    local = audit(config, tmp_path / "local")
    assert resumed.record["ledger_merkle_root"] == local.record["ledger_merkle_root"]
    assert verify_remote_run(url).ok
    assert not [key for key in _keys(s3_bucket, "resumed") if key.startswith(WORK_DIR)]
