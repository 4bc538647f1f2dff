"""Every statement of one delivery's path, written whole, with named parameters.

Each PostgreSQL statement (`…_PG`) does in one round trip what its portable twin (the statements
named after it without `_PG`, run in order in one transaction) does anywhere; which one runs is
`skillhub.db.uses_postgres_statements()`, and tests/webhooks/test_postgres_parity.py runs both on
PostgreSQL and compares the rows. Parameters are named, so adding one never shifts another:

  now, lease_end, renew_before, queue_lease_end   instants (`turns.instants`)
  threshold, default_cap                          the breaker threshold and the default cap
  delivery_id, token, slot_id                     the delivery, its claim token, the slot it holds
  delivery_ids, tokens                            several named deliveries and a claim token for each
  sent, set_size                                  a turn's set just sent (JSON), how many to claim next
  event_id, tenant_id, event_type, data, …        an event being recorded, and its deliveries'
  endpoint_ids, delivery_ids                      endpoints and new ids, as arrays (one shape for any count)
  own_commit                                      true when the statement is its own transaction

Rules that several statements repeat, written the same way in each (a test checks they agree):

  the endpoint's cap now    CASE WHEN p.circuit_open_until > now THEN 0 (circuit open)
                            WHEN p.consecutive_failures >= threshold THEN 1 (the probe)
                            ELSE its maxInFlight or the default END (webhooks.engine.turns.effective_cap)
  a delivery due            pending and its next attempt has come, or sending and its lease ran out
  a delivery unmessaged     no slot of its endpoint is `queued` for it: a worker handing its slot
                            on, or keeping it for a turn, takes only those (one that has a message
                            is sent by that message)
  a slot free               `free`, or held under a lease that ran out

The endpoint is always named by a scalar subquery, never a join: then PostgreSQL knows it is one
value and walks `delivery_endpoint_next` in sequence order, stopping at the first due row (joined,
it sorted the endpoint's whole backlog on every claim).

Asynchronous commit: each PostgreSQL statement that is its own transaction (`own_commit`) commits
asynchronously (`set_config(…, true)` is SET LOCAL): a database crash may forget the last fraction
of a second of claims and attempts, which only means a delivery is sent again with the same
webhook-id (at least once is the contract). Inside a caller's transaction it keeps the caller's
setting. Disabling an endpoint and everything a caller records stay synchronous.
"""

from __future__ import annotations

from skillhub.db import pg_utc_iso

# What sending a claimed delivery needs, named as `webhooks.engine.rows.Claimed` reads them.
# Every statement that claims a delivery returns these after `delivery_id, slot_id, consecutive_failures`.
# The PostgreSQL statements hand the event's time over as UTC text, which the worker reads with
# `datetime.fromisoformat`: the driver's timestamptz loader (Python, with a regular expression)
# cost about 10 µs a row, half of what reading a claimed row cost.
_CLAIMED_COLUMNS = """d.sequence, d.attempt_count, d.is_ping, d.tenant_id,
  e.id AS event_id, e.type AS event_type, e.data, e.subject_type, e.subject_id, {created_at} AS created_at,
  p.id AS endpoint_id, p.url, p.enabled, p.secret, p.previous_secret, p.previous_secret_expires_at,
  p.basic_auth_username, p.basic_auth_password, p.additional_headers, p.payload_style,
  p.retry_policy, p.send_secret_header, t.slug AS tenant_slug"""
CLAIMED_COLUMNS = _CLAIMED_COLUMNS.format(created_at="e.created_at")
PG_CLAIMED_COLUMNS = _CLAIMED_COLUMNS.format(created_at=pg_utc_iso("e.created_at"))

# --- claiming the endpoint's next due delivery -----------------------------------------------

# The endpoint of the named delivery, a slot of it (the one queued for this delivery first, else a
# free one), its lowest-sequence due delivery, both taken with `token`, and what sending needs.
CLAIM_NEXT_PG = f"""
WITH named_endpoint AS (
  SELECT p.id,
    (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1
     ELSE COALESCE(p.max_in_flight, %(default_cap)s) END) AS cap
  FROM webhooks_delivery named JOIN webhooks_endpoint p ON p.id = named.endpoint_id
  WHERE named.id = %(delivery_id)s AND p.enabled AND NOT named.is_ping
), open_slot AS (
  SELECT s.id FROM webhooks_endpointslot s JOIN named_endpoint ON s.endpoint_id = named_endpoint.id
  WHERE s.number < named_endpoint.cap
    AND (s.state = 'free' OR s.leased_until < %(now)s OR (s.state = 'queued' AND s.delivery_id = %(delivery_id)s))
  ORDER BY (s.state = 'queued' AND s.delivery_id = %(delivery_id)s) DESC, s.number
  LIMIT 1 FOR UPDATE OF s SKIP LOCKED
), first_due AS (
  SELECT d.id FROM webhooks_delivery d
  WHERE d.endpoint_id = (SELECT id FROM named_endpoint) AND EXISTS (SELECT 1 FROM open_slot)
    AND d.state IN ('pending', 'sending') AND NOT d.is_ping
    AND ((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))
  ORDER BY d.sequence LIMIT 1 FOR UPDATE OF d SKIP LOCKED
), taken_slot AS (
  UPDATE webhooks_endpointslot s
  SET state = 'sending', delivery_id = first_due.id, claim_token = %(token)s, leased_until = %(lease_end)s
  FROM open_slot, first_due WHERE s.id = open_slot.id
  RETURNING s.id
)
UPDATE webhooks_delivery d SET state = 'sending', claimed_until = %(lease_end)s, claim_token = %(token)s
FROM taken_slot, first_due, webhooks_event e, webhooks_endpoint p, tenants_tenant t,
  (SELECT set_config('synchronous_commit',
     CASE WHEN %(own_commit)s THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode
WHERE d.id = first_due.id AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id
RETURNING d.id AS delivery_id, taken_slot.id AS slot_id, p.consecutive_failures, {PG_CLAIMED_COLUMNS}
"""

