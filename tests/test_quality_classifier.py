"""``quality.classifier``: a fastText quality model in DCLM's format, trained here on real text.

The model is trained with the project's own training worker (``jobs/fasttext_train_worker.py``,
under the training venv) on the NLTK corpus: paragraphs of US inaugural and State of the Union
addresses, edited prose, as ``__label__hq``, and web forum posts, chat, overheard dialogue, wine
reviews and personal ads as ``__label__cc``, the labels DCLM's ``fasttext_oh_eli5`` uses. Whole
addresses and web documents are held out, so no held-out paragraph shares a speech with a training
one. The detector loads the file through a config, as a run does.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from detectors.quality.classifier import QualityClassifier
from jobs.harm_data import roc_auc
from jobs.train_classifier import DEFAULT_TRAIN_PYTHON, WORKER
from pipeline.annotate.detectors import build_detectors
from schemas.config import load_config
from schemas.loading import ConfigError
from tests.conftest import REPO
from tests.runs import audit, small_corpus

TRAIN = {"dim": 16, "lr": 0.5, "epoch": 10, "wordNgrams": 2, "bucket": 20000, "thread": 1, "seed": 0}
QUANTIZE = {"qnorm": True, "dsub": 4, "cutoff": 5000}
"""A small model that trains in seconds: quantised to its 5,000 most used rows, as an .ftz file."""
HELD_OUT_EVERY = 5
"""Every fifth address and every fifth web document (in corpus order) is held out."""
PROSE = ("inaugural", "state_union")


def _paragraphs(text: str) -> list[str]:
    return [block for block in re.split(r"\n\s*\n", text) if len(block) >= 150]


def _split(records: list[dict]) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """(text, is hq) for training and for held-out rows, as many web rows as prose rows in each."""
    speeches = [r for r in records if r["source"] in PROSE]
    web = [r for r in records if r["source"] != "udhr" and r["source"] not in PROSE and len(r["text"]) >= 40]
    split: tuple[list[tuple[str, bool]], list[tuple[str, bool]]] = ([], [])
    for part, keep in ((0, lambda n: n % HELD_OUT_EVERY), (1, lambda n: not n % HELD_OUT_EVERY)):
        prose = [(p, True) for n, r in enumerate(speeches) if keep(n) for p in _paragraphs(r["text"])]
        pool = [(r["text"], False) for n, r in enumerate(web) if keep(n)]
        chatter = [pool[i * len(pool) // len(prose)] for i in range(len(prose))]  # evenly: every kind
        split[part].extend(prose + chatter)
    return split


@pytest.fixture(scope="module")
def corpus(nltk_records: list[dict]) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    return _split(nltk_records)


def _train(examples: list[tuple[str, bool]], folder: Path) -> Path:
    """A DCLM-style model trained and quantised by the project's worker, one thread, seed 0."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"__label__{'hq' if hq else 'cc'} {' '.join(text.split())}\n" for text, hq in examples]
    (folder / "train.txt").write_text("".join(lines), encoding="utf-8")
    model = folder / "quality.ftz"
    spec = {"input": str(folder / "train.txt"), "output": str(model), "train": TRAIN, "quantize": QUANTIZE}
    (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    subprocess.run([str(DEFAULT_TRAIN_PYTHON), str(WORKER), str(folder / "spec.json")], check=True)
    return model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, corpus: tuple[list, list]) -> Path:
    if not DEFAULT_TRAIN_PYTHON.is_file():
        pytest.skip(f"no training venv at {DEFAULT_TRAIN_PYTHON}; `make train-env` builds it")
    return _train(corpus[0], tmp_path_factory.mktemp("model"))


def _config(folder: Path, model: Path, params: str = "") -> Path:
    """A config beside the model that names it relatively, as a user's config would."""
    (folder / "sources.yaml").write_text(
        "sources:\n  - {id: forum, kind: open-dataset, license: CC0-1.0, jurisdiction: US, "
        "collected_at: 2024-02-01, collection_record: NLTK corpora}\n"
    )
    config = folder / "audit.yaml"
    config.write_text(
        "name: quality\nsources: sources.yaml\ninputs: [{source: forum, paths: [data.jsonl]}]\n"
        f"detectors: [{{name: quality.classifier, params: {{model_path: {model.name}{params}}}}}]\n"
    )
    return config


def _detector(folder: Path, model: Path, params: str = "") -> QualityClassifier:
    (detector,) = build_detectors(load_config(_config(folder, model, params)))
    assert isinstance(detector, QualityClassifier)
    return detector


def _annotate(detector: QualityClassifier, texts: list[str | None]) -> list[tuple]:
    score, label = detector.annotate(pa.record_batch({"text": pa.array(texts, pa.string())}))
    return list(zip(score.to_pylist(), label.to_pylist(), strict=True))


def test_scores_separate_held_out_documents(model: Path, corpus: tuple[list, list]) -> None:
    detector = _detector(model.parent, model)
    held_out = corpus[1]
    truth = [hq for _, hq in held_out]
    rows = _annotate(detector, [text for text, _ in held_out])
    scores = [score for score, _ in rows]
    assert len(held_out) >= 600 and 0.45 <= sum(truth) / len(truth) <= 0.55
    auc = roc_auc(truth, scores)
    accuracy = sum((score >= 0.5) == hq for score, hq in zip(scores, truth, strict=True)) / len(truth)
    assert auc is not None and auc >= 0.98, auc
    assert accuracy >= 0.95, accuracy
    assert all((label == "hq") == (score > 0.5) for score, label in rows if abs(score - 0.5) > 1e-3)


