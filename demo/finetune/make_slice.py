"""Copy the first 100 preference pairs of the shared HH-RLHF harmless test split into this folder:
``python demo/finetune/make_slice.py`` (from the repository root, beside ``../shared/data``).

The records are copied line for line, unchanged; the gzip header carries no name and no time, so
the file is byte-identical whenever it is made. The data's MIT licence travels with it
(``HH_RLHF_LICENSE``).
"""

from __future__ import annotations

import gzip
from itertools import islice
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "chat" / "hh_rlhf_harmless_test.jsonl.gz"
TARGET = HERE / "hh_rlhf_harmless_test_first100.jsonl.gz"
PAIRS = 100


def main() -> None:
    with gzip.open(SOURCE, "rb") as handle:
        lines = b"".join(islice(handle, PAIRS))
    with TARGET.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(lines)


if __name__ == "__main__":
    main()
