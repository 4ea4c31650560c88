"""The model lifecycle: registry, history, retrain, promotion, drift and personal baselines.

See docs/model-lifecycle.md. Modules that need TensorFlow (``finetune``, ``retrain``) import
it only inside the functions that train or score.
"""
