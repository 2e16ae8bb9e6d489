"""Hyperparameter search: PyTorch training driven by Optuna (STRATEGY_NOTES §4).

Modules: :mod:`.datasets` (offline data, seeded split), :mod:`.space` (typed, tiered search
space and its mapping onto Optuna), :mod:`.model` (the MLP), :mod:`.training` (the loop),
:mod:`.runner` (studies, storage, workers, coarse-to-fine), :mod:`.outputs` (best model and
predictions) and :mod:`.choices` (the names flags and widgets offer, without heavy imports).
The LR range test is :mod:`diagnostics.lr_finder`.
"""
