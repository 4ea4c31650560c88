"""Labels: what people say about archived frames, and how that becomes training data.

``schema`` (the label message on ``topics.labels``), ``publish`` (``barunrun label``),
``store`` (append-only SQLite), ``ingest`` (``barunrun labels ingest``: topic -> store),
``resolve`` (the stated conflict rule, per frame), ``agreement`` (Cohen's kappa), ``report``
and ``render`` (``barunrun labels report``), ``split`` and ``training_set``
(``barunrun dataset --from-archive``).
"""
