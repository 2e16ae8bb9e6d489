"""``lr-find``: the learning-rate range test on a search dataset."""

from __future__ import annotations

from diagnostics.search.choices import LR_METHODS, OPTIMIZERS
from strategy_app.search.dataset_flags import (
    add_dataset_arguments,
    dataset_from_args,
    resolve_project_dataset,
)
from strategy_app.shell.flags import add_json_flag


def register(subparsers) -> None:
    """Add the ``lr-find`` command."""
    parser = subparsers.add_parser(
        "lr-find",
        help="learning-rate range test: which LR to train with",
        description="Grow the LR exponentially from 1e-7 to 10 while training, watch the "
        "smoothed loss, stop when it explodes, and suggest a learning rate.",
    )
    add_dataset_arguments(parser)
    parser.add_argument(
        "--objective",
        metavar="SPEC",
        help="the test on your own objective (package.module:function or builtin:cnn) through "
        "its lr_range(params, context) hook; default: the built-in MLP the flags below describe",
    )
    parser.add_argument(
        "--params",
        metavar="JSON",
        default="{}",
        help="with --objective: its parameters as a JSON object, e.g. '{\"channels\": 16}' "
        "(its own defaults for those left out)",
    )
    parser.add_argument("--method", choices=LR_METHODS, default="valley", help="default valley")
    mlp = parser.add_argument_group("the built-in MLP (without --objective)")
    mlp.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    mlp.add_argument("--momentum", type=float, default=0.9, help="SGD momentum β")
    mlp.add_argument("--batch-size", type=int, default=64)
    mlp.add_argument("--layers", type=int, default=2)
    mlp.add_argument("--hidden-units", type=int, default=128)
    parser.add_argument("--steps", type=int, help="steps (default: one pass, at least 100)")
    parser.add_argument("--accumulate", type=int, default=1, help="micro-batches per step")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Run the range test; returns (JSON data, text)."""
    import torch  # only when used: other commands stay fast to start

    from diagnostics.lr_finder import find_lr, objective_lr_test
    from diagnostics.search.training import TrainConfig
    from strategy_app.search.service import parse_params

    torch.set_num_threads(max(1, args.threads))
    if args.objective:
        resolve_project_dataset(args)
        result = objective_lr_test(
            args.objective,
            parse_params(args.params, "--params"),
            dataset=args.dataset,
            device=args.device,
            seed=args.seed,
            num_steps=args.steps,
            method=args.method,
            accumulation_steps=args.accumulate,
        )
        return {**result.to_dict(), "objective": args.objective}, render_text(result)
    data = dataset_from_args(args)
    config = TrainConfig.from_params(
        {
            "optimizer": args.optimizer,
            "momentum": args.momentum,
            "batch_size": args.batch_size,
            "layers": args.layers,
            "hidden_units": args.hidden_units,
        },
        seed=args.seed,
    )
    result = find_lr(
        data,
        config,
        num_steps=args.steps,
        method=args.method,
        accumulation_steps=args.accumulate,
        device=args.device,
    )
    return result.to_dict(), render_text(result)


def render_text(result) -> str:
    """The suggestion, the alternatives, the rule of thumb and a coarse view of the curve."""
    low, high = result.rule_of_thumb
    lines = [
        f"Suggested learning rate: {result.suggested_lr:.2e} ({result.method})",
        "  " + ", ".join(f"{name} {lr:.2e}" for name, lr in result.suggestions.items()),
        f"  lowest loss at {result.loss_min_lr:.2e}; rule of thumb: train at "
        f"{low:.2e} … {high:.2e} (1/10 to 1/3 of it)",
        f"  stopped: {result.stopped} after {len(result.lrs)} steps",
        "",
        f"  {'lr':>10}  smoothed loss",
    ]
    every = max(1, len(result.lrs) // 12)
    lines.extend(
        f"  {lr:>10.2e}  {loss:.4f}"
        for lr, loss in list(zip(result.lrs, result.losses, strict=True))[::every]
    )
    return "\n".join(lines)
