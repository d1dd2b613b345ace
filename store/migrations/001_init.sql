-- Consents and the audit log (DESIGN §8, §12). Unqualified names: the connection's search_path
-- decides the schema, so tests can give every suite its own.

-- Who consented, to which partner, with which permissions, when, until when, revoked when.
-- Partner tokens are stored only sealed (store/secrets.ts) and are dropped when the consent is revoked.
CREATE TABLE consents (
  id                 uuid PRIMARY KEY,
  subject            text NOT NULL,
  provider           text NOT NULL,
  permissions        text[] NOT NULL,
  -- The partner's handle for the link: Open Banking consent id, Plaid item id.
  partner_ref        text NOT NULL,
  credentials_sealed text,
  -- Copied from the sealed token so rows still under an old key are found without decrypting.
  key_id             text,
  granted_at         timestamptz NOT NULL,
  expires_at         timestamptz,
  revoked_at         timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT consents_permissions_present CHECK (cardinality(permissions) > 0),
  CONSTRAINT consents_sealed_with_key CHECK ((credentials_sealed IS NULL) = (key_id IS NULL)),
  CONSTRAINT consents_expire_after_grant CHECK (expires_at IS NULL OR expires_at > granted_at)
);

CREATE INDEX consents_subject_provider_idx ON consents (subject, provider);
-- Webhooks name the partner's handle, not our subject.
CREATE INDEX consents_partner_ref_idx ON consents (provider, partner_ref);

-- Hash-chained, append-only audit log; store/audit.ts explains the chain and erasure.
CREATE TABLE audit_log (
  seq            bigint PRIMARY KEY CHECK (seq > 0),
  at             timestamptz NOT NULL,
  actor          text NOT NULL,
  action         text NOT NULL,
  target         text,
  -- Personal: the subject (kept in clear only to find rows to erase) and the canonical JSON payload.
  subject        text,
  payload        text,
  payload_digest text NOT NULL,
  prev_hash      text NOT NULL,
  hash           text NOT NULL UNIQUE,
  erased_at      timestamptz
);

CREATE INDEX audit_log_subject_idx ON audit_log (subject) WHERE subject IS NOT NULL;

-- Defence in depth beside the hash chain: ordinary writers can append and erase, nothing else.
-- A table owner can disable this trigger; the chain still exposes what they change.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
  END IF;
  IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.at IS DISTINCT FROM OLD.at
     OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.action IS DISTINCT FROM OLD.action
     OR NEW.target IS DISTINCT FROM OLD.target OR NEW.payload_digest IS DISTINCT FROM OLD.payload_digest
     OR NEW.prev_hash IS DISTINCT FROM OLD.prev_hash OR NEW.hash IS DISTINCT FROM OLD.hash
     OR NEW.subject IS NOT NULL OR NEW.payload IS NOT NULL OR NEW.erased_at IS NULL THEN
    RAISE EXCEPTION 'audit_log rows can only be erased (subject and payload set to NULL)';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_append_only_rows BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_append_only_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
