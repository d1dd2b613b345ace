-- Plaid /transactions/sync state (DESIGN §6, §12). Unqualified names: the connection's search_path
-- decides the schema.
--
-- Data minimisation: no access tokens here (they live sealed in consents), and of each transaction
-- only what the canonical Transaction needs, already mapped (signed minor units, status). Every row
-- carries its subject, so every read is per subject.

-- One row per Plaid Item: the cursor reached by the last completed sync.
CREATE TABLE plaid_sync_items (
  item_id    text PRIMARY KEY,
  subject    text NOT NULL,
  -- Opaque, from Plaid's next_cursor; NULL before the first completed sync.
  cursor     text,
  synced_at  timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX plaid_sync_items_subject_idx ON plaid_sync_items (subject);

-- The local copy of each Item's transactions, kept current by applying added/modified/removed.
CREATE TABLE plaid_transactions (
  item_id                text NOT NULL REFERENCES plaid_sync_items (item_id) ON DELETE CASCADE,
  transaction_id         text NOT NULL,
  subject                text NOT NULL,
  account_id             text NOT NULL,
  -- Canonical sign: negative = money out of the account (Plaid's own sign is the opposite).
  amount_minor           bigint NOT NULL,
  currency               text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status                 text NOT NULL CHECK (status IN ('PENDING', 'BOOKED')),
  -- On a posted transaction: the pending one it replaces.
  pending_transaction_id text,
  description            text NOT NULL,
  merchant_name          text,
  category               text,
  booked_at              timestamptz NOT NULL,
  value_date             date,
  PRIMARY KEY (item_id, transaction_id)
);

CREATE INDEX plaid_transactions_subject_account_idx
  ON plaid_transactions (subject, item_id, account_id, booked_at DESC);
