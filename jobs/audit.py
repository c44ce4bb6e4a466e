"""Scheduler entry point for the audit job: ``python -m jobs.audit CONFIG [--engine ...]``."""

from __future__ import annotations

import sys

from pipeline.cli import app


def main() -> None:
    """Same options as ``corpusaudit run``; a thin wrapper so schedulers need no console script."""
    app(["run", *sys.argv[1:]])


if __name__ == "__main__":
    main()
