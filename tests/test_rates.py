"""Rates typed as percent or fractions, metric values, and their display."""

import pytest

from diagnostics.rates import format_value, is_rate_metric, parse_metric_value, parse_rate
from diagnostics.splitnames import accepted_split_names, normalize_split
from diagnostics.validation import InputError, format_rows


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8%", 0.08),
        ("8 %", 0.08),
        (" 8.5% ", 0.085),
        ("0.7%", 0.007),
        ("0.08", 0.08),
        (0.08, 0.08),
        (1.0, 1.0),  # a number from code is a fraction; the text "1" is refused (below)
        ("0", 0.0),
        ("100%", 1.0),
        ("0%", 0.0),
    ],
)
def test_parse_rate(text, value):
    assert parse_rate(text) == value


def test_percent_equals_fraction():
    assert parse_rate("8%") == parse_rate("0.08")


@pytest.mark.parametrize("text", ["8", "12.5", "100"])
def test_bare_number_above_one_is_refused(text):
    with pytest.raises(InputError, match=rf"--dev: {text} is above 1.*{text}%"):
        parse_rate(text, what="--dev")


@pytest.mark.parametrize("text", ["1", "1.0", " 1 "])
def test_a_bare_one_is_ambiguous_and_refused(text):
    with pytest.raises(InputError, match=r"--human: a bare 1(\.0)? is ambiguous \(1% or 100%\?\)"):
        parse_rate(text, what="--human")


@pytest.mark.parametrize("text", ["-1%", "-0.1", "101%", "abc", "", "%", "nan", "inf%"])
def test_bad_rates_are_refused(text):
    with pytest.raises(InputError, match="--train"):
        parse_rate(text, what="--train")


def test_metric_values():
    assert parse_metric_value("8%", "error") == 0.08
    assert parse_metric_value("12.5", "mae") == 12.5
    assert parse_metric_value("150000", "rmse") == 150000
    with pytest.raises(InputError, match="percent"):
        parse_metric_value("8%", "mae")
    with pytest.raises(InputError, match="not a number"):
        parse_metric_value("lots", "mae")
    with pytest.raises(InputError, match="≥ 0"):
        parse_metric_value("-3", "rmse")


def test_format_value():
    assert format_value(0.08, "error") == "8.0%"
    assert format_value(0.0712, "error", signed=True) == "+7.1%"
    assert format_value(-0.01, "error", signed=True) == "-1.0%"
    assert format_value(1234.5, "mae", "₹") == "1,234.50 ₹"
    assert format_value(3.0, "rmse") == "3.00"
    assert format_value(None, "error") == "—"
    assert is_rate_metric("error") and not is_rate_metric("mae")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("train", "train"), ("Train-Dev", "train_dev"), ("traindev", "train_dev"), ("VAL", "dev"),
     ("valid", "dev"), ("validation ", "dev"), ("test", "test")],
)  # fmt: skip
def test_normalize_split(name, canonical):
    assert normalize_split(name) == canonical


def test_unknown_split_lists_accepted():
    with pytest.raises(InputError, match="unknown split 'holdout'") as caught:
        normalize_split("holdout")
    assert accepted_split_names() in str(caught.value)


def test_format_rows():
    assert format_rows([3, 9]) == "3, 9"
    assert format_rows(range(1, 8)) == "1, 2, 3, 4, 5, …"
