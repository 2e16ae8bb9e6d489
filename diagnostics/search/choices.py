"""The names users pick from (flags, page widgets), importable without torch or Optuna."""

from diagnostics.validation import InputError

SAMPLERS = ("tpe", "random", "grid", "nsga2")  # nsga2: multi-objective user searches
BUILTIN_SAMPLERS = SAMPLERS[:3]
PRUNERS = ("median", "halving", "none")
OPTIMIZERS = ("sgd", "adam")
LR_DECAYS = ("none", "step", "cosine")
LR_METHODS = ("valley", "steepest", "min10")
DIFFICULTIES = {"easy": 2.0, "medium": 1.0, "hard": 0.5}
DEVICES = ("auto", "cpu", "cuda")


def parse_gpus(text: str | None) -> tuple[int, ...]:
    """``--gpus 0,1`` as GPU numbers, one per worker (empty: none named); refused in one line."""
    if not text or not text.strip():
        return ()
    try:
        gpus = tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        raise InputError(f"--gpus '{text}': write GPU numbers like 0,1") from exc
    if any(g < 0 for g in gpus):
        raise InputError(f"--gpus '{text}': GPU numbers are 0 or more")
    return gpus