def test_the_positive_label_and_the_prefix_are_configurable(model: Path, corpus: tuple[list, list]) -> None:
    texts = [text for text, _ in corpus[1][:: len(corpus[1]) // 40]]
    hq = _annotate(_detector(model.parent, model), texts)
    cc = _annotate(_detector(model.parent, model, ", positive_label: __label__cc"), texts)
    assert [label for _, label in hq] == [label for _, label in cc]
    assert all(abs(a + b - 1) < 1e-3 for (a, _), (b, _) in zip(hq, cc, strict=True))  # two labels: p and 1-p
    with pytest.raises(ConfigError, match=r"positive_label 'good' is not a label .*its labels: cc, hq"):
        _detector(model.parent, model, ", positive_label: good")
    with pytest.raises(ConfigError, match=r"positive_label 'hq' is not a label"):
        _detector(model.parent, model, ", label_prefix: '__class__'")


def test_documents_are_scored_whole_on_one_line_and_empty_ones_are_null(
    model: Path, nltk_records: list[dict]
) -> None:
    detector = _detector(model.parent, model)
    speech = next(r["text"] for r in nltk_records if r["source"] == "inaugural")
    chat = next(r["text"] for r in nltk_records if r["source"] == "nps_chat")
    assert "\n" in speech and "\n" in chat
    rows = _annotate(detector, [speech, speech.replace("\n", " "), chat, None, " \n\t"])
    assert rows[0] == rows[1] and rows[0][1] == "hq" and rows[2][1] == "cc"
    assert rows[3] == rows[4] == (None, None)
    shortened = _annotate(_detector(model.parent, model, ", max_chars: 20"), [speech])
    assert shortened == _annotate(detector, [speech[:20]])
    again = _annotate(detector, [chat, speech])
    assert again == [rows[2], rows[0]]  # each document alone: the batch does not matter


def test_the_run_records_the_score_the_label_and_the_model(
    tmp_path: Path, model: Path, corpus: tuple[list, list]
) -> None:
    held_out = corpus[1][::10]
    records = [{"id": f"d{n}", "text": text} for n, (text, _) in enumerate(held_out)]
    (tmp_path / model.name).write_bytes(model.read_bytes())
    (tmp_path / "policy.yaml").write_text(
        "version: 1\nrules:\n  - {id: low-quality, when: 'quality.classifier_score < 0.5', "
        "action: quarantine, reason: the quality classifier scores it below one half}\n"
    )
    detectors = f"[{{name: quality.classifier, params: {{model_path: {model.name}}}}}]"
    config = small_corpus(tmp_path, records, detectors=detectors, extra="policy: policy.yaml\n")
    run = audit(config, tmp_path / "run", partitions=1)
    ledger = pq.read_table(run.run_dir / run.record["ledger_files"][0]["path"]).to_pylist()
    assert len(ledger) == len(held_out)
    for row in ledger:
        evidence = json.loads(row["evidence"])
        score, label = evidence["quality.classifier_score"], evidence["quality.classifier_label"]
        assert (row["action"] == "quarantine") == (score < 0.5) and label in ("hq", "cc")
    quarantined = [row["action"] == "quarantine" for row in ledger]
    wrong = sum(q == hq for q, (_, hq) in zip(quarantined, held_out, strict=True))  # web text is held back
    assert wrong <= 0.1 * len(ledger) and sum(quarantined) >= 0.3 * len(ledger)
    (described,) = [d for d in run.record["detectors"] if d["name"] == "quality.classifier"]
    assert described["model"] == model.name
    assert described["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()


def test_training_is_reproducible_and_a_missing_model_is_a_config_error(
    tmp_path: Path, model: Path, corpus: tuple[list, list]
) -> None:
    assert _train(corpus[0], tmp_path / "again").read_bytes() == model.read_bytes()
    with pytest.raises(ConfigError, match=r"model_path: no model file at .*absent\.ftz"):
        _detector(tmp_path, tmp_path / "absent.ftz")
    (tmp_path / "notes.ftz").write_text("not a model\n")
    with pytest.raises(ConfigError, match=r"model_path: .*wrong file format"):
        _detector(tmp_path, tmp_path / "notes.ftz")


def test_the_readme_example_configures_the_detector(
    tmp_path: Path, model: Path, corpus: tuple[list, list]
) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "name: quality.classifier" in b]
    (spec,) = yaml.safe_load(block)["detectors"]
    (tmp_path / "models").mkdir()
    shutil.copy(model, tmp_path / spec["params"]["model_path"])  # the example's name, relative to the config
    config = _config(tmp_path, model)
    config.write_text(config.read_text().split("detectors:")[0] + yaml.safe_dump({"detectors": [spec]}))
    (detector,) = build_detectors(load_config(config))
    assert detector.describe()["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    texts = [text for text, _ in corpus[1][::50]]
    assert _annotate(detector, texts) == _annotate(_detector(model.parent, model), texts)
