"""Great Expectations suites over a finished run: shards, quarantine and ledger checked as data.

The suites are data (``schemas/expectations/*.json``, Great Expectations suite JSON, each naming
in ``meta.asset`` the table it checks). What depends on the run is written as a suite parameter,
``{"$PARAMETER": name}``, and filled from the run record and the config (:func:`run_parameters`):
expected row counts, the allowed languages, the pii detector's patterns. An expectation whose
parameter the run does not supply (no ``allowed_languages``, no ``pii`` detector) is skipped and
listed as skipped, never silently passed.

Each expectation has a scope, written in its ``meta``. Row-local expectations (the default: not
null, match a regex, value in a set, anything one row answers alone) are validated one output file
at a time, reading only ``doc_id`` and the columns they name, and their results are added up
across files. They are the ones that read ``text``, so memory stays bounded by one file however
large the corpus. An expectation whose answer depends on all rows (uniqueness, row counts,
distinct values, statistics, ordering) is marked ``"meta": {"scope": "table"}`` and runs once on
a table of ``doc_id`` and the columns it names, across all files; keep such columns small. A suite
leaving a known table-level type (:data:`TABLE_LEVEL_TYPES`) unmarked is refused when the run is
planned; an expectation type not listed there that is not row-local must be marked all the same.

Results go into ``run.json`` without the values Great Expectations reports for failing rows: for
the text column those are personal data. A failure is recorded as counts and the ``doc_id`` of
the first failing documents.

Great Expectations takes seconds to import, so it is imported only when a run has checks.
"""

from __future__ import annotations

import gc
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import regex

from pipeline.layout import DEST_QUARANTINE, DEST_SHARDS
from pipeline.write.quarantine_cipher import QuarantineCipher, open_output
from schemas.config import ChecksSpec
from schemas.document import SHARD_SCHEMA
from schemas.ledger import COUNT_NAMES, LEDGER_SCHEMA, Action
from schemas.loading import ConfigError

SUITES_DIR = Path(__file__).resolve().parents[2] / "schemas" / "expectations"
LEDGER = "ledger"
ASSET_COLUMNS: dict[str, list[str]] = {
    DEST_SHARDS: ["doc_id", "text", "lang"],
    DEST_QUARANTINE: ["doc_id", "text", "lang"],
    LEDGER: ["doc_id", "action"],
}
"""The tables a suite can check and the columns they offer; each read loads only the columns needed."""
DOC_ID = "doc_id"
Scope = Literal["row", "table"]
ROW: Scope = "row"
TABLE: Scope = "table"
TABLE_LEVEL_TYPES = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_table_row_count_to_equal",
        "expect_table_row_count_to_be_between",
        "expect_table_row_count_to_equal_other_table",
        "expect_column_distinct_values_to_be_in_set",
        "expect_column_distinct_values_to_contain_set",
        "expect_column_distinct_values_to_equal_set",
        "expect_column_unique_value_count_to_be_between",
        "expect_column_proportion_of_unique_values_to_be_between",
        "expect_column_proportion_of_non_null_values_to_be_between",
        "expect_column_most_common_value_to_be_in_set",
        "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_mean_to_be_between",
        "expect_column_median_to_be_between",
        "expect_column_stdev_to_be_between",
        "expect_column_sum_to_be_between",
        "expect_column_quantile_values_to_be_between",
        "expect_column_kl_divergence_to_be_less_than",
        "expect_column_bootstrapped_ks_test_p_value_to_be_greater_than",
        "expect_column_chisquare_test_p_value_to_be_greater_than",
        "expect_column_parameterized_distribution_ks_test_p_value_to_be_greater_than",
        "expect_column_pair_cramers_phi_value_to_be_less_than",
        "expect_column_value_z_scores_to_be_less_than",
        "expect_column_values_to_not_be_outliers",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
    }
)
"""Expectation types whose answer depends on all rows: validated file by file they would pass a
duplicate split across two files or compare a count with one file's rows, so a suite must mark
them ``"meta": {"scope": "table"}``. Types not listed are taken as row-local unless marked."""
COLUMN_KWARGS = ("column", "column_A", "column_B")
PII_DETECTOR = "pii"
COUNT_KEYS = ("element_count", "missing_count", "unexpected_count")
RESULT_KEYS = (*COUNT_KEYS, "unexpected_percent")
"""Result fields kept in the run record: counts only, never the unexpected values themselves."""
DOC_IDS_SHOWN = 20
COLLECT_BYTES = 16 * 1024 * 1024
"""Bytes read between garbage collections. Great Expectations' validators hold reference cycles, so
a file's frame and intermediates outlive it until the cyclic collector runs and would pile up
across files; a full collection costs a fraction of a second beside the loaded detectors, so it
runs once this much has been read rather than after every small file."""
_INLINE_FLAGS = ((regex.ASCII, "a"), (regex.IGNORECASE, "i"), (regex.MULTILINE, "m"), (regex.DOTALL, "s"))
"""The ``regex`` flags the recognisers are built with, as inline flags both ``regex`` and ``re`` read."""


