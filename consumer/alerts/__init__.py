"""Alert episodes: per-window anomalies turned into alerts a runner and a service can act on.

windows (ScoredWindow -> WindowVerdict) -> episodes (the pure state machine: k of the last n
windows anomalous opens, m clean in a row resolves, idle resolves, cooldown) -> state (its
bytes, a section of the window state's extra) -> messages (opened / update / resolved JSON)
-> stage (the batch processor's hook). Around them: index + sweep (open episodes in Redis,
resolved as idle when their runner stops sending), wiring (built from settings), subscribe,
tail and webhook (the example subscribers), evaluate and latency (the measurements behind
the defaults, docs/alerts.md).
"""