# CLAIM_NEXT_PG for several named deliveries at once (a message naming many endpoints), each with its
# own token: per endpoint, as many slots as it was named (those queued for one of them first, else
# free ones) and as many of its lowest-sequence due deliveries as slots were found, paired in order
# with the names, a name a slot is queued for first (as CLAIM_NEXT_PG would claim for it, and not for
# a name that has none while no slot is free). Answers `token` (whose claim) before CLAIM_NEXT_PG's columns.
CLAIM_MANY_PG = f"""
WITH asked AS (
  SELECT a.delivery_id, a.token, a.ord
  FROM unnest(%(delivery_ids)s::text[], %(tokens)s::text[]) WITH ORDINALITY AS a(delivery_id, token, ord)
), named AS (
  SELECT asked.delivery_id, asked.token, p.id AS endpoint_id,
    (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1
     ELSE COALESCE(p.max_in_flight, %(default_cap)s) END) AS cap,
    row_number() OVER (PARTITION BY p.id ORDER BY EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = p.id
      AND q.state = 'queued' AND q.delivery_id = asked.delivery_id) DESC, asked.ord) AS rank
  FROM asked JOIN webhooks_delivery named ON named.id = asked.delivery_id
    JOIN webhooks_endpoint p ON p.id = named.endpoint_id
  WHERE p.enabled AND NOT named.is_ping
), wanted AS (
  SELECT endpoint_id, min(cap) AS cap, count(*) AS names, array_agg(delivery_id) AS ids FROM named GROUP BY endpoint_id
), open_slot AS (
  SELECT slot.id, wanted.endpoint_id, row_number() OVER (PARTITION BY wanted.endpoint_id ORDER BY slot.preferred DESC, slot.number) AS rank
  FROM wanted CROSS JOIN LATERAL (
    SELECT s.id, s.number, (s.state = 'queued' AND s.delivery_id = ANY(wanted.ids)) AS preferred
    FROM webhooks_endpointslot s
    WHERE s.endpoint_id = wanted.endpoint_id AND s.number < wanted.cap
      AND (s.state = 'free' OR s.leased_until < %(now)s OR (s.state = 'queued' AND s.delivery_id = ANY(wanted.ids)))
    ORDER BY (s.state = 'queued' AND s.delivery_id = ANY(wanted.ids)) DESC, s.number
    LIMIT wanted.names FOR UPDATE OF s SKIP LOCKED
  ) slot
), slots_found AS (
  SELECT endpoint_id, count(*) AS slots FROM open_slot GROUP BY endpoint_id
), first_due AS (
  SELECT due.id, slots_found.endpoint_id, row_number() OVER (PARTITION BY slots_found.endpoint_id ORDER BY due.sequence) AS rank
  FROM slots_found CROSS JOIN LATERAL (
    SELECT d.id, d.sequence FROM webhooks_delivery d
    WHERE d.endpoint_id = slots_found.endpoint_id AND d.state IN ('pending', 'sending') AND NOT d.is_ping
      AND ((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))
    ORDER BY d.sequence LIMIT slots_found.slots FOR UPDATE OF d SKIP LOCKED
  ) due
), pairs AS (
  SELECT named.token, open_slot.id AS slot_id, first_due.id AS due_id
  FROM named JOIN open_slot ON open_slot.endpoint_id = named.endpoint_id AND open_slot.rank = named.rank
    JOIN first_due ON first_due.endpoint_id = named.endpoint_id AND first_due.rank = named.rank
), taken_slot AS (
  UPDATE webhooks_endpointslot s
  SET state = 'sending', delivery_id = pairs.due_id, claim_token = pairs.token, leased_until = %(lease_end)s
  FROM pairs WHERE s.id = pairs.slot_id
  RETURNING s.id
)
UPDATE webhooks_delivery d SET state = 'sending', claimed_until = %(lease_end)s, claim_token = pairs.token
FROM pairs JOIN taken_slot ON taken_slot.id = pairs.slot_id, webhooks_event e, webhooks_endpoint p, tenants_tenant t,
  (SELECT set_config('synchronous_commit',
     CASE WHEN %(own_commit)s THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode
WHERE d.id = pairs.due_id AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id
RETURNING pairs.token, d.id AS delivery_id, pairs.slot_id, p.consecutive_failures, {PG_CLAIMED_COLUMNS}
"""

