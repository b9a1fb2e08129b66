ALTER TABLE provisioning_organizations ADD COLUMN mfa_required BOOLEAN NOT NULL DEFAULT FALSE

--bun:split

ALTER TABLE provisioning_memberships ADD COLUMN extra_role_ids TEXT

--bun:split

ALTER TABLE provisioning_memberships ADD COLUMN permissions TEXT

--bun:split

ALTER TABLE provisioning_memberships ADD COLUMN allowed_ips TEXT

--bun:split

ALTER TABLE provisioning_memberships ADD COLUMN guest BOOLEAN NOT NULL DEFAULT FALSE

--bun:split

ALTER TABLE provisioning_memberships ADD COLUMN expires_at TIMESTAMP

--bun:split

ALTER TABLE provisioning_memberships ADD COLUMN mfa_required BOOLEAN NOT NULL DEFAULT FALSE

--bun:split

ALTER TABLE provisioning_api_credentials ADD COLUMN allowed_ips TEXT

--bun:split

ALTER TABLE provisioning_users ADD COLUMN default_organization_id VARCHAR(64)
