"""Bias: who a corpus talks about (demographic descriptors by axis), gendered pronouns, and
identity mentions next to harmful content, mapped to TC260-003 A.2."""
