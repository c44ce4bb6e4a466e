"""Turn a config's inputs into numbered read units, and fingerprint the files they read.

The unit order (inputs in config order, each entry's matches sorted) fixes every ordinal, so it
must depend only on the config and the file names, never on the file system's listing order.

Planning is bounded and reads every real file once: ``**`` never descends into a symlinked
folder (so a link loop cannot make it endless), a file reached by two patterns, two inputs or a
link is read where it is first named (its resolved path is the key) and the repeats are listed in
the run record, and an entry that names nothing is an error unless its input says
``allow_empty: true``. Paths are local (or ``file://``) or URLs of any file system fsspec knows
(``s3://``, ``gs://``, ``hf://``, ``http(s)://``): a remote pattern is matched by ``fs.glob``, a
remote folder is a folder of .txt files read through ``fs.find``, and its name is its URL.

The inventory hashes every byte of every input, streamed; the same pass finds where a large JSONL
file is cut (:mod:`pipeline.read.split`), so inputs are read once before the run reads them.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
from fsspec.core import url_to_fs

from pipeline.read.reader import detect_format
from pipeline.read.readers import is_compressed
from pipeline.read.readers.chat import conversation_unit
from pipeline.read.readers.text import list_text_files
from pipeline.read.scrub import NO_SCRUBBER, Scrubber
from pipeline.read.split import Cut, LineCuts, pack, slices
from pipeline.read.storage import LOCAL, iter_chunks, protocol_of, public_options, unit_filesystem
from pipeline.read.units import ReadTask, ReadUnit
from schemas.config import LoadedConfig, redact_url
from schemas.document import conversation_shard_schema
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


def _local(entry: str) -> str:
    """A local entry as a path (a ``file://`` URL loses its scheme)."""
    found = _SCHEME.match(entry)
    return entry if found is None else entry[len(found.group(0)) :] or "/"


def _too_many(config: LoadedConfig, index: int, entry: str) -> ConfigError:
    return ConfigError(
        f"{config.path}: inputs[{index}].paths: {entry!r} matches over {MAX_MATCHES:,} files; "
        "split the input or name fewer files"
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
            raise _too_many(config, index, entry)
    if not any(part.startswith(".") for part in Path(relative).parts):
        # like the shell and glob.glob: wildcards do not match hidden files unless the pattern says "."
        matches = [m for m in matches if not any(p.startswith(".") for p in m.relative_to(base).parts)]
    return sorted(Path(os.path.normpath(match)) for match in matches)


@dataclass(frozen=True)
class _Found:
    """One path an entry names: where it is, and how it is shown and told apart from repeats."""

    path: str
    display: str
    identity: str  # the resolved local path, or the URL
    is_dir: bool | None  # None: a local path, asked when needed


def _remote(config: LoadedConfig, index: int, entry: str, protocol: str) -> list[_Found]:
    """Matches of a remote entry: ``fs.glob`` for a pattern (not for http(s), whose ``?`` starts a
    query), else the entry itself when it exists; hidden names only when the pattern says "."."""
    try:
        fs, root = url_to_fs(entry, **config.audit.inputs[index].storage_options)
        pattern = protocol not in ("http", "https") and any(char in root for char in _GLOB_CHARS)
        exists = pattern or fs.exists(root)
        found = fs.glob(root, detail=True) if pattern else {root: fs.info(root)} if exists else {}
    except Exception as exc:  # each file system raises its own errors (botocore's, aiohttp's, ...)
        raise ConfigError(
            f"{config.path}: inputs[{index}].paths: {entry!r} cannot be listed "
            f"({type(exc).__name__}: {exc}); check the URL, the storage_options and the credentials"
        ) from None
    if len(found) > MAX_MATCHES:
        raise _too_many(config, index, entry)
    if pattern:
        literal = root[: min(root.index(c) for c in _GLOB_CHARS if c in root)].rsplit("/", 1)[0]
        if not any(part.startswith(".") for part in root[len(literal) :].split("/")):
            # as for local patterns: wildcards do not match hidden names unless the pattern says "."
            found = {
                path: info for path, info in found.items()
                if not any(part.startswith(".") for part in path[len(literal) :].split("/"))
            }  # fmt: skip
    return [
        _Found(path, redact_url(fs.unstrip_protocol(path)), fs.unstrip_protocol(path),
               info.get("type") == "directory")
        for path, info in sorted(found.items())
    ]  # fmt: skip


def _expand(config: LoadedConfig, index: int, entry: str) -> list[_Found]:
    """The paths one ``paths`` entry names; ConfigError when it names nothing and empty is not allowed."""
    protocol = protocol_of(entry)
    if protocol != LOCAL:
        found = _remote(config, index, entry, protocol)
    else:
        local = _local(entry)
        if not any(char in local for char in _GLOB_CHARS):
            # normpath, not resolve: "a/../b" is tidied but a symlinked data folder keeps its name.
            path = Path(os.path.normpath(config.resolve(os.path.expanduser(local))))
            paths = [path] if path.exists() else []
        else:
            paths = _glob(config, index, entry, local)
        found = [
            _Found(str(path), _display_path(path, config.base_dir), str(path.resolve()), None)
            for path in paths
        ]
    if not found and not config.audit.inputs[index].allow_empty:
        literal = protocol in ("http", "https") or not any(c in entry for c in _GLOB_CHARS)
        named_by_url = protocol == LOCAL and _local(entry) != entry  # file://
        what = "does not exist" if literal and not named_by_url else "matches nothing"
        raise ConfigError(
            f"{config.path}: inputs[{index}].paths: {entry!r} {what}; fix the path, or set "
            "allow_empty: true on the input if it may be empty"
        )
    return found


def _format(config: LoadedConfig, index: int, declared: str, found: _Found) -> str:
    if declared not in ("auto", "chat"):  # chat: conversations in a JSONL or Parquet file
        return declared
    path = Path(found.path)
    if found.is_dir is None and not path.exists() and not path.suffix:
        return "text"  # a missing name without a suffix is most likely a missing folder
    try:
        return detect_format(found.path, found.is_dir)
    except ValueError as exc:
        raise ConfigError(f"{config.path}: inputs[{index}].format: {exc}") from None


def _conversations(
    config: LoadedConfig, index: int, unit: ReadUnit, declared: bool, options: tuple[dict[str, Any], ...]
) -> ReadUnit:
    """The unit read as conversations when it holds them (its first record says which family)."""
    try:
        return conversation_unit(unit, declared, unit_filesystem(unit, options))
    except ValueError as exc:
        raise ConfigError(f"{config.path}: inputs[{index}].format: {exc}") from None


@dataclass(frozen=True)
class PlannedInputs:
    """The inputs, and the paths left out because an earlier entry already names the same file."""

    units: list[ReadUnit]
    """One per input, read whole; :func:`plan_tasks` splits and packs them."""
    repeated: list[dict[str, str]] = field(default_factory=list)
    withheld: frozenset[int] = frozenset()
    """Inputs whose file name holds personal information, shown pseudonymised."""
    storage_options: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    """Each config input's full storage options (secrets included): held in memory, never written."""


def plan_inputs(config: LoadedConfig, scrubber: Scrubber = NO_SCRUBBER) -> PlannedInputs:
    """One unit per file (or .txt folder) named by the config's inputs, numbered 0.. in order.

    With a ``scrubber``, file names holding personal information are shown pseudonymised (the
    display path is what run records, locations and logs use; the real path stays in the unit).
    """
    licences = {source.id: source.license for source in config.sources.sources}
    units: list[ReadUnit] = []
    repeated: list[dict[str, str]] = []
    withheld: set[int] = set()
    first: dict[str, str] = {}
    storage_options = tuple(spec.storage_options for spec in config.audit.inputs)
    for index, spec in enumerate(config.audit.inputs):
        options = public_options(spec.storage_options)
        for entry in spec.paths:
            protocol = protocol_of(entry)
            for found in _expand(config, index, entry):
                display = scrubber.path(found.display, f"u{len(units)}")
                if display != found.display:
                    withheld.add(len(units))
                if found.identity in first:
                    repeated.append({"path": display, "same_file_as": first[found.identity]})
                    continue
                first[found.identity] = display
                unit = ReadUnit(
                    index=len(units),
                    source_id=spec.source,
                    path=found.path,
                    display_path=display,
                    format=_format(config, index, spec.format, found),
                    fields=spec.fields.model_dump(),
                    default_license=licences[spec.source],
                    protocol=protocol,
                    storage_options=options if protocol != LOCAL else {},
                    input=index,
                )
                units.append(_conversations(config, index, unit, spec.format == "chat", storage_options))
    try:
        conversation_shard_schema([unit.chat for unit in units])
    except ValueError as exc:
        raise ConfigError(f"{config.path}: inputs: {exc}") from None
    return PlannedInputs(units, repeated, frozenset(withheld), storage_options)


def plan_units(config: LoadedConfig) -> list[ReadUnit]:
    """The read units of :func:`plan_inputs`."""
    return plan_inputs(config).units


@dataclass(frozen=True)
class Inventory:
    """Every input file hashed, each input's size, and where its large JSONL files are cut."""

    entries: list[dict[str, Any]]
    sizes: list[int]
    """Bytes of each input (a .txt folder: of all its files), by input number."""
    cuts: dict[int, list[Cut]]


def _hash_file(
    display_path: str, fs: fsspec.AbstractFileSystem, path: str, cuts: LineCuts | None
) -> dict[str, Any]:
    """The inventory entry of one file, streamed once; ``cuts`` (if any) sees every chunk too,
    unless the file turns out to be compressed (it is then read whole)."""
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in iter_chunks(fs, path):
            if size == 0 and is_compressed(chunk):
                cuts = None
            digest.update(chunk)
            if cuts is not None:
                cuts.feed(chunk)
            size += len(chunk)
    except OSError as exc:
        error = f"unreadable file: {exc.strerror or exc}"
        return {"path": display_path, "sha256": None, "bytes": None, "error": error}
    return {"path": display_path, "sha256": digest.hexdigest(), "bytes": size}


def take_inventory(
    units: list[ReadUnit],
    scrubber: Scrubber = NO_SCRUBBER,
    withheld: frozenset[int] = frozenset(),
    storage_options: tuple[dict[str, Any], ...] = (),
    split_bytes: int | None = None,
) -> Inventory:
    """SHA-256 and size of every input file, in unit order (a .txt folder: each file, sorted), and
    with ``split_bytes`` the cuts of every uncompressed JSONL file found in the same pass.

    This is what lets a run record prove which bytes were audited. A file that cannot be read
    gets ``sha256: None`` and the reason, as its read gets an error row. A file whose name was
    pseudonymised is marked ``withheld``: ``verify`` cannot find it by that name.
    """
    entries: list[dict[str, Any]] = []
    sizes: list[int] = []
    cuts: dict[int, list[Cut]] = {}
    for unit in units:
        fs = unit_filesystem(unit, storage_options)
        first = len(entries)
        if unit.format != "text" or not fs.isdir(unit.path):
            lines = LineCuts(split_bytes) if split_bytes and unit.format == "jsonl" else None
            entries.append(_hash_file(unit.display_path, fs, unit.path, lines))
            if lines is not None and entries[-1]["sha256"] is not None and lines.cuts():
                cuts[unit.index] = lines.cuts()
            if unit.index in withheld:
                entries[-1]["withheld"] = True
        else:
            for number, item in enumerate(list_text_files(unit.path, fs)):
                relpath = scrubber.path(item.relpath, f"u{unit.index}.{number}")
                display_path = f"{unit.display_path}/{relpath}"
                if item.error is not None:
                    entries.append({"path": display_path, "sha256": None, "bytes": None, "error": item.error})
                else:
                    entries.append(_hash_file(display_path, fs, item.path, None))
                if relpath != item.relpath or unit.index in withheld:
                    entries[-1]["withheld"] = True
        sizes.append(sum(entry["bytes"] or 0 for entry in entries[first:]))
    return Inventory(entries, sizes, cuts)


def hash_inputs(
    units: list[ReadUnit],
    scrubber: Scrubber = NO_SCRUBBER,
    withheld: frozenset[int] = frozenset(),
    storage_options: tuple[dict[str, Any], ...] = (),
) -> list[dict[str, Any]]:
    """The inventory's entries alone (see :func:`take_inventory`)."""
    return take_inventory(units, scrubber, withheld, storage_options).entries


def plan_tasks(
    units: list[ReadUnit],
    inventory: Inventory,
    split_bytes: int,
    storage_options: tuple[dict[str, Any], ...] = (),
    max_decompressed_bytes: int | None = None,
) -> list[ReadTask]:
    """The read tasks: every input split where it is large and splittable, all packed in order.
    ``max_decompressed_bytes`` is the limit the read applies (a WARC file past it is read whole)."""
    pieces = (
        piece
        for unit in units
        for piece in slices(
            unit,
            inventory.sizes[unit.index],
            inventory.cuts.get(unit.index, []),
            split_bytes,
            storage_options,
            max_decompressed_bytes,
        )
    )
    return pack(pieces, split_bytes)
