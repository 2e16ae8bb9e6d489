"""Canonical split and level names, and the aliases users may type."""

from __future__ import annotations

from diagnostics.validation import InputError

SPLITS = ("train", "train_dev", "dev", "test")
LEVELS = ("human", *SPLITS)
LEVEL_LABELS = {
    "human": "human",
    "train": "train",
    "train_dev": "train-dev",
    "dev": "dev",
    "test": "test",
}
SPLIT_LABELS = {split: LEVEL_LABELS[split] for split in SPLITS}
SPLIT_ALIASES = {
    "train": "train",
    "train_dev": "train_dev",
    "train-dev": "train_dev",
    "traindev": "train_dev",
    "dev": "dev",
    "val": "dev",
    "valid": "dev",
    "validation": "dev",
    "test": "test",
}


def accepted_split_names() -> str:
    """The accepted split names and aliases, for error messages."""
    aliases = ", ".join(a for a in SPLIT_ALIASES if a not in SPLITS)
    return f"{', '.join(SPLITS)} (aliases: {aliases})"


def normalize_split(name: str) -> str:
    """Map a split name or alias (case and spaces ignored) to its canonical name."""
    key = str(name).strip().lower()
    if key not in SPLIT_ALIASES:
        raise InputError(f"unknown split '{name}'; accepted: {accepted_split_names()}")
    return SPLIT_ALIASES[key]
