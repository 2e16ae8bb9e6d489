"""Splits: not built yet; says honestly what it will do."""

from strategy_app.ui import coming_soon, page_setup

page_setup("splits")
coming_soon(
    "Design train, dev and test splits for your data size, and for mismatched data (lots of "
    "source data, a little of the target).",
    [
        "Recommend split sizes from the dataset size (60/20/20 for 10,000 examples, 98/1/1 for a "
        "million).",
        "For source/target data: dev and test only from the target, a train-dev set carved from "
        "training.",
        "Write a seeded, stratified split column into your dataset.",
    ],
)
