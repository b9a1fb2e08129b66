-- Every organization gets a small number, unique and never reused, for the
-- APIs whose organization ids are 32-bit integers (ECI's): assigned in
-- creation order from 1 (existing organizations get theirs now), and a
-- user may have a second factor turned off by the host (mfa_disabled),
-- which exempts them from every organization's and membership's MFA
-- requirement.
ALTER TABLE provisioning_organizations ADD COLUMN number INT NOT NULL AUTO_INCREMENT, ADD UNIQUE INDEX provisioning_organizations_number_uq (number)

--bun:split

ALTER TABLE provisioning_users ADD COLUMN mfa_disabled BOOLEAN NOT NULL DEFAULT FALSE
