"""Helpers of the fault-injection suite (tests/reliability): processes, audits, results."""
