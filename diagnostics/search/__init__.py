"""Hyperparameter search: PyTorch training driven by Optuna (STRATEGY_NOTES §4).

Modules by role: :mod:`.settings` (what a search is asked to do), :mod:`.space` (the typed,
tiered search space and its one mapping onto Optuna), :mod:`.storage` (journal file or RDB),
:mod:`.study` (naming, reading and summarising our studies), :mod:`.workers` (the objective,
samplers, pruners, worker processes, stale-trial recovery), :mod:`.rounds` (a whole search:
coarse-to-fine, resume, join), :mod:`.outputs` (finalists, best model, predictions),
:mod:`.datasets` (offline data, seeded split), :mod:`.model` and :mod:`.training` (the MLP and
its loop) and :mod:`.choices` (the names flags and widgets offer, without heavy imports).
The LR range test is :mod:`diagnostics.lr_finder`.
"""
