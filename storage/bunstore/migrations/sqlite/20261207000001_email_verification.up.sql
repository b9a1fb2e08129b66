-- A user's address is proven before anything that belongs to it is granted:
-- email_verified_at is when the current email was last verified (NULL: not
-- verified, which is what every existing user starts as), and an email
-- change waits in pending_email until the new address confirms it with its
-- code, of which only the SHA-256 hash is kept.
ALTER TABLE provisioning_users ADD COLUMN email_verified_at TIMESTAMP

--bun:split

ALTER TABLE provisioning_users ADD COLUMN pending_email VARCHAR(254)

--bun:split

ALTER TABLE provisioning_users ADD COLUMN pending_email_code_hash VARCHAR(64)

--bun:split

ALTER TABLE provisioning_users ADD COLUMN pending_email_expires_at TIMESTAMP
