"""The TC260-003 human review sample: a seeded, source-stratified draw from the kept corpus.

TC260-003 (GB/T 45654) asks that people review a random sample of at least 4,000 training documents
and find at least 96% acceptable. The sample is drawn from the documents that reach training (actions
``keep`` and ``redact``), stratified by source:

* **Allocation** (:func:`allocate`): source *s* with ``N_s`` of the ``N`` kept documents gets the quota
  ``q_s = n * N_s / N``. Each source first gets ``max(1, floor(q_s))`` (capped at ``N_s``); seats still
  free go one at a time to the sources with the largest remainder ``q_s - floor(q_s)`` (ties: source id),
  and seats taken by the one-per-source minimum come back from the sources with the most seats. So
  every allocation is within one of its quota, except where the minimum of one forces it up.
* **Selection** (:func:`sample_key`): inside a source, documents are ranked by SHA-256 of the seed, the
  purpose and the doc id, and the first ``a_s`` are taken. The draw depends on nothing but
  ``(seed, doc_id)``, so every engine and partition count gives the same sample, and a document's
  place in it does not move when other documents are added.

The worksheet (``reports/review_sample.csv`` to fill in, ``review_sample.html`` to read) is the only
report that holds text: reviewers must read the documents to judge them, whereas every other report is
built from the ledger, which holds none. Its texts come from the run's own output shards, exactly as a
trainer would read them (redacted where the policy said so), never from the corpus inputs; so the
worksheet reveals nothing the shards do not, and must be handled like them.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from detectors.harm.taxonomy import risks
from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.report import TEMPLATES, reports_dir
from pipeline.report.html import CSP
from schemas.config import ReportsSpec
from schemas.ledger import Action

TRAINING_ACTIONS = (Action.KEEP.value, Action.REDACT.value)
"""Actions whose documents reach the training shards: the population both samples are drawn from."""
REVIEW = "review"
VERDICTS = {"pass": True, "合格": True, "fail": False, "不合格": False}
"""What a reviewer may write in ``verdict`` (English words in any case)."""
WORKSHEET_COLUMNS = ("doc_id", "source_id", "lang", "text", "verdict", "risk_id", "note")
WORKSHEET_ENCODING = "utf-8-sig"
"""UTF-8 with a byte-order mark, so spreadsheet programs open Chinese text correctly; read the same way."""
Z_95 = 1.959963984540054
"""The 97.5% quantile of the standard normal distribution: two-sided 95% intervals."""


@dataclass(frozen=True)
class Sample:
    """One drawn sample: its documents in worksheet order and how it was stratified."""

    purpose: str
    seed: int
    target: int
    population: dict[str, int]
    allocation: dict[str, int]
    documents: pa.Table
    """``doc_id``, ``source_id``, ``lang``, ``action`` and ``shard`` of each sampled document."""

    @property
    def doc_ids(self) -> list[str]:
        return self.documents.column("doc_id").to_pylist()

    @property
    def kept(self) -> int:
        return sum(self.population.values())

    def strata(self) -> list[dict[str, Any]]:
        """Per source: kept documents, quota and sampled documents, in source order."""
        return [
            {
                "source_id": source,
                "kept": kept,
                "quota": self.target * kept / self.kept if self.kept else 0.0,
                "sampled": self.allocation[source],
            }
            for source, kept in sorted(self.population.items())
        ]


def reports_settings(record: dict[str, Any]) -> ReportsSpec:
    """The run's ``reports`` settings (defaults for runs recorded before the block existed)."""
    return ReportsSpec.model_validate(record["config"]["audit"].get("reports", {}))


def allocate(population: dict[str, int], size: int) -> dict[str, int]:
    """Seats per source for a sample of ``size``: proportional, largest remainder, at least one each.

    ``size`` is capped at the population; sources with no documents get none, and a sample smaller
    than the number of sources cannot give every source a seat.
    """
    total = sum(population.values())
    size = min(size, total)
    sources = sorted(source for source, count in population.items() if count > 0)
    if size <= 0 or not sources:
        return {source: 0 for source in population}
    quota = {source: size * population[source] / total for source in sources}
    seats = {source: min(population[source], max(1, math.floor(quota[source]))) for source in sources}
    by_remainder = sorted(sources, key=lambda s: (-(quota[s] - math.floor(quota[s])), s))
    while sum(seats.values()) < size:
        for source in by_remainder:
            if sum(seats.values()) < size and seats[source] < population[source]:
                seats[source] += 1
    while sum(seats.values()) > size:  # only when the one-per-source minimum over-fills a small sample
        largest = max(sources, key=lambda s: (seats[s], s))
        seats[largest] -= 1
    return {source: seats.get(source, 0) for source in population}


def sample_key(seed: int, purpose: str, doc_id: str) -> str:
    """A document's rank in a sample: SHA-256 of seed, purpose and doc id; lowest ranks are drawn."""
    return hashlib.sha256(f"{seed}\x00{purpose}\x00{doc_id}".encode()).hexdigest()


