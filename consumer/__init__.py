"""BarunRun: real-time running-posture anomaly detection (the service and its model)."""

__version__ = "0.1.0"
