ALTER TABLE provisioning_organizations ADD COLUMN can_switch_live BOOLEAN NOT NULL DEFAULT FALSE
