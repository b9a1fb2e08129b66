CREATE TABLE provisioning_tokens (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  hash VARCHAR(80) NOT NULL,
  principal_kind VARCHAR(16) NOT NULL,
  principal_id VARCHAR(64) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
)

--bun:split

CREATE UNIQUE INDEX provisioning_tokens_hash_uq ON provisioning_tokens (hash)

--bun:split

CREATE INDEX provisioning_tokens_expires_idx ON provisioning_tokens (expires_at)
