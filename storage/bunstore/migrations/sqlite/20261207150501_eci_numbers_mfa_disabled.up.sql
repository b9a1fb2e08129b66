-- Every organization gets a small number, unique and never reused, for the
-- APIs whose organization ids are 32-bit integers (ECI's): assigned in
-- creation order from 1 (existing organizations get theirs now, in rowid
-- order; SQLite has one writer, so the trigger's MAX + 1 never races), and
-- a user may have a second factor turned off by the host (mfa_disabled),
-- which exempts them from every organization's and membership's MFA
-- requirement.
ALTER TABLE provisioning_organizations ADD COLUMN number INTEGER

--bun:split

UPDATE provisioning_organizations SET number = (SELECT COUNT(*) FROM provisioning_organizations AS p WHERE p.rowid <= provisioning_organizations.rowid)

--bun:split

CREATE UNIQUE INDEX provisioning_organizations_number_uq ON provisioning_organizations (number)

--bun:split

CREATE TRIGGER provisioning_organizations_number AFTER INSERT ON provisioning_organizations
FOR EACH ROW WHEN NEW.number IS NULL
BEGIN
  UPDATE provisioning_organizations SET number = (SELECT COALESCE(MAX(number), 0) + 1 FROM provisioning_organizations) WHERE id = NEW.id;
END

--bun:split

ALTER TABLE provisioning_users ADD COLUMN mfa_disabled BOOLEAN NOT NULL DEFAULT FALSE
