"""AppTest tests of the Splits page: plans from sizes, errors, restore, and a dataset."""

import pandas as pd
from streamlit.testing.v1 import AppTest

from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import SplitPageState, open_store
from tests.conftest import project_id

TIMEOUT = 60


def run_splits() -> AppTest:
    """The Splits page in a fresh session."""
    return AppTest.from_file(str(PAGES_DIR / "splits.py"), default_timeout=TIMEOUT).run()


def plan_rows(at: AppTest) -> dict[str, tuple[int, str, str]]:
    """The plan table: split → (count, share, from)."""
    table = at.dataframe[0].value
    return {r.split: (r["count"], r.share, r["from"]) for _, r in table.iterrows()}


def test_a_million_examples_gives_98_1_1(data_dir):
    pid = project_id(data_dir)
    at = run_splits()
    at.text_input(key=f"split_size_{pid}").input("1,000,000").run()
    at.toggle(key=f"split_train_dev_{pid}").set_value(False).run()
    assert not at.exception and not at.error
    rows = plan_rows(at)
    assert rows["train"][:2] == (980_000, "98.00%")
    assert rows["dev"][:2] == (10_000, "1.00%")
    assert rows["test"][:2] == (10_000, "1.00%")
    assert len(at.get("vega_lite_chart")) == 1


def test_mismatch_example_takes_dev_from_the_target_and_is_restored(data_dir):
    pid = project_id(data_dir)
    at = run_splits()
    at.segmented_control(key=f"split_mode_{pid}").set_value("mismatched").run()
    at.text_input(key=f"split_source_{pid}").input("200,000")
    at.text_input(key=f"split_source_name_{pid}").input("web")
    at.text_input(key=f"split_target_{pid}").input("10000")
    at.text_input(key=f"split_target_name_{pid}").input("phone").run()
    assert not at.exception and not at.error
    assert plan_rows(at)["dev"][0] == 2_500
    assert plan_rows(at)["dev"][2] == "2,500 phone"
    assert any("phone" in m.value for m in at.markdown)
    again = run_splits()  # a new session: everything comes back from the project
    assert again.segmented_control(key=f"split_mode_{pid}").value == "mismatched"
    assert again.text_input(key=f"split_target_name_{pid}").value == "phone"
    assert plan_rows(again)["dev"][2] == "2,500 phone"


def test_bad_size_shows_an_error_and_keeps_the_saved_plan(data_dir):
    pid = project_id(data_dir)
    at = run_splits()
    at.text_input(key=f"split_size_{pid}").input("100000").run()
    at.text_input(key=f"split_size_{pid}").input("-5").run()
    assert "negative" in at.error[0].value
    at.text_input(key=f"split_size_{pid}").input("12.5k").run()
    assert "not a number" in at.error[0].value
    assert not at.dataframe
    store = open_store()
    assert store.split_plans.load(pid).size == "100000"
    store.close()
    assert run_splits().text_input(key=f"split_size_{pid}").value == "100000"


def test_bad_rate_names_the_field(data_dir):
    pid = project_id(data_dir)
    at = run_splits()
    at.text_input(key=f"split_size_{pid}").input("100000")
    at.text_input(key=f"split_difference_{pid}").input("abc").run()
    assert "smallest difference" in at.error[0].value


def test_dataset_is_assigned_checked_for_leakage_and_restored(data_dir, tmp_path):
    pid = project_id(data_dir)
    rows = 3_000
    frame = pd.DataFrame(
        {
            "x": [i % 1_000 for i in range(rows)],  # inputs repeat across patients
            "label": [i % 3 for i in range(rows)],
            "patient": [i // 4 for i in range(rows)],
        }
    )
    data = frame.to_csv(index=False).encode()
    store = open_store()
    upload = store.uploads.add("scans.csv", data)
    store.split_plans.save(pid, SplitPageState(upload_sha256=upload.sha256))
    store.close()
    at = run_splits()
    at.selectbox(key=f"split_label_{pid}").set_value("label")
    at.selectbox(key=f"split_group_{pid}").set_value("patient").run()
    assert not at.exception
    assert "No leakage" in at.success[0].value
    at.selectbox(key=f"split_hash_{pid}").set_value("x").run()
    assert any("Leakage" in e.value for e in at.error)
    assert at.get("download_button")
    again = run_splits()
    assert again.selectbox(key=f"split_group_{pid}").value == "patient"
    assert again.selectbox(key=f"split_hash_{pid}").value == "x"
    assert "Using **scans.csv**" in " ".join(c.value for c in again.caption)


def test_assigned_file_keeps_the_format(data_dir, tmp_path):
    from strategy_app.splits.ui import assigned_file

    path = tmp_path / "d.parquet"
    pd.DataFrame({"x": range(500), "y": [i % 2 for i in range(500)]}).to_parquet(path)
    state = SplitPageState(label="y")
    out = tmp_path / "out.parquet"
    out.write_bytes(assigned_file(str(path), "d.parquet", state))
    written = pd.read_parquet(out)
    assert list(written.columns) == ["x", "y", "split"]
    assert set(written["split"]) == {"train", "train_dev", "dev", "test"}