class ChecksFailed(RuntimeError):
    """Expectations failed on a run configured with ``checks.fail_run``; the outputs are kept."""


@dataclass(frozen=True)
class CheckPlan:
    """Suites loaded and parameters prepared before a run starts, so a bad suite fails early."""

    spec: ChecksSpec
    suites: list[tuple[str, dict[str, Any]]]
    """(where the suite came from, its JSON)"""
    pii_patterns: list[str] | None


def _load_suite(entry: str, base_dir: Path) -> tuple[str, dict[str, Any]]:
    shipped = SUITES_DIR / f"{entry}.json"
    path = shipped if shipped.exists() and "/" not in entry else Path(entry).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.json")))
        raise ConfigError(f"checks.suites: {entry!r} is neither a shipped suite ({known}) nor a suite file")
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"checks.suites: {path}: not valid JSON: {exc}") from None
    asset = suite.get("meta", {}).get("asset")
    if asset not in ASSET_COLUMNS or not suite.get("name"):
        raise ConfigError(
            f"checks.suites: {path}: a suite needs a name and meta.asset, one of {', '.join(ASSET_COLUMNS)}"
        )
    for expectation in suite.get("expectations", []):
        scope = _scope(expectation)
        named = f"{expectation.get('type')}({expectation.get('kwargs', {}).get('column', 'table')})"
        if scope not in (ROW, TABLE):
            raise ConfigError(
                f'checks.suites: {path}: {named}: meta.scope is "{ROW}" or "{TABLE}", not {scope!r}'
            )
        if expectation.get("type") in TABLE_LEVEL_TYPES and scope != TABLE:
            raise ConfigError(
                f"checks.suites: {path}: {named} depends on all rows, so it cannot be checked file by "
                f'file: mark it "meta": {{"scope": "{TABLE}"}}'
            )
    return (f"schemas/expectations/{path.name}" if path == shipped else str(path)), suite


def pii_patterns(types: list[str], detector_params: dict[str, Any]) -> list[str]:
    """The pii detector's own recogniser patterns for ``types``, as Python ``re`` expressions.

    Only patterns whose base score reaches the detector's ``score_threshold`` are used: a lower
    score means the recogniser needs a context word before a match counts, which a pattern
    scanned over the shards cannot see. Each pattern gets its recogniser's flags inline, since
    Great Expectations' pandas engine runs each expression with no flags of its own.
    """
    from presidio_analyzer import PatternRecognizer  # with the recognisers: loaded only for pii runs

    from detectors.pii.detector import ENTITY_TYPES
    from detectors.pii.recognizers import RECOGNIZERS

    unknown = sorted(set(types) - set(ENTITY_TYPES))
    if unknown:
        raise ConfigError(
            f"checks.pii_types: unknown type(s) {', '.join(unknown)}; known: {', '.join(ENTITY_TYPES)}"
        )
    reported = detector_params.get("entities")
    wanted = [t for t in types if reported is None or t in reported]
    patterns = []
    for recognizer_class in RECOGNIZERS:
        recognizer = recognizer_class(supported_language="en")
        if not isinstance(recognizer, PatternRecognizer) or recognizer.supported_entities[0] not in wanted:
            continue
        flags = "".join(letter for flag, letter in _INLINE_FLAGS if recognizer.regex_flags & flag)
        for pattern in recognizer.patterns:
            if pattern.score >= detector_params["score_threshold"]:
                expression = f"(?{flags}){pattern.regex}"
                try:
                    re.compile(expression)  # pandas runs Python's re; a pattern it cannot run fails here
                except re.error as exc:
                    raise ConfigError(
                        f"checks.pii_types: the {pattern.name!r} pattern is not re-compatible: {exc}"
                    ) from None
                patterns.append(expression)
    return patterns


