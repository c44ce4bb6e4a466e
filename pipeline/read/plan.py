"""Turn a config's inputs into numbered read units, and fingerprint the files they read.

The unit order (inputs in config order, each entry's matches sorted) fixes every ordinal, so it
must depend only on the config and the file names, never on the file system's listing order.

Planning is bounded and reads every real file once: ``**`` never descends into a symlinked
folder (so a link loop cannot make it endless), a file reached by two patterns, two inputs or a
link is read where it is first named (its resolved path is the key) and the repeats are listed in
the run record, and an entry that names nothing is an error unless its input says
``allow_empty: true``. Paths are local (``file://`` is accepted); another URL scheme is refused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.read.reader import detect_format
from pipeline.read.readers.text import list_text_files
from pipeline.read.scrub import NO_SCRUBBER, Scrubber
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


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
MAX_MATCHES = 1_000_000
"""Files one ``paths`` entry may name before planning stops with an error."""


def _local(config: LoadedConfig, index: int, entry: str) -> str:
    """The entry as a local path; a URL of any scheme but ``file://`` is refused."""
    found = _SCHEME.match(entry)
    if found is None:
        return entry
    if found.group(1).lower() == "file":
        return entry[len(found.group(0)) :] or "/"
    raise ConfigError(
        f"{config.path}: inputs[{index}].paths: {entry!r}: the {found.group(1)}:// scheme is not supported; "
        "inputs are local files, folders or glob patterns (or file:// URLs)"
    )


def _glob(config: LoadedConfig, index: int, entry: str, pattern: str) -> list[Path]:
    """Matches of a pattern relative to the config's folder (or absolute); ``**`` skips linked folders."""
    pattern = os.path.expanduser(pattern)
    root = Path(pattern).anchor
    base, relative = (Path(root), pattern[len(root) :]) if root else (config.base_dir, pattern)
    matches: list[Path] = []
    for match in base.glob(relative):  # pathlib's ** does not follow symlinked folders
        matches.append(match)
        if len(matches) > MAX_MATCHES:
            raise ConfigError(
                f"{config.path}: inputs[{index}].paths: {entry!r} matches over {MAX_MATCHES:,} files; "
                "split the input or name fewer files"
            )
    if not any(part.startswith(".") for part in Path(relative).parts):
        # like the shell and glob.glob: wildcards do not match hidden files unless the pattern says "."
        matches = [m for m in matches if not any(p.startswith(".") for p in m.relative_to(base).parts)]
    return sorted(Path(os.path.normpath(match)) for match in matches)


def _expand(config: LoadedConfig, index: int, entry: str) -> list[Path]:
    """The paths one ``paths`` entry names; ConfigError when it names nothing and empty is not allowed."""
    local = _local(config, index, entry)
    if not any(char in local for char in _GLOB_CHARS):
        # normpath, not resolve: "a/../b" is tidied but a symlinked data folder keeps its name.
        path = Path(os.path.normpath(config.resolve(os.path.expanduser(local))))
        found = [path] if path.exists() else []
    else:
        found = _glob(config, index, entry, local)
    if not found and not config.audit.inputs[index].allow_empty:
        globbed = local != entry or any(c in local for c in _GLOB_CHARS)
        what = "matches nothing" if globbed else "does not exist"
        raise ConfigError(
            f"{config.path}: inputs[{index}].paths: {entry!r} {what}; fix the path, or set "
            "allow_empty: true on the input if it may be empty"
        )
    return found


def _format(config: LoadedConfig, index: int, declared: str, path: Path) -> str:
    if declared != "auto":
        return declared
    if not path.exists() and not path.suffix:
        return "text"  # a missing name without a suffix is most likely a missing folder
    try:
        return detect_format(path)
    except ValueError as exc:
        raise ConfigError(f"{config.path}: inputs[{index}].format: {exc}") from None


@dataclass(frozen=True)
class PlannedInputs:
    """The read units, and the paths left out because an earlier entry already names the same file."""

    units: list[ReadUnit]
    repeated: list[dict[str, str]] = field(default_factory=list)
    withheld: frozenset[int] = frozenset()
    """Units whose file name holds personal information, shown pseudonymised."""


def plan_inputs(config: LoadedConfig, scrubber: Scrubber = NO_SCRUBBER) -> PlannedInputs:
    """One unit per file (or .txt folder) named by the config's inputs, numbered 0.. in order.

    With a ``scrubber``, file names holding personal information are shown pseudonymised (the
    display path is what run records, locations and logs use; the real path stays in the unit).
    """
    licences = {source.id: source.license for source in config.sources.sources}
    units: list[ReadUnit] = []
    repeated: list[dict[str, str]] = []
    withheld: set[int] = set()
    first: dict[Path, str] = {}
    for index, spec in enumerate(config.audit.inputs):
        for entry in spec.paths:
            for path in _expand(config, index, entry):
                shown = _display_path(path, config.base_dir)
                display = scrubber.path(shown, f"u{len(units)}")
                if display != shown:
                    withheld.add(len(units))
                real = path.resolve()
                if real in first:
                    repeated.append({"path": display, "same_file_as": first[real]})
                    continue
                first[real] = display
                units.append(
                    ReadUnit(
                        index=len(units),
                        source_id=spec.source,
                        path=str(path),
                        display_path=display,
                        format=_format(config, index, spec.format, path),
                        fields=spec.fields.model_dump(),
                        default_license=licences[spec.source],
                    )
                )
    return PlannedInputs(units, repeated, frozenset(withheld))


def plan_units(config: LoadedConfig) -> list[ReadUnit]:
    """The read units of :func:`plan_inputs`."""
    return plan_inputs(config).units


def _hash_file(display_path: str, path: Path) -> dict[str, Any]:
    try:
        return {"path": display_path, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    except OSError as exc:
        error = f"unreadable file: {exc.strerror or exc}"
        return {"path": display_path, "sha256": None, "bytes": None, "error": error}


def hash_inputs(
    units: list[ReadUnit], scrubber: Scrubber = NO_SCRUBBER, withheld: frozenset[int] = frozenset()
) -> list[dict[str, Any]]:
    """SHA-256 and size of every input file, in unit order (a .txt folder: each file, sorted).

    This is what lets a run record prove which bytes were audited. A file that cannot be read
    gets ``sha256: None`` and the reason, as its read gets an error row. A file whose name was
    pseudonymised is marked ``withheld``: ``verify`` cannot find it by that name.
    """
    entries: list[dict[str, Any]] = []
    for unit in units:
        root = Path(unit.path)
        if unit.format != "text" or not root.is_dir():
            entries.append(_hash_file(unit.display_path, root))
            if unit.index in withheld:
                entries[-1]["withheld"] = True
            continue
        for number, item in enumerate(list_text_files(root)):
            relpath = scrubber.path(item.relpath, f"u{unit.index}.{number}")
            display_path = f"{unit.display_path}/{relpath}"
            if item.error is not None:
                entries.append({"path": display_path, "sha256": None, "bytes": None, "error": item.error})
            else:
                entries.append(_hash_file(display_path, item.path))
            if relpath != item.relpath or unit.index in withheld:
                entries[-1]["withheld"] = True
    return entries
