"""Documents/second of MinHash signing on the shared NLTK corpus: ours, datasketch, datatrove.

One run each over all 15,235 texts, already in memory, then the ratios:

* ours: ``MinHashDetector.annotate`` on Arrow record batches of 1,024 texts (shingles,
  signatures and LSH band keys), i.e. the map side of the ``dedup.minhash`` stage;
* datasketch used naively: per document ``MinHash(num_perm=128, seed=1)`` updated once per
  shingle with the default SHA-1 hash, then ``MinHashLSH.insert`` (signatures and band buckets);
* datatrove: its ``MinhashDedupSignature`` step (5-gram words, 9 buckets x 13 hashes = 128
  hashes, the same band split) behind a ``JsonlReader``, run by ``LocalPipelineExecutor`` with one
  task. That timing is end to end: executor start-up, reading and parsing the JSONL copy of the
  corpus, normalising, shingling, hashing and writing the sorted signature files; nothing is
  subtracted, so it includes reading that the other two do not pay. It runs twice: with
  datatrove's default English word tokenizer (spaCy's blank ``en``) for the headline ratio, and
  with a ``\\w+`` tokenizer like ours, which shows how much of the gap is spaCy.

datatrove is not a project dependency; it and the few modules its signature step imports are
pip-installed into the running interpreter's environment the first time this script runs (see
``ensure_datatrove``). If that or the run fails, the reason is printed and the other ratio still
is. Run: ``.venv/bin/python benchmarks/dedup_speed.py``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from datasketch import MinHash, MinHashLSH
from dedup_corpus import corpus_path, read_records  # beside this script: benchmarks/ is not a package

from detectors.dedup.minhash import MinHashDetector, MinHashParams, lsh_bands, shingles

THRESHOLD = 0.8
DEFAULTS = MinHashParams()
NUM_PERM = DEFAULTS.num_perm  # the detector's defaults, used by every method compared
BAND_THRESHOLD = DEFAULTS.band_threshold or DEFAULTS.threshold
NGRAM = 5
BATCH = 1024
DATATROVE_NEEDS = ("datatrove", "regex", "orjson", "spacy", "tokenizers")  # module and package names agree
WORD = re.compile(r"\w+", re.UNICODE)


def timed(work: Callable[[], object]) -> float:
    """Wall-clock seconds of one call: one run, as asked, so expect some noise between runs."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def ours(texts: list[str]) -> None:
    """The detector's map side, batch by batch, the way the annotate stage calls it."""
    detector = MinHashDetector(
        {"threshold": THRESHOLD, "num_perm": NUM_PERM, "band_threshold": BAND_THRESHOLD, "ngram": NGRAM}
    )
    for start in range(0, len(texts), BATCH):
        detector.annotate(pa.record_batch({"text": pa.array(texts[start : start + BATCH], pa.string())}))


def datasketch_naive(texts: list[str]) -> None:
    """datasketch as most code uses it: one object per document, one ``update`` per shingle, SHA-1.

    Same shingles as ours, so the difference is hashing and per-document Python overhead.
    """
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=lsh_bands(BAND_THRESHOLD, NUM_PERM))
    for index, text in enumerate(texts):
        sketch = MinHash(num_perm=NUM_PERM, seed=1)
        for shingle in shingles(text, NGRAM, "auto"):
            sketch.update(shingle.encode())
        lsh.insert(str(index), sketch)


