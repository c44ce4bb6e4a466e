"""Step 6 of a run, record: the run record, its hashes and checks, and the ledger read back."""
