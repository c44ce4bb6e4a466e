"""The Hugging Face dataset card of a run: ``reports/README.md`` with YAML metadata, then a summary
of the datasheet.

The metadata follows the Hub's dataset card conventions: ``license`` and ``language`` from the
released documents' ledger rows, ``size_categories`` from their count, and ``configs`` pointing
at ``shards/*.parquet``, the layout of a run folder, so the card works as the README at the root of
a repository holding the run's ``shards/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.report import reports_dir
from pipeline.report.datasheet import SHARDS_GLOB, datasheet_context, render_template

TASK_CATEGORIES = ["text-generation"]
"""What a corpusaudit release is for: pre-training or fine-tuning language models."""
TASK_IDS = ["language-modeling"]
HUB_LICENCES = frozenset(
    {
        "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "mpl-2.0",
        "cc0-1.0", "cc-by-2.0", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0",
        "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-4.0", "odc-by",
        "odbl", "pddl", "unlicense", "wtfpl", "openrail",
    }
)  # fmt: skip
"""SPDX ids the Hub knows under their lower-case name; any other licence is listed as ``other``."""
OTHER_LICENCE_NAME = "source-licences"
SIZE_CATEGORIES = [
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T"),
]  # fmt: skip
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def size_category(documents: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if documents < limit), "n>1T")


def hub_licences(licences: list[tuple[str, int]]) -> list[str]:
    """The Hub ids of the licences, ``other`` standing for every licence the Hub does not list."""
    ids = {name.lower() if name.lower() in HUB_LICENCES else "other" for name, _ in licences}
    return sorted(ids, key=lambda name: (name == "other", name))


NOT_FOR_REDISTRIBUTION = "not-for-redistribution"
"""The tag a card gets when a source's terms forbid redistribution (the dataset viewer is off too)."""


def card_metadata(context: dict[str, Any]) -> dict[str, Any]:
    """The YAML header of the card."""
    languages = sorted(
        row["key"]
        for row in context["volume_by_lang"]
        if row["documents"] and _LANGUAGE_CODE.match(row["key"])
    )
    hub = hub_licences(context["licences"])
    metadata: dict[str, Any] = {
        "pretty_name": context["record"]["name"],
        "license": hub,
        "language": languages,
        "multilinguality": "multilingual" if len(languages) > 1 else "monolingual",
        "size_categories": [size_category(context["released"])],
        "task_categories": TASK_CATEGORIES,
        "task_ids": TASK_IDS,
        "source_datasets": ["original"],
        "tags": sorted({"corpusaudit", "datasheet", *(source["kind"] for source in context["sources"])}),
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": SHARDS_GLOB}]}],
    }
    if "other" in hub:
        metadata["license_name"] = OTHER_LICENCE_NAME
        metadata["license_link"] = "datasheet.md"
    if context["conflicts"]:  # a source's terms forbid redistribution: never marked publishable
        metadata["tags"] = sorted({*metadata["tags"], NOT_FOR_REDISTRIBUTION})
        metadata["viewer"] = False
    return metadata


def render_card(run_dir: Path) -> str:
    context = datasheet_context(run_dir)
    metadata = card_metadata(context)
    header = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000)
    body = render_template("hf_card.md.j2", {**context, "metadata": metadata})
    return f"---\n{header}---\n\n{body}"


def write_card(run_dir: Path) -> list[Path]:
    path = reports_dir(run_dir) / "README.md"
    path.write_text(render_card(run_dir), encoding="utf-8")
    return [path]
