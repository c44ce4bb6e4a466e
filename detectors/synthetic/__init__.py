"""AI-generated content: explicit and implicit labels, boilerplate, a classifier score."""
