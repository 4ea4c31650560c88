"""The ingestion gateway: devices stream frames over WebSocket or HTTP, never over Kafka.

The path of a frame, by module: ``auth`` (who is sending) -> ``codec`` (JSON or binary frame,
checked by the consumer's own validator) -> ``limits`` (per-user rate and sessions) ->
``pipeline`` (bounded buffer, one Kafka producer, broker acks) -> ``session`` / ``batch``
(acks and refusals back to the client). Events go the other way: ``fanout`` reads the event
topics once per process and routes each record by its key to that user's sockets.
``app`` wires them into a Starlette app; ``server`` runs it under uvicorn.
"""
