"""Harmful content: keyword libraries mapped to the TC260-003 risk taxonomy."""
