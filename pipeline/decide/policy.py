"""Evaluate the policy: ordered rules over annotation columns, first match decides.

Rule expressions (parsed and restricted in ``schemas.policy``) compile to vectorised
``pyarrow.compute`` calls over whole batches. Nulls never match: a comparison with a missing
value is false, so a rule only fires on evidence that is actually there.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from schemas.document import is_annotation
from schemas.ledger import Action
from schemas.loading import ConfigError
from schemas.policy import Policy, parse_expression

Evaluator = Callable[[pa.Table], Any]

_COMPARE = {
    ast.Eq: pc.equal,
    ast.NotEq: pc.not_equal,
    ast.Lt: pc.less,
    ast.LtE: pc.less_equal,
    ast.Gt: pc.greater,
    ast.GtE: pc.greater_equal,
}
_NULL_NAMES = {"None", "null"}
LIST_OF = "list of "
DECISION_FIELDS = [
    pa.field("action", pa.string()),
    pa.field("rule_id", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("evidence", pa.string()),
]
REDACTIONS_SUFFIX = ".redactions"
"""Detectors that can redact add ``<family>.redactions``: JSON ``[[start, end, placeholder], ...]``
in character offsets of the text; the ``redact`` action applies all of them."""


def _column_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _column_name(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def referenced_columns(when: str) -> list[str]:
    """The columns a rule expression reads, sorted; ``None`` and ``null`` are values, not columns.

    Reports name what a rule filters on by these (``dedup.exact_dup_of`` is a dedup rule), since
    rule ids are the policy author's own."""
    tree = parse_expression(when)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names = {
        _column_name(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute) and id(node) not in inner
    }
    return sorted(name for name in names if name is not None and name not in _NULL_NAMES)


def kind_of(data_type: pa.DataType) -> str:
    """What a rule can do with a column: compare it as a ``string``, ``number`` or ``bool``, look a
    value up in it (``list of string``: ``'user' in pii.roles``), or only test it against None
    (``other``: timestamps, binary, other lists)."""
    if pa.types.is_list(data_type) and kind_of(data_type.value_type) in ("string", "number"):
        return f"{LIST_OF}{kind_of(data_type.value_type)}"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_boolean(data_type):
        return "bool"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "number"
    return "other"


def _literal_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else "other"


def _shown(node: ast.expr) -> str:
    return _column_name(node) or ast.unparse(node)


