"""Train the ``harm`` detector's offensive-language classifiers: ``python -m jobs.train_classifier``.

Reads the labelled sets of ``../shared/data/harm`` (:mod:`jobs.harm_data`: splits, deduplication),
writes one fastText training file per model with :func:`detectors.harm.classifier.prepare`, the
same preparation the detector applies, and trains and quantises each model in a subprocess under
the training venv (``make train-env``; ``jobs/fasttext_train_worker.py`` says why it is separate).

Each model is trained on the training rows of its sources less their development rows, and its
threshold is chosen on those development rows (:func:`jobs.harm_data.dev_split`): the highest F1,
or for a model with a recall target the highest threshold that keeps it. The held-out rows of every
source are then scored by the shipped ``.ftz`` with the project's own predictor at that threshold.
A model of several sources is also measured across sources (:data:`CROSS_SOURCE`): the same
parameters trained on one source alone, thresholded on that source's development rows, and scored
on another source's held-out rows; these models are built in a scratch folder and only their
figures and hashes are kept. ``training.json`` records hyper-parameters, seed, data files and their
SHA-256, the split rule, row counts, the fastText version, the models' SHA-256 and the measures.

Training is reproducible: fixed seed, one thread, training files in a fixed order; a rerun writes
byte-identical ``.ftz`` files (``tests/test_harm_classifier.py`` checks it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from detectors.harm.classifier import MANIFEST, OffensiveModel, prepare
from jobs import harm_data
from jobs.harm_data import Example
from pipeline.cli import fail, out

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "harm"
DEFAULT_OUT = REPO / "schemas" / "models" / "harm"
DEFAULT_TRAIN_PYTHON = REPO / ".venv-train" / "bin" / "python"
WORKER = Path(__file__).with_name("fasttext_train_worker.py")
POSITIVE, NEGATIVE = "__label__1", "__label__0"
THRESHOLD = 0.5
QUANTIZE = {"qnorm": True, "retrain": True, "cutoff": 50000, "dsub": 2, "thread": 1}
LICENCES = {
    harm_data.DAVIDSON: "MIT; Davidson et al., ICWSM 2017",
    harm_data.COLD_TRAIN: "Apache-2.0; Deng et al., EMNLP 2022 (COLD)",
    harm_data.COLD_DEV: "Apache-2.0; Deng et al., EMNLP 2022 (COLD)",
    harm_data.SWSR: "MIT; Jiang et al., Online Social Networks and Media 2022 (SWSR)",
}
SOURCE_FILES = {
    "davidson": (harm_data.DAVIDSON,),
    "cold": (harm_data.COLD_TRAIN, harm_data.COLD_DEV),
    "swsr": (harm_data.SWSR,),
}
"""The labelled sources and their files (:func:`source_split` reads them)."""

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


@dataclass(frozen=True)
class ModelSpec:
    """One model: its language, the TC260-003 risk its score stands for (None for a model that scores
    no risk, such as :mod:`jobs.train_synthetic`'s), data files and parameters; for the models of
    this job also the text form it reads, its sources and, when set, the corpus base rate its
    threshold stands for (otherwise its threshold is the one of the highest F1 on the development
    rows)."""

    name: str
    lang: str
    risk: str | None
    files: tuple[str, ...]
    train: dict[str, Any]
    reads: str | None = None
    sources: tuple[str, ...] = ()
    operating_prior: float | None = None


ZH_TRAIN = {"dim": 50, "lr": 0.5, "epoch": 5, "wordNgrams": 3, "bucket": 500000, "thread": 1, "seed": 0}
MODELS = (
    ModelSpec(
        name="offensive_zh",
        lang="zh",
        risk="A.2.9",
        files=(harm_data.COLD_TRAIN, harm_data.COLD_DEV, harm_data.SWSR),
        train=ZH_TRAIN,
        reads="zh",
        sources=("cold", "swsr"),
    ),
    ModelSpec(
        name="offensive_en",
        lang="en",
        risk="A.1.6",
        files=(harm_data.DAVIDSON,),
        train={
            "dim": 50,
            "lr": 0.5,
            "epoch": 5,
            "wordNgrams": 2,
            "minn": 3,
            "maxn": 6,
            "bucket": 200000,
            "thread": 1,
            "seed": 0,
        },
        reads="social",
        sources=("davidson",),
        operating_prior=0.02,
    ),
)
ORDER_SALT = "order"
"""The salt of the hash that orders training rows (:func:`fit`)."""
CROSS_SOURCE = {"offensive_zh": (("cold", "swsr"), ("swsr", "cold"))}
"""Per model, the (trained on, scored on) pairs of its cross-source measures."""


def source_split(source: str, data: Path) -> tuple[list[Example], list[Example]]:
    """Training and held-out rows of one source (:mod:`jobs.harm_data`)."""
    if source == "cold":
        test = harm_data.cold_dev(data / harm_data.COLD_DEV)
        return harm_data.cold_train(data / harm_data.COLD_TRAIN, exclude=test), test
    if source == "swsr":
        return harm_data.swsr_split(data / harm_data.SWSR)
    return harm_data.davidson_split(data / harm_data.DAVIDSON)


def write_training_file(examples: list[Example], reads: str, path: Path) -> None:
    """One ``__label__1 prepared text`` line per example, in the given order."""
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(f"{POSITIVE if example.positive else NEGATIVE} {prepare(example.text, reads)}\n")


def train_model(spec: ModelSpec, examples: list[Example], output: Path, train_python: Path) -> None:
    """Train and quantise ``spec`` on ``examples`` into ``output`` (.ftz) under the training venv."""
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-") as work:
        train_file = Path(work) / "train.txt"
        write_training_file(examples, spec.reads or spec.lang, train_file)
        spec_file = Path(work) / "spec.json"
        worker_spec = {
            "input": str(train_file),
            "output": str(output),
            "train": spec.train,
            "quantize": QUANTIZE,
        }
        spec_file.write_text(json.dumps(worker_spec), encoding="utf-8")
        subprocess.run([str(train_python), str(WORKER), str(spec_file)], check=True)


def fasttext_version(train_python: Path) -> str:
    """The ``fasttext`` distribution the training venv trains with."""
    query = "import importlib.metadata as m; print(m.version('fasttext'))"
    return subprocess.run(
        [str(train_python), "-c", query], check=True, capture_output=True, text=True
    ).stdout.strip()


def measure(model: OffensiveModel, test: list[Example], threshold: float = THRESHOLD) -> dict[str, Any]:
    """The model alone on held-out rows, each scored whole (they are tweets and comments), flagged at
    ``threshold``; with the share of negative rows flagged."""
    truth = [example.positive for example in test]
    scores = [model.score(example.text) for example in test]
    measures = harm_data.binary_measures(truth, scores, threshold)
    measures["false_positive_rate"] = harm_data.false_positive_rate(truth, [s >= threshold for s in scores])
    return {
        "threshold": threshold,
        **{key: round(value, 4) for key, value in measures.items() if value is not None},
    }


def choose_threshold(spec: ModelSpec, model: OffensiveModel, dev: list[Example]) -> float:
    """The model's threshold (:class:`ModelSpec`): the probability that Bayes' rule moves to 0.5 when
    the base rate goes from the training rows' to ``operating_prior``, or that of the highest F1 on
    the development rows. The English model keeps the first: Davidson's rows hold no text unlike a
    tweet, and at the threshold of its best F1 there it flags prose, recipes and bug reports
    (``MODEL_CARD.md``)."""
    if spec.operating_prior is not None:
        train_odds = model.train_prior / (1 - model.train_prior)
        odds = train_odds / (spec.operating_prior / (1 - spec.operating_prior))
        return round(odds / (1 + odds), 6)
    truth = [example.positive for example in dev]
    return harm_data.f1_threshold(truth, [model.score(example.text) for example in dev])


def _model(spec: ModelSpec, path: Path, train_prior: float) -> OffensiveModel:
    sha256 = harm_data.file_sha256(path)
    return OffensiveModel(
        spec.name, spec.lang, spec.risk, POSITIVE, str(path), sha256, train_prior, spec.reads
    )


def fit(
    spec: ModelSpec, train: list[Example], path: Path, train_python: Path
) -> tuple[OffensiveModel, list[Example], list[Example], float]:
    """Train ``spec`` on ``train`` less its development rows into ``path``; the model, the rows it was
    fitted on, the development rows and the threshold chosen on them.

    The rows are trained in the order of a salted hash of their text: one thread reads the file in
    order, and sources read one after the other, each with its own labelling, leave the model
    fitted to whichever came last (in file order, the SWSR held-out ROC-AUC of the combined model
    was 0.71; in hash order 0.82)."""
    fitted, dev = harm_data.dev_split(train)
    fitted = sorted(fitted, key=lambda example: harm_data.share(example.text, ORDER_SALT))
    train_model(spec, fitted, path, train_python)
    prior = round(sum(example.positive for example in fitted) / len(fitted), 4)
    model = _model(spec, path, prior)
    return model, fitted, dev, choose_threshold(spec, model, dev)


def _rows(fitted: list[Example], dev: list[Example], test: list[Example]) -> dict[str, int]:
    return {
        "train": len(fitted),
        "train_positive": sum(example.positive for example in fitted),
        "dev": len(dev),
        "dev_positive": sum(example.positive for example in dev),
        "test": len(test),
        "test_positive": sum(example.positive for example in test),
    }


def cross_source(
    spec: ModelSpec, splits: dict[str, tuple[list[Example], list[Example]]], train_python: Path
) -> dict[str, Any]:
    """The measures of :data:`CROSS_SOURCE` for ``spec``: trained on one source, scored on another."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-cross-") as work:
        for trained_on, scored_on in CROSS_SOURCE.get(spec.name, ()):
            path = Path(work) / f"{trained_on}.ftz"
            model, fitted, dev, threshold = fit(spec, splits[trained_on][0], path, train_python)
            test = splits[scored_on][1]
            results[f"{trained_on}->{scored_on}"] = {
                "sha256": model.sha256,
                "train_prior": model.train_prior,
                "rows": _rows(fitted, dev, test),
                "metrics": measure(model, test, threshold),
                "metrics_own_test": measure(model, splits[trained_on][1], threshold),
            }
    return results


