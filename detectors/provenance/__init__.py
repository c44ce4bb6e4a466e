"""Provenance: robots.txt and AI opt-out signals, registries, blacklists and licences."""
