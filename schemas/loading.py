"""Load a YAML file into a pydantic model, turning every failure into one readable error."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def check_unique(ids: list[str], what: str) -> None:
    """Raise ValueError naming every id that appears more than once."""
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")


class ConfigError(ValueError):
    """A configuration file is missing, unparsable or invalid; the message names file and field."""


def _field_path(loc: tuple[int | str, ...], raw: Any = None) -> str:
    """``rules[3] (my-rule).action``: list items that carry an ``id`` are named by it too."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            raw = raw[item] if isinstance(raw, list) and item < len(raw) else None
            if isinstance(raw, dict) and isinstance(raw.get("id"), str | int):
                parts.append(f" ({raw['id']})")
        else:
            parts.append(f".{item}" if parts else str(item))
            raw = raw.get(item) if isinstance(raw, dict) else None
    return "".join(parts) or "(top level)"


def format_validation_error(path: Path | str, error: ValidationError, raw: Any = None) -> str:
    """One line per problem: ``file: field: problem``."""
    lines = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not str(part).startswith("function-after"))
        lines.append(f"{path}: {_field_path(loc, raw)}: {item['msg']}")
    return "\n".join(lines)


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Parse ``path`` as YAML and validate it as ``model``, raising :class:`ConfigError`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}not valid YAML: {problem}") from None
    if raw is None:
        raw = {}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc, raw)) from None
