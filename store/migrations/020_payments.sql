-- Idempotent money movement (DESIGN §10): idempotency keys with their recovery points, and the payments
-- ledger with its append-only status history and refunds. store/idempotency.ts and store/payments.ts
-- explain how the rows are used.

-- One row per (subject, mutation, client key). The primary key is the claim: the first INSERT wins and
-- every concurrent or later attempt finds the row. A running row is leased to one owner until
-- locked_until; a lease that lapsed (the owner crashed) is taken over by a conditional UPDATE.
CREATE TABLE idempotency_keys (
  subject              text NOT NULL,
  mutation             text NOT NULL,
  key                  text NOT NULL,
  -- SHA-256 (hex) of the canonical JSON of the normalised arguments.
  fingerprint          text NOT NULL,
  state                text NOT NULL,
  recovery_point       text NOT NULL,
  -- The key the partner receives, derived from (subject, mutation, key) and stored so a retry after a
  -- crash sends exactly the same one even if the derivation secret rotated meanwhile.
  partner_key          text NOT NULL,
  owner_token          uuid,
  locked_until         timestamptz,
  attempts             integer NOT NULL DEFAULT 1,
  payment_id           text,
  -- What one step hands to the next across a crash (the partner's answer, the computed refund amount).
  recovery             jsonb,
  -- The payload returned to the client, money as decimal strings; replays return exactly this.
  response             jsonb,
  -- The first time the partner may have seen partner_key; past the partner's own idempotency window a
  -- re-send could create a second payment, so the orchestrator stops re-sending after it.
  partner_requested_at timestamptz,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  expires_at           timestamptz NOT NULL,
  PRIMARY KEY (subject, mutation, key),
  CONSTRAINT idempotency_keys_state CHECK (state IN ('running', 'finished')),
  CONSTRAINT idempotency_keys_recovery_point
    CHECK (recovery_point IN ('started', 'partner_requested', 'partner_confirmed', 'finished')),
  CONSTRAINT idempotency_keys_finished_consistent CHECK (
    (state = 'finished') = (recovery_point = 'finished')
    AND (state = 'finished') = (response IS NOT NULL)
    AND (state = 'running') = (locked_until IS NOT NULL AND owner_token IS NOT NULL)
  ),
  CONSTRAINT idempotency_keys_key_format CHECK (key ~ '^[A-Za-z0-9_.:-]{16,255}$'),
  CONSTRAINT idempotency_keys_partner_key_length CHECK (length(partner_key) BETWEEN 1 AND 40)
);

-- Two logical operations must never share a partner key; a collision of the truncated digest would
-- surface here instead of as a silent partner-side replay.
CREATE UNIQUE INDEX idempotency_keys_partner_key_idx ON idempotency_keys (partner_key);
-- The reaper only ever looks at finished keys.
CREATE INDEX idempotency_keys_reap_idx ON idempotency_keys (expires_at) WHERE state = 'finished';
-- Operators list keys stuck before completion.
CREATE INDEX idempotency_keys_running_idx ON idempotency_keys (locked_until) WHERE state = 'running';

-- Every payment initiated through Tributary. The creditor is kept minimal: account number and IBAN are
-- reduced to what the graph shows (last four, IBAN country code), never the full number.
CREATE TABLE payments (
  id                     text PRIMARY KEY,
  subject                text NOT NULL,
  provider               text NOT NULL,
  partner_id             text NOT NULL,
  status                 text NOT NULL,
  amount_minor           bigint NOT NULL,
  currency               text NOT NULL,
  refunded_minor         bigint NOT NULL DEFAULT 0,
  debtor_account_id      text,
  creditor_name          text,
  creditor_sort_code     text,
  creditor_account_last4 text,
  creditor_iban_minimal  text,
  reference              text NOT NULL,
  failure_reason         text,
  next_action            jsonb,
  created_at             timestamptz NOT NULL,
  updated_at             timestamptz NOT NULL,
  CONSTRAINT payments_partner_unique UNIQUE (provider, partner_id),
  CONSTRAINT payments_status CHECK (status IN ('PENDING', 'REQUIRES_ACTION', 'PROCESSING', 'AUTHORISED',
    'SETTLED', 'FAILED', 'CANCELLED', 'REFUNDED', 'PARTIALLY_REFUNDED')),
  CONSTRAINT payments_amount_positive CHECK (amount_minor > 0),
  CONSTRAINT payments_currency CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT payments_refunds_bounded CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
);

CREATE INDEX payments_subject_created_idx ON payments (subject, created_at DESC, id DESC);

-- The status history: one row per status a payment reached. The primary key makes a duplicate report
-- of the same status (webhook redelivery, API and webhook racing) a no-op.
CREATE TABLE payment_events (
  payment_id  text NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
  status      text NOT NULL,
  at          timestamptz NOT NULL,
  source      text NOT NULL,
  detail      text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (payment_id, status),
  CONSTRAINT payment_events_source CHECK (source IN ('API', 'WEBHOOK', 'RECONCILIATION', 'OPERATOR'))
);

-- Refunds of a payment; the id is the provider's opaque refund id, so a repeated report is an upsert.
CREATE TABLE refunds (
  id           text PRIMARY KEY,
  payment_id   text NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
  amount_minor bigint NOT NULL,
  currency     text NOT NULL,
  status       text NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  CONSTRAINT refunds_amount_positive CHECK (amount_minor > 0),
  CONSTRAINT refunds_status CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'CANCELLED'))
);

CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at);

-- History rows are never edited; they leave only with their payment (erasure cascades).
CREATE FUNCTION payment_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'payment_events is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER payment_events_no_update BEFORE UPDATE ON payment_events
  FOR EACH ROW EXECUTE FUNCTION payment_events_append_only();
