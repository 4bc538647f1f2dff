"""The delivery engine: how a recorded event reaches each endpoint, at least once, in order, fairly.

It owns everything between an event's commit and the receiver's answer, read in this order:

- `fanout`    one event becomes a delivery per subscribed endpoint, with its sequence number;
- `wake`      a delivery gets a broker message only when its endpoint has a free in-flight slot;
- `actors`    the Dramatiq actors that take a delivery id, or a few (and the worker-process middleware);
- `delivery`  one delivery from its claim to its recorded attempt: claim, POST, record, hand on;
- `claims`    claiming the endpoint's next due delivery and reading what sending it needs;
- `sets`      within a worker's turn, a set of deliveries recorded and the next set claimed at once;
- `turns`     the in-flight slots, the rules of a worker's turn and handing the slot on;
- `statements` every SQL statement of that path, whole, with named parameters, each PostgreSQL
              statement beside its portable twin; `rows` the named types their rows become;
- `payloads`, `transport`, `sendpool`  the request, the SSRF-guarded POST, the send threads;
- `retry`, `breaker`   what a failed attempt means for the schedule and for the endpoint.

Pending work lives in the database only: a broker message is a hint, so a lost message or a
killed worker delays a delivery (until a lease runs out and the sweep wakes it) but never loses it.
The management side (API, console, catalog, services) is `webhooks` itself.
"""
