"""Outbound webhooks, the management side: the event catalog, endpoints and their API and console.

`webhooks` owns what a tenant sees and changes: the catalog (`catalog`, `contract`), endpoints
and their rules (`services` writes, `selectors` reads, `api`, `console`, `admin`), the outbox
other apps record events through (`outbox`), endpoint health and retention. Delivering the
recorded events is the engine's (`webhooks.engine`); the management side calls into it, never
the other way round (the engine reads the models, records events through the outbox and notes
each attempt in `health`).
"""
