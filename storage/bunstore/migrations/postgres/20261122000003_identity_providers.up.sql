CREATE TABLE provisioning_identity_providers (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL,
  user_id VARCHAR(64),
  name VARCHAR(255) NOT NULL,
  client_id VARCHAR(255) NOT NULL,
  client_secret_ciphertext BYTEA NOT NULL,
  client_secret_nonce BYTEA NOT NULL,
  client_secret_key_id VARCHAR(64) NOT NULL,
  client_secret_last4 VARCHAR(16),
  issuer VARCHAR(2048) NOT NULL,
  status VARCHAR(16) NOT NULL,
  domains TEXT NOT NULL,
  token_url VARCHAR(2048) NOT NULL,
  authorize_url VARCHAR(2048) NOT NULL,
  jwks_url VARCHAR(2048) NOT NULL,
  txt_record VARCHAR(128) NOT NULL,
  authorize_organization VARCHAR(255),
  disabled_at TIMESTAMPTZ,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata JSONB,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  CONSTRAINT provisioning_identity_providers_org_fk FOREIGN KEY (organization_id) REFERENCES provisioning_organizations (id),
  CONSTRAINT provisioning_identity_providers_user_fk FOREIGN KEY (user_id) REFERENCES provisioning_users (id)
)

--bun:split

CREATE UNIQUE INDEX provisioning_identity_providers_name_uq ON provisioning_identity_providers (name)

--bun:split

CREATE INDEX provisioning_identity_providers_org_idx ON provisioning_identity_providers (organization_id, id)

--bun:split

CREATE INDEX provisioning_identity_providers_key_idx ON provisioning_identity_providers (client_secret_key_id, id)
