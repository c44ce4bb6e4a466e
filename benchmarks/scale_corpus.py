"""A real-text JSONL corpus of any size with 10% near duplicates, for the scale benchmark.

The texts are the real ones of ``../shared/data``: the NLTK mix (long speeches and declarations cut
into paragraph chunks of about 2,000 characters), the COLD Chinese comments and the Davidson
tweets, each text once (exact repeats inside the files are dropped). That is about 70,000 texts,
fewer than the 216,000 originals of the largest size, so every original is a *page* of one family:
a quarter are one text (each text is a page alone at most once), the rest threads of 2 to 6 texts
of that family drawn with replacement. The page mix is the same at every size, so documents per
second compare across sizes, and two pages share a text too rarely to be near duplicates.

10% of the documents are then copies of distinct originals long enough to shingle (40 shingles or
more), edited like web copies by ``dedup_corpus.make_copy`` (boilerplate, respacing, rewritten or
dropped runs of words, moved lines). A copy is kept only if the exact Jaccard of its 5-shingles
with the original's is at least 0.8 and its text differs from the original's beyond whitespace and
Unicode composition (up to ``ATTEMPTS`` edits per original), so every copy is a true near duplicate
and none an exact one; ``truth.json`` keeps which original each copy is of and that Jaccard.

Documents are shuffled and written as ``SHARDS`` JSONL files (``id``, ``text``): both tools read one
file per task, so the shards are what lets them use both cores.
Run: ``.venv/bin/python benchmarks/scale_corpus.py SIZE [--seed 7] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

from datatrove_env import CACHE  # beside this script: benchmarks/ is not a package
from dedup_corpus import NGRAM, THRESHOLD, corpus_path, jaccard, make_copy, read_records

from detectors.dedup.minhash import shingles
from jobs import harm_data
from schemas.document import normalise_text

VERSION = 2  # part of the cache folder name: bump when the recipe changes
HARM = corpus_path().parents[1] / "harm"
SHARDS = 8
COPY_SHARE = 0.1
SINGLE_SHARE = 0.25
THREAD_TEXTS = (2, 6)
CHUNK_CHARS = 2000
MIN_SHINGLES = 40
ATTEMPTS = 3  # edits tried per original before the next original is taken


def chunks(text: str, limit: int = CHUNK_CHARS) -> Iterator[str]:
    """Runs of whole lines of about ``limit`` characters; a single longer line stays whole."""
    part: list[str] = []
    size = 0
    for line in text.split("\n"):
        if part and size + len(line) > limit:
            yield "\n".join(part)
            part, size = [], 0
        if line.strip():
            part.append(line)
            size += len(line) + 1
    if part:
        yield "\n".join(part)


def real_texts() -> dict[str, list[str]]:
    """Every distinct real text per family, in file order (the order that makes builds repeatable)."""
    davidson_train, davidson_test = harm_data.davidson_split(HARM / harm_data.DAVIDSON)
    cold_test = harm_data.cold_dev(HARM / harm_data.COLD_DEV)
    families = {
        "nltk": [piece for record in read_records(corpus_path()) for piece in chunks(record["text"])],
        "cold": [e.text for e in harm_data.cold_train(HARM / harm_data.COLD_TRAIN) + cold_test],
        "davidson": [e.text for e in davidson_train + davidson_test],
    }
    seen: set[str] = set()
    distinct: dict[str, list[str]] = {}
    for family, texts in families.items():
        distinct[family] = []
        for text in (t.strip() for t in texts):
            if text and text not in seen:
                seen.add(text)
                distinct[family].append(text)
    return distinct


def pages(count: int, texts: dict[str, list[str]], rng: random.Random) -> list[tuple[str, str]]:
    """``count`` original pages as (family, text): single texts without repeats, or threads."""
    names = sorted(texts)
    weights = [len(texts[name]) for name in names]
    singles = {name: rng.sample(texts[name], len(texts[name])) for name in names}
    out = []
    for _ in range(count):
        family = rng.choices(names, weights)[0]
        if rng.random() < SINGLE_SHARE and singles[family]:
            out.append((family, singles[family].pop()))
        else:
            thread = rng.choices(texts[family], k=rng.randint(*THREAD_TEXTS))
            out.append((family, "\n".join(thread)))
    return out


def build(folder: Path, size: int, seed: int = 7) -> dict:
    """Write ``size`` documents as ``SHARDS`` JSONL files and ``truth.json`` (last) into ``folder``."""
    rng = random.Random(seed)
    texts = real_texts()
    copies = round(size * COPY_SHARE)
    originals = [
        {"id": f"d{index:07d}", "family": family, "text": text}
        for index, (family, text) in enumerate(pages(size - copies, texts, rng))
    ]
    vocabulary = sorted(
        {word for family in texts.values() for t in family for word in t.split() if word.isalpha()}
    )
    copy_of: dict[str, str] = {}
    copy_jaccard: dict[str, float] = {}
    documents = [{"id": doc["id"], "text": doc["text"]} for doc in originals]
    for doc in rng.sample(originals, len(originals)):
        if len(copy_of) == copies:
            break
        base = shingles(doc["text"], NGRAM, "auto")
        if len(base) < MIN_SHINGLES:
            continue
        for _ in range(ATTEMPTS):
            text = make_copy(doc["text"], rng, vocabulary)
            similarity = jaccard(base, shingles(text, NGRAM, "auto"))
            if similarity >= THRESHOLD and normalise_text(text) != normalise_text(doc["text"]):
                copy_of[f"{doc['id']}c"] = doc["id"]
                copy_jaccard[f"{doc['id']}c"] = round(similarity, 4)
                documents.append({"id": f"{doc['id']}c", "text": text})
                break
    rng.shuffle(documents)
    folder.mkdir(parents=True, exist_ok=True)
    per_shard = -(-len(documents) // SHARDS)
    for shard in range(SHARDS):
        with (folder / f"part-{shard:05d}.jsonl").open("w", encoding="utf-8") as handle:
            for doc in documents[shard * per_shard : (shard + 1) * per_shard]:
                handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    families = {name: sum(1 for doc in originals if doc["family"] == name) for name in sorted(texts)}
    counts = {
        "seed": seed,
        "documents": len(documents),
        "originals": len(originals),
        "originals_by_family": families,
        "real_texts_by_family": {name: len(texts[name]) for name in sorted(texts)},
        "copies": len(copy_of),
        "threshold": THRESHOLD,
        "text_bytes": sum(len(doc["text"].encode("utf-8")) for doc in documents),
    }
    truth = {**counts, "copy_of": copy_of, "copy_jaccard": copy_jaccard}
    (folder / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return counts


def cached(size: int, seed: int = 7) -> tuple[Path, dict]:
    """The corpus folder under the benchmark cache, built first if missing or incomplete."""
    folder = CACHE / f"corpus-{size}-seed{seed}-v{VERSION}"
    truth = folder / "truth.json"
    if not truth.exists():  # written last: a folder without it was interrupted
        shutil.rmtree(folder, ignore_errors=True)
        build(folder, size, seed)
    record = json.loads(truth.read_text(encoding="utf-8"))
    return folder, {k: v for k, v in record.items() if k not in ("copy_of", "copy_jaccard")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("size", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="a folder; the benchmark cache if unset")
    args = parser.parse_args()
    if args.out:
        print(json.dumps(build(args.out, args.size, args.seed), indent=1))
    else:
        folder, counts = cached(args.size, args.seed)
        print(folder)
        print(json.dumps(counts, indent=1))


if __name__ == "__main__":
    main()