def plan_checks(spec: ChecksSpec, base_dir: Path, detectors: list[dict[str, Any]]) -> CheckPlan:
    """Load the configured suites and the pii patterns; :class:`ConfigError` on anything wrong.

    ``detectors`` are the run's detector descriptions (``Detector.describe``), as in ``run.json``.
    """
    suites = [_load_suite(entry, base_dir) for entry in spec.suites]
    pii = next((d for d in detectors if d["name"] == PII_DETECTOR), None)
    return CheckPlan(spec, suites, pii_patterns(spec.pii_types, pii["params"]) if pii is not None else None)


def run_parameters(plan: CheckPlan, record: dict[str, Any]) -> dict[str, Any]:
    """Suite parameters from the run record's counts and the plan; absent ones skip expectations."""
    counts = record["counts"]
    parameters: dict[str, Any] = {
        "shard_rows": counts["kept"] + counts["redacted"],
        "quarantine_rows": counts["quarantined"],
        "read": counts["read"],
        "accounted": sum(counts[name] for name in COUNT_NAMES.values()),
        "actions": [action.value for action in Action],
    }
    if plan.spec.allowed_languages is not None:
        parameters["allowed_languages"] = plan.spec.allowed_languages
    if plan.pii_patterns:
        parameters["pii_patterns"] = plan.pii_patterns
    return parameters


def _asset_files(run_dir: Path, record: dict[str, Any], asset: str) -> tuple[list[Path], pa.Schema]:
    """The asset's files in the order the run wrote them, and its schema for when there are none."""
    if asset == LEDGER:
        return [run_dir / entry["path"] for entry in record["ledger_files"]], LEDGER_SCHEMA
    return [run_dir / entry["path"] for entry in record["outputs"] if entry["kind"] == asset], SHARD_SCHEMA


def _read(
    run_dir: Path, paths: list[Path], schema: pa.Schema, columns: list[str], cipher: QuarantineCipher | None
) -> pa.Table:
    """``columns`` of ``paths`` as one table (encrypted quarantine shards decrypted in memory); with
    no files, the empty table is validated."""
    tables = [
        open_output(run_dir, path.relative_to(run_dir).as_posix(), cipher).read(columns) for path in paths
    ]
    return pa.concat_tables(tables) if tables else schema.empty_table().select(columns)


def _scope(expectation: dict[str, Any]) -> Scope:
    """Row-local unless marked, so the shipped and most added expectations read one file at a time."""
    return expectation.get("meta", {}).get("scope", ROW)


def _columns(asset: str, expectations: list[dict[str, Any]]) -> list[str]:
    """The asset's columns ``expectations`` name, with ``doc_id`` to name failing rows, in file order."""
    named = {DOC_ID}
    for expectation in expectations:
        kwargs = expectation["kwargs"]
        named.update(kwargs[key] for key in COLUMN_KWARGS if isinstance(kwargs.get(key), str))
        named.update(kwargs.get("column_list") or [])
    return [column for column in ASSET_COLUMNS[asset] if column in named]


def _parameter_names(value: Any) -> set[str]:
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            return {value["$PARAMETER"]}
        return set().union(*(_parameter_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_parameter_names(v) for v in value))
    return set()