class _Compiler:
    """Turns an expression tree into a function of a table, checking names and types up front.

    Every column's type is known before the run (the document schema and the fields each detector
    and pass declares), so comparing a string column with a number, ordering booleans, or using a
    number as a condition fails here, naming the rule, instead of as an Arrow error mid-run.
    """

    def __init__(self, columns: Sequence[str], where: str, types: Mapping[str, pa.DataType] | None) -> None:
        self.columns = set(columns)
        self.where = where
        self.kinds = {name: kind_of(t) for name, t in (types or {}).items()}

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: {message}")

    def kind(self, node: ast.expr) -> str | None:
        """The kind of a sub-expression's value, None when types are not known."""
        if isinstance(node, ast.BoolOp | ast.Compare) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            return "bool"
        if isinstance(node, ast.UnaryOp):
            return "number"
        if isinstance(node, ast.Constant):
            return _literal_kind(node.value)
        if isinstance(node, ast.List | ast.Tuple):
            return "list"
        name = _column_name(node)
        if name in _NULL_NAMES:
            return "null"
        if not self.kinds:
            return None
        return self.kinds.get(name or "", "other")

    def condition(self, node: ast.expr) -> None:
        """A value used as true/false must be a boolean."""
        kind = self.kind(node)
        if kind not in (None, "bool"):
            raise self.fail(
                f"{_shown(node)} is a {kind}, not a condition; compare it (e.g. {_shown(node)} == ...)"
            )

    def compile_rule(self, tree: ast.Expression) -> Evaluator:
        self.condition(tree.body)
        return self.compile(tree)

    def compile(self, node: ast.AST) -> Evaluator:
        if isinstance(node, ast.Expression):
            return self.compile(node.body)
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.condition(value)
            parts = [self.compile(value) for value in node.values]
            combine = pc.and_kleene if isinstance(node.op, ast.And) else pc.or_kleene

            def boolop(table: pa.Table) -> Any:
                result = parts[0](table)
                for part in parts[1:]:
                    result = combine(result, part(table))
                return result

            return boolop
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.Not):
                self.condition(node.operand)
            elif self.kind(node.operand) not in (None, "number"):
                raise self.fail(f"-{_shown(node.operand)}: only numbers can be negated")
            if isinstance(node.op, ast.Not):
                return lambda table: pc.invert(operand(table))
            return lambda table: pc.negate(operand(table))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Constant):
            value = node.value
            return lambda table: value
        if isinstance(node, ast.List | ast.Tuple):
            values = [self._literal(element) for element in node.elts]
            return lambda table: values
        name = _column_name(node)  # type: ignore[arg-type]
        if name is not None:
            if name in _NULL_NAMES:
                return lambda table: None
            if name not in self.columns:
                available = ", ".join(sorted(c for c in self.columns if not c.startswith("_")))
                raise self.fail(f"unknown column {name!r}; available columns: {available}")
            return lambda table: table.column(name)
        raise self.fail(f"unsupported expression {ast.dump(node)}")

    def _literal(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        raise self.fail("lists in rules may hold only literal values")

    def _compare(self, node: ast.Compare) -> Evaluator:
        steps: list[Evaluator] = []
        left_node = node.left
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            steps.append(self._one_compare(left_node, op, right_node))
            left_node = right_node

        def chained(table: pa.Table) -> Any:
            result = steps[0](table)
            for step in steps[1:]:
                result = pc.and_kleene(result, step(table))
            return result

        return chained

    def _one_compare(self, left_node: ast.expr, op: ast.cmpop, right_node: ast.expr) -> Evaluator:
        left = self.compile(left_node)
        is_null_literal = (isinstance(right_node, ast.Constant) and right_node.value is None) or (
            _column_name(right_node) in _NULL_NAMES
        )
        if isinstance(op, ast.Is | ast.IsNot) or (is_null_literal and isinstance(op, ast.Eq | ast.NotEq)):
            if not is_null_literal:
                raise self.fail("'is' / 'is not' only compare with None")
            negate = isinstance(op, ast.IsNot | ast.NotEq)
            return lambda table: pc.is_valid(left(table)) if negate else pc.is_null(left(table))
        right = self.compile(right_node)
        self._check_compare(left_node, op, right_node)
        if isinstance(op, ast.In | ast.NotIn) and not isinstance(right_node, ast.List | ast.Tuple):
            return self._contains(left_node, right, isinstance(op, ast.NotIn))
        if isinstance(op, ast.In | ast.NotIn):
            invert = isinstance(op, ast.NotIn)

            def membership(table: pa.Table) -> Any:
                values = left(table)
                found = pc.is_in(values, value_set=pa.array(right(table), type=values.type))
                # keep nulls null so that a missing value matches neither 'in' nor 'not in'
                found = pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), found)
                return pc.invert(found) if invert else found

            return membership
        function = _COMPARE[type(op)]
        return lambda table: function(left(table), right(table))

    def _contains(self, left_node: ast.expr, right: Evaluator, invert: bool) -> Evaluator:
        """``'user' in pii.roles``: whether each row's list holds the value (null for a null list)."""
        if not isinstance(left_node, ast.Constant):
            raise self.fail(
                f"only a literal value can be looked up in a list column, not {_shown(left_node)}"
            )
        value = left_node.value

        def contains(table: pa.Table) -> Any:
            lists = right(table)
            lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
            values = pc.list_flatten(lists)
            matches = pc.equal(values, pa.scalar(value, values.type))
            holding = pc.filter(pc.list_parent_indices(lists), matches)
            found = pc.is_in(pa.array(range(len(lists)), pa.int64()), value_set=holding.cast(pa.int64()))
            found = pc.if_else(pc.is_null(lists), pa.scalar(None, pa.bool_()), found)
            return pc.invert(found) if invert else found

        return contains

    def _check_compare(self, left_node: ast.expr, op: ast.cmpop, right_node: ast.expr) -> None:
        left, right = self.kind(left_node), self.kind(right_node)
        if left is None or right is None:  # column types unknown (a policy compiled without them)
            return
        if isinstance(op, ast.In | ast.NotIn) and right.startswith(LIST_OF):
            if left != right.removeprefix(LIST_OF):
                element = right.removeprefix(LIST_OF)
                raise self.fail(f"{_shown(right_node)} is a {right}; look up a {element} in it")
            return
        if isinstance(op, ast.In | ast.NotIn):
            if right != "list":
                raise self.fail(f"'in' needs a list of values, e.g. {_shown(left_node)} in ['a', 'b']")
            elements = {self.kind(element) for element in right_node.elts}  # type: ignore[attr-defined]
            wrong = sorted(elements - {left})
            if left == "other" or wrong:
                raise self.fail(
                    f"{_shown(left_node)} is a {left}; its list holds {', '.join(wrong) or left} values"
                )
            return
        if "other" in (left, right) or "list" in (left, right) or left != right or left.startswith(LIST_OF):
            raise self.fail(
                f"compares {_shown(left_node)} ({left}) with {_shown(right_node)} ({right}); "
                "both sides must be strings, numbers or booleans alike"
            )
        if left == "bool" and not isinstance(op, ast.Eq | ast.NotEq):
            raise self.fail(f"{_shown(left_node)} is a boolean: compare it with == True or == False")


