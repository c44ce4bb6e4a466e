"""The ``synthetic`` detector on real data: explicit labels in English and Chinese on the HH-RLHF
human and assistant turns, implicit labels in record and WARC metadata, boilerplate shares, and the
classifier's held-out precision and recall as its model card states them."""

from __future__ import annotations

import hashlib
import json
import shutil
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest

from detectors import build_detector
from detectors.harm.classifier import MANIFEST, prepare
from detectors.synthetic.detector import SyntheticDetector, shipped_model_path
from detectors.synthetic.labels import EXPLICIT_KINDS, LabelMatcher, shipped_labels_path
from jobs import harm_data
from jobs.train_classifier import DEFAULT_TRAIN_PYTHON, measure
from jobs.train_synthetic import DEFAULT_DATA, split, train
from tests.chat_data import hh_pairs, transcript_turns
from tests.conftest import require
from tests.test_readers import _http, _read, _unit, _warc_record

TURN_TYPE = pa.struct(
    [
        ("role", pa.string()),
        ("label", pa.string()),
        ("part", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
    ]
)


def _annotate(detector: SyntheticDetector, columns: dict[str, list]) -> list[dict]:
    arrays = {
        name: pa.array(values, pa.list_(TURN_TYPE) if name == "turns" else pa.string())
        for name, values in columns.items()
    }
    found = detector.annotate(pa.record_batch(arrays))
    names = [field.name for field in detector.output_fields()]
    return [dict(zip(names, row, strict=True)) for row in zip(*(a.to_pylist() for a in found), strict=True)]


@pytest.fixture(scope="module")
def turns() -> dict[str, list[str]]:
    """Distinct human and assistant turns of every HH-RLHF pair, split by the tests' own parser."""
    found: dict[str, set[str]] = {"Human": set(), "Assistant": set()}
    for pair in hh_pairs():
        for side in ("chosen", "rejected"):
            for speaker, text in transcript_turns(pair[side]):
                if text.strip():
                    found[speaker].add(text.strip())
    return {speaker: sorted(texts) for speaker, texts in found.items()}


@pytest.fixture(scope="module")
def detector() -> SyntheticDetector:
    return SyntheticDetector()


def _labels() -> LabelMatcher:
    return LabelMatcher.load(shipped_labels_path())


def test_real_turns_carry_almost_no_explicit_label_and_assistants_more_boilerplate(
    turns: dict[str, list[str]], detector: SyntheticDetector
) -> None:
    rates = {}
    for speaker, texts in turns.items():
        rows = _annotate(detector, {"text": texts})
        rates[speaker] = (
            sum(row["synthetic.explicit_label"] for row in rows) / len(rows),
            sum(row["synthetic.boilerplate"] > 0 for row in rows) / len(rows),
        )
    # people asking questions never label their text AI-generated; the 2022 assistant rarely says it is one
    assert rates["Human"][0] <= 0.001 and rates["Assistant"][0] <= 0.005, rates
    assert rates["Assistant"][0] > rates["Human"][0], rates
    assert rates["Assistant"][1] > 5 * rates["Human"][1] > 0, rates


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_explicit_label_planted_in_real_turns_is_found_in_any_width_and_case(
    turns: dict[str, list[str]], detector: SyntheticDetector, lang: str
) -> None:
    matcher = _labels()
    labels = [label for label in matcher.labels if label.kind in EXPLICIT_KINDS and label.lang == lang]
    assert len(labels) >= 8
    clean = [text for text in turns["Assistant"] if not matcher.find(text)]
    texts, expected = [], []
    for index, label in enumerate(labels):
        phrase = label.term.upper() if index % 2 else unicodedata.normalize("NFKC", label.term)
        if lang == "zh" and index % 3 == 0:  # full-width letters, as Chinese text often writes them
            phrase = phrase.translate({code: code + 0xFEE0 for code in range(0x21, 0x7F)})
        body = clean[index * 7]
        texts.append(f"{phrase}\n\n{body}" if index % 2 else f"{body} {phrase}.")
        expected.append(label.id)
    rows = _annotate(detector, {"text": texts})
    for row, label_id, text in zip(rows, expected, texts, strict=True):
        assert row["synthetic.explicit_label"], text[:80]
        assert label_id in json.loads(row["synthetic.labels"]), (label_id, row["synthetic.labels"])
        start, end, found = json.loads(row["synthetic.spans"])[0]
        assert found in json.loads(row["synthetic.labels"]) and text[start:end].strip()


def test_a_longer_mention_hides_the_label_inside_it(detector: SyntheticDetector) -> None:
    rows = _annotate(
        detector,
        {"text": ["《人工智能生成合成内容标识办法》自2025年9月1日起施行。", "这张图片是AI生成的。"]},
    )
    assert [row["synthetic.explicit_label"] for row in rows] == [False, True]


def test_implicit_labels_in_record_metadata(detector: SyntheticDetector) -> None:
    aigc = {
        "Label": "1",
        "ContentProducer": "001191310115MA1K4A7L0X00000",
        "ProduceID": "p-17",
        "ReservedCode1": "c2lnbmF0dXJl",
        "ContentPropagator": "",
        "PropagateID": "",
        "ReservedCode2": "",
    }
    iptc = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
    action = {"action": "c2pa.created", "digitalSourceType": iptc}
    c2pa = {"assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}]}
    metas = [
        {"AIGC": aigc},
        {"file": {"xmp": {"aigc": json.dumps({"Label": "3", "ContentProducer": "p"})}}},
        {"c2pa": c2pa},
        {"Iptc4xmpExt:DigitalSourceType": "digitalCapture"},
        {"AIGC": {"ContentProducer": "no label value"}},
        {"deep": [[[[[[[[[[{"AIGC": aigc}]]]]]]]]]]},
        {},
    ]
    rows = _annotate(
        detector, {"text": ["A caption."] * len(metas), "meta": [json.dumps(m) if m else None for m in metas]}
    )
    assert [row["synthetic.implicit_label"] for row in rows] == [True, True, True, False, False, False, False]
    first = json.loads(rows[0]["synthetic.aigc"])
    assert first["ContentProducer"] == aigc["ContentProducer"] and first["ReservedCode1"] is True
    assert json.loads(rows[1]["synthetic.aigc"])["Label"] == "3"
    assert json.loads(rows[2]["synthetic.digital_source_types"]) == ["compositeWithTrainedAlgorithmicMedia"]
    assert json.loads(rows[3]["synthetic.digital_source_types"]) == ["digitalCapture"]
    assert rows[5]["synthetic.aigc"] is None  # past the depth bound: bounded work, not found
    assert not any(row["synthetic.explicit_label"] for row in rows)


def test_implicit_labels_in_a_crawled_page_reach_the_detector(
    tmp_path: Path, detector: SyntheticDetector
) -> None:
    ld_json = {"@context": "https://schema.org", "@type": "ImageObject",
               "digitalSourceType": "https://schema.org/TrainedAlgorithmicMediaDigitalSource"}  # fmt: skip
    page = (
        '<html><head><meta name="AIGC" content=\'{"Label": "1", "ContentProducer": "studio-7"}\'>'
        f'<script type="application/ld+json">{json.dumps(ld_json)}</script></head>'
        "<body><p>A lighthouse at dusk, rendered for the travel guide.</p></body></html>"
    ).encode()
    plain = b"<html><body><p>A photograph of a lighthouse at dusk.</p></body></html>"
    path = tmp_path / "crawl.warc"
    http = "application/http; msgtype=response"
    path.write_bytes(
        b"".join(
            _warc_record(
                "response", f"00000000-0000-0000-0000-00000000000{n}", url, http, _http("text/html", body)
            )
            for n, (url, body) in enumerate([("https://a.example/", page), ("https://b.example/", plain)])
        )
    )
    rows = _read(_unit(path, "warc"))
    assert json.loads(rows[0]["meta"])["html_ld_json"]  # kept verbatim by the reader
    found = _annotate(detector, {"text": [r["text"] for r in rows], "meta": [r["meta"] for r in rows]})
    assert [row["synthetic.implicit_label"] for row in found] == [True, False]
    assert json.loads(found[0]["synthetic.aigc"])["ContentProducer"] == "studio-7"
    assert json.loads(found[0]["synthetic.digital_source_types"]) == ["trainedAlgorithmicMedia"]


def test_conversations_are_measured_on_their_assistant_turns() -> None:
    detector = SyntheticDetector({"classifier": True})
    pair = hh_pairs(1)[0]
    pieces, rows, at = [], [], 0
    for speaker, text in transcript_turns(pair["chosen"]):
        head = ("\n\n" if pieces else "") + ("user: " if speaker == "Human" else "assistant: ")
        role = "user" if speaker == "Human" else "assistant"
        rows.append(
            {
                "role": role,
                "label": speaker,
                "part": None,
                "start": at + len(head),
                "end": at + len(head) + len(text),
            }
        )
        pieces += [head, text]
        at += len(head) + len(text)
    text = "".join(pieces)
    (row,) = _annotate(detector, {"text": [text], "turns": [rows]})
    model = detector.model()
    assert model is not None
    answers = [text[r["start"] : r["end"]] for r in rows if r["role"] == "assistant"]
    expected = sum(model.probability(prepare(answer, "en")) for answer in answers) / len(answers)
    assert row["synthetic.classifier_score"] == pytest.approx(expected, abs=1e-6)
    other = ["Der Leuchtturm steht seit 1902 auf der Klippe und ist heute ein Museum.", "这是一个中文句子。"]
    by_script = _annotate(detector, {"text": other})
    assert isinstance(by_script[0]["synthetic.classifier_score"], float)  # Latin script passes as English
    assert by_script[1]["synthetic.classifier_score"] is None
    by_lang = _annotate(detector, {"text": other, "quality.lang": ["de", "zh"]})
    assert [r["synthetic.classifier_score"] for r in by_lang] == [None, None]


def test_annotations_are_deterministic_and_independent_of_the_batch(turns: dict[str, list[str]]) -> None:
    detector = SyntheticDetector({"classifier": True})
    texts = turns["Assistant"][:60] + turns["Human"][:60]
    whole = _annotate(detector, {"text": texts})
    halves = _annotate(detector, {"text": texts[:37]}) + _annotate(detector, {"text": texts[37:]})
    assert whole == halves


def test_the_classifiers_held_out_precision_and_recall_are_the_model_cards() -> None:
    manifest = json.loads((shipped_model_path() / MANIFEST).read_text(encoding="utf-8"))
    entry = manifest["models"]["synthetic_en"]
    data = require(DEFAULT_DATA)
    assert manifest["data"][data.name]["sha256"] == harm_data.file_sha256(data)
    train_rows, test_rows = split(data)
    assert not {row.text for row in train_rows} & {row.text for row in test_rows}
    assert entry["rows"]["train"] == len(train_rows) and entry["rows"]["test"] == len(test_rows)
    model = SyntheticDetector({"classifier": True}).model()
    assert model is not None and model.sha256 == hashlib.sha256(Path(model.path).read_bytes()).hexdigest()
    measured = measure(model, test_rows)
    assert {name: measured[name] for name in entry["metrics"]} == entry["metrics"]
    assert measured["precision"] >= 0.85 and measured["recall"] >= 0.85, measured
    card = (shipped_model_path() / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"| {measured['precision']:.3f} | {measured['recall']:.3f} | {measured['f1']:.3f} |" in card


def test_a_bad_label_list_or_model_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "labels.yaml"
    bad.write_text(
        "version: '1'\nlabels:\n  - {id: en.label.x, lang: en, kind: label, term: generated by AI}\n"
        "  - {id: en.label.x, lang: en, kind: verdict, term: written by AI}\n"
    )
    with pytest.raises(ValueError, match=r"synthetic: .*labels.yaml.*(listed twice|kind)"):
        build_detector("synthetic", {"labels": str(bad)})
    models = tmp_path / "models"
    shutil.copytree(shipped_model_path(), models)
    (models / "synthetic_en.ftz").write_bytes(b"not the model")
    with pytest.raises(ValueError, match=r"classifier: .*SHA-256 differs"):
        build_detector("synthetic", {"classifier": str(models)})


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_model_byte_for_byte(tmp_path: Path) -> None:
    if not DEFAULT_TRAIN_PYTHON.is_file():
        pytest.skip(f"no training venv at {DEFAULT_TRAIN_PYTHON}; `make train-env` builds it")
    manifest = train(require(DEFAULT_DATA), tmp_path, DEFAULT_TRAIN_PYTHON)
    shipped = json.loads((shipped_model_path() / MANIFEST).read_text(encoding="utf-8"))
    assert (tmp_path / "synthetic_en.ftz").read_bytes() == (
        shipped_model_path() / "synthetic_en.ftz"
    ).read_bytes()
    assert manifest == shipped
