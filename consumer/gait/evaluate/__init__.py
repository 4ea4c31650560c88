"""Evaluation of the gait metrics and cues against the simulator's ground truth.

``python -m consumer.gait.evaluate --out docs/metrics.md`` regenerates the numbers of
docs/metrics.md. Evaluation only: it imports the simulator, which serving never does.
"""
