"""Examples a user copies: their own training code searched and scored by the desk.

``examples.sample_cnn`` is a search objective (a small torch CNN on the sample project's digits,
with an option to synthesize phone-like training photos); ``examples/train_cnn.py`` is the same
training as a script for ``search --command``. See ``examples/README.md``.
"""
