"""Releases after the run: a registry of verified runs and the models trained on them, erasure and
late opt-out across every release, and retention.

A corpus is audited once and used for years: people ask for their data to be erased, sites opt out
after the crawl, sources must be deleted when their retention ends, and every model trained on an
affected release must be found. ``registry`` records releases and models (SQLite in the registry
folder), ``find`` searches a release for the documents a request names, ``correct`` writes a
release without them, ``erase`` runs a request over the whole registry, ``summary`` writes what a
data protection officer sends, ``retention`` lists what expires. The registry never copies,
changes or deletes a run it registered; what it writes lives inside the registry folder.
"""
