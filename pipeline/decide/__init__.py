"""Step 4 of a run, decide: the policy's action for every document, with its rule and evidence."""