# Its portable twin, in order: the endpoint and its cap, a slot, the first due delivery, taking both.
NAMED_ENDPOINT = """
SELECT p.id, (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1
  ELSE COALESCE(p.max_in_flight, %(default_cap)s) END) AS cap, p.consecutive_failures
FROM webhooks_delivery named JOIN webhooks_endpoint p ON p.id = named.endpoint_id
WHERE named.id = %(delivery_id)s AND p.enabled AND NOT named.is_ping
"""
OPEN_SLOT = """
SELECT s.id FROM webhooks_endpointslot s
WHERE s.endpoint_id = %(endpoint_id)s AND s.number < %(cap)s
  AND (s.state = 'free' OR s.leased_until < %(now)s OR (s.state = 'queued' AND s.delivery_id = %(delivery_id)s))
ORDER BY CASE WHEN s.state = 'queued' AND s.delivery_id = %(delivery_id)s THEN 0 ELSE 1 END, s.number
LIMIT 1
"""
FIRST_DUE = """
SELECT d.id FROM webhooks_delivery d
WHERE d.endpoint_id = %(endpoint_id)s AND d.state IN ('pending', 'sending') AND NOT d.is_ping
  AND ((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))
ORDER BY d.sequence LIMIT 1
"""
TAKE_SLOT = """
UPDATE webhooks_endpointslot SET state = 'sending', delivery_id = %(delivery_id)s, claim_token = %(token)s,
  leased_until = %(lease_end)s
WHERE id = %(slot_id)s
"""
TAKE_DELIVERY = """
UPDATE webhooks_delivery SET state = 'sending', claimed_until = %(lease_end)s, claim_token = %(token)s
WHERE id = %(delivery_id)s
"""
# What sending the delivery just taken needs (the portable twins' last step).
LOAD_CLAIMED = f"""
SELECT d.id AS delivery_id, p.consecutive_failures, {CLAIMED_COLUMNS}
FROM webhooks_delivery d JOIN webhooks_event e ON e.id = d.event_id
  JOIN webhooks_endpoint p ON p.id = d.endpoint_id JOIN tenants_tenant t ON t.id = d.tenant_id
WHERE d.id = %(delivery_id)s
"""

# --- claiming a ping (by its own id, without a slot: it tests the endpoint whatever its cap) ----

CLAIM_PING_PG = f"""
UPDATE webhooks_delivery d SET state = 'sending', claimed_until = %(lease_end)s, claim_token = %(token)s
FROM webhooks_event e, webhooks_endpoint p, tenants_tenant t,
  (SELECT set_config('synchronous_commit',
     CASE WHEN %(own_commit)s THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode
WHERE d.id = %(delivery_id)s AND d.is_ping
  AND ((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))
  AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id
RETURNING d.id AS delivery_id, p.consecutive_failures, {PG_CLAIMED_COLUMNS}
"""
# Its portable twin: this, then LOAD_CLAIMED.
CLAIM_PING = """
UPDATE webhooks_delivery SET state = 'sending', claimed_until = %(lease_end)s, claim_token = %(token)s
WHERE id = %(delivery_id)s AND is_ping
  AND ((state = 'pending' AND next_attempt_at <= %(now)s) OR (state = 'sending' AND claimed_until < %(now)s))
"""

# --- nothing claimed ---------------------------------------------------------------------------

# A slot queued for the named delivery is given back (it was not that delivery's turn).
GIVE_BACK_QUEUED_SLOT = """
UPDATE webhooks_endpointslot SET state = 'free', delivery_id = '', claim_token = '', leased_until = NULL
WHERE delivery_id = %(delivery_id)s AND state = 'queued'
"""
# Whether the named delivery is a ping, and whether its endpoint lacks slot rows.
NAMED_DELIVERY_SLOTS = """
SELECT named.is_ping, p.id AS endpoint_id, COALESCE(p.max_in_flight, %(default_cap)s) AS cap,
  (SELECT count(*) FROM webhooks_endpointslot s WHERE s.endpoint_id = p.id) AS slots
FROM webhooks_delivery named JOIN webhooks_endpoint p ON p.id = named.endpoint_id
WHERE named.id = %(delivery_id)s
"""
# A claim given back (the endpoint was disabled while the delivery was queued).
RELEASE = """
UPDATE webhooks_delivery SET state = 'pending', claimed_until = NULL, claim_token = ''
WHERE id = %(delivery_id)s AND claim_token = %(token)s
"""

# --- recording an attempt ----------------------------------------------------------------------

# Without a slot (a ping): the delivery's next step and its attempt row, the attempt written only
# if the delivery is still there and still ours (an endpoint deleted while its delivery was in
# flight took the delivery with it, and the answer is dropped). Answers one row per attempt written.
RECORD_PG = """
WITH finished AS (
  UPDATE webhooks_delivery SET state = %(state)s, attempt_count = %(number)s::integer,
    next_attempt_at = %(next_attempt_at)s, enqueued_at = %(enqueued_at)s, claimed_until = NULL, claim_token = '',
    last_status_code = %(status_code)s::integer, last_error = %(error)s::text,
    delivered_at = COALESCE(%(delivered_at)s, delivered_at), updated_at = %(updated_at)s
  FROM (SELECT set_config('synchronous_commit',
     CASE WHEN %(own_commit)s THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode
  WHERE id = %(delivery_id)s AND claim_token = %(token)s
  RETURNING id
)
INSERT INTO webhooks_attempt (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body, response_headers)
SELECT finished.id, %(number)s::integer, %(started_at)s::timestamptz, %(duration_ms)s::integer,
  %(status_code)s::integer, %(succeeded)s::boolean, %(error)s::text, %(response_body)s::text, %(response_headers)s::jsonb
FROM finished
"""
# Its portable twin: FINISH, then (when it changed a row) INSERT_ATTEMPT.
FINISH = """
UPDATE webhooks_delivery SET state = %(state)s, attempt_count = %(number)s, next_attempt_at = %(next_attempt_at)s,
  enqueued_at = %(enqueued_at)s, claimed_until = NULL, claim_token = '', last_status_code = %(status_code)s,
  last_error = %(error)s, delivered_at = COALESCE(%(delivered_at)s, delivered_at), updated_at = %(updated_at)s
WHERE id = %(delivery_id)s AND claim_token = %(token)s
"""
INSERT_ATTEMPT = """
INSERT INTO webhooks_attempt (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body, response_headers)
VALUES (%(delivery_id)s, %(number)s, %(started_at)s, %(duration_ms)s, %(status_code)s, %(succeeded)s, %(error)s,
  %(response_body)s, %(response_headers)s)
"""

