"""The names users pick from (flags, page widgets), importable without torch or Optuna."""

SAMPLERS = ("tpe", "random", "grid", "nsga2")  # nsga2: multi-objective user searches
BUILTIN_SAMPLERS = SAMPLERS[:3]
PRUNERS = ("median", "halving", "none")
OPTIMIZERS = ("sgd", "adam")
LR_DECAYS = ("none", "step", "cosine")
LR_METHODS = ("valley", "steepest", "min10")
DIFFICULTIES = {"easy": 2.0, "medium": 1.0, "hard": 0.5}
DEVICES = ("auto", "cpu", "cuda")
