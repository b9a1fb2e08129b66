ALTER TABLE provisioning_organizations ADD COLUMN limit_api_credentials INTEGER NOT NULL DEFAULT 0

--bun:split

ALTER TABLE provisioning_organizations ADD COLUMN limit_roles INTEGER NOT NULL DEFAULT 0
