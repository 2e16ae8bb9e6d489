"""The sample CNN as a training script, for ``search --command`` (the desk runs it per trial).

Run from the repository root::

    python -m strategy_app search --dataset csv:sample_data/dataset.csv --label label \\
        --command "python examples/train_cnn.py --lr {lr} --dropout {dropout} \\
                   --synthesize {synthesize} --out {predictions}" \\
        --space examples/sample_space.json --trials 6 --out runs/cnn-script

It trains :mod:`examples.sample_cnn`'s model (the same code as the objective), prints one JSON
line ``{"step": epoch, "dev_error": x}`` per epoch on stdout (the desk reads them as the
trial's progress and may stop the trial), and writes the predictions on every split to
``--out`` (CSV, or Parquet when the name ends in ``.parquet``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.sample_cnn import DATASET, Settings, load_dataset, parse_flag, train


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: the training settings, the data, the seed and the output file."""
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--channels", type=int, default=defaults.channels)
    parser.add_argument("--dropout", type=float, default=defaults.dropout)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--synthesize", type=parse_flag, default=defaults.synthesize)
    parser.add_argument("--train-fraction", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--out", type=Path, required=True, help="predictions file to write")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Train, print progress as JSON lines, write the predictions file."""
    args = parse_args(argv)
    settings = Settings.from_params(vars(args))  # the options named like its fields

    def on_epoch(epoch: int, dev_error: float) -> None:
        print(json.dumps({"step": epoch, "dev_error": round(dev_error, 6)}), flush=True)

    result = train(
        load_dataset(args.dataset),
        settings,
        seed=args.seed,
        device=args.device,
        train_fraction=args.train_fraction,
        on_epoch=on_epoch,
    )
    if args.out.suffix == ".parquet":
        result.to_parquet(args.out, index=False)
    else:
        result.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
