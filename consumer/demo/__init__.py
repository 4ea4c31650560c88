"""``barunrun demo``: everything on the embedded stack, with a live view and a summary."""