# With a slot, at the end of a turn: recorded as RECORD_PG, and the slot handed on to the
# endpoint's next waiting, unmessaged delivery (`queued`: the caller sends it a message) or freed.
# Answers the delivery the slot now waits for ('' when freed) and whether the delivery was still ours.
RECORD_AND_PASS_ON_PG = """
WITH finished AS (
  UPDATE webhooks_delivery SET state = %(state)s, attempt_count = %(number)s::integer,
    next_attempt_at = %(next_attempt_at)s, enqueued_at = %(enqueued_at)s, claimed_until = NULL, claim_token = '',
    last_status_code = %(status_code)s::integer, last_error = %(error)s::text,
    delivered_at = COALESCE(%(delivered_at)s, delivered_at), updated_at = %(updated_at)s
  FROM (SELECT set_config('synchronous_commit',
     CASE WHEN %(own_commit)s THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode
  WHERE id = %(delivery_id)s AND claim_token = %(token)s
  RETURNING id
), attempt AS (
  INSERT INTO webhooks_attempt (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body, response_headers)
  SELECT finished.id, %(number)s::integer, %(started_at)s::timestamptz, %(duration_ms)s::integer,
    %(status_code)s::integer, %(succeeded)s::boolean, %(error)s::text, %(response_body)s::text, %(response_headers)s::jsonb
  FROM finished
), next_waiting AS (
  SELECT d.id FROM webhooks_delivery d
  WHERE d.endpoint_id = (
      SELECT p.id FROM webhooks_endpointslot held JOIN webhooks_endpoint p ON p.id = held.endpoint_id
      WHERE held.id = %(slot_id)s AND held.claim_token = %(token)s AND p.enabled
        AND held.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s
          THEN 1 ELSE COALESCE(p.max_in_flight, %(default_cap)s) END))
    AND d.state = 'pending' AND NOT d.is_ping AND d.next_attempt_at <= %(now)s AND d.id <> %(delivery_id)s
    AND NOT EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued'
      AND q.delivery_id = d.id AND q.leased_until >= %(now)s)
  ORDER BY d.sequence LIMIT 1
), one_row AS (SELECT 1 AS always)
UPDATE webhooks_endpointslot SET state = CASE WHEN next_waiting.id IS NULL THEN 'free' ELSE 'queued' END,
  delivery_id = COALESCE(next_waiting.id, ''), claim_token = '',
  leased_until = CASE WHEN next_waiting.id IS NULL THEN NULL ELSE %(queue_lease_end)s::timestamptz END
FROM one_row LEFT JOIN next_waiting ON true
WHERE webhooks_endpointslot.id = %(slot_id)s AND webhooks_endpointslot.claim_token = %(token)s
RETURNING webhooks_endpointslot.delivery_id AS following, (SELECT count(*) FROM finished) AS still_ours
"""
# The hand-on alone (a claim given back): the same, without recording.
PASS_ON_PG = """
WITH next_waiting AS (
  SELECT d.id FROM webhooks_delivery d
  WHERE d.endpoint_id = (
      SELECT p.id FROM webhooks_endpointslot held JOIN webhooks_endpoint p ON p.id = held.endpoint_id
      WHERE held.id = %(slot_id)s AND held.claim_token = %(token)s AND p.enabled
        AND held.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s
          THEN 1 ELSE COALESCE(p.max_in_flight, %(default_cap)s) END))
    AND d.state = 'pending' AND NOT d.is_ping AND d.next_attempt_at <= %(now)s AND d.id <> %(delivery_id)s
    AND NOT EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued'
      AND q.delivery_id = d.id AND q.leased_until >= %(now)s)
  ORDER BY d.sequence LIMIT 1
), one_row AS (SELECT 1 AS always)
UPDATE webhooks_endpointslot SET state = CASE WHEN next_waiting.id IS NULL THEN 'free' ELSE 'queued' END,
  delivery_id = COALESCE(next_waiting.id, ''), claim_token = '',
  leased_until = CASE WHEN next_waiting.id IS NULL THEN NULL ELSE %(queue_lease_end)s::timestamptz END
FROM one_row LEFT JOIN next_waiting ON true
WHERE webhooks_endpointslot.id = %(slot_id)s AND webhooks_endpointslot.claim_token = %(token)s
RETURNING webhooks_endpointslot.delivery_id AS following
"""
# Their portable twin, after FINISH and INSERT_ATTEMPT: NEXT_WAITING, then QUEUE_SLOT or FREE_SLOT.
NEXT_WAITING = """
SELECT d.id FROM webhooks_endpointslot held JOIN webhooks_endpoint p ON p.id = held.endpoint_id
  JOIN webhooks_delivery d ON d.endpoint_id = p.id
WHERE held.id = %(slot_id)s AND held.claim_token = %(token)s AND p.enabled
  AND held.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s
    THEN 1 ELSE COALESCE(p.max_in_flight, %(default_cap)s) END)
  AND d.state = 'pending' AND NOT d.is_ping AND d.next_attempt_at <= %(now)s AND d.id <> %(delivery_id)s
  AND NOT EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued'
    AND q.delivery_id = d.id AND q.leased_until >= %(now)s)
ORDER BY d.sequence LIMIT 1
"""
QUEUE_SLOT = """
UPDATE webhooks_endpointslot SET state = 'queued', delivery_id = %(following)s, claim_token = '',
  leased_until = %(queue_lease_end)s
WHERE id = %(slot_id)s AND claim_token = %(token)s
"""
FREE_SLOT = """
UPDATE webhooks_endpointslot SET state = 'free', delivery_id = '', claim_token = '', leased_until = NULL
WHERE id = %(slot_id)s AND claim_token = %(token)s
"""

