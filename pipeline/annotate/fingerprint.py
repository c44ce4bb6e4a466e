"""The identity of the map side: what, besides the rows, decides the columns the detectors add.

A checkpoint of annotated rows may be reused only by a map side with the same identity: the same
detectors in the same order, each with its description (params, model file hashes, library
versions), the same kept columns, the same package versions, and the same source code of each
detector's module and of every module of its package tree it imports, at any depth. Modules the
detectors do not import (another family, the rest of the pipeline) are left out, so editing them
keeps checkpoints valid; the rows themselves are keyed by content where they are stored.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from detectors.base import Detector

FORMAT = "corpusaudit-map-side/1"


def _parents(name: str) -> Iterator[str]:
    """``a``, ``a.b`` for ``a.b.c``: the packages Python runs before the module."""
    parts = name.split(".")
    for end in range(1, len(parts)):
        yield ".".join(parts[:end])


def _imported(name: str, path: Path, package: str) -> Iterator[str]:
    """Names a module imports, absolute, with every ``from x import y`` also tried as module ``x.y``."""
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _source_files(modules: Iterable[str]) -> dict[str, Path]:
    """Each module, and every module of its top-level package that it imports at any depth."""
    found: dict[str, Path] = {}
    pending = list(modules)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue  # ``from x import y`` where y is not a module
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        path = found[name] = Path(spec.origin)
        package = name if spec.submodule_search_locations is not None else name.rpartition(".")[0]
        top = name.partition(".")[0]
        imported = [*_parents(name), *_imported(name, path, package)]
        pending += [target for target in imported if target.partition(".")[0] == top]
    return found


def source_digest(modules: Iterable[str]) -> str:
    """SHA-256 over the source of ``modules`` and of the modules of their packages they import."""
    digest = hashlib.sha256()
    for name, path in sorted(_source_files(modules).items()):
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def map_fingerprint(detectors: Iterable[Detector], kept: pa.Schema, versions: dict[str, str]) -> str:
    """SHA-256 of the map side's identity: detectors, kept columns, package versions, source."""
    detectors = list(detectors)
    identity: dict[str, Any] = {
        "format": FORMAT,
        "detectors": [detector.describe() for detector in detectors],
        "kept": [[field.name, str(field.type)] for field in kept],
        "versions": versions,
        "source": source_digest(type(detector).__module__ for detector in detectors),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode("utf-8")).hexdigest()
