"""Training, calibration and evaluation of posture models, as importable functions.

``train`` (``consumer.training.train``), ``evaluate_scorer`` and ``load_evaluation_data``
(``consumer.training.evaluate``), ``write_report`` (``consumer.training.report``) and
``train_on_simulated`` (``consumer.training.quick``). The CLI commands are thin layers over them.
"""
