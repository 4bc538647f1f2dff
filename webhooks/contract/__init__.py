"""The published shape of every event's `data`: one TypedDict per type, turned into JSON Schema.

Each TypedDict here is the contract an integrator codes to; the domain apps build values of
these types in their `events.py` builders, and `webhooks.catalog` ties each type name to one.
"""
