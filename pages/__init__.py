"""Streamlit pages: layout and wiring only (logic lives in diagnostics/ and strategy_app/)."""
