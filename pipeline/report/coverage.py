"""What a run checked and what it did not, for every report to state.

A report that lists what was found reads as if everything was looked for. So each report carries
the same table, built here from the detectors the run record describes: every check corpusaudit
can make, whether it ran (and with which model or library), and, where it did not, what that means
for a reader ("no name or address recognition ran: personal names were not looked for"). Two
statements get their own place because a number misleads without them: a harmful share computed
from the starter keyword list alone, and a source whose terms forbid redistribution whose documents
are in the release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STARTER_LIBRARY = "starter"


@dataclass(frozen=True)
class Check:
    """One check corpusaudit can make, how to tell from a detector description that it ran."""

    name: str
    detector: str
    missing: str
    ran: Callable[[dict[str, Any]], bool] = lambda described: True
    detail: Callable[[dict[str, Any]], str] = lambda described: described["name"]


def _ner(described: dict[str, Any]) -> bool:
    return "NoOpNlpEngine" not in str(described.get("nlp_engine", "NoOpNlpEngine"))


def _keywords(described: dict[str, Any]) -> str:
    library = described.get("keyword_library")
    if library == STARTER_LIBRARY:
        return f"the starter keyword library {described.get('library_version', '')} shipped for the demo only"
    return f"keyword library {library} {described.get('library_version', '')}".strip()


CHECKS = (
    Check("language identification", "quality.language",
          "no language identification ran: languages are the ones the sources declared, unchecked",
          detail=lambda d: f"fastText {d.get('model', 'lid.176')}"),
    Check("exact duplicates", "dedup.exact", "exact duplicates were not looked for",
          detail=lambda d: "SHA-256 of the normalised text"),
    Check("near duplicates", "dedup.minhash", "near duplicates were not looked for",
          detail=lambda d: f"MinHash LSH, {d.get('lsh_bands')} bands x {d.get('lsh_rows')} rows"),
    Check("personal information (patterns)", "pii",
          "no personal-information detection ran: e-mails, phone numbers, ID and card numbers "
          "were not looked for",
          detail=lambda d: f"Presidio, {len(d.get('recognizers', []))} validating recognisers"),
    Check("personal names and addresses (NER)", "pii",
          "no name or address recognition ran: personal names, addresses and organisations "
          "were not looked for",
          ran=_ner, detail=lambda d: str(d.get("nlp_engine"))),
    Check("harmful content (keywords)", "harm",
          "no harmful-content detection ran: the TC260-003 risks were not looked for", detail=_keywords),
    Check("harmful content (classifiers)", "harm",
          "no trained classifier scored harmful content: only keyword matches count",
          ran=lambda d: bool(d.get("classifier_models")),
          detail=lambda d: ", ".join(sorted(d.get("classifier_models") or {}))),
    Check("hazardous knowledge", "harm",
          "hazardous knowledge (bio, chem, nuclear, cyber) was not looked for",
          detail=lambda d: "two-stage keyword heuristic, not evaluated on labelled hazard data"),
    Check("demographic bias", "bias", "representation of demographic groups was not counted",
          detail=lambda d: "HolisticBias and Chinese A.2 lexicons, pronouns"),
    Check("provenance and opt-outs", "provenance",
          "robots.txt, AI opt-outs, opt-out registries, blacklists and licences were not checked",
          detail=lambda d: f"robots snapshot {(d.get('snapshot') or {}).get('id', '(none)')}, "
          f"{d.get('agents')} crawler agents"),
    Check("benchmark contamination", "decontamination",
          "no evaluation benchmark was looked for: the release may hold benchmark items",
          detail=lambda d: ", ".join(f"{b['name']} ({b['indexed']} items)" for b in d.get("benchmarks", []))),
    Check("AI-generated content (labels)", "synthetic",
          "no explicit or implicit AI-generated label was looked for: model output is counted only where "
          "the source manifest declares it (generated_by)",
          detail=lambda d: f"{d['labels']['phrases']} phrases of {d['labels']['file']} "
          f"{d['labels']['version']}, AIGC and digitalSourceType metadata"),
    Check("AI-generated content (classifier)", "synthetic",
          "no classifier estimated the share of model-written text",
          ran=lambda d: bool(d.get("classifier_model")),
          detail=lambda d: f"fastText {d['classifier_model']['name']}, human versus assistant turns"),
)  # fmt: skip


def coverage(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Every check with ``ran`` and, when it ran, what was used, else what its absence means."""
    described = {detector["name"]: detector for detector in record.get("detectors", [])}
    rows = []
    for check in CHECKS:
        found = described.get(check.detector)
        ran = found is not None and check.ran(found)
        rows.append({"check": check.name, "ran": ran, "note": check.detail(found) if ran else check.missing})
    return rows


def not_checked(record: dict[str, Any]) -> list[str]:
    """The statements of what the run did not look for."""
    return [f"{row['check']}: {row['note']}" for row in coverage(record) if not row["ran"]]


def harm_basis(record: dict[str, Any]) -> str | None:
    """How the harmful shares were computed, worded so that a low share from weak evidence says so."""
    harm = next((d for d in record.get("detectors", []) if d["name"] == "harm"), None)
    if harm is None:
        return None
    keywords = _keywords(harm)
    if harm.get("classifier_models"):
        return f"{keywords} and the classifiers {', '.join(sorted(harm['classifier_models']))}"
    if harm.get("keyword_library") == STARTER_LIBRARY:
        return f"{keywords}, with no classifier: a low or 0% share says little about the corpus"
    return f"{keywords}, with no classifier"


def redistribution_conflicts(
    sources: list[dict[str, Any]], volume: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Sources whose terms forbid redistribution but whose documents are in the release."""
    released = {row["key"]: row["documents"] for row in volume}
    return [
        {
            "source": source["id"],
            "documents": released[source["id"]],
            "terms": source.get("contract") or source["license"],
        }
        for source in sources
        if source.get("redistribution") == "forbidden" and released.get(source["id"], 0) > 0
    ]
