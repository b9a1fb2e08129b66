ALTER TABLE provisioning_organizations ADD COLUMN plan_type VARCHAR(64) NOT NULL DEFAULT ''

--bun:split

ALTER TABLE provisioning_organizations ADD COLUMN limit_memberships INTEGER NOT NULL DEFAULT 0

--bun:split

ALTER TABLE provisioning_organizations ADD COLUMN limit_organizations INTEGER NOT NULL DEFAULT 0
