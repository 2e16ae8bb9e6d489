"""Search: hyperparameter searches (caviar), one babysat model (panda) and the LR range test."""
