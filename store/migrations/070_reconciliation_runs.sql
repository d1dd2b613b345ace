-- Every reconciliation run (the CLI, the graph's reconcilePayments, a schedule) with what it found: the
-- latest run is what on-call reads first (the ops views, the reconciliation gauges and their alert).
-- Discrepancies are stored as the report gave them minus the customer's subject: the payment id leads to
-- the owner, and an erased customer must not linger here. Runs older than 90 days are pruned on insert.
CREATE TABLE reconciliation_runs (
  id            uuid PRIMARY KEY,
  actor         text NOT NULL,
  providers     jsonb NOT NULL,
  apply         boolean NOT NULL,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz NOT NULL,
  checked       integer NOT NULL,
  matched       integer NOT NULL,
  discrepancies jsonb NOT NULL
);
CREATE INDEX reconciliation_runs_finished_idx ON reconciliation_runs (finished_at DESC);
