"""The duplicates report: numbers from the ledger, snippets re-read from the inputs, terminal and HTML."""

from __future__ import annotations

import gzip
import html
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.report.dedup import CHANGED, NOT_AVAILABLE, dedup_summary, fold, load_snippets, render_html
from pipeline.run import run_audit
from schemas.config import load_config
from schemas.document import content_sha256
from tests.conftest import NLTK_CORPUS, REPO, require

runner = CliRunner()

RIVER = (
    "The river runs through the old valley where farmers have grown wheat and barley for many "
    "generations, and every spring the water rises over the low fields and leaves behind a layer of "
    "rich dark soil that feeds the next harvest. Travellers who cross the stone bridge in the village "
    "often stop to watch the boats carrying grain downstream to the market town, where merchants weigh "
    "the sacks and argue about prices until the evening bells ring from the tower above the square. "
    "In the summer months the children swim in the shallow pools below the mill, while their parents "
    "mend nets and repair the wooden fences that keep the sheep away from the orchards. Older residents "
    "still remember the great flood, when the water reached the steps of the church and the whole "
    "village spent a week carrying furniture up to the hill farms. Since then a new embankment has been "
    "built along the eastern bank, and the council meets every autumn to decide how much of the "
    "common fund should be spent on keeping it in good repair before the winter storms arrive."
)
MARKUP = (
    '[b]Release notes[/b]: <include> tags & "quoted" names are now accepted by the config loader, so '
    "a file such as settings.yaml can pull shared blocks from another file without copying them. "
    "Paths inside an included file are resolved relative to that file, not to the one that includes "
    "it, which matches what most users expected when they reported the old behaviour as a bug. The "
    "loader refuses cycles and reports the chain of files that formed the cycle, so a mistake is "
    "easy to find. Environment variables are expanded only in values, never in keys, and a missing "
    "variable is an error unless a default is given after a colon. The command line gained a flag "
    "that prints the merged configuration with the origin of every value, which helps when several "
    "layers of defaults, includes and overrides are combined. Finally the documentation has a new "
    "chapter with worked examples for small projects, larger teams with shared settings, and "
    "deployments that keep secrets in a separate file readable only by the service account."
)
ORCHARD = (
    "Apple trees need a sunny spot, well drained soil and a little patience. Plant bare-root trees in "
    "late autumn or winter while they are dormant, water them well during their first summer and "
    "keep the grass away from the trunk so the young roots do not have to compete for moisture. "
    "Prune in winter to open the centre of the tree and remove crossing branches."
)
LIGHTHOUSE = (
    "The lighthouse keeper climbed the spiral stairs twice every night, once at dusk to light the "
    "lamp and once after midnight to trim the wick and wind the clockwork that turned the lens. "
    "Ships passing the reef could see the beam for twenty miles on a clear night."
)


def _changed(text: str, index: int, word: str) -> str:
    words = text.split()
    words[index] = word
    return " ".join(words)


WEB = [
    {"id": "w-keep", "text": RIVER},
    {"id": "w-copy", "text": RIVER},
    {"id": "w-near1", "text": _changed(RIVER, 3, "marigold")},
    {"id": "w-near2", "text": _changed(RIVER, 90, "harbour")},
    {"id": "w-markup", "text": MARKUP},
    {"id": "w-markup-near", "text": _changed(MARKUP, 100, "plainly")},
    {"id": "w-solo", "text": ORCHARD},
]
FORUM = [
    {"id": "f-copy", "text": "  " + RIVER.replace(" the ", "\n the ", 3) + "\n"},  # exact after folding
    {"id": "f-near3", "text": _changed(RIVER, 150, "gladly")},
    {"id": "f-solo", "text": LIGHTHOUSE},
]
NEAR_RULE = '  - {id: near-duplicate, when: "dedup.near_dup_of is not None", action: drop, reason: near}\n'


