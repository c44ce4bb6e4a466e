"""Step 5 of a run, write: the run folder, ledger parts, shards, exports and signature index."""