# Within a turn, a set at a time, for one slot's set or for the sets of several slots at once (a
# message naming many endpoints). `sent` is a JSON array with one object per delivery just sent (its
# next step and its attempt, and the slot and token it was sent under: the fields named in
# `sent AS (…)` below); `set_size` how many to claim next per slot. The sent deliveries are finished
# and their attempt rows written in one multi-row insert (each only if the delivery is still ours);
# then, for each slot with a sent delivery still ours, up to `set_size` of its endpoint's next due,
# unmessaged deliveries are claimed in sequence order with the slot's own token for the thread that
# keeps the slot, or the slot is freed. The slot row is left alone while its lease has more than half
# to run (`renew_before`): every worker of a busy endpoint writes to the same page of slot rows, and
# those writes were what its deliveries waited for. The sent rows are found by `sent_ids` (an array,
# so the planner expects as many rows as it holds and looks them up by primary key: joined to the
# JSON alone, it assumed 100 and scanned the whole table once the plan was cached), and left out of
# the next set by the same array: the statement reads the table as it was before its own writes, so
# a sent delivery whose lease ran out still looks due there. Answers the sent deliveries still ours
# (`finished_ids`), then the claimed ones' columns by slot (`turn_slot_id`) in sequence order (one
# row of nulls when none).
RECORD_SETS_AND_CLAIM_SETS_PG = f"""
WITH sent AS (
  SELECT * FROM jsonb_to_recordset(%(sent)s::jsonb) AS sent(delivery_id text, state text, number integer,
    next_attempt_at timestamptz, enqueued_at timestamptz, status_code integer, error text, delivered_at timestamptz,
    started_at timestamptz, duration_ms integer, succeeded boolean, response_body text, response_headers jsonb,
    slot_id bigint, token text)
), finished AS (
  UPDATE webhooks_delivery d SET state = sent.state, attempt_count = sent.number, next_attempt_at = sent.next_attempt_at,
    enqueued_at = sent.enqueued_at, claimed_until = NULL, claim_token = '', last_status_code = sent.status_code,
    last_error = sent.error, delivered_at = COALESCE(sent.delivered_at, d.delivered_at), updated_at = %(updated_at)s
  FROM sent, (SELECT set_config('synchronous_commit',
     CASE WHEN %(own_commit)s THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode
  WHERE d.id = ANY(%(sent_ids)s::text[]) AND d.id = sent.delivery_id AND d.claim_token = sent.token
  RETURNING d.id, sent.slot_id, sent.token
), attempt AS (
  INSERT INTO webhooks_attempt (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body, response_headers)
  SELECT sent.delivery_id, sent.number, sent.started_at, sent.duration_ms, sent.status_code, sent.succeeded, sent.error,
    sent.response_body, sent.response_headers
  FROM sent JOIN finished ON finished.id = sent.delivery_id
), turn AS (
  SELECT DISTINCT held.id AS slot_id, held.claim_token AS token, p.id AS endpoint_id
  FROM finished JOIN webhooks_endpointslot held ON held.id = finished.slot_id AND held.claim_token = finished.token
    JOIN webhooks_endpoint p ON p.id = held.endpoint_id
  WHERE p.enabled
    AND held.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s
      THEN 1 ELSE COALESCE(p.max_in_flight, %(default_cap)s) END)
), next_due AS (
  SELECT turn.slot_id, turn.token, due.id, due.sequence
  FROM turn CROSS JOIN LATERAL (
    SELECT d.id, d.sequence FROM webhooks_delivery d
    WHERE d.endpoint_id = turn.endpoint_id AND d.state IN ('pending', 'sending') AND NOT d.is_ping
      AND ((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))
      AND d.id <> ALL(%(sent_ids)s::text[])
      AND NOT EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued'
        AND q.delivery_id = d.id AND q.leased_until >= %(now)s)
    ORDER BY d.sequence LIMIT %(set_size)s FOR UPDATE OF d SKIP LOCKED
  ) due
), first_next AS (
  SELECT DISTINCT ON (slot_id) slot_id, id FROM next_due ORDER BY slot_id, sequence
), held_slot AS (
  SELECT DISTINCT slot_id, token FROM sent
), kept_slot AS (
  UPDATE webhooks_endpointslot SET state = CASE WHEN first_next.id IS NULL THEN 'free' ELSE 'sending' END,
    delivery_id = COALESCE(first_next.id, ''),
    claim_token = CASE WHEN first_next.id IS NULL THEN '' ELSE webhooks_endpointslot.claim_token END,
    leased_until = CASE WHEN first_next.id IS NULL THEN NULL ELSE %(lease_end)s::timestamptz END
  FROM held_slot LEFT JOIN first_next ON first_next.slot_id = held_slot.slot_id
  WHERE webhooks_endpointslot.id = held_slot.slot_id AND webhooks_endpointslot.claim_token = held_slot.token
    AND (first_next.id IS NULL OR webhooks_endpointslot.leased_until < %(renew_before)s)
), claimed AS (
  UPDATE webhooks_delivery d SET state = 'sending', claimed_until = %(lease_end)s, claim_token = next_due.token
  FROM next_due, webhooks_event e, webhooks_endpoint p, tenants_tenant t
  WHERE d.id = next_due.id AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id
  RETURNING next_due.slot_id AS turn_slot_id, d.id AS delivery_id, p.consecutive_failures, {PG_CLAIMED_COLUMNS}
), one_row AS (SELECT 1 AS always)
SELECT ARRAY(SELECT id FROM finished) AS finished_ids, claimed.*
FROM one_row LEFT JOIN claimed ON true ORDER BY claimed.turn_slot_id, claimed.sequence
"""
# At the end of a turn: the set recorded as above, and the slot handed on to the endpoint's next
# waiting, unmessaged delivery (`queued`: the caller sends it a message) or freed. Answers the sent
# deliveries still ours and the delivery the slot now waits for ('' when freed).
RECORD_SET_AND_PASS_ON_PG = """
WITH sent AS (
  SELECT * FROM jsonb_to_recordset(%(sent)s::jsonb) AS sent(delivery_id text, state text, number integer,
    next_attempt_at timestamptz, enqueued_at timestamptz, status_code integer, error text, delivered_at timestamptz,
    started_at timestamptz, duration_ms integer, succeeded boolean, response_body text, response_headers jsonb)
), finished AS (
  UPDATE webhooks_delivery d SET state = sent.state, attempt_count = sent.number, next_attempt_at = sent.next_attempt_at,
    enqueued_at = sent.enqueued_at, claimed_until = NULL, claim_token = '', last_status_code = sent.status_code,
    last_error = sent.error, delivered_at = COALESCE(sent.delivered_at, d.delivered_at), updated_at = %(updated_at)s
  FROM sent, (SELECT set_config('synchronous_commit',
     CASE WHEN %(own_commit)s THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode
  WHERE d.id = ANY(%(sent_ids)s::text[]) AND d.id = sent.delivery_id AND d.claim_token = %(token)s
  RETURNING d.id
), attempt AS (
  INSERT INTO webhooks_attempt (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body, response_headers)
  SELECT sent.delivery_id, sent.number, sent.started_at, sent.duration_ms, sent.status_code, sent.succeeded, sent.error,
    sent.response_body, sent.response_headers
  FROM sent JOIN finished ON finished.id = sent.delivery_id
), next_waiting AS (
  SELECT d.id FROM webhooks_delivery d
  WHERE d.endpoint_id = (
      SELECT p.id FROM webhooks_endpointslot held JOIN webhooks_endpoint p ON p.id = held.endpoint_id
      WHERE held.id = %(slot_id)s AND held.claim_token = %(token)s AND p.enabled
        AND held.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s
          THEN 1 ELSE COALESCE(p.max_in_flight, %(default_cap)s) END))
    AND d.state = 'pending' AND NOT d.is_ping AND d.next_attempt_at <= %(now)s
    AND d.id <> ALL(%(sent_ids)s::text[])
    AND NOT EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued'
      AND q.delivery_id = d.id AND q.leased_until >= %(now)s)
  ORDER BY d.sequence LIMIT 1
), one_row AS (SELECT 1 AS always)
UPDATE webhooks_endpointslot SET state = CASE WHEN next_waiting.id IS NULL THEN 'free' ELSE 'queued' END,
  delivery_id = COALESCE(next_waiting.id, ''), claim_token = '',
  leased_until = CASE WHEN next_waiting.id IS NULL THEN NULL ELSE %(queue_lease_end)s::timestamptz END
FROM one_row LEFT JOIN next_waiting ON true
WHERE webhooks_endpointslot.id = %(slot_id)s AND webhooks_endpointslot.claim_token = %(token)s
RETURNING webhooks_endpointslot.delivery_id AS following, ARRAY(SELECT id FROM finished) AS finished_ids
"""
# Their portable twin: FINISH and INSERT_ATTEMPT for each sent delivery, then NEXT_DUE_SET, then
# RENEW_SLOT and TAKE_DELIVERY for each (then LOAD_CLAIMED), or FREE_SLOT; or at the end of a turn
# NEXT_WAITING, then QUEUE_SLOT or FREE_SLOT.
NEXT_DUE_SET = """
SELECT d.id FROM webhooks_endpointslot held JOIN webhooks_endpoint p ON p.id = held.endpoint_id
  JOIN webhooks_delivery d ON d.endpoint_id = p.id
WHERE held.id = %(slot_id)s AND held.claim_token = %(token)s AND p.enabled
  AND held.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s
    THEN 1 ELSE COALESCE(p.max_in_flight, %(default_cap)s) END)
  AND d.state IN ('pending', 'sending') AND NOT d.is_ping
  AND ((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))
  AND NOT EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued'
    AND q.delivery_id = d.id AND q.leased_until >= %(now)s)
ORDER BY d.sequence LIMIT %(set_size)s
"""
RENEW_SLOT = """
UPDATE webhooks_endpointslot SET delivery_id = %(following)s, leased_until = %(lease_end)s
WHERE id = %(slot_id)s AND claim_token = %(token)s AND leased_until < %(renew_before)s
"""

