"""Command-line flags that pick a search dataset, shared by ``search`` and ``lr-find``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.search.choices import DEVICES, DIFFICULTIES
from diagnostics.validation import InputError

if TYPE_CHECKING:
    from diagnostics.search.datasets import ClassificationOptions, Dataset


def add_dataset_arguments(parser) -> None:
    """Add ``--dataset``, ``--label``, the synthetic-data options, ``--seed`` and ``--device``."""
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help="digits (default), classification, csv:PATH, parquet:PATH (PATH may be s3://…), "
        "hf:FOLDER[#HF_SPLIT=SPLIT,…] (a Hugging Face dataset saved to disk), or project (a "
        "saved project's dataset: its splits and ids, label column 'label')",
    )
    parser.add_argument(
        "--label", metavar="COLUMN", help="label column of a csv:/parquet:/hf: dataset"
    )
    parser.add_argument(
        "--project",
        metavar="NAME",
        help="with --dataset project: the project whose dataset to train on (required)",
    )
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
    from diagnostics.search.datasets import ClassificationOptions  # loaded when run

    return ClassificationOptions(
        n_samples=args.n_samples,
        n_features=args.n_features,
        n_classes=args.n_classes,
        difficulty=args.difficulty,
    )


def resolve_project_dataset(args) -> None:
    """``--dataset project``: point the flags at the saved project's features file (its split
    column and ids kept; label column ``label`` unless ``--label`` names another)."""
    from strategy_app.store import open_store  # the database loads when run, not when registered
    from strategy_app.store.projects import DATASET_LABEL, PROJECT_DATASET

    if args.dataset != PROJECT_DATASET:
        if args.project:
            raise InputError("--project goes with --dataset project")
        return
    if not args.project:
        raise InputError("--dataset project needs --project NAME: the project whose dataset")
    store = open_store()
    try:
        project = store.projects.get_by_name(args.project)
        if project is None:
            names = ", ".join(f"'{p.name}'" for p in store.projects.list()) or "none yet"
            raise InputError(f"--project: no project named '{args.project}' (projects: {names})")
        args.dataset = store.projects.dataset_spec(project.id)
    finally:
        store.close()
    args.label = args.label or DATASET_LABEL


def dataset_from_args(args) -> Dataset:
    """Load the dataset the flags name (digits by default)."""
    from diagnostics.search.datasets import load_dataset

    resolve_project_dataset(args)
    return load_dataset(
        args.dataset or "digits",
        label=args.label,
        seed=args.seed,
        options=classification_options(args),
    )
