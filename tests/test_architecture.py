"""The shape of the code: no import cycles, a driver that names no detector, and the worked
example of docs/architecture.md (a detector with a corpus-wide pass) run end to end."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import detectors
from detectors import build_detector
from detectors.passes import CorpusPass, Grouping, SummaryPass
from pipeline.passes import PassPlanError, plan_passes
from schemas.document import DOCUMENT_SCHEMA
from tests.conftest import REPO
from tests.example_detector import CHARS, LengthDetector
from tests.runs import audit, demo_variant

PACKAGES = ("pipeline", "detectors", "schemas", "jobs", "tests")
DRIVER = ("pipeline.run", "pipeline.read", "pipeline.annotate", "pipeline.passes", "pipeline.decide",
          "pipeline.write", "pipeline.engines", "pipeline.tables", "pipeline.layout")  # fmt: skip
"""Modules of the document's path up to the write step: they must not know any detector."""
PROTOCOL = {"detectors", "detectors.base", "detectors.passes"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the tree that ``name`` imports, at any depth (function-level imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
            ]
        else:
            continue
        edges.update(target for target in targets if target in modules and target != name)
    return edges


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None; depth-first with colours."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_the_import_graph_of_the_tree_has_no_cycle(graph: dict[str, set[str]]) -> None:
    assert len(graph) > 100
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_driver_imports_no_detector_family_and_names_no_detector_column(
    graph: dict[str, set[str]],
) -> None:
    driver = [name for name in graph if name.startswith(DRIVER)]
    assert "pipeline.run" in driver and "pipeline.passes.clusters" in driver
    families = sorted({name.split(".")[0] for name in detectors.REGISTRY} | {"hazard"})
    for name in driver:
        family_imports = {t for t in graph[name] if t.startswith("detectors") and t not in PROTOCOL}
        assert not family_imports, f"{name} imports {family_imports}"
        tree = ast.parse(_modules()[name].read_text(encoding="utf-8"))
        literals = [
            n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        named = [s for s in literals if s.startswith(tuple(f"{family}." for family in families))]
        assert not named, f"{name} names detector columns {named}"


def test_passes_run_by_phase_then_in_config_order_and_missing_reads_fail_before_the_run() -> None:
    chosen = [build_detector(name) for name in ("bias", "harm", "dedup.minhash", "dedup.exact")]
    chosen.append(LengthDetector())
    schema = DOCUMENT_SCHEMA
    for detector in chosen:
        for field in detector.output_fields():
            schema = schema.append(field)
    planned = plan_passes(chosen, schema)
    assert [p.name for p in planned.passes] == [
        "dedup.exact",  # keyed
        "dedup.near",  # cluster
        "bias.source_skew", "harm.source_share", "length.zscore",  # summary, in config order
    ]  # fmt: skip
    assert [p.grouping for p in planned.passes] == [
        Grouping.KEY, Grouping.CLUSTER, Grouping.SOURCE, Grouping.SOURCE, Grouping.CORPUS,
    ]  # fmt: skip
    index_pass = planned.index_pass
    assert index_pass is not None
    assert (index_pass.signature, index_pass.bands) == ("dedup.minhash_sig", "dedup.minhash_bands")
    with pytest.raises(PassPlanError, match=r"pass length\.zscore reads length\.chars, which no detector"):
        plan_passes([LengthDetector()], DOCUMENT_SCHEMA)


def test_two_passes_may_not_write_the_same_run_record_key() -> None:
    class Twice(LengthDetector):
        def passes(self) -> tuple[CorpusPass, ...]:
            return (*super().passes(), *super().passes())

    with pytest.raises(PassPlanError, match="run-record key 'length_stats' is taken"):
        plan_passes([Twice()], DOCUMENT_SCHEMA.append(CHARS))


def test_the_worked_example_runs_through_the_real_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(detectors.REGISTRY, "example.length", "tests.example_detector:LengthDetector")
    policy = (REPO / "demo" / "policy.yaml").read_text()
    assert "rules:\n" in policy
    (tmp_path / "example-policy.yaml").write_text(
        policy.replace(
            "rules:\n",
            "rules:\n  - {id: length-outlier, when: 'length.zscore > 3', action: quarantine,"
            " reason: far longer than the corpus}\n",
            1,
        )
    )
    config = demo_variant(
        tmp_path,
        **{
            "detectors:\n": "detectors:\n  - name: example.length\n",
            "policy: policy.yaml": "policy: example-policy.yaml",
        },
    )
    run = audit(config, tmp_path / "run", partitions=3)
    ledger = pq.read_table(
        [run.run_dir / entry["path"] for entry in run.record["ledger_files"]],
        columns=["doc_id", "action", "rule_id", "evidence"],
    )
    evidence = [json.loads(e) if e else {} for e in ledger.column("evidence").to_pylist()]
    chars = [e["length.chars"] for e in evidence if e.get("length.chars") is not None]
    stats = run.record["length_stats"]
    mean = sum(chars) / len(chars)
    stdev = (sum(n * n for n in chars) / len(chars) - mean * mean) ** 0.5
    assert stats == {"documents": len(chars), "mean": round(mean, 3), "stdev": round(stdev, 3)}
    assert len(chars) > 150
    for entry in evidence:
        if entry.get("length.chars") is not None:
            assert entry["length.zscore"] == round((entry["length.chars"] - mean) / stdev, 4)
    outliers = ledger.filter(pc.equal(ledger.column("rule_id"), "length-outlier"))
    assert outliers.num_rows >= 1
    assert set(outliers.column("action").to_pylist()) == {"quarantine"}
    scores = {
        d: e.get("length.zscore") for d, e in zip(ledger.column("doc_id").to_pylist(), evidence, strict=True)
    }
    assert all(scores[d] > 3 for d in outliers.column("doc_id").to_pylist())
    assert isinstance(LengthDetector().passes()[0], SummaryPass)
