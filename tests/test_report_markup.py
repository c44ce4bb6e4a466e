"""No markup from data: a corpus whose ids, languages, licences, URLs and texts hold script, event
handlers, ``javascript:`` links, backticks and template braces is audited, and its datasheet and
review sample are opened in headless Chromium: no script runs, and the payloads show as text."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from pipeline.report.html import CSP
from tests.browser import render
from tests.runs import audit

MARK = "document.documentElement.setAttribute('data-pwned','{}')"
PAYLOADS = {
    "id": f"<script>{MARK.format('id')}</script>",
    "lang": f'<img src=x onerror="{MARK.format("lang")}">',
    "license": f"javascript:{MARK.format('licence')}",
    "url": f"javascript:{MARK.format('url')}",
}
TEXTS = [
    f'<svg onload="{MARK.format("svg")}"></svg> plain words after the markup',
    "`code` ``` fence ``` {{ 7 * 7 }} {% if true %}jinja{% endif %} and backticks ` closing",
    f"[click me](javascript:{MARK.format('link')}) and ![figure](../../../../etc/hosts.svg)",
    f'<iframe src="javascript:{MARK.format("frame")}"></iframe><a href="javascript:x">a</a>',
]
SOURCES = """sources:
  - id: forum
    kind: open-dataset
    license: CC0-1.0
    collection_record: a hostile sample written for the tests
    jurisdiction: US
    collected_at: 2024-02-01
"""


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    rows = [{"id": r["id"], "text": r["text"], "lang": "en"} for r in nltk_records[:30]]
    for n, text in enumerate(TEXTS):
        rows.append(
            {**PAYLOADS, "id": f"{PAYLOADS['id']}-{n}", "text": f"{text} {nltk_records[40 + n]['text']}"}
        )
    (folder / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "sources.yaml").write_text(SOURCES)
    (folder / "audit.yaml").write_text(
        "name: hostile\nsources: sources.yaml\ninputs:\n  - {source: forum, paths: [corpus.jsonl]}\n"
        "detectors: [{name: dedup.exact}, {name: bias}]\n"
    )
    return audit(folder / "audit.yaml", folder / "run").run_dir


@pytest.mark.parametrize("page", ["datasheet.html", "review_sample.html"])
def test_no_script_from_data_runs_in_a_real_browser(
    hostile_run: Path, chromium: str, tmp_path: Path, page: str
) -> None:
    path = hostile_run / "reports" / page
    source = path.read_text(encoding="utf-8")
    assert f'content="{CSP}"' in html.unescape(source)
    dom, requested = render(chromium, path, tmp_path / "profile")
    assert "data-pwned" not in dom.split(">", 2)[1]  # the root element carries no mark
    assert not re.search(r"<(script|iframe|img)\b", dom, re.IGNORECASE), "markup from data became elements"
    assert not re.search(r"""<[a-z]+\b[^<>]*\s(href|src)=["']?javascript:""", dom, re.IGNORECASE)
    assert "onerror=" in dom or "onload=" in dom  # the payloads are there, as text
    assert requested == []


def test_the_payloads_reach_the_reports_as_text(hostile_run: Path) -> None:
    datasheet = (hostile_run / "reports" / "datasheet.html").read_text(encoding="utf-8")
    review = (hostile_run / "reports" / "review_sample.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=" in datasheet  # a declared language, escaped
    assert "&lt;script&gt;" in review and "&lt;svg onload=" in review
    assert "{{ 7 * 7 }}" in review and "49" not in review.split("{{ 7 * 7 }}")[1][:5]


def test_the_check_sees_a_script_that_does_run(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><html><body>{PAYLOADS['id']}</body></html>")
    dom, _ = render(chromium, page, tmp_path / "profile")
    assert 'data-pwned="id"' in dom.split(">", 2)[1]