# --- recording an event: the event, its deliveries numbered, a slot reserved for each (fanout, wake) ---

# The event, and which of the tenant's enabled endpoints take its type, without taking any lock yet.
EVENT_AND_ENDPOINTS_PG = """
WITH event AS (
  INSERT INTO webhooks_event (id, tenant_id, type, data, subject_type, subject_id, created_at)
  VALUES (%(event_id)s, %(tenant_id)s, %(event_type)s, %(data)s, %(subject_type)s, %(subject_id)s, %(created_at)s)
)
SELECT id FROM webhooks_endpoint
WHERE tenant_id = %(tenant_id)s AND enabled AND (events = '[]'::jsonb OR events @> %(event_types)s::jsonb)
ORDER BY id
"""
# Its portable twins: the event, then every enabled endpoint with its filter (read in Python).
INSERT_EVENT = """
INSERT INTO webhooks_event (id, tenant_id, type, data, subject_type, subject_id, created_at)
VALUES (%(event_id)s, %(tenant_id)s, %(event_type)s, %(data)s, %(subject_type)s, %(subject_id)s, %(created_at)s)
"""
ENABLED_ENDPOINTS = """
SELECT id, events FROM webhooks_endpoint WHERE tenant_id = %(tenant_id)s AND enabled ORDER BY id
"""

