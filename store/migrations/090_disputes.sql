-- Disputes (chargebacks and inquiries) against ledger payments, as pulled from the partner after its
-- dispute webhooks (store/disputes.ts). One row per partner dispute, linked to its payment (the payment's
-- owner is the dispute's). `updated_at` is the version of the copy (the partner's update time, or when it
-- was read): a copy older than the row's is never applied, so late and out-of-order events cannot move a
-- dispute back. Amount and currency as on payments; reason and status are the canonical enums.
CREATE TABLE disputes (
  provider        text NOT NULL,
  partner_id      text NOT NULL,
  payment_id      text NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
  amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
  currency        text NOT NULL,
  reason          text NOT NULL,
  status          text NOT NULL,
  evidence_due_by timestamptz,
  opened_at       timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL,
  PRIMARY KEY (provider, partner_id),
  CONSTRAINT disputes_status CHECK (status IN ('NEEDS_RESPONSE', 'UNDER_REVIEW', 'WON', 'LOST', 'CLOSED'))
);

-- Payment.disputes reads by payment; the operations view lists open disputes by evidence deadline.
CREATE INDEX disputes_payment_idx ON disputes (payment_id, opened_at);
CREATE INDEX disputes_open_idx ON disputes (evidence_due_by)
  WHERE status IN ('NEEDS_RESPONSE', 'UNDER_REVIEW');
