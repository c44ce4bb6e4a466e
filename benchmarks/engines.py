"""Documents/second of the local engine on the shared NLTK corpus, and Ray and Spark against it.

Runs the same audit (benchmarks/nltk_audit.yaml) once per engine in this process, checks that
every engine produced the same ledger Merkle root and shard hashes, and prints the ratios of
Ray and Spark wall time to local. Run: ``.venv/bin/python benchmarks/engines.py [--partitions N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipeline.run import run_audit
from schemas.config import load_config

CONFIG = Path(__file__).resolve().parent / "nltk_audit.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partitions", type=int, default=0, help="0 = one per core")
    parser.add_argument("--engines", nargs="+", default=["local", "ray", "spark"])
    args = parser.parse_args()
    config = load_config(CONFIG)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for engine in args.engines:
            started = time.perf_counter()
            run = run_audit(
                config,
                engine=engine,
                partitions=args.partitions,
                out_dir=Path(scratch) / engine,
                progress=False,
            )
            seconds = time.perf_counter() - started
            shards = [entry["sha256"] for entry in run.record["outputs"]]
            results[engine] = (
                seconds,
                run.record["counts"]["read"],
                run.record["ledger_merkle_root"],
                shards,
            )
    base_seconds = results[args.engines[0]][0]
    print(f"{'engine':<8} {'seconds':>8} {'docs/s':>9} {'ratio':>6}  ledger root")
    for engine, (seconds, read, root, _) in results.items():
        print(f"{engine:<8} {seconds:8.1f} {read / seconds:9.0f} {seconds / base_seconds:6.2f}  {root[:16]}")
    identical = len({(root, tuple(shards)) for _, _, root, shards in results.values()}) == 1
    print("identical shards and ledger root on all engines:", identical)
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
