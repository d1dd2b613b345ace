-- Audit entries written inside a business transaction wait here until the sealer chains them
-- (store/audit.ts): appending to the hash chain needs its head, and taking the chain's lock inside every
-- payment's transaction would serialise all payments on it. An entry commits or rolls back with the
-- change it records; the sealer moves committed entries into audit_log in batches, under the chain's
-- lock, and deletes them here in the same transaction.
CREATE TABLE audit_pending (
  id             bigserial PRIMARY KEY,
  at             timestamptz NOT NULL,
  actor          text NOT NULL,
  action         text NOT NULL,
  target         text,
  -- Personal, as in audit_log; erasure blanks them here too.
  subject        text,
  payload        text,
  payload_digest text NOT NULL,
  erased_at      timestamptz
);

CREATE INDEX audit_pending_subject_idx ON audit_pending (subject) WHERE subject IS NOT NULL;
