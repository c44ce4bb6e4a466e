"""Benchmark decontamination: documents that hold items of evaluation benchmarks, found by word or
character n-grams that survive what copying an item into a web page does to it, and verified
against the item so that a shared phrase is not a match."""