def ensure_datatrove() -> str | None:
    """Install what datatrove's MinHash signature step needs if missing; the reason if that fails.

    Plain ``datatrove`` cannot import the step: ``datatrove.pipeline.dedup`` also imports
    ``tokenizers`` (for the exact-substring steps), the text utils need ``regex``, the JSONL reader
    ``orjson`` and the English word tokenizer ``spacy``. The ``processing`` extra would bring most
    of them but also pins ``xxhash<4`` and a second ``fasttext`` module, so the script installs
    just these, with every installed distribution pinned as a constraint: pip may add packages to
    the venv but never change one the project uses.
    """
    missing = [name for name in DATATROVE_NEEDS if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    print(f"installing {' '.join(missing)} with pip into {sys.prefix} (for this benchmark only) ...")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write(
            "\n".join(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
        )
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--constraint", handle.name, *missing],
        capture_output=True,
        text=True,
    )
    Path(handle.name).unlink()
    if done.returncode != 0:
        return f"pip install {' '.join(missing)} failed: {(done.stderr or done.stdout).strip()[-800:]}"
    importlib.invalidate_caches()
    return None


def write_jsonl(texts: list[str], path: Path) -> None:
    """The corpus as plain JSONL (id, text), the input datatrove's reader expects."""
    with path.open("w", encoding="utf-8") as handle:
        for index, text in enumerate(texts):
            handle.write(json.dumps({"id": str(index), "text": text}, ensure_ascii=False) + "\n")


def regex_tokenizer() -> object:
    """A datatrove ``WordTokenizer`` splitting on ``\\w+`` like our shingles, to price spaCy's share."""
    from datatrove.utils.word_tokenizers import WordTokenizer

    class RegexTokenizer(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return WORD.findall(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    return RegexTokenizer("en")


def encode_for_xxhash4() -> bool:
    """Let datatrove hash ``str`` shingles under xxhash 4; True if the shim was needed.

    datatrove passes the joined n-gram (a ``str``) straight to ``xxhash.xxh64_intdigest``; xxhash
    3 encoded it as UTF-8 itself, xxhash 4 raises "Strings must be encoded before hashing" (which
    is why datatrove's ``processing`` extra pins ``xxhash<4``). The venv keeps the project's xxhash
    4, so the wrapper that step calls is replaced by one that encodes first: the same hash values
    and work as under xxhash 3, plus one ``str.encode`` per shingle.
    """
    import xxhash
    from datatrove.utils.hashes import xxhash as wrappers

    if int(xxhash.VERSION.split(".")[0]) < 4:
        return False

    def as_bytes(data: str | bytes) -> bytes:
        return data.encode("utf-8") if isinstance(data, str) else data

    wrappers.xxhash32 = lambda data: xxhash.xxh32_intdigest(as_bytes(data))
    wrappers.xxhash64 = lambda data: xxhash.xxh64_intdigest(as_bytes(data))
    return True


def datatrove_signatures(texts: list[str], language: object = "en") -> float:
    """Seconds for datatrove's signature stage over a temp JSONL copy of the corpus (one task).

    ``language`` picks datatrove's word tokenizer: a language code (``en`` is spaCy's blank
    English tokenizer, datatrove's default) or a ``WordTokenizer`` object.
    """
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.pipeline.readers import JsonlReader

    bands, rows = lsh_bands(BAND_THRESHOLD, NUM_PERM)
    config = MinhashConfig(n_grams=NGRAM, num_buckets=bands, hashes_per_bucket=rows, seed=1)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "input").mkdir()
        write_jsonl(texts, folder / "input" / "corpus.jsonl")

        def run() -> None:
            executor = LocalPipelineExecutor(
                pipeline=[
                    JsonlReader(str(folder / "input"), text_key="text", id_key="id"),
                    MinhashDedupSignature(str(folder / "signatures"), config=config, language=language),
                ],
                tasks=1,
                workers=1,
                logging_dir=str(folder / "logs"),
            )
            # each task logs to stderr (plus a stats table); keep the results readable, errors still raise
            with contextlib.redirect_stderr(io.StringIO()):
                executor.run()

        return timed(run)


def datatrove_rates(texts: list[str]) -> tuple[dict[str, float], str]:
    """docs/s of datatrove with its default tokenizer and with ours; empty and the reason on failure."""
    reason = ensure_datatrove()
    if reason:
        return {}, reason
    try:
        if encode_for_xxhash4():
            print("datatrove: xxhash 4 in this venv rejects str; hashing through a UTF-8 encoding shim")
        default = len(texts) / datatrove_signatures(texts)
        regex = len(texts) / datatrove_signatures(texts, regex_tokenizer())
    except Exception as exc:  # a third-party pipeline: report whatever stops it, keep the other numbers
        return {}, f"datatrove run failed: {type(exc).__name__}: {exc}"
    return {"datatrove": default, "datatrove (\\w+ tokenizer)": regex}, "ok"


def main() -> None:
    texts = [record["text"] for record in read_records(corpus_path())]
    bands, rows = lsh_bands(BAND_THRESHOLD, NUM_PERM)
    print(f"{len(texts)} documents, {NUM_PERM} perms = {bands} bands x {rows} rows, {NGRAM}-word shingles")
    rates = {"ours": len(texts) / timed(lambda: ours(texts))}
    rates["datasketch"] = len(texts) / timed(lambda: datasketch_naive(texts))
    extra, reason = datatrove_rates(texts)
    rates.update(extra)
    for name, rate in rates.items():
        print(f"{name} docs/s: {rate:,.0f}")
    print(f"ours/datasketch: {rates['ours'] / rates['datasketch']:.2f}")
    if extra:
        for name, rate in extra.items():
            print(f"ours/{name}: {rates['ours'] / rate:.2f}")
    else:
        print(f"datatrove docs/s: n/a ({reason})")
        print("ours/datatrove: n/a")


if __name__ == "__main__":
    main()
