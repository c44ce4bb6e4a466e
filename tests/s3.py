"""A real S3 protocol server for tests: moto's standalone server on 127.0.0.1, a fresh bucket per test.

The environment points every S3 client at it (``AWS_ENDPOINT_URL`` and dummy credentials, read by
botocore itself), so code under test uses its ordinary ``s3://`` paths; worker processes inherit
the environment.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import s3fs
from moto.server import ThreadedMotoServer

_BUCKETS = itertools.count()


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on the test server, and a client to fill it."""

    endpoint: str
    name: str
    client: object

    def upload(self, source: Path, key: str) -> str:
        """Upload one file; its ``s3://`` URL."""
        self.client.upload_file(str(source), self.name, key)  # type: ignore[attr-defined]
        return f"s3://{self.name}/{key}"

    def upload_tree(self, folder: Path, prefix: str) -> str:
        """Upload every file below ``folder`` (links followed) under ``prefix``; its ``s3://`` URL."""
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.upload(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
        return f"s3://{self.name}/{prefix}"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server running in a thread for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    """An empty bucket, with the environment set so that s3fs and boto3 reach the test server."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    s3fs.S3FileSystem.clear_instance_cache()  # an instance made under other settings is not reused
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    name = f"corpus-{next(_BUCKETS)}"
    client.create_bucket(Bucket=name)
    yield S3Bucket(s3_endpoint, name, client)
    s3fs.S3FileSystem.clear_instance_cache()