def _facts(outcome: Any) -> dict[str, Any]:
    """What the run record keeps of one result: counts, a numeric observed value, failing doc ids."""
    result = outcome.result or {}
    facts: dict[str, Any] = {
        "success": bool(outcome.success),
        **{key: result[key] for key in RESULT_KEYS if key in result},
    }
    observed = result.get("observed_value")
    if isinstance(observed, int | float) and not isinstance(observed, bool):
        facts["observed_value"] = observed
    failing = [row[DOC_ID] for row in result.get("partial_unexpected_index_list") or [] if DOC_ID in row]
    if failing:
        facts["unexpected_doc_ids"] = failing[:DOC_IDS_SHOWN]
    if outcome.exception_info and outcome.exception_info.get("raised_exception"):
        facts["exception"] = str(outcome.exception_info.get("exception_message", ""))[:500]
    return facts


def _combine(each: list[dict[str, Any]], mostly: float | None) -> dict[str, Any]:
    """One expectation's facts over the frames it was validated on (each file in order, or the one
    table), as Great Expectations reports them for their concatenation: counts summed, the
    percentage and a ``mostly`` threshold recomputed from the sums (the threshold is over all rows;
    one file over it does not fail the whole), failing doc ids in file order, an observed value
    only when every file reports the same one.
    """
    combined: dict[str, Any] = {"success": all(facts["success"] for facts in each)}
    for key in COUNT_KEYS:
        if all(key in facts for facts in each):
            combined[key] = sum(facts[key] for facts in each)
    considered = combined.get("element_count", 0) - combined.get("missing_count", 0)
    unexpected = combined.get("unexpected_count")
    if "unexpected_percent" in each[0] and unexpected is not None:
        # Great Expectations' percentage: of the non-missing rows when it counts missing ones
        combined["unexpected_percent"] = unexpected / considered * 100 if considered > 0 else None
    if mostly is not None and unexpected is not None:
        combined["success"] = considered == 0 or (considered - unexpected) / considered >= mostly
    observed = {facts.get("observed_value") for facts in each}
    if len(observed) == 1 and None not in observed:
        combined["observed_value"] = observed.pop()
    failing = [doc_id for facts in each for doc_id in facts.get("unexpected_doc_ids", [])]
    if failing:
        combined["unexpected_doc_ids"] = failing[:DOC_IDS_SHOWN]
    exception = next((facts["exception"] for facts in each if "exception" in facts), None)
    if exception is not None:
        combined["exception"] = exception
    return combined


def _context() -> Any:
    """An in-memory Great Expectations context: no project folder, no analytics, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )


class _SuiteRun:
    """One suite being validated: its runnable expectations split by scope, and their outcomes.

    Great Expectations returns results grouped by the metrics they share, not in suite order, so
    each expectation carries its position in ``meta`` to be matched back.
    """

    def __init__(self, origin: str, suite_json: dict[str, Any], parameters: dict[str, Any]) -> None:
        import great_expectations as gx

        self.origin, self.name, self.asset = origin, suite_json["name"], suite_json["meta"]["asset"]
        self.runnable: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        for expectation in suite_json["expectations"]:
            missing = sorted(_parameter_names(expectation.get("kwargs", {})) - set(parameters))
            if missing:
                self.skipped.append(
                    {"type": expectation["type"], "kwargs": expectation["kwargs"], "missing": missing}
                )
            else:
                meta = {**expectation.get("meta", {}), "position": len(self.runnable)}
                self.runnable.append({**expectation, "meta": meta})
        self.scoped = {scope: [e for e in self.runnable if _scope(e) == scope] for scope in (ROW, TABLE)}
        self.suites = {
            scope: gx.ExpectationSuite(name=self.name, expectations=expectations)
            for scope, expectations in self.scoped.items()
        }
        self.facts: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        """By position, what each validation kept: failing rows' values are dropped as results arrive."""
        self.mostly: dict[int, float | None] = {}
        """By position, the ``mostly`` threshold with its parameter filled in."""

    def validate(self, batch_definition: Any, frame: Any, scope: Scope, parameters: dict[str, Any]) -> None:
        """Validate this suite's ``scope`` expectations on ``frame``, one file's rows or the table's."""
        if not self.scoped[scope]:
            return
        validation = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            self.suites[scope],
            expectation_parameters=parameters,
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": DOC_IDS_SHOWN,
                "unexpected_index_column_names": [DOC_ID],
            },
        )
        for outcome in validation.results:
            position = outcome.expectation_config.meta["position"]
            self.facts[position].append(_facts(outcome))
            self.mostly[position] = outcome.expectation_config.kwargs.get("mostly")

    def summary(self, rows: int) -> dict[str, Any]:
        """The suite's entry in the run record; results in suite order."""
        results = [
            {
                "type": written["type"],
                "kwargs": written["kwargs"],
                **({"why": written["meta"]["why"]} if "why" in written["meta"] else {}),
                **_combine(self.facts[position], self.mostly[position]),
            }
            for position, written in enumerate(self.runnable)
        ]
        return {
            "suite": self.name,
            "source": self.origin,
            "asset": self.asset,
            "rows": rows,
            "success": all(r["success"] for r in results),
            "expectations": results,
            "skipped": self.skipped,
        }


