CREATE TABLE provisioning_application_memberships (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL REFERENCES provisioning_organizations (id),
  api_credential_id VARCHAR(64) NOT NULL REFERENCES provisioning_api_credentials (id),
  membership_id VARCHAR(64) REFERENCES provisioning_memberships (id) ON DELETE CASCADE,
  membership_profile_id VARCHAR(64) REFERENCES provisioning_membership_profiles (id) ON DELETE CASCADE,
  role_id VARCHAR(64) NOT NULL REFERENCES provisioning_roles (id),
  filters TEXT,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata TEXT,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  CHECK ((membership_id IS NULL) <> (membership_profile_id IS NULL))
)

--bun:split

CREATE INDEX provisioning_application_memberships_org_idx ON provisioning_application_memberships (organization_id, id)

--bun:split

CREATE UNIQUE INDEX provisioning_application_memberships_member_uq ON provisioning_application_memberships (api_credential_id, membership_id)

--bun:split

CREATE UNIQUE INDEX provisioning_application_memberships_profile_uq ON provisioning_application_memberships (api_credential_id, membership_profile_id)

--bun:split

CREATE INDEX provisioning_application_memberships_membership_idx ON provisioning_application_memberships (membership_id)

--bun:split

CREATE INDEX provisioning_application_memberships_profile_idx ON provisioning_application_memberships (membership_profile_id)
