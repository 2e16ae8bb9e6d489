"""Splits: train/train-dev/dev/test plans, and a plan applied to a dataset."""
