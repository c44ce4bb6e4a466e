"""Train the ``synthetic`` detector's classifier: ``python -m jobs.train_synthetic``.

The model tells turns a language model wrote from turns people wrote, learned from the preference
pairs of ``../shared/data/chat/hh_rlhf_harmless_test.jsonl.gz`` (Bai et al. 2022): its ``Human:``
turns were written by crowdworkers, its ``Assistant:`` turns by the model under study. Each record
is read as the conversation reader reads it (:func:`pipeline.read.readers.chat.conversation`), so
the turns are the ones an audited corpus would give.

Split by conversation, never by turn: a record's turns share topic and wording, and the same
red-team opening recurs across records, so a turn split would put one conversation on both sides.
A conversation's side is fixed by the SHA-256 of its first human turn (whitespace collapsed): a
fifth of the hash space is held out. Texts are deduplicated per label; a text written by both sides
("Yes.") and a training text that is also held out are dropped, so no held-out text is trained on.

Training, quantisation and measurement are those of :mod:`jobs.train_classifier` (its training
venv, worker and measures); the model, ``training.json`` and the card live in
``schemas/models/synthetic``. One thread and a fixed seed give byte-identical files run to run.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from detectors.harm.classifier import MANIFEST, OffensiveModel
from jobs import harm_data
from jobs.harm_data import Example
from jobs.train_classifier import (
    DEFAULT_TRAIN_PYTHON,
    POSITIVE,
    QUANTIZE,
    REPO,
    ModelSpec,
    fasttext_version,
    measure,
    train_model,
)
from pipeline.cli import fail, out
from pipeline.read.readers.chat import conversation

DATA_FILE = "hh_rlhf_harmless_test.jsonl.gz"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "chat" / DATA_FILE
DEFAULT_OUT = REPO / "schemas" / "models" / "synthetic"
LICENCE = "MIT; Bai et al., 'Training a Helpful and Harmless Assistant with RLHF', 2022 (anthropics/hh-rlhf)"
HELD_OUT_BUCKETS = 5
"""One conversation in this many (by hash) is held out."""
SPLIT_RULE = (
    f"{DATA_FILE}: each record read as a preference pair; a conversation is held out when the SHA-256 of "
    f"its first human turn (whitespace collapsed), read as a number, is 0 modulo {HELD_OUT_BUCKETS}. "
    "Human turns are negative, assistant turns positive; texts deduplicated per label, texts of both "
    "labels dropped, held-out texts dropped from training."
)
SPEC = ModelSpec(
    name="synthetic_en",
    lang="en",
    risk=None,
    files=(DATA_FILE,),
    train={
        "dim": 50,
        "lr": 0.5,
        "epoch": 10,
        "wordNgrams": 3,
        "bucket": 200000,
        "thread": 1,
        "seed": 0,
    },
)

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


def held_out(first_turn: str) -> bool:
    """Whether the conversation opening with ``first_turn`` is held out (module docstring)."""
    digest = hashlib.sha256(" ".join(first_turn.split()).encode("utf-8")).hexdigest()
    return int(digest, 16) % HELD_OUT_BUCKETS == 0


def _examples(labelled: dict[str, set[bool]], ids: dict[str, str]) -> list[Example]:
    return [
        Example(ids[text], text, labels == {True}) for text, labels in labelled.items() if len(labels) == 1
    ]


def split(path: Path) -> tuple[list[Example], list[Example]]:
    """Training and held-out turns of the preference file, in file order (module docstring)."""
    sides: dict[bool, dict[str, set[bool]]] = {False: {}, True: {}}
    ids: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            _, turns, _ = conversation(json.loads(line), "preference")
            first = next(turn.content for turn in turns if turn.role == "user")
            side = sides[held_out(first)]
            for turn in turns:
                text = turn.content.strip()
                if text:
                    side.setdefault(text, set()).add(turn.role == "assistant")
                    ids.setdefault(text, f"{number}:{turn.part}:{turn.role}")
    test = _examples(sides[True], ids)
    test_texts = {example.text for example in test}
    train = [example for example in _examples(sides[False], ids) if example.text not in test_texts]
    return train, test


def train(data: Path, out_dir: Path, train_python: Path) -> dict[str, Any]:
    """Train, quantise and measure the model into ``out_dir`` and write its ``training.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows_train, rows_test = split(data)
    path = out_dir / f"{SPEC.name}.ftz"
    train_model(SPEC, rows_train, path, train_python)
    sha256 = harm_data.file_sha256(path)
    train_prior = round(sum(example.positive for example in rows_train) / len(rows_train), 4)
    model = OffensiveModel(SPEC.name, SPEC.lang, None, POSITIVE, str(path), sha256, train_prior)
    manifest = {
        "trainer": f"fasttext {fasttext_version(train_python)}",
        "split": SPLIT_RULE,
        "data": {DATA_FILE: {"sha256": harm_data.file_sha256(data), "licence": LICENCE}},
        "models": {
            SPEC.name: {
                "file": path.name,
                "sha256": sha256,
                "bytes": path.stat().st_size,
                "lang": SPEC.lang,
                "risk": None,
                "positive_label": POSITIVE,
                "labels": {POSITIVE: "assistant turn (model-written)", "__label__0": "human turn"},
                "train_prior": train_prior,
                "data": list(SPEC.files),
                "rows": {
                    "train": len(rows_train),
                    "train_positive": sum(example.positive for example in rows_train),
                    "test": len(rows_test),
                    "test_positive": sum(example.positive for example in rows_test),
                },
                "train": SPEC.train,
                "quantize": QUANTIZE,
                "metrics": measure(model, rows_test),
            }
        },
    }
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


@app.command()
def train_synthetic(
    data: Annotated[Path, typer.Option(help=f"the preference pairs ({DATA_FILE})")] = DEFAULT_DATA,
    out_dir: Annotated[Path, typer.Option("--out", help="where the .ftz file and training.json go")] = (
        DEFAULT_OUT
    ),
    train_python: Annotated[
        Path, typer.Option(help="python of the training venv (make train-env)")
    ] = DEFAULT_TRAIN_PYTHON,
) -> None:
    """Train, quantise and measure the human-versus-assistant classifier; write it with training.json."""
    if not data.is_file():
        raise fail(f"{data}: no such file")
    if not train_python.is_file() or shutil.which(str(train_python)) is None:
        raise fail(f"{train_python}: no training venv; run `make train-env`")
    entry = train(data, out_dir, train_python)["models"][SPEC.name]
    metrics = entry["metrics"]
    out.print(
        f"{SPEC.name}: {entry['bytes']:,} bytes, train {entry['rows']['train']:,} turns, held-out "
        f"{entry['rows']['test']:,}: P {metrics['precision']:.3f} R {metrics['recall']:.3f} "
        f"F1 {metrics['f1']:.3f} AUC {metrics['roc_auc']:.3f}",
        highlight=False,
    )
    out.print(f"wrote {out_dir / MANIFEST}", highlight=False)


if __name__ == "__main__":
    app()
