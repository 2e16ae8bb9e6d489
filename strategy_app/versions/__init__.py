"""Model versions: the one owner of a project's versions and of the one a session looks at.

:mod:`.service` (no Streamlit) finds a version's predictions file, or refuses in one line
(:func:`~.service.version_file`), reads it once per content (:func:`~.service.read_version`)
and deletes versions; :mod:`.selector` is the sidebar's selector and the session's current version
(:func:`~.selector.session_version`), which every page and service is handed.
"""
