"""Step 1 of a run, read: plan the input units, then turn each into document batches."""
