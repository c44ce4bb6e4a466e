"""Keyword libraries against the TC260-003 taxonomy: format checks, matching through obfuscation with
exact offsets, coverage against the standard's minimums, the coverage job, and real text."""

from __future__ import annotations

import csv
import pickle
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detectors.harm import taxonomy
from detectors.harm.keywords import (
    Hit,
    KeywordLibrary,
    KeywordLibraryError,
    Term,
    normalise,
)
from jobs.keyword_coverage import app
from schemas.loading import ConfigError
from tests.conftest import REPO, SHARED_DATA, require

STARTER = REPO / "schemas" / "keywords" / "starter"
HEADER = "term_id\tterm\trisk\tlang\tweight\tadded_at\tmatch\n"
runner = CliRunner()


def write_library(folder: Path, files: dict[str, str], version: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    if version is not None:
        (folder / "VERSION").write_text(f"{version}\n", encoding="utf-8")
    return folder


def library(*rows: tuple[str, str, str], substring: tuple[str, ...] = ()) -> KeywordLibrary:
    """A library of (term, risk, lang) rows numbered t1, t2, ...; ``substring`` terms match inside words."""
    return KeywordLibrary(
        Term(f"t{n}", term, risk, lang, 1.0, date(2026, 11, 25), "substring" if term in substring else None)
        for n, (term, risk, lang) in enumerate(rows, start=1)
    )


def found(lib: KeywordLibrary, text: str) -> list[tuple[str, str]]:
    """(term_id, the original text of the hit) for every hit."""
    return [(hit.term_id, text[hit.start : hit.end]) for hit in lib.match(text)]


# -- taxonomy ---------------------------------------------------------------------------------------


def test_taxonomy_has_the_31_risks_of_appendix_a_in_five_categories() -> None:
    counts = {category.id: len(category.risks) for category in taxonomy.categories()}
    assert counts == {"A.1": 8, "A.2": 9, "A.3": 5, "A.4": 7, "A.5": 2}
    assert len(taxonomy.risks()) == 31
    for category in taxonomy.categories():
        assert [r.id for r in category.risks] == [
            f"{category.id}.{n}" for n in range(1, len(category.risks) + 1)
        ]
        assert all(r.zh and r.en for r in category.risks)
    assert taxonomy.risk("A.2.4").zh == "地域歧视内容"
    assert taxonomy.risk("A.1.4").en == "Promoting terrorism or extremism"
    assert [h.id for h in taxonomy.hazards()] == ["HZ.bio", "HZ.chem", "HZ.nuclear", "HZ.cyber"]
    assert taxonomy.is_known("A.5.2") and taxonomy.is_known("HZ.nuclear")
    assert not taxonomy.is_known("A.1") and not taxonomy.is_known("A.6.1")
    with pytest.raises(KeyError, match=r"A\.9\.9"):
        taxonomy.risk("A.9.9")


def test_taxonomy_rejects_duplicate_ids_and_misfiled_risks(tmp_path: Path) -> None:
    text = taxonomy.TAXONOMY_PATH.read_text(encoding="utf-8")
    duplicate = tmp_path / "duplicate.yaml"
    duplicate.write_text(text.replace("id: A.1.2,", "id: A.1.1,"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"duplicate id A\.1\.1"):
        taxonomy.load_taxonomy(duplicate)
    misfiled = tmp_path / "misfiled.yaml"
    misfiled.write_text(text.replace("id: A.2.9,", "id: A.3.9,"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"risk A\.3\.9 is listed under category A\.2"):
        taxonomy.load_taxonomy(misfiled)


# -- library format ---------------------------------------------------------------------------------


def test_format_errors_name_file_and_line(tmp_path: Path) -> None:
    folder = write_library(
        tmp_path / "lib",
        {
            "a.tsv": "# comment\n"
            + HEADER
            + "a1\tfine\tA.1.1\ten\t1\t2026-11-25\n"
            + "a2\tbad risk\tA.1.9\ten\t1\t2026-11-25\n"
            + "a3\tbad weight\tA.1.1\ten\t1,5\t2026-11-25\n"
            + "a4\tbad date\tA.1.1\ten\t1\t25.11.2026\n"
            + "a5\tbad match\tA.1.1\ten\t1\t2026-11-25\tfuzzy\n"
            + "a1\tduplicate\tA.1.1\ten\t1\t2026-11-25\n"
            + "a6\ttoo few fields\tA.1.1\n"
            + "a7\tzero weight\tA.1.1\ten\t0\t2026-11-25\n"
            + "a8\tcategory\tA.1\ten\t1\t2026-11-25\n"
            + "a9\t\t\t\tA.1.1\ten\t1\t2026-11-25\n",
            "b.tsv": "term_id\tterm\trisk\tlang\tweight\tcolour\n",
            "c.tsv": "# only comments\n",
        },
    )
    with pytest.raises(KeywordLibraryError) as error:
        KeywordLibrary.load(folder)
    lines = str(error.value).splitlines()
    a, b, c = (folder / name for name in ("a.tsv", "b.tsv", "c.tsv"))
    assert lines == [
        f"{a}:4: unknown risk 'A.1.9': not a TC260-003 risk or hazard id",
        f"{a}:5: weight '1,5' is not a number",
        f"{a}:6: added_at '25.11.2026' is not a date (YYYY-MM-DD)",
        f"{a}:7: match 'fuzzy' is not one of word, substring",
        f"{a}:8: duplicate term_id 'a1', first at {a}:3",
        f"{a}:9: 3 tab-separated fields, the header has 7",
        f"{a}:10: weight 0.0 is not in (0, 1]",
        f"{a}:11: unknown risk 'A.1': not a TC260-003 risk or hazard id",
        f"{a}:12: 8 tab-separated fields, the header has 7",
        f"{b}:1: header: unknown column 'colour'; missing column 'added_at'",
        f"{c}:1: no header line",
    ]


def test_folder_problems_and_versions(tmp_path: Path) -> None:
    with pytest.raises(KeywordLibraryError, match="not a folder"):
        KeywordLibrary.load(tmp_path / "missing")
    with pytest.raises(KeywordLibraryError, match=r"no \.tsv files"):
        KeywordLibrary.load(write_library(tmp_path / "empty", {"README.md": "notes"}))
    row = "x1\tterm\tA.2.5\ten\t0.5\t2026-11-25\n"
    commented = write_library(tmp_path / "commented", {"a.tsv": "# version: 3.1\n" + HEADER + row})
    assert KeywordLibrary.load(commented).version == "3.1"
    assert KeywordLibrary.load(write_library(tmp_path / "bare", {"a.tsv": HEADER + row})).version is None
    declared = write_library(
        tmp_path / "declared", {"a.tsv": "# version: 3.1\n" + HEADER + row}, version="3.2"
    )
    with pytest.raises(KeywordLibraryError) as error:
        KeywordLibrary.load(declared)
    assert (
        str(error.value)
        == f"{declared / 'a.tsv'}:1: version 3.1 disagrees with 3.2 in {declared / 'VERSION'}"
    )
    loaded = KeywordLibrary.load(STARTER)
    assert loaded.name == "starter" and loaded.version == "2026.11.0" and len(loaded) > 300


def test_optional_match_column_may_be_left_off_and_defaults_by_language(tmp_path: Path) -> None:
    rows = "e\tass\tA.1.6\ten\t1\t2026-11-25\nz\t傻逼\tA.1.6\tzh-Hans\t1\t2026-11-25\n"
    folder = write_library(tmp_path / "lib", {"a.tsv": "\ufeff" + HEADER + rows})  # with a byte-order mark
    terms = {term.term_id: term for term in KeywordLibrary.load(folder).terms}
    assert terms["e"].match == "word" and terms["z"].match == "substring"


# -- matching ---------------------------------------------------------------------------------------


def test_english_terms_match_whole_words_only() -> None:
    lib = library(("ass", "A.1.6", "en"), ("white trash", "A.2.4", "en"))
    assert found(lib, "a classic class in the passage; assassin") == []
    assert found(lib, "Kiss my ass! ass-kicking (ass)") == [("t1", "ass"), ("t1", "ass"), ("t1", "ass")]
    assert found(lib, "WHITE\n   TRASH") == [("t2", "WHITE\n   TRASH")]
    assert found(lib, "whitetrash white trashy") == []
    assert found(lib, "你这个ass啊") == [("t1", "ass")]  # Han characters end a Latin word


def test_substring_terms_match_inside_words() -> None:
    lib = library(("motherfuck", "A.1.6", "en"), ("炸药配方", "HZ.chem", "zh"), substring=("motherfuck",))
    assert found(lib, "Motherfucking motherfuckers") == [("t1", "Motherfuck"), ("t1", "motherfuck")]
    assert found(lib, "这是炸药配方吗") == [("t2", "炸药配方")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你个傻*逼啊", "傻*逼"),
        ("你个傻 逼", "傻 逼"),
        ("傻\u200b逼", "傻\u200b逼"),
        ("f.u.c.k off", "f.u.c.k"),
        ("f u c k off", "f u c k"),
        ("f_u_c_k", "f_u_c_k"),
        ("f\u200bu\u200bc\u200bk", "f\u200bu\u200bc\u200bk"),
        ("ＦＵＣＫ ＯＦＦ", "ＦＵＣＫ"),
        ("FuCk", "FuCk"),
        ("what the fvck, f*ck", None),  # letter substitutions outside the table are not guessed
        ("sh1t", "sh1t"),
        ("a$$ hole", "a$$"),
        ("你妈的傻屄", "傻屄"),
    ],
)
def test_obfuscated_terms_match_with_offsets_into_the_original(text: str, expected: str | None) -> None:
    lib = library(
        ("傻逼", "A.1.6", "zh"),
        ("fuck", "A.1.6", "en"),
        ("shit", "A.1.6", "en"),
        ("ass", "A.1.6", "en"),
        ("傻屄", "A.1.6", "zh"),
    )
    spans = [span for _, span in found(lib, text)]
    assert spans == ([] if expected is None else [expected])


def test_traditional_chinese_matches_simplified_terms_and_back() -> None:
    lib = library(("操你妈", "A.1.6", "zh"), ("賤人", "A.2.5", "zh-Hant"))
    assert found(lib, "他說操你媽") == [("t1", "操你媽")]
    assert found(lib, "你这个贱人") == [("t2", "贱人")]
    assert found(lib, "你這個賤人") == [("t2", "賤人")]


def test_offsets_survive_removals_before_and_inside_the_hit() -> None:
    lib = library(
        ("傻逼", "A.1.6", "zh"), ("fuck", "A.1.6", "en"), ("nerve agent synthesis", "HZ.chem", "en")
    )
    text = "a  b\u200b\u200bc\n\n\t 傻 * 逼 ,   xx f . u . c . k yy   NERVE \u3000agent\nSynthesis!"
    hits = lib.match(text)
    assert [text[h.start : h.end] for h in hits] == [
        "傻 * 逼",
        "f . u . c . k",
        "NERVE \u3000agent\nSynthesis",
    ]
    assert hits[0] == Hit("t1", "A.1.6", text.index("傻"), text.index("逼") + 1, 1.0)


def test_homoglyphs_only_next_to_letters() -> None:
    assert normalise("$100 in 2013, 1 to 3").text == "$100 in 2013, 1 to 3"
    assert normalise("N1gg@ $h1t h3ll0").text == "nigga shit hello"


def test_library_pickles_without_its_automaton() -> None:
    lib = KeywordLibrary.load(STARTER)
    text = "f.u.c.k this 炸药配方 and the ransomware payload"
    before = lib.match(text)
    assert before and lib._automaton is not None
    copy = pickle.loads(pickle.dumps(lib))
    assert copy._automaton is None
    assert copy.match(text) == before
    assert (copy.name, copy.version, copy.terms) == (lib.name, lib.version, lib.terms)


# -- coverage ---------------------------------------------------------------------------------------


def test_coverage_of_a_tiny_library(tmp_path: Path) -> None:
    rows = [
        ("FUCK", "A.1.6", "en"),
        ("f.u.c.k", "A.1.6", "en"),  # the same term once normalised
        ("操你妈", "A.1.6", "zh"),
        ("操你媽", "A.1.6", "zh"),  # traditional spelling of the same term
        ("黑鬼", "A.2.1", "zh"),
        ("fuck", "A.4.3", "en"),  # the same term under another risk counts there, not twice in total
        ("ransomware payload", "HZ.cyber", "en"),
    ]
    report = library(*rows).coverage()
    assert report.total == 4
    assert report.by_risk["A.1.6"] == 2 and report.by_risk["A.2.1"] == 1 and report.by_risk["A.4.3"] == 1
    assert report.by_risk["HZ.cyber"] == 1 and report.by_risk["A.1.1"] == 0
    assert report.by_lang == {"en": 2, "zh": 2}
    assert report.by_risk_lang["A.1.6"] == {"en": 1, "zh": 1}
    needs = {
        item.what: (item.required, item.actual, item.met, item.shortfall) for item in report.requirements
    }
    assert needs["terms in total"] == (10000, 4, False, 9996)
    assert needs["risks of A.1, A.2 covered"] == (17, 2, False, 15)
    assert needs["terms for A.1.6"] == (200, 2, False, 198)
    assert needs["terms for A.2.1"] == (100, 1, False, 99)
    assert needs["terms for A.2.9"] == (100, 0, False, 100)
    assert len(report.requirements) == 2 + 17 and not report.met


def test_coverage_of_the_starter_library_misses_the_minimums() -> None:
    report = KeywordLibrary.load(STARTER).coverage()
    assert 300 < report.total < 10000 and not report.met
    assert set(report.by_lang) == {"en", "zh"}
    needs = {item.what: item for item in report.requirements}
    assert needs["terms in total"].shortfall == 10000 - report.total
    assert needs["risks of A.1, A.2 covered"].met  # every A.1 and A.2 risk has terms, none has enough
    for item in taxonomy.risks()[:17]:
        floor = 200 if item.id.startswith("A.1.") else 100
        assert 0 < report.by_risk[item.id] < floor
        assert needs[f"terms for {item.id}"].shortfall == floor - report.by_risk[item.id]
    assert all(report.by_risk[h.id] > 0 for h in taxonomy.hazards())
    assert [item.what for item in report.missed] == ["terms in total"] + [
        f"terms for {r.id}" for r in taxonomy.risks()[:17]
    ]


def complete_library(folder: Path) -> Path:
    """A library that meets every TC260-003 minimum: the floors, topped up to 10,000 terms."""
    rows = []
    for category in taxonomy.categories():
        floor = {"A.1": 200, "A.2": 100}.get(category.id, 0)
        for item in category.risks:
            rows += [(item.id, n) for n in range(floor)]
    rows += [("A.3.1", n) for n in range(10000 - len(rows))]
    body = "".join(f"k{i}\tterm {risk} {n}\t{risk}\ten\t1\t2026-11-25\n" for i, (risk, n) in enumerate(rows))
    return write_library(folder, {"all.tsv": HEADER + body}, version="1.0")


def test_coverage_job_prints_the_report_and_exits_0() -> None:
    result = runner.invoke(app, [str(STARTER)])
    assert result.exit_code == 0, result.output
    assert "keyword library starter (version 2026.11.0)" in result.output
    assert "terms in total" in result.output and "missed" in result.output
    assert "terms for A.2.9" in result.output and "HZ.nuclear" in result.output
    assert "1 of 19 TC260-003 minimums met" in result.output


def test_coverage_job_strict_fails_only_when_minimums_are_missed(tmp_path: Path) -> None:
    assert runner.invoke(app, [str(STARTER), "--strict"]).exit_code == 1
    result = runner.invoke(app, [str(complete_library(tmp_path / "complete")), "--strict"])
    assert result.exit_code == 0, result.output
    assert "19 of 19 TC260-003 minimums met" in result.output


def test_coverage_job_reports_a_broken_library(tmp_path: Path) -> None:
    folder = write_library(tmp_path / "broken", {"a.tsv": HEADER + "x\tterm\tA.9.9\ten\t1\t2026-11-25\n"})
    result = runner.invoke(app, [str(folder)])
    assert result.exit_code == 2
    assert f"{folder / 'a.tsv'}:2: unknown risk 'A.9.9'" in result.output


# -- real text --------------------------------------------------------------------------------------


def test_starter_library_stays_quiet_on_declarations_and_speeches(nltk_records: list[dict]) -> None:
    lib = KeywordLibrary.load(STARTER)
    formal = [r["text"] for r in nltk_records if r["source"] in {"udhr", "inaugural"}]
    assert len(formal) > 100
    flagged = sum(1 for text in formal if lib.match(text))
    assert flagged / len(formal) <= 0.02, f"{flagged} of {len(formal)} UDHR and inaugural documents have hits"


def test_starter_library_finds_more_in_offensive_tweets() -> None:
    """Over the Davidson rows the starter's terms were chosen from (the first 80% by id; the rest are
    held out): a sanity check that offensive and hateful tweets get far more hits, not an evaluation."""
    path = require(SHARED_DATA / "harm" / "davidson_train.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row[""]))
    training = rows[: int(len(rows) * 0.8)]
    lib = KeywordLibrary.load(STARTER)
    tweets: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    for row in training:
        group = "neither" if row["class"] == "2" else "offensive"
        tweets[group] += 1
        flagged[group] += bool(lib.match(row["tweet"]))
    offensive, neither = (flagged[g] / tweets[g] for g in ("offensive", "neither"))
    assert offensive > 0.5 and neither < 0.2 and offensive > 4 * neither, (offensive, neither)