# A free slot of each new delivery's endpoint reserved for it (`queued`, until the queue lease runs
# out), so that at most `cap` messages per endpoint are ever on their way; after an `ins` CTE of
# (id, endpoint_id). Answers the deliveries to send a message for.
RESERVE_FOR_NEW_CTE = """woke AS (
  UPDATE webhooks_endpointslot SET state = 'queued', delivery_id = ins.id, claim_token = '', leased_until = %(queue_lease_end)s
  FROM ins WHERE webhooks_endpointslot.id = (
    SELECT s.id FROM webhooks_endpointslot s JOIN webhooks_endpoint p ON p.id = s.endpoint_id
    WHERE s.endpoint_id = ins.endpoint_id AND (s.state = 'free' OR s.leased_until < %(now)s)
      AND s.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1
        ELSE COALESCE(p.max_in_flight, %(default_cap)s) END)
    ORDER BY s.number LIMIT 1 FOR UPDATE OF s SKIP LOCKED)
  RETURNING webhooks_endpointslot.delivery_id
)"""

# The endpoints locked in id order and their sequences raised, one delivery each inserted with its
# number, and a slot reserved for each: the lock is held from here to the caller's commit only.
# Endpoints locked in id order, so concurrent fan-outs to the same endpoints queue instead of
# deadlocking; one disabled meanwhile is skipped. One shape for any number of endpoints (arrays).
NUMBER_DELIVERIES_PG = f"""
WITH seq AS (
  UPDATE webhooks_endpoint SET sequence = sequence + 1
  WHERE id IN (SELECT id FROM webhooks_endpoint WHERE id = ANY(%(endpoint_ids)s::text[]) AND enabled ORDER BY id FOR UPDATE)
  RETURNING id, sequence
), ins AS (
  INSERT INTO webhooks_delivery (id, tenant_id, event_id, endpoint_id, event_type, sequence, state, attempt_count,
    next_attempt_at, claim_token, enqueued_at, is_ping, last_error, created_at, updated_at)
  SELECT v.id, %(tenant_id)s, %(event_id)s, seq.id, %(event_type)s, seq.sequence, 'pending', 0,
    %(now)s, '', NULL, false, '', %(now)s, %(now)s
  FROM seq JOIN unnest(%(delivery_ids)s::text[], %(endpoint_ids)s::text[]) AS v(id, endpoint_id) ON v.endpoint_id = seq.id
  RETURNING id, endpoint_id
), {RESERVE_FOR_NEW_CTE}
SELECT ins.id, woke.delivery_id IS NOT NULL AS woken FROM ins LEFT JOIN woke ON woke.delivery_id = ins.id
"""
# Its portable twin: fanout.create_deliveries numbers and inserts (its lists are as long as the
# endpoints), then this, per delivery, reserves a slot.
RESERVE_ONE = """
UPDATE webhooks_endpointslot SET state = 'queued', delivery_id = %(delivery_id)s, claim_token = '',
  leased_until = %(queue_lease_end)s
WHERE id = (
  SELECT s.id FROM webhooks_endpointslot s JOIN webhooks_endpoint p ON p.id = s.endpoint_id
    JOIN webhooks_delivery d ON d.endpoint_id = p.id
  WHERE d.id = %(delivery_id)s AND (s.state = 'free' OR s.leased_until < %(now)s)
    AND s.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1
      ELSE COALESCE(p.max_in_flight, %(default_cap)s) END)
  ORDER BY s.number LIMIT 1)
"""

# The sweep (wake.wake_due): endpoints with a due delivery no message was sent for since
# `stale_before` (or whose claim ran out), and a slot to send it in.
ENDPOINTS_WITH_DUE = """
SELECT DISTINCT d.endpoint_id FROM webhooks_delivery d JOIN webhooks_endpoint p ON p.id = d.endpoint_id
WHERE d.state IN ('pending', 'sending') AND NOT d.is_ping
  AND ((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))
  AND p.enabled AND (d.state = 'sending' OR d.enqueued_at IS NULL OR d.enqueued_at <= %(stale_before)s)
  AND (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1
    ELSE COALESCE(p.max_in_flight, %(default_cap)s) END) > 0
LIMIT %(limit)s
"""

