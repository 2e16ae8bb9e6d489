"""One trial's training for ``bench/objective_door.py``: softmax regression by full-batch
gradient descent on seeded synthetic data, in NumPy only (so the command door pays for no
heavy import the in-process call would not).

As a script (the command door): ``python bench/objective_trial.py --lr LR --iterations N
--out PREDICTIONS``; prints a progress line every 100 iterations.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

SPLITS = ("train", "train_dev", "dev", "test")


def train(lr: float, iterations: int, rows: int = 20_000, progress=None) -> dict[str, np.ndarray]:
    """Train and return the predictions' columns (id, split, y_true, y_pred)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 50))
    y = (x[:, :5] + rng.normal(scale=2.0, size=(rows, 5))).argmax(1)
    split = np.array(SPLITS)[rng.choice(4, size=rows, p=[0.6, 0.1, 0.15, 0.15])]
    train_rows = split == "train"
    x_train = x[train_rows]  # once: copied per iteration, a fresh process's malloc gives the
    # 4.8 MB back to the OS every time (page faults a warm process does not pay)
    weights = np.zeros((50, 5))
    onehot = np.eye(5)[y[train_rows]]
    for step in range(1, iterations + 1):
        logits = x_train @ weights
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        weights -= lr * x_train.T @ (probs - onehot) / len(x_train)
        if progress is not None and step % 100 == 0:
            dev = split == "dev"
            progress(step, float(((x[dev] @ weights).argmax(1) != y[dev]).mean()))
    return {"id": np.arange(rows), "split": split, "y_true": y, "y_pred": (x @ weights).argmax(1)}


def main() -> None:
    """The command door's script: train, print progress lines, write the predictions CSV."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    def progress(step: int, error: float) -> None:
        print(json.dumps({"step": step, "dev_error": error}), flush=True)

    columns = train(args.lr, args.iterations, progress=progress)
    with open(args.out, "w") as out:
        out.write("id,split,y_true,y_pred\n")
        out.writelines(
            f"{i},{s},{t},{p}\n"
            for i, s, t, p in zip(
                columns["id"], columns["split"], columns["y_true"], columns["y_pred"], strict=True
            )
        )


if __name__ == "__main__":
    main()