def train_all(data: Path, out_dir: Path, train_python: Path) -> dict[str, Any]:
    """Train every model of :data:`MODELS` into ``out_dir`` and write its ``training.json``; the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    models: dict[str, Any] = {}
    for spec in MODELS:
        splits = {source: source_split(source, data) for source in spec.sources}
        train = [example for source in spec.sources for example in splits[source][0]]
        test = [example for source in spec.sources for example in splits[source][1]]
        path = out_dir / f"{spec.name}.ftz"
        model, fitted, dev, threshold = fit(spec, train, path, train_python)
        models[spec.name] = {
            "file": path.name,
            "sha256": model.sha256,
            "bytes": path.stat().st_size,
            "lang": spec.lang,
            "reads": spec.reads,
            "risk": spec.risk,
            "positive_label": POSITIVE,
            "train_prior": model.train_prior,
            "threshold": threshold,
            "data": list(spec.files),
            "sources": list(spec.sources),
            "rows": _rows(fitted, dev, test),
            "train": spec.train,
            "quantize": QUANTIZE,
            "dev_metrics": measure(model, dev, threshold),
            "metrics": {source: measure(model, splits[source][1], threshold) for source in spec.sources},
        }
        crossed = cross_source(spec, splits, train_python)
        if crossed:
            models[spec.name]["cross_source"] = crossed
    files = sorted({name for spec in MODELS for name in spec.files})
    manifest = {
        "trainer": f"fasttext {fasttext_version(train_python)}",
        "split": harm_data.SPLIT_RULE,
        "data": {
            name: {"sha256": harm_data.file_sha256(data / name), "licence": LICENCES[name]} for name in files
        },
        "models": models,
    }
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def _line(name: str, metrics: dict[str, Any]) -> str:
    return (
        f"{name}: P {metrics['precision']:.3f} R {metrics['recall']:.3f} F1 {metrics['f1']:.3f} "
        f"AUC {metrics['roc_auc']:.3f} FPR {metrics['false_positive_rate']:.3f} at {metrics['threshold']}"
    )


@app.command()
def train_classifier(
    data: Annotated[
        Path,
        typer.Option(help="folder with davidson_train.csv, cold_train.csv, cold_dev.csv, swsr_comments.csv"),
    ] = (DEFAULT_DATA),
    out_dir: Annotated[Path, typer.Option("--out", help="where the .ftz files and training.json go")] = (
        DEFAULT_OUT
    ),
    train_python: Annotated[
        Path, typer.Option(help="python of the training venv (make train-env)")
    ] = DEFAULT_TRAIN_PYTHON,
) -> None:
    """Train, quantise and measure the offensive-language classifiers; write them with training.json."""
    missing = [name for name in LICENCES if not (data / name).is_file()]
    if missing:
        raise fail(f"{data}: missing {', '.join(missing)}")
    if not train_python.is_file() or shutil.which(str(train_python)) is None:
        raise fail(f"{train_python}: no training venv; run `make train-env`")
    manifest = train_all(data, out_dir, train_python)
    for name, entry in manifest["models"].items():
        out.print(f"{name}: {entry['bytes']:,} bytes, train {entry['rows']['train']:,} rows", highlight=False)
        for source, metrics in entry["metrics"].items():
            out.print(_line(f"  held-out {source}", metrics), highlight=False)
        for pair, crossed in entry.get("cross_source", {}).items():
            out.print(_line(f"  cross-source {pair}", crossed["metrics"]), highlight=False)
    out.print(f"wrote {out_dir / MANIFEST}", highlight=False)


if __name__ == "__main__":
    app()
