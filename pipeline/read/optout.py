"""Per-person opt-out of conversation logs, and the end user's id kept out of every output.

A source manifest may name the record field that holds the end user's pseudonymous id
(``user_id_field``) and a list of users who opted out (``user_optout``: ids, or HMAC-SHA256 of the
ids keyed with ``$CORPUSAUDIT_USER_KEY``). Right after reading, the id is taken out of the
document's metadata: with the key set it is put back as its keyed hash (so the key holder can find
a person's conversations later), without it it is dropped. A conversation of a user on the list
gets ``input.user_optout``, the number of the list's line that named the user (never the id),
which the default policy's ``user-opted-out`` rule drops and the datasheet counts: distinct lines
are users, rows are conversations. The list and the key stay in memory; the run record keeps each
list's SHA-256 and size.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipeline.read.records import canonical_meta
from schemas.config import LoadedConfig
from schemas.loading import ConfigError

OPTOUT = pa.field("input.user_optout", pa.int64())
"""The opt-out list line naming the conversation's user; null when the user is not on a list."""
USER_KEY_ENV = "CORPUSAUDIT_USER_KEY"
MIN_KEY_CHARS = 16
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def user_hash(key: bytes, user_id: str) -> str:
    """The keyed hash of a user id, as ``hashed`` opt-out lists and the metadata hold it."""
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SourceUsers:
    """One source's user id field and opt-out list (id or keyed hash -> its line number)."""

    path: tuple[str, ...]
    entries: dict[str, int] = field(repr=False)
    hashed: bool = False
    list_sha256: str | None = None


@dataclass(frozen=True)
class UserIds:
    """The sources with a user id field; held by the read step in memory, never written."""

    sources: dict[str, SourceUsers] = field(default_factory=dict)
    key: bytes | None = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return bool(self.sources)

    def apply(self, sources: list[str], metas: list[str | None]) -> tuple[list[str | None], list[int | None]]:
        """Each document's metadata with its user id hashed or dropped, and its opt-out line."""
        cleaned, lines = list(metas), [None] * len(metas)
        for i, (source, meta) in enumerate(zip(sources, metas, strict=True)):
            users = self.sources.get(source)
            if users is None or meta is None:
                continue
            values = json.loads(meta)
            user_id = _take(values, users.path)
            if user_id is None:
                continue
            hashed = user_hash(self.key, user_id) if self.key is not None else None
            lines[i] = users.entries.get(hashed if users.hashed else user_id)  # type: ignore[arg-type]
            if hashed is not None:
                _put(values, users.path, hashed)
            cleaned[i] = canonical_meta(values)
        return cleaned, lines

    def describe(self) -> dict[str, Any]:
        """What the run record says: per source the field, and the list's hash and size, never an id."""
        described: dict[str, Any] = {}
        for source, users in sorted(self.sources.items()):
            described[source] = {
                "user_id_field": ".".join(users.path),
                "in_metadata": "keyed hash" if self.key is not None else "dropped",
            }
            if users.list_sha256 is not None:
                described[source] |= {"list_sha256": users.list_sha256, "entries": len(users.entries),
                                      "hashed": users.hashed}  # fmt: skip
        return described


NO_USERS = UserIds()
"""For runs whose sources name no user id field."""


def _take(values: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """Remove the user id at ``path`` and return it as text (ids are strings or integers)."""
    for name in path[:-1]:
        values = values.get(name)  # type: ignore[assignment]
        if not isinstance(values, dict):
            return None
    value = values.pop(path[-1], None)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return (value.strip() or None) if isinstance(value, str) else None


def _put(values: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for name in path[:-1]:
        values = values[name]
    values[path[-1]] = value


def _entries(text: str, hashed: bool, where: str) -> dict[str, int]:
    entries: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if hashed and not _HEX_DIGEST.match(entry.lower()):
            raise ConfigError(f"{where}:{number}: not a hex HMAC-SHA256 (64 hex digits)")
        entries.setdefault(entry.lower() if hashed else entry, number)
    return entries


def load_user_ids(config: LoadedConfig) -> UserIds:
    """The manifest's user id fields and opt-out lists, read once by the driver."""
    raw_key = os.environ.get(USER_KEY_ENV, "")
    if raw_key and len(raw_key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"the user key in {USER_KEY_ENV} is too short; give at least {MIN_KEY_CHARS} characters"
        )
    key = raw_key.encode("utf-8") or None
    sources: dict[str, SourceUsers] = {}
    for source in config.sources.sources:
        if source.user_id_field is None:
            continue
        path = tuple(source.user_id_field.split("."))
        optout = source.user_optout
        if optout is None:
            sources[source.id] = SourceUsers(path, {})
            continue
        where = f"{config.sources_path}: source {source.id}: user_optout"
        if optout.hashed and key is None:
            raise ConfigError(f"{where} is hashed: set {USER_KEY_ENV} to the key its hashes were made with")
        listed = config.sources_path.parent / optout.file
        try:
            data = listed.read_bytes()
            text = data.decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read {listed}: {exc}") from None
        digest = hashlib.sha256(data).hexdigest()
        sources[source.id] = SourceUsers(
            path, _entries(text, optout.hashed, str(listed)), optout.hashed, digest
        )
    return UserIds(sources, key)
