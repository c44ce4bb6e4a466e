"""Execution engines: ``local`` (default), ``ray`` and ``spark``; imported only when chosen."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.engines.base import Engine


def make_engine(
    name: str,
    partitions: int,
    work_dir: Path,
    *,
    progress: bool = True,
    shuffle_bucket_bytes: int = 256 << 20,
    ray_address: str | None = None,
    spark_master: str | None = None,
) -> Engine:
    """Build the named engine; ``partitions`` 0 means one per CPU core."""
    partitions = partitions or os.cpu_count() or 1
    if name == "local":
        from pipeline.engines.local import LocalEngine

        return LocalEngine(partitions, work_dir, progress=progress, shuffle_bucket_bytes=shuffle_bucket_bytes)
    if name == "ray":
        from pipeline.engines.ray import RayEngine

        return RayEngine(partitions, address=ray_address, progress=progress)
    if name == "spark":
        from pipeline.engines.spark import SparkEngine

        return SparkEngine(partitions, master=spark_master)
    raise ValueError(f"unknown engine {name!r}; choose local, ray or spark")
