"""The streaming consumer: frames in, windows in Redis, batched scoring, events and metrics out.

batch (decode + group, pure) -> processor (rules + one model call per batch -> records and
state updates; pure given a store and a scorer) -> loop (publish, flush, save, commit, with
retries; its docstring states the delivery invariant). Around them: ports (the loop's
protocols), kafka_io (kafka-python adapters), events (record builders), metrics, health and
http (/metrics, /healthz, /readyz), reload (hot model swap), app (wiring from settings).
"""
