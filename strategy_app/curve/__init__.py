"""Learning curves (issue 28): what more training data is worth."""
