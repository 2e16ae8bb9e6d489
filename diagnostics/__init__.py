"""Pure computations of the ML-strategy desk: ingest, metrics, waterfall, splits, errors, search.

Nothing here imports Streamlit or a database: the app, the CLI and the report call these
functions and show the same numbers.
"""
