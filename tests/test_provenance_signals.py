"""Page-level reservations, registries, blacklists and the licence allowlist, one rule at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.provenance.signals import (
    content_signal_denies_training,
    robots_directives,
    robots_txt_content_signal,
    tdmrep_reserves,
    tdmrep_rules,
)
from schemas.loading import ConfigError, load_yaml_model
from schemas.provenance import Blacklist, OptOutRegistry
from schemas.sources import licence_allowed

AGENTS = ["GPTBot", "CCBot", "corpusaudit"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("noai", {"noai"}),
        ("noai, noimageai", {"noai", "noimageai"}),
        ("GPTBot: noai", {"noai"}),
        ("gptbot: NOAI", {"noai"}),  # agent and directive names are case-insensitive
        ("googlebot: noindex", set()),  # scoped to a crawler that is not ours
        ("otherbot: noai, nofollow, CCBot: noai", {"noai"}),
        ("unavailable_after: 25 Jun 2010, noai", {"unavailable_after: 25 jun 2010", "noai"}),
        ("max-snippet: 20", {"max-snippet: 20"}),
    ],
)
def test_robots_directives_follow_agent_scopes(value: str, expected: set[str]) -> None:
    assert robots_directives(value, AGENTS) == expected


def test_content_signal_in_headers_and_robots_txt() -> None:
    assert content_signal_denies_training("search=yes, ai-train=no")
    assert not content_signal_denies_training("search=yes, ai-train=yes, ai-input=no")
    robots = b"# signals\nUser-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"
    assert robots_txt_content_signal(robots)
    assert not robots_txt_content_signal(b"User-agent: *\nDisallow: /private\n")


def test_tdmrep_first_matching_location_decides() -> None:
    rules = tdmrep_rules(
        b'[{"location": "/free/*", "tdm-reservation": 0},'
        b' {"location": "/*.pdf$", "tdm-reservation": 1},'
        b' {"location": "/*", "tdm-reservation": 1, "tdm-policy": "https://example.com/policy.json"}]'
    )
    assert not tdmrep_reserves(rules, "https://example.com/free/story.html")
    assert tdmrep_reserves(rules, "https://example.com/papers/a.pdf")
    assert tdmrep_reserves(rules, "https://example.com/news/today")
    assert tdmrep_rules(b"not json") == [] and tdmrep_rules(b'{"location": "/"}') == []


def test_licence_allowlist_reads_spdx_expressions() -> None:
    allowed = frozenset({"CC0-1.0", "cc-by-4.0", "MIT", "Apache-2.0"})
    assert licence_allowed("CC-BY-4.0", allowed)
    assert licence_allowed("MIT OR GPL-3.0-only", allowed)
    assert not licence_allowed("MIT AND GPL-3.0-only", allowed)
    assert licence_allowed("Apache-2.0 WITH LLVM-exception", allowed)
    assert not licence_allowed("CC-BY-NC-4.0", allowed)
    assert not licence_allowed("LicenseRef-Web-Crawl-Unverified", allowed)


def test_registry_and_blacklist_files_are_validated(tmp_path: Path) -> None:
    registry = tmp_path / "optout.yaml"
    registry.write_text(
        "entries:\n"
        "  - {domain: Example.ORG., registered_at: 2026-10-01, requested_by: Example Press}\n"
        "  - {url: 'https://a.example/p', prefix: 'https://a.example/', registered_at: 2026-10-02}\n"
    )
    with pytest.raises(ConfigError, match=r"entries\[1\]: Value error, give exactly one of url, prefix"):
        load_yaml_model(registry, OptOutRegistry)
    blacklist = tmp_path / "blacklist.yaml"
    blacklist.write_text("entries:\n  - {id: pirate, domain: pirate.example, reason: copyright piracy}\n")
    with pytest.raises(ConfigError, match=r"legal_basis"):
        load_yaml_model(blacklist, Blacklist)
