-- The persisted operations manifest (Apollo's persisted query list), published with `tributary operations
-- publish` and read by every replica (server/persisted-operations.ts). Append-only: an operation's id is
-- the SHA-256 of its body, so a published row never changes and a replica may keep what it read.
CREATE TABLE persisted_operations (
  id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
  name         text NOT NULL,
  type         text NOT NULL CHECK (type IN ('query', 'mutation', 'subscription')),
  body         text NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now()
);
