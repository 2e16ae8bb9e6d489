"""Command-line flags that pick a search dataset, shared by ``search`` and ``lr-find``."""

from __future__ import annotations

from diagnostics.search.choices import DEVICES, DIFFICULTIES
from diagnostics.search.datasets import ClassificationOptions, Dataset, load_dataset


def add_dataset_arguments(parser) -> None:
    """Add ``--dataset``, ``--label``, the synthetic-data options, ``--seed`` and ``--device``."""
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help="digits (default), classification, csv:PATH or parquet:PATH",
    )
    parser.add_argument("--label", metavar="COLUMN", help="label column of a csv:/parquet: file")
    parser.add_argument("--n-samples", type=int, default=30_000, help="classification: rows")
    parser.add_argument("--n-features", type=int, default=40, help="classification: features")
    parser.add_argument("--n-classes", type=int, default=5, help="classification: classes")
    parser.add_argument(
        "--difficulty", choices=DIFFICULTIES, default="medium", help="classification: class overlap"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, weights, batches")
    parser.add_argument(
        "--device",
        default="auto",
        choices=DEVICES,
        help="auto (CUDA when available, else CPU), cpu or cuda",
    )


def classification_options(args) -> ClassificationOptions:
    """The synthetic dataset's options from the flags."""
    return ClassificationOptions(
        n_samples=args.n_samples,
        n_features=args.n_features,
        n_classes=args.n_classes,
        difficulty=args.difficulty,
    )


def dataset_from_args(args) -> Dataset:
    """Load the dataset the flags name (digits by default)."""
    return load_dataset(
        args.dataset or "digits",
        label=args.label,
        seed=args.seed,
        options=classification_options(args),
    )
