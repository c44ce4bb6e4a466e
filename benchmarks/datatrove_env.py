"""datatrove's own virtualenv for the benchmarks that compare against it, outside ``.venv``.

datatrove pins things the project does not (``xxhash<4``, the compiled ``fasttext`` binding), so it
never shares the project's environment: it lives in ``~/.cache/corpusaudit-bench/datatrove-venv``,
created once by ``python benchmarks/scale.py --setup`` (or any benchmark calling :func:`create`),
never while a benchmark is being timed. Benchmarks run datatrove as a subprocess of
:func:`python`; :func:`require` is what they call first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CACHE = Path.home() / ".cache" / "corpusaudit-bench"
VENV = CACHE / "datatrove-venv"
REQUIREMENTS = (
    "datatrove[processing]==0.10.1",  # processing: fasttext, regex, tokenizers, xxhash<4, ...
    "orjson==3.13.0",  # datatrove's JSONL reader and writer
    "spacy==3.8.18",  # datatrove's English word tokenizer (MinHash shingles)
)
_MARKER = VENV / "corpusaudit-requirements.txt"  # written last: a half-built venv is not ready


def python() -> Path:
    """The venv's interpreter."""
    return VENV / "bin" / "python"


def ready() -> bool:
    """True when the venv was completed with exactly these requirements."""
    return python().exists() and _MARKER.exists() and _MARKER.read_text() == "\n".join(REQUIREMENTS)


def create() -> Path:
    """Create (or complete) the venv with the pinned requirements; return its interpreter."""
    if ready():
        return python()
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python()), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    _MARKER.write_text("\n".join(REQUIREMENTS))
    return python()


def require(setup_command: str) -> Path:
    """The interpreter, or exit 2 saying how to create the venv (never created at run time)."""
    if ready():
        return python()
    print(
        f"datatrove's virtualenv is missing or incomplete at {VENV}; create it once with:\n  {setup_command}",
        file=sys.stderr,
    )
    raise SystemExit(2)
