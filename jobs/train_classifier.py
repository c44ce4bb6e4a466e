"""Train the ``harm`` detector's offensive-language classifiers: ``python -m jobs.train_classifier``.

Reads the labelled sets of ``../shared/data/harm`` (:mod:`jobs.harm_data`: splits, deduplication),
writes one fastText training file per language with :func:`detectors.harm.classifier.prepare`, the
same preparation the detector applies, and trains and quantises each model in a subprocess under
the training venv (``make train-env``; ``jobs/fasttext_train_worker.py`` says why it is separate).
Then it measures each shipped ``.ftz`` on its held-out rows with the project's own predictor and
writes ``training.json``: hyper-parameters, seed, data files and their SHA-256, the split rule, row
counts, the fastText version, the models' SHA-256 and the measures.

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
}

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


@dataclass(frozen=True)
class ModelSpec:
    """One model: its language, the TC260-003 risk its score stands for, data files and parameters."""

    name: str
    lang: str
    risk: str
    files: tuple[str, ...]
    train: dict[str, Any]


MODELS = (
    ModelSpec(
        name="offensive_zh",
        lang="zh",
        risk="A.2.9",
        files=(harm_data.COLD_TRAIN, harm_data.COLD_DEV),
        train={
            "dim": 50,
            "lr": 1.0,
            "epoch": 25,
            "wordNgrams": 3,
            "bucket": 500000,
            "thread": 1,
            "seed": 0,
        },
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
    ),
)


def split(spec: ModelSpec, data: Path) -> tuple[list[Example], list[Example]]:
    """Training and held-out rows of ``spec``'s data (:mod:`jobs.harm_data`)."""
    if spec.lang == "zh":
        test = harm_data.cold_dev(data / harm_data.COLD_DEV)
        return harm_data.cold_train(data / harm_data.COLD_TRAIN, exclude=test), test
    return harm_data.davidson_split(data / harm_data.DAVIDSON)


def write_training_file(examples: list[Example], lang: str, path: Path) -> None:
    """One ``__label__1 prepared text`` line per example, in the given order."""
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(f"{POSITIVE if example.positive else NEGATIVE} {prepare(example.text, lang)}\n")


def train_model(spec: ModelSpec, examples: list[Example], output: Path, train_python: Path) -> None:
    """Train and quantise ``spec`` on ``examples`` into ``output`` (.ftz) under the training venv."""
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-") as work:
        train_file = Path(work) / "train.txt"
        write_training_file(examples, spec.lang, train_file)
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


def measure(model: OffensiveModel, test: list[Example]) -> dict[str, Any]:
    """The model alone on held-out rows, each scored whole (they are tweets and comments)."""
    scores = [model.probability(prepare(example.text, model.lang)) for example in test]
    measures = harm_data.binary_measures([example.positive for example in test], scores, THRESHOLD)
    return {
        "threshold": THRESHOLD,
        **{key: round(value, 4) for key, value in measures.items() if value is not None},
    }


def train_all(data: Path, out_dir: Path, train_python: Path) -> dict[str, Any]:
    """Train every model of :data:`MODELS` into ``out_dir`` and write its ``training.json``; the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    models: dict[str, Any] = {}
    for spec in MODELS:
        train, test = split(spec, data)
        path = out_dir / f"{spec.name}.ftz"
        train_model(spec, train, path, train_python)
        sha256 = harm_data.file_sha256(path)
        train_prior = round(sum(example.positive for example in train) / len(train), 4)
        model = OffensiveModel(spec.name, spec.lang, spec.risk, POSITIVE, str(path), sha256, train_prior)
        models[spec.name] = {
            "file": path.name,
            "sha256": sha256,
            "bytes": path.stat().st_size,
            "lang": spec.lang,
            "risk": spec.risk,
            "positive_label": POSITIVE,
            "train_prior": train_prior,
            "data": list(spec.files),
            "rows": {
                "train": len(train),
                "train_positive": sum(example.positive for example in train),
                "test": len(test),
                "test_positive": sum(example.positive for example in test),
            },
            "train": spec.train,
            "quantize": QUANTIZE,
            "metrics": measure(model, test),
        }
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


@app.command()
def train_classifier(
    data: Annotated[
        Path, typer.Option(help="folder with davidson_train.csv, cold_train.csv, cold_dev.csv")
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
        metrics = entry["metrics"]
        out.print(
            f"{name}: {entry['bytes']:,} bytes, train {entry['rows']['train']:,} rows, "
            f"held-out P {metrics['precision']:.3f} R {metrics['recall']:.3f} F1 {metrics['f1']:.3f} "
            f"AUC {metrics['roc_auc']:.3f}",
            highlight=False,
        )
    out.print(f"wrote {out_dir / MANIFEST}", highlight=False)


if __name__ == "__main__":
    app()
