"""Step 2 of a run, annotate: the configured detectors, built from the config, over every batch."""
