"""A folder of ``.txt`` files, one document per file, in sorted relative-path order.

The relative path is the document's key, so a document keeps its id however the folder is moved.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec

from pipeline.read.records import Failure, Record, oversized_reason
from pipeline.read.storage import is_local
from pipeline.read.units import ReadUnit


@dataclass(frozen=True)
class TextFile:
    """A ``.txt`` file below the folder, or a sub-folder that could not be listed (``error`` set)."""

    relpath: str  # POSIX form, relative to the folder
    path: str  # in the folder's file system
    error: str | None = None


def list_text_files(root: str, fs: fsspec.AbstractFileSystem | None = None) -> list[TextFile]:
    """Every ``.txt`` file below ``root`` sorted by relative path, plus sub-folders that failed to list.

    A local folder: only regular files count (a FIFO named ``x.txt`` would block the read);
    symlinked folders are not followed, so a link loop cannot make the walk endless; and a file
    reached twice (a link to another file of the folder) is listed once, under the first of its
    names. A remote folder is every object below it (``fs.find``) whose name ends in ``.txt``.
    """
    if fs is not None and not is_local(fs):
        prefix = root.rstrip("/") + "/"
        names = sorted(name for name in fs.find(root) if name.endswith(".txt"))
        return [TextFile(name.removeprefix(prefix), name) for name in names]
    base = Path(root)
    entries: list[TextFile] = []

    def unlistable(exc: OSError) -> None:
        folder = Path(exc.filename)
        relpath = folder.relative_to(base).as_posix() if folder != base else "."
        entries.append(TextFile(relpath, str(folder), f"unreadable folder: {exc.strerror or exc}"))

    for folder, _dirs, names in os.walk(base, onerror=unlistable):
        for name in names:
            path = Path(folder) / name
            if name.endswith(".txt") and path.is_file():
                entries.append(TextFile(path.relative_to(base).as_posix(), str(path)))
    seen: set[Path] = set()
    unique = []
    for entry in sorted(entries, key=lambda entry: entry.relpath):
        real = Path(entry.path).resolve()
        if entry.error is None and real in seen:
            continue
        seen.add(real)
        unique.append(entry)
    return unique


def _read(
    entry: TextFile, fs: fsspec.AbstractFileSystem, location: str, max_doc_bytes: int | None
) -> Record | Failure:
    try:
        size = fs.size(entry.path)
        if max_doc_bytes is not None and size > max_doc_bytes:
            # Checked before reading so that one huge file cannot exhaust memory.
            return Failure(entry.relpath, location, oversized_reason(size, max_doc_bytes))
        with fs.open(entry.path, "rb") as handle:
            # read(n) allocates n bytes up front: ask for what the file holds, plus one to see growth
            data = handle.read() if max_doc_bytes is None else handle.read(min(size, max_doc_bytes) + 1)
    except OSError as exc:
        return Failure(entry.relpath, location, f"unreadable file: {exc.strerror or exc}")
    if max_doc_bytes is not None and len(data) > max_doc_bytes:  # it grew after its size was read
        return Failure(entry.relpath, location, oversized_reason(len(data), max_doc_bytes))
    try:
        text = data.decode("utf-8-sig")  # strict; a leading byte order mark is not content
    except UnicodeDecodeError as exc:
        return Failure(entry.relpath, location, f"invalid UTF-8 at byte {exc.start}")
    return Record(key=entry.relpath, text=text, location=location)


def iter_items(
    unit: ReadUnit, fs: fsspec.AbstractFileSystem, *, max_doc_bytes: int | None = None
) -> Iterator[Record | Failure]:
    """Records and failures of one folder; locations are ``folder/relpath``."""
    for entry in list_text_files(unit.path, fs):
        location = f"{unit.display_path}/{entry.relpath}"
        if entry.error is not None:
            yield Failure(None, location, entry.error)
        else:
            yield _read(entry, fs, location, max_doc_bytes)
