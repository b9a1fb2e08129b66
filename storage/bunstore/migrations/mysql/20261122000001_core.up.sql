CREATE TABLE provisioning_users (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  email VARCHAR(254) NOT NULL,
  first_name VARCHAR(100) NOT NULL DEFAULT '',
  last_name VARCHAR(100) NOT NULL DEFAULT '',
  time_zone VARCHAR(64) NOT NULL DEFAULT '',
  otp_required_for_login BOOLEAN NOT NULL DEFAULT FALSE,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata LONGTEXT,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}

--bun:split

CREATE UNIQUE INDEX provisioning_users_email_uq ON provisioning_users (email)

--bun:split

CREATE TABLE provisioning_organizations (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  slug VARCHAR(63) NOT NULL,
  domain VARCHAR(255) NOT NULL,
  support_phone VARCHAR(32),
  support_email VARCHAR(254),
  logo_url VARCHAR(2048),
  favicon_url VARCHAR(2048),
  primary_color VARCHAR(7),
  contrast_color VARCHAR(7),
  gtm_id VARCHAR(20),
  gtm_id_test VARCHAR(20),
  region VARCHAR(32) NOT NULL,
  config LONGTEXT,
  owner_membership_id VARCHAR(64),
  policy_revision VARCHAR(64) NOT NULL,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata LONGTEXT,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}

--bun:split

CREATE UNIQUE INDEX provisioning_organizations_slug_uq ON provisioning_organizations (slug)

--bun:split

CREATE TABLE provisioning_roles (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL REFERENCES provisioning_organizations (id),
  name VARCHAR(255) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata LONGTEXT,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}

--bun:split

CREATE INDEX provisioning_roles_org_idx ON provisioning_roles (organization_id, id)

--bun:split

CREATE TABLE provisioning_permissions (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL REFERENCES provisioning_organizations (id),
  role_id VARCHAR(64) NOT NULL REFERENCES provisioning_roles (id),
  subject VARCHAR(64) NOT NULL,
  can_create BOOLEAN NOT NULL,
  can_read BOOLEAN NOT NULL,
  can_update BOOLEAN NOT NULL,
  can_destroy BOOLEAN NOT NULL,
  restrictions LONGTEXT,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata LONGTEXT,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}

--bun:split

CREATE UNIQUE INDEX provisioning_permissions_role_subject_uq ON provisioning_permissions (role_id, subject)

--bun:split

CREATE INDEX provisioning_permissions_org_idx ON provisioning_permissions (organization_id, id)

--bun:split

CREATE TABLE provisioning_membership_profiles (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL REFERENCES provisioning_organizations (id),
  name VARCHAR(255) NOT NULL,
  access_scope VARCHAR(16) NOT NULL,
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata LONGTEXT,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}

--bun:split

CREATE INDEX provisioning_membership_profiles_org_idx ON provisioning_membership_profiles (organization_id, id)

--bun:split

CREATE TABLE provisioning_memberships (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL REFERENCES provisioning_organizations (id),
  user_id VARCHAR(64) REFERENCES provisioning_users (id),
  user_email VARCHAR(254) NOT NULL,
  status VARCHAR(16) NOT NULL,
  role_id VARCHAR(64) NOT NULL REFERENCES provisioning_roles (id),
  membership_profile_id VARCHAR(64) REFERENCES provisioning_membership_profiles (id),
  access_scope VARCHAR(16),
  invitation_token_hash VARCHAR(64),
  invitation_expires_at DATETIME(6),
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata LONGTEXT,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}

--bun:split

CREATE UNIQUE INDEX provisioning_memberships_org_email_uq ON provisioning_memberships (organization_id, user_email)

--bun:split

CREATE UNIQUE INDEX provisioning_memberships_org_user_uq ON provisioning_memberships (organization_id, user_id)

--bun:split

CREATE UNIQUE INDEX provisioning_memberships_invitation_uq ON provisioning_memberships (invitation_token_hash)

--bun:split

CREATE INDEX provisioning_memberships_user_idx ON provisioning_memberships (user_id)

--bun:split

CREATE INDEX provisioning_memberships_email_idx ON provisioning_memberships (user_email, status)

--bun:split

CREATE INDEX provisioning_memberships_profile_idx ON provisioning_memberships (membership_profile_id)

--bun:split

CREATE INDEX provisioning_memberships_role_idx ON provisioning_memberships (role_id)

--bun:split

ALTER TABLE provisioning_organizations ADD CONSTRAINT provisioning_organizations_owner_fk FOREIGN KEY (owner_membership_id) REFERENCES provisioning_memberships (id)

--bun:split

CREATE TABLE provisioning_versions (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  organization_id VARCHAR(64) NOT NULL,
  resource_type VARCHAR(64) NOT NULL,
  resource_id VARCHAR(64) NOT NULL,
  event VARCHAR(32) NOT NULL,
  changes LONGTEXT,
  who_type VARCHAR(16) NOT NULL,
  who_id VARCHAR(64) NOT NULL,
  request_id VARCHAR(128),
  reference VARCHAR(255),
  reference_origin VARCHAR(255),
  metadata LONGTEXT,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}

--bun:split

CREATE INDEX provisioning_versions_org_idx ON provisioning_versions (organization_id, id)

--bun:split

CREATE INDEX provisioning_versions_resource_idx ON provisioning_versions (organization_id, resource_type, resource_id, id)
