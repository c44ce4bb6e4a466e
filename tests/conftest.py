"""Shared fixtures: paths to the real data in ../shared/data and to the bundled demo."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.browser import chromium  # noqa: F401  (a session fixture for the report tests)
from tests.release_runs import release_runs  # noqa: F401  (two releases sharing a person, for erasure)
from tests.s3 import s3_bucket, s3_endpoint  # noqa: F401  (a moto S3 server and a bucket on it)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NLTK_CORPUS = SHARED_DATA / "corpora" / "nltk_mixed.jsonl.gz"
DEMO_CONFIG = REPO / "demo" / "audit.yaml"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path}; it comes with ../shared/data beside the repo")
    return path


@pytest.fixture(scope="session")
def nltk_records() -> list[dict]:
    with gzip.open(require(NLTK_CORPUS), "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]
