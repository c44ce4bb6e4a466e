"""The policy (``policy.yaml``): ordered rules that turn annotations into actions.

A rule is ``when <expression> -> action``; the first rule whose expression is true for a
document decides it, and its id and reason go into the ledger. Expressions use a small,
safe subset of Python syntax over column names (``dedup.exact_dup_of is not None``,
``quality.lang not in ['en', 'zh']``, ``quality.lang_score < 0.5 and source_id == 'forum'``),
compiled to vectorised Arrow compute by ``pipeline.decide.policy``.
"""

from __future__ import annotations

import ast
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.loading import check_unique

RuleAction = Literal["keep", "redact", "drop", "quarantine", "error"]
"""``error``: the record is unusable as input (a repeated record id), counted with unreadable records."""

ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.Name, ast.Attribute, ast.Constant, ast.List, ast.Tuple, ast.Load,
)  # fmt: skip


MAX_EXPRESSION_CHARS = 2000
MAX_EXPRESSION_DEPTH = 32
"""Limits that keep parsing and compiling a rule far from Python's recursion limit."""


def _depth(tree: ast.AST) -> int:
    """Nesting depth of a tree, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse_expression(text: str) -> ast.Expression:
    """Parse a rule expression and reject any syntax outside the allowed subset, or too long or deep."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ValueError(
            f"expression {shown!r} is {len(text)} characters; rules allow {MAX_EXPRESSION_CHARS}"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse expression {shown!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError(f"expression {shown!r} is nested too deeply to parse") from None
    if _depth(tree) > MAX_EXPRESSION_DEPTH:
        raise ValueError(f"expression {shown!r} nests deeper than {MAX_EXPRESSION_DEPTH} levels")
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ValueError(f"expression {shown!r} uses {type(node).__name__}, which rules do not allow")
    return tree


class Rule(BaseModel):
    """One ordered rule."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    when: str = Field(min_length=1)
    action: RuleAction
    reason: str = Field(min_length=1)

    @field_validator("when")
    @classmethod
    def _parsable(cls, value: str) -> str:
        parse_expression(value)
        return value


class Policy(BaseModel):
    """The whole ``policy.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    rules: list[Rule] = Field(default_factory=list)
    default_action: RuleAction = "keep"
    default_reason: str = "no rule matched"

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        check_unique([rule.id for rule in rules], "rule ids")
        return rules
