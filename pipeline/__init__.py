"""corpusaudit pipeline: read, annotate, decide, write, record."""

__version__ = "0.1.0"
