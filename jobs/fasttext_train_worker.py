"""Train and quantise one fastText classifier: ``.venv-train/bin/python jobs/fasttext_train_worker.py SPEC``.

Runs under the training venv (``make train-env``), which has the ``fasttext`` 0.9.3 binding that can
train; the project venv has ``fasttext-predict`` under the same import name, which can only predict.
So this script imports the standard library and ``fasttext`` only, and no module of the package
imports it: ``jobs.train_classifier`` prepares the data and starts it as a subprocess.

SPEC is a JSON file: ``{"input": train.txt, "output": model.ftz, "train": {...}, "quantize": {...}}``,
the keyword arguments of ``fasttext.train_supervised`` and ``FastText.quantize``. ``quantize`` gets
``input`` too when it retrains. With ``thread: 1`` the output is byte-identical from run to run.
"""

from __future__ import annotations

import json
import sys

import fasttext


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    model = fasttext.train_supervised(input=spec["input"], verbose=0, **spec["train"])
    quantize = dict(spec["quantize"])
    if quantize.get("retrain"):
        quantize["input"] = spec["input"]
    model.quantize(verbose=0, **quantize)
    model.save_model(spec["output"])


if __name__ == "__main__":
    main(sys.argv[1])
