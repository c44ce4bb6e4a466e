"""Duplicate detection: exact (content hash) now, near-duplicate (MinHash LSH) later."""
