-- The webhook inbox (DESIGN §11). A delivery is inserted only after its signature verified, so every row
-- here is verified; forged deliveries are answered 401 and leave no row. The unique (provider,
-- partner_event_id) is the deduplication: a partner's retry or duplicate finds the row and stops.
--
-- status: pending -> processing (claimed under a lease) -> processed | ignored, or back to pending with a
-- later next_attempt_at after a failure, and dead once the attempts are used up. Operators replay
-- processed, ignored and dead rows back to pending. A claim whose lease lapsed (the worker died) is
-- claimed again; processing is idempotent, so the effect happens exactly once.
CREATE TABLE webhook_events (
  id               uuid PRIMARY KEY,
  provider         text NOT NULL,
  partner_event_id text NOT NULL,
  event_type       text NOT NULL,
  resource_kind    text,
  resource_id      text,
  -- The raw bytes as received (what the signature covered), and the headers that matter.
  body             bytea NOT NULL,
  headers          jsonb NOT NULL,
  -- How the delivery was verified, e.g. stripe-signature-v1.
  verification     text NOT NULL,
  status           text NOT NULL DEFAULT 'pending',
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  locked_by        text,
  locked_until     timestamptz,
  last_error       text,
  occurred_at      timestamptz,
  received_at      timestamptz NOT NULL,
  processed_at     timestamptz,
  -- Deliveries of the same event seen after the first (partner retries, duplicates).
  duplicates       integer NOT NULL DEFAULT 0,
  CONSTRAINT webhook_events_unique UNIQUE (provider, partner_event_id),
  CONSTRAINT webhook_events_status CHECK (status IN ('pending', 'processing', 'processed', 'ignored', 'dead')),
  CONSTRAINT webhook_events_lease CHECK ((status = 'processing') = (locked_until IS NOT NULL AND locked_by IS NOT NULL)),
  CONSTRAINT webhook_events_resource CHECK ((resource_kind IS NULL) = (resource_id IS NULL))
);

-- Workers look for due work only.
CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_events_lease_idx ON webhook_events (locked_until) WHERE status = 'processing';
-- Operators list newest first, by status, provider and time.
CREATE INDEX webhook_events_received_idx ON webhook_events (received_at DESC, id DESC);
CREATE INDEX webhook_events_status_idx ON webhook_events (status, received_at DESC);
