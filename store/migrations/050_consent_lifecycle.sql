-- The consent lifecycle through the graph (grant -> the customer answers at the partner -> complete,
-- revoke): a consent row exists from the moment the grant starts, and is in force only once authorised.
--
-- authorised_at: when the customer approved at the partner; null while the grant waits for them.
-- declined_at:   when the customer (or the partner) said no; the row is kept as evidence.
-- state_digest:  SHA-256 of the OAuth `state` handed to the customer's browser while the grant waits;
--                the callback finds the pending grant (and so its subject) by it. Cleared once used.
-- pending_sealed: what completing needs and nobody else may read (the PKCE verifier, the redirect URI),
--                sealed like partner tokens. Cleared once used.
-- partner_revocation_*: a revocation the partner has not confirmed yet (it was down). The sealed
--                credential is kept until the partner deleted the link, then dropped.
ALTER TABLE consents ADD COLUMN authorised_at timestamptz;
UPDATE consents SET authorised_at = granted_at;
ALTER TABLE consents ADD COLUMN declined_at timestamptz;
ALTER TABLE consents ADD COLUMN state_digest text;
ALTER TABLE consents ADD COLUMN pending_sealed text;
ALTER TABLE consents ADD COLUMN partner_revocation_due timestamptz;
ALTER TABLE consents ADD COLUMN partner_revocation_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN partner_revocation_error text;

CREATE UNIQUE INDEX consents_state_digest_idx ON consents (state_digest) WHERE state_digest IS NOT NULL;
CREATE INDEX consents_partner_revocation_idx ON consents (partner_revocation_due)
  WHERE partner_revocation_due IS NOT NULL;