# After slots were freed, or claims found nothing (a claim's statement may have held a free slot
# locked while a recording looked for one): wait for any recording in flight for those endpoints
# (recording holds the endpoint row's lock from numbering to commit), then ask, in a new snapshot,
# which of them has a delivery waiting unmessaged with a slot free for it (wake.after_slots_freed;
# the endpoints are named in `endpoint_ids`, or are those of `delivery_ids`). Both are sent at once:
# the second runs when the first has its locks, taken in id order as recording takes them. Each
# endpoint is looked up by its key from the list (a nested loop the planner cannot turn into a
# scan of the table). No portable twins: SQLite has one writer at a time, so the freeing statement
# saw every committed delivery.
WAIT_FOR_RECORDING_PG = """
WITH target AS (
  SELECT unnest(%(endpoint_ids)s::text[]) AS id
  UNION SELECT named.endpoint_id FROM unnest(%(delivery_ids)s::text[]) AS hint(id)
    CROSS JOIN LATERAL (SELECT d.endpoint_id FROM webhooks_delivery d WHERE d.id = hint.id) AS named
)
SELECT locked.id FROM target CROSS JOIN LATERAL (
  SELECT p.id FROM webhooks_endpoint p WHERE p.id = target.id FOR SHARE
) AS locked ORDER BY locked.id
"""
WAITING_WITH_ROOM_PG = """
WITH target AS (
  SELECT unnest(%(endpoint_ids)s::text[]) AS id
  UNION SELECT named.endpoint_id FROM unnest(%(delivery_ids)s::text[]) AS hint(id)
    CROSS JOIN LATERAL (SELECT d.endpoint_id FROM webhooks_delivery d WHERE d.id = hint.id) AS named
)
SELECT target.id FROM target
WHERE EXISTS (
  SELECT 1 FROM webhooks_delivery d
  WHERE d.endpoint_id = target.id AND d.state = 'pending' AND NOT d.is_ping AND d.next_attempt_at <= %(now)s
    AND NOT EXISTS (SELECT 1 FROM webhooks_endpointslot q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued'
      AND q.delivery_id = d.id AND q.leased_until >= %(now)s)
) AND EXISTS (
  SELECT 1 FROM webhooks_endpointslot s JOIN webhooks_endpoint p ON p.id = s.endpoint_id
  WHERE s.endpoint_id = target.id AND (s.state = 'free' OR s.leased_until < %(now)s)
    AND s.number < (CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1
      ELSE COALESCE(p.max_in_flight, %(default_cap)s) END)
)
ORDER BY target.id
"""

# --- the circuit breaker (webhooks.engine.breaker) ----------------------------------------------

COUNT_NO_ANSWER = """
UPDATE webhooks_endpoint SET consecutive_failures = consecutive_failures + 1, circuit_reason = %(reason)s,
  circuit_open_until = CASE WHEN consecutive_failures + 1 >= %(threshold)s THEN %(open_until)s ELSE circuit_open_until END
WHERE id = %(endpoint_id)s
"""
CLOSE_CIRCUIT = """
UPDATE webhooks_endpoint SET consecutive_failures = 0, circuit_open_until = NULL, circuit_reason = ''
WHERE id = %(endpoint_id)s AND consecutive_failures > 0
"""

# Each PostgreSQL statement and its portable twins, in order (what the parity tests run both of).
TWINS = {
    "CLAIM_NEXT_PG": ("NAMED_ENDPOINT", "OPEN_SLOT", "FIRST_DUE", "TAKE_SLOT", "TAKE_DELIVERY", "LOAD_CLAIMED"),
    "CLAIM_MANY_PG": ("NAMED_ENDPOINT", "OPEN_SLOT", "FIRST_DUE", "TAKE_SLOT", "TAKE_DELIVERY", "LOAD_CLAIMED"),
    "CLAIM_PING_PG": ("CLAIM_PING", "LOAD_CLAIMED"),
    "RECORD_PG": ("FINISH", "INSERT_ATTEMPT"),
    "RECORD_AND_PASS_ON_PG": ("FINISH", "INSERT_ATTEMPT", "NEXT_WAITING", "QUEUE_SLOT", "FREE_SLOT"),
    "PASS_ON_PG": ("NEXT_WAITING", "QUEUE_SLOT", "FREE_SLOT"),
    "RECORD_SETS_AND_CLAIM_SETS_PG": (
        "FINISH", "INSERT_ATTEMPT", "NEXT_DUE_SET", "RENEW_SLOT", "TAKE_DELIVERY", "LOAD_CLAIMED", "FREE_SLOT",
    ),
    "RECORD_SET_AND_PASS_ON_PG": ("FINISH", "INSERT_ATTEMPT", "NEXT_WAITING", "QUEUE_SLOT", "FREE_SLOT"),
    "EVENT_AND_ENDPOINTS_PG": ("INSERT_EVENT", "ENABLED_ENDPOINTS"),
    "NUMBER_DELIVERIES_PG": ("RESERVE_ONE",),
    "WAIT_FOR_RECORDING_PG": (),
    "WAITING_WITH_ROOM_PG": (),
}  # fmt: skip
