"""The ``provenance`` detector end to end: snapshot, page signals, registry, blacklist, licences."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from detectors.provenance.detector import ProvenanceDetector, bundled_agents
from detectors.provenance.store import Fetched
from pipeline.snapshots import SnapshotWriter
from tests.conftest import SHARED_DATA, require

TAKEN = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
RESERVE_ALL = '[{"location": "/*", "tdm-reservation": 1}]'


def _fetched(origin: str, kind: str, status: int | None, body: str | None = None) -> Fetched:
    return Fetched(origin, kind, status, body.encode() if body is not None else None, TAKEN, "fetch")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    SnapshotWriter(root).write_snapshot(
        [
            _fetched("https://news.example", "robots.txt", 200, "User-agent: GPTBot\nDisallow: /paywall/\n"),
            _fetched("https://down.example", "robots.txt", 503),
            _fetched("https://gone.example", "robots.txt", 404),
            _fetched("https://gone.example", "tdmrep.json", 200, RESERVE_ALL),
            _fetched("https://open.example", "robots.txt", 200, "User-agent: *\nAllow: /\n"),
            _fetched("https://open.example", "ai.txt", 404),
        ],
        taken_at=TAKEN,
    )
    return root


def _batch(rows: list[dict]) -> pa.RecordBatch:
    columns = ("url", "source_id", "license", "meta", "content_sha256")
    return pa.record_batch({c: pa.array([row.get(c) for row in rows], pa.string()) for c in columns})


def _annotate(detector: ProvenanceDetector, rows: list[dict]) -> list[dict]:
    arrays = detector.annotate(_batch(rows))
    names = [field.name.removeprefix("provenance.") for field in detector.output_fields()]
    return [
        dict(zip(names, values, strict=True)) for values in zip(*(a.to_pylist() for a in arrays), strict=True)
    ]


def test_robots_snapshot_decides_with_the_agent_and_rule_recorded(store: Path) -> None:
    detector = ProvenanceDetector({"snapshot_store": str(store), "agents": ["CCBot", "GPTBot"]})
    rows = _annotate(
        detector,
        [
            {"url": "https://news.example/paywall/story-1", "source_id": "web"},
            {"url": "https://news.example/free/story-2", "source_id": "web"},
            {"url": "https://down.example/page", "source_id": "web"},
            {"url": "https://gone.example/page", "source_id": "web"},
            {"url": "https://elsewhere.example/page", "source_id": "web"},
            {"url": None, "source_id": "books"},
        ],
    )
    paywall, free, down, gone, elsewhere, offline = rows
    robots = json.loads(paywall["robots"])
    assert paywall["optout"] and json.loads(paywall["signals"]) == ["robots.txt"]
    assert robots == {
        "agent": "GPTBot",
        "decision": "disallow",
        "origin": "https://news.example",
        "reason": "rule",
        "rule": "Disallow: /paywall/",
        "snapshot": "20261101T060000Z",
    }
    assert not free["optout"] and json.loads(free["robots"])["decision"] == "allow"
    assert down["optout"] and json.loads(down["robots"])["reason"] == "unreachable-5xx"  # RFC 9309 2.3.1.4
    assert (
        json.loads(gone["signals"]) == ["tdmrep.json"] and json.loads(gone["robots"])["decision"] == "allow"
    )
    assert not elsewhere["optout"] and json.loads(elsewhere["robots"])["decision"] == "not-collected"
    assert offline == {
        "domain": None,
        "optout": False,
        "signals": None,
        "robots": None,
        "blacklisted": None,
        "license": None,
        "license_allowed": None,
    }
    assert detector.describe()["snapshot"] == {"id": "20261101T060000Z", "origins": 4}
    assert pickle.loads(pickle.dumps(detector)).annotate(_batch([{"url": "https://news.example/paywall/x"}]))


def test_page_headers_and_meta_tags_from_the_crawl(store: Path) -> None:
    detector = ProvenanceDetector({"agents": ["GPTBot"]})
    metas = [
        {"http_headers": {"X-Robots-Tag": "noai, noimageai"}},
        {"http_headers": {"X-Robots-Tag": "otherbot: noai"}},
        {"http_headers": {"X-Robots-Tag": "GPTBot: noai"}},
        {"html_meta": {"robots": "noimageai"}},
        {"http_headers": {"tdm-reservation": "1"}},
        {"html_meta": {"tdm-reservation": "1"}},
        {"http_headers": {"Content-Signal": "search=yes, ai-train=no"}},
        {
            "http_headers": {"Content-Signal": "search=yes, ai-train=yes"},
            "html_meta": {"tdm-reservation": "0"},
        },
    ]
    rows = _annotate(detector, [{"url": "https://a.example/p", "meta": json.dumps(m)} for m in metas])
    assert [json.loads(r["signals"]) if r["signals"] else [] for r in rows] == [
        ["x-robots-tag:noai", "x-robots-tag:noimageai"],
        [],
        ["x-robots-tag:noai"],
        ["meta-robots:noimageai"],
        ["tdm-reservation-header"],
        ["tdm-reservation-meta"],
        ["content-signal-header"],
        [],
    ]
    assert [r["optout"] for r in rows] == [True, False, True, False, True, True, True, False]


def test_registry_blacklist_and_licences(tmp_path: Path) -> None:
    registry = tmp_path / "optout.yaml"
    registry.write_text(
        "entries:\n"
        f"  - {{sha256: '{'ab' * 32}', registered_at: 2026-09-01}}\n"
        "  - {prefix: 'https://photos.example/archive/', registered_at: 2026-09-02}\n"
        "  - {domain: press.example, registered_at: 2026-09-03}\n"
        "  - {url: 'https://blog.example/post-1', registered_at: 2026-09-04}\n"
    )
    blacklist = tmp_path / "blacklist.yaml"
    blacklist.write_text(
        "entries:\n"
        "  - {id: pirate, domain: pirate.example, reason: piracy, legal_basis: court order}\n"
        "  - {id: mail, url_pattern: 'https://*/mailarchive/*', reason: leaked mail, legal_basis: GDPR}\n"
        "  - {id: banned-source, source: scraped, reason: no licence, legal_basis: contract ended}\n"
    )
    detector = ProvenanceDetector(
        {
            "optout_registry": str(registry),
            "blacklist": str(blacklist),
            "license_allowlist": ["MIT", "CC0-1.0"],
        }
    )
    rows = _annotate(
        detector,
        [
            {"content_sha256": "ab" * 32, "license": "MIT"},
            {"url": "https://photos.example/archive/1.html", "license": "MIT OR GPL-3.0-only"},
            {"url": "https://news.press.example/a", "license": "MIT AND GPL-3.0-only"},
            {"url": "https://blog.example/post-1#comments", "license": "CC0-1.0"},
            {"url": "https://www.pirate.example/x", "license": None},
            {"url": "https://host.example/mailarchive/2019/1.txt", "source_id": "web"},
            {"url": "https://fine.example/", "source_id": "scraped", "license": "CC0-1.0"},
        ],
    )
    assert [json.loads(r["signals"])[0] if r["signals"] else None for r in rows[:4]] == [
        "registry:sha256",
        "registry:prefix",
        "registry:domain",
        "registry:url",
    ]
    assert [r["blacklisted"] for r in rows] == [None, None, None, None, "pirate", "mail", "banned-source"]
    assert [r["license_allowed"] for r in rows] == [True, True, False, True, False, False, True]
    described = detector.describe()
    assert len(described["optout_registry_sha256"]) == 64 and len(described["blacklist_sha256"]) == 64


def test_default_agents_are_the_bundled_ai_crawler_list() -> None:
    shared = json.loads(require(SHARED_DATA / "optout" / "ai_robots.json").read_text())
    assert bundled_agents() == tuple(sorted(shared))
    detector = ProvenanceDetector({"product_token": "acmebot"})
    assert {"GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "acmebot"} <= set(detector.agents)
    assert len(detector.agents) == len(shared) + 1


def test_bad_params_are_clear_errors(tmp_path: Path, store: Path) -> None:
    with pytest.raises(ValueError, match="snapshot_store: snapshot '2020' not in"):
        ProvenanceDetector({"snapshot_store": str(store), "snapshot": "2020"})
    with pytest.raises(ValueError, match="list licence ids, not expressions"):
        ProvenanceDetector({"license_allowlist": ["MIT OR Apache-2.0"]})
    with pytest.raises(ValueError, match="not a valid SPDX"):
        ProvenanceDetector({"license_allowlist": ["Not-A-Licence"]})
