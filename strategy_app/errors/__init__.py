"""Error analysis: a sample of misclassified dev examples, their tags and the ceiling table."""