def run_checks(
    plan: CheckPlan, run_dir: Path, record: dict[str, Any], cipher: QuarantineCipher | None = None
) -> dict[str, Any]:
    """Validate every planned suite against the run's output files; the JSON-able summary.

    ``record`` needs ``counts``, ``outputs`` and ``ledger_files`` (the run record being built);
    ``cipher`` decrypts an encrypted quarantine (the run reading what it has just written).
    Each asset's files are read once for all its suites' row-local expectations, one file at a
    time, and its table-level expectations get one table of the few columns they name.
    """
    started = time.monotonic()
    run_dir = Path(run_dir)
    parameters = run_parameters(plan, record)
    runs = [_SuiteRun(origin, suite_json, parameters) for origin, suite_json in plan.suites]
    source = _context().data_sources.add_pandas("run")
    rows: dict[str, int] = {}
    uncollected = 0
    for asset in dict.fromkeys(run.asset for run in runs):
        batch_definition = source.add_dataframe_asset(asset).add_batch_definition_whole_dataframe("all")
        members = [run for run in runs if run.asset == asset]
        paths, schema = _asset_files(run_dir, record, asset)
        rows[asset] = sum(
            open_output(run_dir, path.relative_to(run_dir).as_posix(), cipher).metadata.num_rows
            for path in paths
        )
        for scope, groups in ((ROW, [[path] for path in paths] or [[]]), (TABLE, [paths])):
            expectations = [e for run in members for e in run.scoped[scope]]
            if not expectations:
                continue
            columns = _columns(asset, expectations)
            for group in groups:
                table = _read(run_dir, group, schema, columns, cipher)
                uncollected += table.nbytes
                frame = table.to_pandas()
                del table
                for run in members:
                    run.validate(batch_definition, frame, scope, parameters)
                del frame
                if uncollected >= COLLECT_BYTES:
                    gc.collect()
                    uncollected = 0
    suites = [run.summary(rows[run.asset]) for run in runs]
    return {
        "success": all(s["success"] for s in suites),
        "fail_run": plan.spec.fail_run,
        "great_expectations": metadata.version("great-expectations"),
        "seconds": round(time.monotonic() - started, 3),
        "parameters": parameters,
        "suites": suites,
    }


def failed_expectations(summary: dict[str, Any]) -> list[str]:
    """``suite: expectation_type(column)`` for every failed expectation, for messages."""
    return [
        f"{suite['suite']}: {result['type']}({result['kwargs'].get('column', 'table')})"
        + (f" {result['unexpected_count']} unexpected" if result.get("unexpected_count") else "")
        for suite in summary["suites"]
        for result in suite["expectations"]
        if not result["success"]
    ]
