"""Posture models: networks, the batch scoring API, artifacts and threshold calibration."""
