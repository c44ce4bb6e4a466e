"""Data contracts shared by every part of corpusaudit: Arrow schemas, config models, taxonomies."""
