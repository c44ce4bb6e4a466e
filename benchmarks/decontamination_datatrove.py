"""datatrove's side of the decontamination benchmarks: its n-gram index and filter over our items.

Runs with the interpreter of ``benchmarks/datatrove_env.py`` and imports nothing from corpusaudit.

How our items reach datatrove. ``NGramsDecontIndexer`` builds its index from lighteval tasks
(lighteval is not installed, and its tasks download their data from the Hugging Face hub) or from
documents whose text is a task's gold answer; either way its ``run`` imports lighteval, so it
cannot run here. The index is nothing but the set of hashes its ``compute_hashes(label, query)``
returns, written as ``<task>.index.hashes`` (native uint64). So this script calls that very method,
unbound, on an object holding the indexer's own tokenizer, hash function and config, with each
benchmark item's full text as the ``label`` and no query (every n-gram of the item is indexed, the
most datatrove can find), and writes the file the way ``run`` does. Documents then go through
``NGramsDecontFilter`` unchanged, one ``filter(doc)`` call each: a document is contaminated when
any of its n-grams is in the index (datatrove has no verification step).

Input: ``--tasks`` a JSON object {benchmark: [item texts]}, ``--docs`` JSONL with ``text``.
Prints one JSON object: per n, the contaminated flag of each document, and the seconds spent
building the index and filtering (wall, and CPU for the filter).
Run: ``VENV/bin/python benchmarks/decontamination_datatrove.py --tasks T --docs D --work W --ngrams 8,12``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer
from datatrove.utils.hashing import create_hash_func
from datatrove.utils.word_tokenizers import load_word_tokenizer


def build_index(folder: Path, tasks: dict[str, list[str]], config: NGramsDecontConfig, language: str) -> None:
    """``NGramsDecontIndexer.compute_hashes`` over each item as the label; files as ``run`` writes them."""
    indexer = SimpleNamespace(
        config=config, tokenizer=load_word_tokenizer(language), hash_func=create_hash_func(config.hash_config)
    )
    folder.mkdir(parents=True, exist_ok=True)
    for task, texts in tasks.items():
        hashes: set[int] = set()
        for text in texts:
            hashes.update(NGramsDecontIndexer.compute_hashes(indexer, text))
        array = np.array(sorted(hashes), dtype=config.hash_config.np_descr)
        array.tofile(folder / f"{task.replace(' ', '_')}.index.hashes")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=Path, required=True)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--ngrams", default="12")
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    tasks = json.loads(args.tasks.read_text(encoding="utf-8"))
    with args.docs.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    result = {}
    for n in (int(v) for v in args.ngrams.split(",")):
        config = NGramsDecontConfig(n_grams=n)
        folder = args.work / f"index-{n}"
        started = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):  # datatrove logs every task it saves
            build_index(folder, tasks, config, args.language)
            built, cpu = time.perf_counter(), time.process_time()
            step = NGramsDecontFilter(index_folder=str(folder), config=config, language=args.language)
            flags = [step.filter(Document(text=text, id=str(i))) is not True for i, text in enumerate(texts)]
        result[str(n)] = {
            "flags": flags,
            "index_seconds": built - started,
            "filter_seconds": time.perf_counter() - built,
            "filter_cpu_seconds": time.process_time() - cpu,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