@dataclass(frozen=True)
class CompiledRule:
    id: str
    action: str
    reason: str
    evaluate: Evaluator


class CompiledPolicy:
    """A policy bound to the columns of one annotated schema."""

    def __init__(
        self,
        policy: Policy,
        columns: Sequence[str],
        source: str = "policy",
        evidence_columns: Sequence[str] | None = None,
        types: Mapping[str, pa.DataType] | None = None,
    ) -> None:
        self.policy = policy
        self._args = (
            policy,
            tuple(columns),
            source,
            None if evidence_columns is None else tuple(evidence_columns),
            None if types is None else dict(types),
        )
        self.rules = [
            CompiledRule(
                rule.id,
                rule.action,
                rule.reason,
                _Compiler(columns, f"{source}: rules[{index}] ({rule.id}).when", types).compile_rule(
                    parse_expression(rule.when)
                ),
            )
            for index, rule in enumerate(policy.rules)
        ]
        # evidence: every annotation, unless the caller names the ones worth recording
        self.evidence_columns = sorted(evidence_columns or (c for c in columns if is_annotation(c)))

    def __reduce__(self) -> tuple[type[CompiledPolicy], tuple[Any, ...]]:
        """Compiled rules are closures; workers recompile them from the policy instead."""
        return (CompiledPolicy, self._args)

    def _matches(self, rule: CompiledRule, table: pa.Table) -> list[bool]:
        result = rule.evaluate(table)
        if isinstance(result, pa.ChunkedArray | pa.Array):
            return [bool(v) for v in pc.fill_null(result, False).to_pylist()]
        return [bool(result)] * table.num_rows

    def decide(self, table: pa.Table) -> dict[str, list[Any]]:
        """Action, rule id, reason and evidence for every row (``error`` for unreadable records)."""
        n = table.num_rows
        errors = table.column("read_error").to_pylist()
        actions: list[str | None] = [Action.ERROR.value if e is not None else None for e in errors]
        rule_ids: list[str | None] = ["read-error" if e is not None else None for e in errors]
        reasons: list[str | None] = list(errors)
        for rule in self.rules:
            if all(a is not None for a in actions):
                break
            for i, matched in enumerate(self._matches(rule, table)):
                if matched and actions[i] is None:
                    actions[i], rule_ids[i], reasons[i] = rule.action, rule.id, rule.reason
        for i in range(n):
            if actions[i] is None:
                actions[i], rule_ids[i], reasons[i] = (
                    self.policy.default_action,
                    "default",
                    self.policy.default_reason,
                )
        return {
            "action": actions,
            "rule_id": rule_ids,
            "reason": reasons,
            "evidence": self._evidence(table),
        }

    def _evidence(self, table: pa.Table) -> list[str]:
        """Canonical JSON of the non-null annotations of each row: what the decision saw."""
        columns = {name: table.column(name).to_pylist() for name in self.evidence_columns}
        rows = []
        for i in range(table.num_rows):
            row = {name: values[i] for name, values in columns.items() if values[i] is not None}
            rows.append(json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
        return rows


def apply_redactions(text: str, redaction_lists: Sequence[str | None]) -> str:
    """Replace every redacted span by its placeholder, right to left so offsets stay valid."""
    spans: list[tuple[int, int, str]] = []
    for encoded in redaction_lists:
        if encoded:
            spans.extend((int(s), int(e), str(p)) for s, e, p in json.loads(encoded))
    merged: list[tuple[int, int, str]] = []
    for start, end, placeholder in sorted(spans):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_placeholder = merged[-1]
            merged[-1] = (last_start, max(last_end, end), last_placeholder)
        else:
            merged.append((start, end, placeholder))
    for start, end, placeholder in reversed(merged):
        text = text[:start] + placeholder + text[end:]
    return text
