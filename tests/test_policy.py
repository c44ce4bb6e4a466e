"""The policy engine: expression compilation, first-match order, null semantics, redaction."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from pydantic import ValidationError

from pipeline.decide.policy import CompiledPolicy, apply_redactions
from schemas.loading import ConfigError
from schemas.policy import Policy

COLUMNS = ["doc_id", "source_id", "read_error", "quality.lang", "quality.lang_score", "dedup.exact_dup_of"]


def _table() -> pa.Table:
    return pa.table(
        {
            "doc_id": ["a", "b", "c", "d", "e"],
            "source_id": ["web", "web", "books", "books", "web"],
            "read_error": [None, None, None, None, "invalid JSON: x"],
            "quality.lang": ["en", "fr", None, "en", None],
            "quality.lang_score": [0.99, 0.4, None, 0.95, None],
            "dedup.exact_dup_of": [None, None, None, "a", None],
        }
    )


def _policy(*rules: tuple[str, str, str]) -> CompiledPolicy:
    policy = Policy.model_validate(
        {"rules": [{"id": i, "when": w, "action": a, "reason": f"because {i}"} for i, w, a in rules]}
    )
    return CompiledPolicy(policy, COLUMNS)


def test_first_matching_rule_decides_and_errors_bypass_rules() -> None:
    decision = _policy(
        ("dup", "dedup.exact_dup_of is not None", "drop"),
        ("english", "quality.lang == 'en'", "quarantine"),
        ("unsure", "quality.lang_score < 0.5 and source_id == 'web'", "quarantine"),
    ).decide(_table())
    assert decision["action"] == ["quarantine", "quarantine", "keep", "drop", "error"]
    assert decision["rule_id"] == ["english", "unsure", "default", "dup", "read-error"]
    assert decision["reason"][3] == "because dup"
    assert decision["reason"][4] == "invalid JSON: x"


def test_nulls_match_neither_in_nor_not_in() -> None:
    decision = _policy(("lang", "quality.lang not in ['en']", "quarantine")).decide(_table())
    # c has no language: a missing value is no evidence either way
    assert decision["action"][:4] == ["keep", "quarantine", "keep", "keep"]
    decision = _policy(("missing", "quality.lang is None", "quarantine")).decide(_table())
    assert decision["action"][:4] == ["keep", "keep", "quarantine", "keep"]


def test_not_and_or_and_chained_comparison() -> None:
    decision = _policy(
        ("band", "0.5 < quality.lang_score < 0.97", "quarantine"),
        ("either", "not (source_id == 'web') or quality.lang == 'fr'", "drop"),
    ).decide(_table())
    assert decision["action"][:4] == ["keep", "drop", "drop", "quarantine"]


def test_evidence_is_canonical_json_of_present_annotations() -> None:
    decision = _policy().decide(_table())
    assert json.loads(decision["evidence"][3]) == {
        "dedup.exact_dup_of": "a",
        "quality.lang": "en",
        "quality.lang_score": 0.95,
    }
    assert decision["evidence"][2] == "{}"


def test_unknown_column_is_named_in_the_error() -> None:
    with pytest.raises(ConfigError, match=r"rules\[0\] \(\S+\)\.when: unknown column 'pii\.count'"):
        _policy(("x", "pii.count > 3", "drop"))


@pytest.mark.parametrize(
    "expression", ["__import__('os').system('x')", "quality.lang.upper()", "x[0]", "1 +"]
)
def test_unsafe_or_broken_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate({"rules": [{"id": "r", "when": expression, "action": "drop", "reason": "r"}]})


def test_redactions_apply_right_to_left_and_merge_overlaps() -> None:
    text = "mail bob@example.com or call 555-0100 now"
    spans = [json.dumps([[5, 20, "<EMAIL>"]]), json.dumps([[29, 37, "<PHONE>"], [30, 33, "<X>"]])]
    assert apply_redactions(text, spans) == "mail <EMAIL> or call <PHONE> now"
    assert apply_redactions(text, [None]) == text