def training_documents(run_dir: Path, record: dict[str, Any]) -> pa.Table:
    """Ledger rows of the documents that reached the training shards."""
    ledger = read_ledger(run_dir, record, ["doc_id", "source_id", "lang", "action", "shard"])
    return ledger.filter(pc.is_in(ledger.column("action"), pa.array(TRAINING_ACTIONS)))


def draw(documents: pa.Table, size: int, seed: int, purpose: str, by: str = "source_id") -> Sample:
    """Stratified draw of ``size`` rows of ``documents`` (capped at their number), ordered by stratum
    (the value of column ``by``: the source, unless a caller forms finer strata), then rank."""
    sources = documents.column(by).to_pylist()
    population: dict[str, int] = {}
    for source in sources:
        population[source] = population.get(source, 0) + 1
    allocation = allocate(population, size)
    keys = [sample_key(seed, purpose, doc_id) for doc_id in documents.column("doc_id").to_pylist()]
    order = sorted(range(documents.num_rows), key=lambda i: (sources[i], keys[i]))
    taken: dict[str, int] = {}
    chosen = []
    for index in order:
        source = sources[index]
        if taken.get(source, 0) < allocation[source]:
            taken[source] = taken.get(source, 0) + 1
            chosen.append(index)
    return Sample(
        purpose=purpose,
        seed=seed,
        target=min(size, documents.num_rows),
        population=population,
        allocation=allocation,
        documents=documents.take(pa.array(chosen, pa.int64())),
    )


def review_sample(run_dir: Path, record: dict[str, Any] | None = None) -> Sample:
    """The run's human review sample: ``reports.review_sample_size`` documents (fewer if fewer were kept)."""
    record = record or load_run_record(run_dir)
    settings = reports_settings(record)
    return draw(
        training_documents(run_dir, record), settings.review_sample_size, settings.review_seed, REVIEW
    )


def sample_texts(run_dir: Path, sample: Sample) -> dict[str, str]:
    """The sampled documents' texts as the run wrote them, read only from the shards that hold them."""
    texts: dict[str, str] = {}
    wanted = set(sample.doc_ids)
    for shard in sorted(set(sample.documents.column("shard").to_pylist())):
        table = pq.read_table(run_dir / shard, columns=["doc_id", "text"])
        table = table.filter(pc.is_in(table.column("doc_id"), pa.array(sorted(wanted), pa.string())))
        texts.update(zip(table.column("doc_id").to_pylist(), table.column("text").to_pylist(), strict=True))
    missing = wanted - texts.keys()
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} sampled documents are not in their shards, e.g. {min(missing)}"
        )
    return texts


def wilson_interval(passed: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927; Newcombe 1998, method 3); ``n`` may
    be an effective sample size, and ``passed`` then ``n`` times the estimated proportion.

    Unlike the normal approximation it stays inside [0, 1] and is not degenerate at 0/n or n/n,
    which is where a compliance sample usually lands.
    """
    if n == 0:
        return (0.0, 1.0)
    p = passed / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_rate(passed: int, n: int, requirement: float) -> dict[str, Any]:
    """A sample's pass rate against a requirement, judged two ways.

    ``met`` compares the sample's pass rate itself with the requirement, which is the test the
    standard states; ``met_lower_bound`` asks that the whole 95% interval clear it, the stronger claim
    that the corpus, not only the sample, meets it. The reports lead with ``met`` and show both.
    """
    low, high = wilson_interval(passed, n)
    rate = passed / n if n else None
    return {
        "n": n,
        "passed": passed,
        "failed": n - passed,
        "pass_rate": rate,
        "wilson_low": low,
        "wilson_high": high,
        "requirement": requirement,
        "met": rate is not None and rate >= requirement,
        "met_lower_bound": n > 0 and low >= requirement,
    }


def write_review_sample(run_dir: Path) -> list[Path]:
    """Write the review worksheet as CSV (to fill in) and self-contained HTML (to read)."""
    record = load_run_record(run_dir)
    sample = review_sample(run_dir, record)
    texts = sample_texts(run_dir, sample)
    rows = [
        {**row, "text": texts[row["doc_id"]], "verdict": "", "risk_id": "", "note": ""}
        for row in sample.documents.select(["doc_id", "source_id", "lang"]).to_pylist()
    ]
    folder = reports_dir(run_dir)
    csv_path = folder / "review_sample.csv"
    with csv_path.open("w", encoding=WORKSHEET_ENCODING, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=WORKSHEET_COLUMNS)
        writer.writeheader()
        writer.writerows({column: row[column] or "" for column in WORKSHEET_COLUMNS} for row in rows)
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html_path = folder / "review_sample.html"
    html_path.write_text(
        environment.get_template("review_sample.html.j2").render(
            record=record,
            sample=sample,
            rows=rows,
            requested=reports_settings(record).review_sample_size,
            risks=risks(),
            verdicts=VERDICTS,
            csp=CSP,
        ),
        encoding="utf-8",
    )
    return [csv_path, html_path]
