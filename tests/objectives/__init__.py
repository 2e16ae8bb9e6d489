"""Real objectives the search tests run through every door (scikit-learn, torch, a script)."""
