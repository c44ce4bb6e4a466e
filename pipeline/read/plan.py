"""Turn a config's inputs into numbered read units, and fingerprint the files they read.

The unit order (inputs in config order, each entry's matches sorted) fixes every ordinal, so it
must depend only on the config and the file names, never on the file system's listing order.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from pipeline.read.reader import detect_format
from pipeline.read.readers.text import list_text_files
from pipeline.read.units import ReadUnit
from pipeline.write.files import sha256_file
from schemas.config import LoadedConfig
from schemas.loading import ConfigError

_GLOB_CHARS = "*?["


def _display_path(path: Path, base_dir: Path) -> str:
    """Relative to the config's folder when inside it, so run records do not depend on checkout location."""
    try:
        return path.relative_to(base_dir).as_posix()
    except ValueError:
        return path.as_posix()


def _expand(config: LoadedConfig, index: int, entry: str) -> list[Path]:
    """The paths one ``paths`` entry names; a plain path is kept even if missing (read reports it)."""
    if not any(char in entry for char in _GLOB_CHARS):
        # normpath, not resolve: "a/../b" is tidied but a symlinked data folder keeps its name.
        return [Path(os.path.normpath(config.resolve(entry)))]
    # root_dir keeps glob characters in the config's own folder name from being read as a pattern.
    pattern = os.path.expanduser(entry)
    matches = sorted(glob.glob(pattern, root_dir=config.base_dir, recursive=True))
    if not matches:
        raise ConfigError(f"{config.path}: inputs[{index}].paths: {entry!r} matches nothing")
    return [Path(os.path.normpath(config.resolve(match))) for match in matches]


def _format(config: LoadedConfig, index: int, declared: str, path: Path) -> str:
    if declared != "auto":
        return declared
    if not path.exists() and not path.suffix:
        return "text"  # a missing name without a suffix is most likely a missing folder
    try:
        return detect_format(path)
    except ValueError as exc:
        raise ConfigError(f"{config.path}: inputs[{index}].format: {exc}") from None


def plan_units(config: LoadedConfig) -> list[ReadUnit]:
    """One unit per file (or .txt folder) named by the config's inputs, numbered 0.. in order."""
    licences = {source.id: source.license for source in config.sources.sources}
    units: list[ReadUnit] = []
    for index, spec in enumerate(config.audit.inputs):
        for entry in spec.paths:
            for path in _expand(config, index, entry):
                units.append(
                    ReadUnit(
                        index=len(units),
                        source_id=spec.source,
                        path=str(path),
                        display_path=_display_path(path, config.base_dir),
                        format=_format(config, index, spec.format, path),
                        fields=spec.fields.model_dump(),
                        default_license=licences[spec.source],
                    )
                )
    return units


def _hash_file(display_path: str, path: Path) -> dict[str, Any]:
    try:
        return {"path": display_path, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    except OSError as exc:
        error = f"unreadable file: {exc.strerror or exc}"
        return {"path": display_path, "sha256": None, "bytes": None, "error": error}


def hash_inputs(units: list[ReadUnit]) -> list[dict[str, Any]]:
    """SHA-256 and size of every input file, in unit order (a .txt folder: each file, sorted).

    This is what lets a run record prove which bytes were audited. A file that cannot be read
    gets ``sha256: None`` and the reason, as its read gets an error row.
    """
    entries: list[dict[str, Any]] = []
    for unit in units:
        root = Path(unit.path)
        if unit.format != "text" or not root.is_dir():
            entries.append(_hash_file(unit.display_path, root))
            continue
        for item in list_text_files(root):
            display_path = f"{unit.display_path}/{item.relpath}"
            if item.error is not None:
                entries.append({"path": display_path, "sha256": None, "bytes": None, "error": item.error})
            else:
                entries.append(_hash_file(display_path, item.path))
    return entries