def _write_run(folder: Path, near: bool = True) -> Path:
    """The test corpus (two sources) and its configs in ``folder``; runs it, returns the run folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "web.jsonl").write_text("".join(json.dumps(r) + "\n" for r in WEB), encoding="utf-8")
    (folder / "forum.jsonl").write_text("".join(json.dumps(r) + "\n" for r in FORUM), encoding="utf-8")
    (folder / "sources.yaml").write_text(
        "sources:\n"
        + "".join(
            f"  - {{id: {source}, kind: open-dataset, license: MIT, collection_record: test data,"
            " jurisdiction: US, collected_at: 2026-01-01}\n"
            for source in ("web", "forum")
        )
    )
    (folder / "policy.yaml").write_text(
        "rules:\n"
        '  - {id: exact-duplicate, when: "dedup.exact_dup_of is not None", action: drop, reason: exact}\n'
        + (NEAR_RULE if near else "")
    )
    minhash = ", {name: dedup.minhash}" if near else ""
    detectors = f"[{{name: quality.language}}, {{name: dedup.exact}}{minhash}]"
    (folder / "audit.yaml").write_text(
        "sources: sources.yaml\npolicy: policy.yaml\ninputs:\n"
        "  - {source: web, paths: [web.jsonl]}\n  - {source: forum, paths: [forum.jsonl]}\n"
        f"detectors: {detectors}\n"
    )
    out = folder / "run"
    run_audit(load_config(folder / "audit.yaml"), partitions=1, out_dir=out, progress=False)
    return out


@pytest.fixture(scope="module")
def near_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_run(tmp_path_factory.mktemp("dedup-report") / "near")


def test_summary_counts_exact_and_near_duplicates(near_run: Path) -> None:
    summary = dedup_summary(near_run)
    assert summary["documents"] == 10
    assert summary["exact_duplicates"] == 2  # w-copy, f-copy
    assert summary["near_duplicates"] == 4  # w-near1, w-near2, f-near3, w-markup-near
    assert (summary["clusters"], summary["near_clusters"], summary["exact_clusters"]) == (2, 2, 0)
    assert (summary["removed"], summary["removed_exact"], summary["removed_near"]) == (6, 2, 4)
    assert summary["removed_by_rule"] == 6
    assert summary["removed_share"] == pytest.approx(0.6)


def test_histogram_counts_clusters_by_size(near_run: Path) -> None:
    histogram = {row["label"]: row["count"] for row in dedup_summary(near_run)["histogram"]}
    assert histogram == {"2": 1, "3": 0, "4-5": 0, "6-10": 1, "11-100": 0, ">100": 0}


def test_top_clusters_show_keeper_members_and_their_text(near_run: Path) -> None:
    summary = dedup_summary(near_run)
    first, second = summary["top_clusters"]
    assert (first["cluster_id"], first["keeper"], first["kind"]) == ("web/w-keep", "web/w-keep", "near")
    assert first["size"] == 6
    assert [(m["doc_id"], m["role"]) for m in first["members"]] == [
        ("web/w-keep", "keeper"), ("web/w-copy", "exact"), ("web/w-near1", "near"), ("web/w-near2", "near"),
    ]  # fmt: skip
    assert first["more"] == 2  # forum/f-copy and forum/f-near3 are not shown
    assert first["members"][0]["jaccard"] is None
    assert first["members"][1]["jaccard"] == 1.0
    assert all(0.8 <= m["jaccard"] < 1.0 for m in first["members"][2:])
    assert (second["cluster_id"], second["size"], [m["doc_id"] for m in second["members"]]) == (
        "web/w-markup", 2, ["web/w-markup", "web/w-markup-near"],
    )  # fmt: skip
    snippets = load_snippets(near_run, summary, chars=160)
    by_id = {m["doc_id"]: snippets[m["ordinal"]] for c in summary["top_clusters"] for m in c["members"]}
    assert by_id["web/w-keep"] == by_id["web/w-copy"] == fold(RIVER, 160)
    assert len(by_id["web/w-keep"]) == 161 and by_id["web/w-keep"].endswith("…")
    assert by_id["web/w-near1"].startswith("The river runs marigold the old valley")
    assert by_id["web/w-markup"].startswith('[b]Release notes[/b]: <include> tags & "quoted" names')
    assert dedup_summary(near_run, top=1)["top_clusters"] == [first]


def test_snippets_come_from_the_right_rows_of_each_input(near_run: Path) -> None:
    summary = dedup_summary(near_run, top=1)
    ledger = read_ledger(near_run, load_run_record(near_run), ["doc_id", "ordinal"]).to_pylist()
    ordinals = {row["doc_id"]: row["ordinal"] for row in ledger}
    sources = (("web", WEB), ("forum", FORUM))
    every = [(ordinals[f"{source}/{r['id']}"], r) for source, records in sources for r in records]
    summary["top_clusters"][0]["members"] = [
        {**m, "content_sha256": content_sha256(r["text"]), "ordinal": ordinal}
        for ordinal, r in every
        for m in summary["top_clusters"][0]["members"][:1]
    ]
    snippets = load_snippets(near_run, summary, chars=10_000)
    assert snippets == {ordinal: " ".join(r["text"].split()) for ordinal, r in every}


def test_removals_per_source(near_run: Path) -> None:
    rows = {row["source_id"]: row for row in dedup_summary(near_run)["by_source"]}
    assert rows["forum"] | {"share_removed": 0} == {
        "source_id": "forum", "documents": 3, "exact_removed": 1, "near_removed": 1, "removed": 2,
        "share_removed": 0,
    }  # fmt: skip
    assert rows["forum"]["share_removed"] == pytest.approx(2 / 3)
    assert (rows["web"]["documents"], rows["web"]["exact_removed"], rows["web"]["near_removed"]) == (7, 1, 3)
    assert rows["web"]["share_removed"] == pytest.approx(4 / 7)
    assert list(rows) == ["forum", "web"]


def test_exact_groups_are_clusters_when_there_is_no_near_stage(tmp_path: Path) -> None:
    run = _write_run(tmp_path, near=False)
    summary = dedup_summary(run)
    assert (summary["exact_duplicates"], summary["near_duplicates"]) == (2, 0)
    assert (summary["clusters"], summary["exact_clusters"], summary["removed"]) == (1, 1, 2)
    assert {row["label"]: row["count"] for row in summary["histogram"]}["3"] == 1
    (cluster,) = summary["top_clusters"]
    assert [(m["doc_id"], m["role"]) for m in cluster["members"]] == [
        ("web/w-keep", "keeper"), ("web/w-copy", "exact"), ("forum/f-copy", "exact"),
    ]  # fmt: skip
    # inputs edited or removed after the run: no wrong text, a placeholder instead
    (tmp_path / "forum.jsonl").unlink()
    edited = [dict(WEB[0], text=RIVER.replace("river", "canal")), *WEB[1:]]
    (tmp_path / "web.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edited), encoding="utf-8")
    snippets = load_snippets(run, summary)
    assert [snippets[m["ordinal"]] for m in cluster["members"]] == [CHANGED, fold(RIVER, 160), NOT_AVAILABLE]
    result = runner.invoke(app, ["dedup-report", str(run)])
    assert result.exit_code == 0, result.output
    assert NOT_AVAILABLE in result.output and CHANGED in result.output


def test_cli_prints_the_report_and_writes_nothing_without_html(near_run: Path) -> None:
    before = sorted(p.relative_to(near_run.parent) for p in near_run.parent.rglob("*"))
    result = runner.invoke(app, ["dedup-report", str(near_run), "--snippet-chars", "60"])
    assert result.exit_code == 0, result.output
    output = result.output
    for expected in (
        "documents read", "10", "exact duplicates", "near duplicates", "2 (2 near, 0 exact)",
        "6 (60.0% of documents; 2 exact, 4 near)", "Cluster sizes", "6-10", "11-100", ">100",
        "#1 near cluster web/w-keep: 6 documents, keeper web/w-keep", "#2 near cluster web/w-markup",
        "and 2 more duplicate(s)", "66.7%", "57.1%", "dedup.near_cluster",
        fold(RIVER, 60), fold(_changed(RIVER, 3, "marigold"), 60),
        '[b]Release notes[/b]: <include> tags & "quoted" names',  # rich markup shown as is
    ):  # fmt: skip
        assert expected in output, expected
    assert "#3" not in output
    assert sorted(p.relative_to(near_run.parent) for p in near_run.parent.rglob("*")) == before

    top_one = runner.invoke(app, ["dedup-report", str(near_run), "--top", "1"])
    assert top_one.exit_code == 0 and "#1 near" in top_one.output and "#2" not in top_one.output


def test_cli_writes_a_self_contained_escaped_html_page(near_run: Path, tmp_path: Path) -> None:
    page = tmp_path / "dups.html"
    result = runner.invoke(app, ["dedup-report", str(near_run), "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert f"wrote {page}" in result.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<style>" in text and "<svg" in text
    assert "<script" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    markup = fold(MARKUP, 160)
    assert html.escape(markup) in text
    assert "<include>" not in text
    assert "[b]Release notes[/b]: &lt;include&gt; tags &amp; &quot;quoted&quot;" in text
    assert html.escape(fold(RIVER, 160)) in text
    assert "web/w-keep" in text and "6-10" in text


def test_render_html_escapes_every_field(near_run: Path) -> None:
    summary = dedup_summary(near_run)
    summary["name"] = "<script>alert(1)</script>"
    summary["by_source"][0]["source_id"] = "<b>src</b>"
    text = render_html(summary, {})
    assert "<script>" not in text and "<b>src</b>" not in text
    assert "&lt;script&gt;" in text and NOT_AVAILABLE in text


def test_cli_refuses_a_folder_without_a_run_record(tmp_path: Path) -> None:
    result = runner.invoke(app, ["dedup-report", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no run.json" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["dedup-report", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "holds no run.json" in missing.output


def test_real_corpus_subset(tmp_path: Path) -> None:
    """The wine reviews of the shared NLTK corpus, re-packed as .jsonl.gz: counts checked independently."""
    with gzip.open(require(NLTK_CORPUS), "rt", encoding="utf-8") as handle:
        records = [r for r in map(json.loads, handle) if r["id"].startswith("webtext-wine/")]
    with gzip.open(tmp_path / "wine.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in records)
    (tmp_path / "policy.yaml").write_text(
        "rules:\n"
        '  - {id: exact-duplicate, when: "dedup.exact_dup_of is not None", action: drop, reason: exact}\n'
        + NEAR_RULE
    )
    (tmp_path / "audit.yaml").write_text(
        f"sources: {REPO / 'benchmarks' / 'nltk_sources.yaml'}\npolicy: policy.yaml\n"
        "inputs:\n  - {source: nltk, paths: [wine.jsonl.gz]}\n"
        "detectors: [{name: quality.language}, {name: dedup.exact}, {name: dedup.minhash}]\n"
    )
    run = tmp_path / "run"
    run_audit(load_config(tmp_path / "audit.yaml"), partitions=1, out_dir=run, progress=False)
    summary = dedup_summary(run)
    seen: set[str] = set()
    exact = 0
    for record in records:
        key = content_sha256(record["text"])
        exact += key in seen
        seen.add(key)
    assert summary["documents"] == len(records)
    assert summary["exact_duplicates"] == exact > 0
    assert summary["removed"] == summary["exact_duplicates"] + summary["near_duplicates"]
    assert sum(row["count"] for row in summary["histogram"]) == summary["clusters"] > 0
    texts = {f"nltk/{r['id']}": r["text"] for r in records}
    snippets = load_snippets(run, summary, chars=80)
    for cluster in summary["top_clusters"]:
        for member in cluster["members"]:
            assert snippets[member["ordinal"]] == fold(texts[member["doc_id"]], 80)
