CREATE TABLE provisioning_api_credentials (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL,
  name VARCHAR(255) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  redirect_uri VARCHAR(2048),
  client_id VARCHAR(128) NOT NULL,
  scopes VARCHAR(1024),
  expires_in INTEGER NOT NULL,
  mode VARCHAR(8) NOT NULL,
  custom BOOLEAN NOT NULL,
  role_id VARCHAR(64),
  creator_user_id VARCHAR(64),
  expires_at TIMESTAMP,
  revoked_at TIMESTAMP,
  last_used_at TIMESTAMP,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata TEXT,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  FOREIGN KEY (organization_id) REFERENCES provisioning_organizations (id),
  FOREIGN KEY (role_id) REFERENCES provisioning_roles (id),
  FOREIGN KEY (creator_user_id) REFERENCES provisioning_users (id)
)

--bun:split

CREATE UNIQUE INDEX provisioning_api_credentials_client_id_uq ON provisioning_api_credentials (client_id)

--bun:split

CREATE INDEX provisioning_api_credentials_org_idx ON provisioning_api_credentials (organization_id, id)

--bun:split

CREATE INDEX provisioning_api_credentials_role_idx ON provisioning_api_credentials (role_id)

--bun:split

CREATE TABLE provisioning_api_credential_secrets (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  credential_id VARCHAR(64) NOT NULL,
  hash VARCHAR(128) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP,
  FOREIGN KEY (credential_id) REFERENCES provisioning_api_credentials (id) ON DELETE CASCADE
)

--bun:split

CREATE INDEX provisioning_api_credential_secrets_credential_idx ON provisioning_api_credential_secrets (credential_id, id)
