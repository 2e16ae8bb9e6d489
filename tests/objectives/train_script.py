"""A training script for ``search --command``: logistic regression on digits.

usage: train_script.py --C VALUE --out PREDICTIONS [--mode ok|fail|nofile|garbage|malformed|hang]
Prints a progress line per step ({"step": N, "dev_error": X}) on stdout.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.objectives.models import logistic


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--params")
    args = parser.parse_args()
    if args.params:
        args.C = json.loads(Path(args.params).read_text())["C"]
    print("loading digits", flush=True)
    if args.mode == "garbage":
        print('{"step": "one", "loss": 1}', flush=True)
    if args.mode == "hang":
        time.sleep(600)
    if args.mode == "fail":
        print("Traceback: ValueError: bad C", file=sys.stderr)
        sys.exit(3)
    frame = logistic({"C": args.C}, None)
    dev = frame[frame["split"] == "dev"]
    print(json.dumps({"step": 1, "dev_error": float((dev.y_true != dev.y_pred).mean())}))
    if args.mode == "nofile":
        return
    if args.mode == "malformed":
        Path(args.out).write_text("id,split\n1,train,extra,\n\x00")
        return
    frame.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
