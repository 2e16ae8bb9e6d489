"""The ML-strategy desk application: one folder per feature (``diagnose``, ``errors``, ``splits``,
``search``, ``report``), each with a Streamlit-free ``service`` that its page, its CLI command and
the report call, plus ``shell`` (navigation, page set-up, serve), ``store`` and the CLI."""
